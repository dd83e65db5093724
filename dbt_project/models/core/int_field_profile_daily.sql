{{
    config(
        materialized='incremental',
        unique_key=['source_system', 'source_instance', 'event_type', 'event_date'],
        incremental_strategy='delete+insert',
        on_schema_change='fail',
    )
}}
{#- How filled each parsed field is, per source, event type and UTC day: the profile the `field_drift` check
    compares recent days against, to notice a vendor changing its format (a field going empty, new context keys).
    Incremental: days that received events since the last build (its watermark less the fact's
    reprocessing lookback) are recomputed in full. -#}
{%- set touched_days = fact_days_loaded_since() if is_incremental() else [] %}

select
    source_system,
    source_instance,
    event_type,
    cast(event_time as date) as event_date,
    count(*) as events,
    count(actor_id) as actor_id_filled,
    count(actor_name) as actor_name_filled,
    count(nullif(actor_ip, '')) as actor_ip_filled,
    count(target_id) as target_id_filled,
    count(target_name) as target_name_filled,
    count(org_id) as org_id_filled,
    list_sort(list_distinct(flatten(list(coalesce(json_keys(details), []::varchar[]))))) as context_keys,
    max(loaded_at) as last_loaded_at
from {{ ref('fct_audit_events') }}
{%- if is_incremental() %}
where {{ on_fact_days(touched_days) }}
{%- endif %}
group by all
