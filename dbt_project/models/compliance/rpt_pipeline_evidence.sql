{{
    config(
        materialized='incremental',
        unique_key=['source_system', 'source_instance', 'evidence_date'],
        incremental_strategy='delete+insert',
        on_schema_change='fail',
    )
}}
{#- Evidence that the log pipeline is complete and untampered, per source instance and UTC day.
    Incremental: only days touched since the last build (new or late events, new fetch windows, new
    quarantined records) are recomputed, so a stored day keeps the hash it was given; recomputing it
    later from fct_audit_events and comparing shows tampering or loss. -#}
{%- set touched_days = [] -%}
{%- if execute and is_incremental() -%}
    {%- set query -%}
        with marks as (
            select
                -- the fact re-reads this far back, so rows stamped before the mark can still arrive
                coalesce(max(last_loaded_at) - interval '{{ var("fct_reprocess_lookback_minutes") }} minutes',
                         '-infinity'::timestamptz) as loaded_mark,
                coalesce(max(last_fetched_at), '-infinity'::timestamptz) as fetched_mark,
                coalesce(max(last_quarantined_at), '-infinity'::timestamptz) as quarantined_mark
            from {{ this }}
        )
        select distinct cast(event_time as date)::varchar from {{ ref('fct_audit_events') }}, marks
        where loaded_at > loaded_mark
        union
        select distinct cast(window_start as date)::varchar from {{ ref('int_ingest_windows') }}, marks
        where fetched_at > fetched_mark
        union
        select distinct cast(window_start as date)::varchar from {{ ref('int_quarantined_records') }}, marks
        where quarantined_at > quarantined_mark
    {%- endset -%}
    {%- for row in run_query(query).rows -%}{%- do touched_days.append(row[0]) -%}{%- endfor -%}
{%- endif -%}
{%- set day_filter = {'event_time': '', 'window_start': ''} -%}
{%- if is_incremental() -%}
    {%- set date_literals = [] -%}
    {%- for day in touched_days -%}{%- do date_literals.append("date '" ~ day ~ "'") -%}{%- endfor -%}
    {%- for column in ['event_time', 'window_start'] -%}
        {%- if touched_days -%}
            {%- do day_filter.update({column: "where " ~ column ~ " >= timestamptz '" ~ (touched_days | min) ~ " 00:00:00+00'"
                ~ " and cast(" ~ column ~ " as date) in (" ~ (date_literals | join(", ")) ~ ")"}) -%}
        {%- else -%}
            {%- do day_filter.update({column: "where false"}) -%}
        {%- endif -%}
    {%- endfor -%}
{%- endif -%}

with events as (
    select
        source_system, source_instance, cast(event_time as date) as evidence_date,
        source_event_id, event_time, loaded_at,
        date_diff('second', event_time, loaded_at) / 60.0 as arrival_delay_minutes
    from {{ ref('fct_audit_events') }}
    {{ day_filter['event_time'] }}
),

event_days as (
    select
        source_system, source_instance, evidence_date,
        count(*) as events_loaded,
        min(event_time) as first_event_at,
        max(event_time) as last_event_at,
        round(quantile_cont(arrival_delay_minutes, 0.95), 2) as late_arrival_p95_minutes,
        max(loaded_at) as last_loaded_at,
        -- order-independent: the same set of ids gives the same hash whatever the load order
        md5(string_agg(source_event_id, ',' order by source_event_id)) as event_ids_sha,
        count(distinct source_event_id) as distinct_event_ids
    from events
    group by all
),

windows as (
    select * from {{ ref('int_ingest_windows') }}
),

window_days as (
    -- a window counts on the UTC day it starts (windows are at most 24 h)
    select
        source_system, source_instance, cast(window_start as date) as evidence_date,
        count(*) as windows_fetched,
        sum(fetched) as records_fetched,
        sum(new_events) as new_events_reported,
        sum(duplicates) as duplicates_absorbed,
        max(fetched_at) as last_fetched_at
    from windows
    {{ day_filter['window_start'] }}
    group by all
),

quarantine as (
    select * from {{ ref('int_quarantined_records') }}
),

quarantine_days as (
    select
        source_system, source_instance, cast(window_start as date) as evidence_date,
        count(*) as quarantined_records,
        max(quarantined_at) as last_quarantined_at
    from quarantine
    {{ day_filter['window_start'] }}
    group by all
),

days as (
    select source_system, source_instance, evidence_date from event_days
    union
    select source_system, source_instance, evidence_date from window_days
    union
    select source_system, source_instance, evidence_date from quarantine_days
)

select
    d.source_system::varchar as source_system,
    d.source_instance::varchar as source_instance,
    d.evidence_date::date as evidence_date,
    coalesce(e.events_loaded, 0)::bigint as events_loaded,
    e.first_event_at,
    e.last_event_at,
    e.late_arrival_p95_minutes::double as late_arrival_p95_minutes,
    coalesce(w.windows_fetched, 0)::bigint as windows_fetched,
    coalesce(w.records_fetched, 0)::bigint as records_fetched,
    coalesce(w.duplicates_absorbed, 0)::bigint as duplicates_absorbed,
    coalesce(q.quarantined_records, 0)::bigint as quarantined_records,
    coalesce(e.events_loaded, 0) - coalesce(e.distinct_event_ids, 0) as duplicate_event_ids_in_fact,
    coalesce(e.event_ids_sha, md5('')) as event_ids_hash,
    e.last_loaded_at,
    w.last_fetched_at,
    q.last_quarantined_at,
    current_timestamp as evidence_recorded_at
from days d
left join event_days e using (source_system, source_instance, evidence_date)
left join window_days w using (source_system, source_instance, evidence_date)
left join quarantine_days q using (source_system, source_instance, evidence_date)
