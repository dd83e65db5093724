-- Every catalogued (class, activity) pair exists in OCSF 1.8.0, and every privileged type says why.
select 'ocsf pair not in 1.8.0' as problem, c.source_system, c.event_type, c.ocsf_class_uid, c.ocsf_activity_id
from {{ ref('audit_event_catalog') }} c
anti join {{ ref('ocsf_activities') }} o
    on o.class_uid = c.ocsf_class_uid and o.activity_id = c.ocsf_activity_id

union all

select 'privileged without privilege_reason' as problem, c.source_system, c.event_type, c.ocsf_class_uid,
    c.ocsf_activity_id
from {{ ref('audit_event_catalog') }} c
where c.is_privileged and coalesce(trim(c.privilege_reason), '') = ''
