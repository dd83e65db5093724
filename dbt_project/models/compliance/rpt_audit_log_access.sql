-- Every read of the audit log itself: reads the vendor logs (Mode `audit_log_accessed`), and every
-- window auditlake fetched (ThoughtSpot does not log reads of its log API, so ingest_windows is the
-- evidence of ours). A vendor-logged read is auditlake's own when its actor is a configured service
-- account or it coincides with one of our fetches of that instance.
with vendor_reads as (
    select event_key, source_system, source_instance, event_time, event_type, event_category, event_action, outcome, is_privileged, actor_id, actor_name, actor_ip, actor_user_agent, target_type, target_id, target_name
    from {{ ref('fct_audit_events') }}
    where event_category = 'audit_access'
),

auditlake_fetches as (
    select 'thoughtspot' as source_system, * from {{ raw_source('raw_thoughtspot', 'ingest_windows') }}
    union all by name
    select 'mode' as source_system, * from {{ raw_source('raw_mode', 'ingest_windows') }}
),

matched as (
    select v.event_key, bool_or(f.source_instance is not null) as coincides_with_auditlake_fetch
    from vendor_reads v
    left join auditlake_fetches f
        on f.source_system = v.source_system and f.source_instance = v.source_instance
        and v.event_time between f.fetched_at - interval '15 minutes' and f.fetched_at + interval '1 minute'
    group by v.event_key
)

select
    v.event_key as access_key,
    'vendor_audit_log' as evidence_source,
    v.source_system,
    v.source_instance,
    v.event_time as accessed_at,
    v.actor_name as accessed_by,
    v.actor_id as accessed_by_id,
    v.actor_ip,
    v.actor_user_agent,
    cast(null as timestamp with time zone) as window_start,
    cast(null as timestamp with time zone) as window_end,
    cast(null as bigint) as records_returned,
    (
        {% set accounts = var('auditlake_service_accounts') %}
        {%- if accounts %}
        v.actor_name in ({% for a in accounts %}'{{ a }}'{{ ", " if not loop.last }}{% endfor %})
        or v.actor_id in ({% for a in accounts %}'{{ a }}'{{ ", " if not loop.last }}{% endfor %}) or
        {%- endif %}
        coalesce(m.coincides_with_auditlake_fetch, false)
    ) as is_auditlake
from vendor_reads v
left join matched m using (event_key)

union all

select
    {{ audit_event_key('f.source_system', 'f.source_instance', "strftime(f.window_start, '%Y-%m-%dT%H:%M:%S.%f') || '|' || strftime(f.fetched_at, '%Y-%m-%dT%H:%M:%S.%f')") }},
    'auditlake_ingest',
    f.source_system,
    f.source_instance,
    f.fetched_at,
    'auditlake',
    cast(null as varchar),
    cast(null as varchar),
    cast(null as varchar),
    f.window_start,
    f.window_end,
    f.fetched,
    true
from auditlake_fetches f
