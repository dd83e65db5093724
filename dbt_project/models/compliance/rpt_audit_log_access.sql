{{
    config(
        materialized='incremental',
        unique_key='access_key',
        incremental_strategy='delete+insert',
        on_schema_change='fail',
        pre_hook="{{ delete_rows_built_under_other_rules(audit_access_rules()) }}",
    )
}}
{%- set incremental_run = is_incremental() and not rules_changed(this, audit_access_rules()) %}
-- Every read of the audit log itself: reads the vendor logs (Mode `audit_log_accessed`), and every
-- window auditlake fetched (ThoughtSpot does not log reads of its log API, so ingest_windows is the
-- evidence of ours). A vendor-logged read is auditlake's own when its actor is a configured service
-- account or it coincides with one of our fetches of that instance.
{#- Incremental: vendor reads loaded and fetch windows recorded since the last build are added; a
    stored vendor read that a newly recorded fetch coincides with is re-matched and replaced. -#}
{%- set reads_since = loaded_since('loaded_at', "evidence_source = 'vendor_audit_log'")
                      if incremental_run else none %}
{%- set fetches_since = loaded_since('loaded_at', "evidence_source = 'auditlake_ingest'")
                        if incremental_run else none %}

with new_reads as (
    select event_key as access_key, source_system, source_instance, event_time as accessed_at,
           actor_name as accessed_by, actor_id as accessed_by_id, actor_ip, actor_user_agent, loaded_at
    from {{ ref('fct_audit_events') }}
    where event_category = 'audit_access'
    {%- if reads_since %}
      and loaded_at > {{ reads_since }}
    {%- endif %}
),

auditlake_fetches as (
    select * from {{ ref('int_ingest_windows') }}
),

new_fetches as (
    select * from auditlake_fetches
    {%- if fetches_since %}
    where fetched_at > {{ fetches_since }}
    {%- endif %}
),

vendor_reads as (
    select * from new_reads
    {%- if incremental_run %}
    union all
    -- stored reads a newly recorded fetch may coincide with
    select stored.access_key, stored.source_system, stored.source_instance, stored.accessed_at, stored.accessed_by,
           stored.accessed_by_id, stored.actor_ip, stored.actor_user_agent, stored.loaded_at
    from {{ this }} stored
    where stored.evidence_source = 'vendor_audit_log'
      and stored.access_key not in (select access_key from new_reads)
      and exists (
          select 1 from new_fetches f
          where f.source_system = stored.source_system and f.source_instance = stored.source_instance
            and stored.accessed_at between f.fetched_at - interval '15 minutes' and f.fetched_at + interval '1 minute'
      )
    {%- endif %}
),

matched as (
    select v.access_key, bool_or(f.source_instance is not null) as coincides_with_auditlake_fetch
    from vendor_reads v
    left join auditlake_fetches f
        on f.source_system = v.source_system and f.source_instance = v.source_instance
        and v.accessed_at between f.fetched_at - interval '15 minutes' and f.fetched_at + interval '1 minute'
    group by v.access_key
)

select
    v.access_key,
    'vendor_audit_log' as evidence_source,
    v.source_system,
    v.source_instance,
    v.accessed_at,
    v.accessed_by,
    v.accessed_by_id,
    v.actor_ip,
    v.actor_user_agent,
    cast(null as timestamp with time zone) as window_start,
    cast(null as timestamp with time zone) as window_end,
    cast(null as bigint) as records_returned,
    (
        {% set accounts = var('auditlake_service_accounts') %}
        {%- if accounts %}
        v.accessed_by in {{ sql_string_list(accounts) }}
        or v.accessed_by_id in {{ sql_string_list(accounts) }} or
        {%- endif %}
        coalesce(m.coincides_with_auditlake_fetch, false)
    ) as is_auditlake,
    v.loaded_at,
    '{{ rules_fingerprint(audit_access_rules()) }}' as rules_fingerprint
from vendor_reads v
left join matched m using (access_key)

union all

select
    {{ audit_event_key(
        'f.source_system', 'f.source_instance',
        "strftime(f.window_start, '%Y-%m-%dT%H:%M:%S.%f') || '|' || strftime(f.fetched_at, '%Y-%m-%dT%H:%M:%S.%f')"
    ) }} as access_key,
    'auditlake_ingest' as evidence_source,
    f.source_system,
    f.source_instance,
    f.fetched_at as accessed_at,
    'auditlake' as accessed_by,
    cast(null as varchar) as accessed_by_id,
    cast(null as varchar) as actor_ip,
    cast(null as varchar) as actor_user_agent,
    f.window_start,
    f.window_end,
    f.fetched as records_returned,
    true as is_auditlake,
    f.fetched_at as loaded_at,
    '{{ rules_fingerprint(audit_access_rules()) }}' as rules_fingerprint
from new_fetches f
