{{
    config(
        materialized='incremental',
        unique_key=['source_system', 'source_instance', 'user_name', 'activity_date'],
        incremental_strategy='delete+insert',
        on_schema_change='fail',
        pre_hook="{{ delete_rows_built_under_other_rules(catalogue_rules()) }}",
    )
}}
{%- set incremental_run = is_incremental() and not rules_changed(this, catalogue_rules()) %}
{#- What each user did per UTC day, so dim_users aggregates days, not the whole event history.
    Incremental: the days that received events since the last build (late ones included) are
    recomputed in full from fct_audit_events, so re-read events never double-count. -#}
{%- set touched_days = fact_days_loaded_since() if incremental_run else [] %}

select
    source_system,
    source_instance,
    actor_name as user_name,
    cast(event_time as date) as activity_date,
    arg_max(actor_id, event_time) filter (where actor_id is not null) as user_id,
    min(event_time) filter (where not (event_category = 'authentication' and outcome = 'failure')) as first_seen_at,
    max(event_time) filter (where not (event_category = 'authentication' and outcome = 'failure')) as last_seen_at,
    max(event_time) filter (
        where event_category = 'authentication' and event_action = 'login' and outcome = 'success'
    ) as last_login_at,
    max(event_time) filter (where event_category = 'authentication' and outcome = 'failure') as last_failed_login_at,
    count(*) filter (where event_category = 'authentication' and outcome = 'failure') as failed_login_count,
    count(*) filter (where not (event_category = 'authentication' and outcome = 'failure')) as event_count,
    max(event_time) filter (where is_privileged) as last_privileged_action_at,
    count(*) filter (where is_privileged) as privileged_action_count,
    max(loaded_at) as last_loaded_at,
    '{{ rules_fingerprint(catalogue_rules()) }}' as rules_fingerprint
from {{ ref('fct_audit_events') }}
where actor_name is not null
{%- if incremental_run %}
  and {{ on_fact_days(touched_days) }}
{%- endif %}
group by all
