{{ config(meta={"dagster": {"ref": {"name": "fct_audit_events"}}}) }}
-- Fact rows' OCSF pairs are valid in 1.8.0 (class 0 / activity 0 is the Base Event for uncatalogued types).
select f.source_system, f.event_type, f.ocsf_class_uid, f.ocsf_activity_id, f.type_uid
from {{ recent_rows(ref('fct_audit_events'), 'loaded_at') }} f
where f.ocsf_class_uid <> 0
  and (
      not exists (
          select 1 from {{ ref('ocsf_activities') }} o
          where o.class_uid = f.ocsf_class_uid and o.activity_id = f.ocsf_activity_id
      )
      or f.type_uid <> f.ocsf_class_uid * 100 + f.ocsf_activity_id
  )
