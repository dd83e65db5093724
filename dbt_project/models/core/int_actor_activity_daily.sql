{{
    config(
        materialized='incremental',
        unique_key='activity_date',
        incremental_strategy='delete+insert',
        on_schema_change='fail',
        pre_hook="{{ delete_rows_built_under_other_rules(catalogue_rules()) }}",
    )
}}
{%- set incremental_run = is_incremental() and not rules_changed(this, catalogue_rules()) %}
{#- Each actor's last successful login and last event per source instance and UTC day, under both keys the
    access review matches an account by: the vendor's actor id and the lower-cased actor name (an event carrying
    both gives two rows). So the review reads days, not the whole event history, whatever date it is as of.
    Incremental: the days that received events since the last build (late ones included) are recomputed in full
    from fct_audit_events. unique_key is the day on purpose: delete+insert replaces every row of a recomputed day,
    so an actor who no longer appears on it (a restated event) leaves no stale row behind. -#}
{%- set touched_days = fact_days_loaded_since() if incremental_run else [] %}

with events as (
    select
        source_system, source_instance, actor_id, lower(actor_name) as actor_name, event_time, loaded_at,
        event_category = 'authentication' and event_action = 'login' and outcome = 'success' as is_login
    from {{ ref('fct_audit_events') }}
    where (actor_id is not null or actor_name is not null)
    {%- if incremental_run %}
      and {{ on_fact_days(touched_days) }}
    {%- endif %}
),

keyed as (
    select source_system, source_instance, actor_id as actor_key, event_time, loaded_at, is_login
    from events
    where actor_id is not null
    union all
    select source_system, source_instance, actor_name, event_time, loaded_at, is_login
    from events
    where actor_name is not null
)

select
    source_system,
    source_instance,
    actor_key,
    cast(event_time as date) as activity_date,
    max(event_time) filter (where is_login) as last_login_at,
    max(event_time) as last_activity_at,
    max(loaded_at) as last_loaded_at,
    '{{ rules_fingerprint(catalogue_rules()) }}' as rules_fingerprint
from keyed
group by all
