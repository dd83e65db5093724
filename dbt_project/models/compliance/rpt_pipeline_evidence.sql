{{
    config(
        materialized='incremental',
        unique_key=['source_system', 'source_instance', 'evidence_date'],
        incremental_strategy='delete+insert',
        on_schema_change='fail',
        pre_hook="{{ delete_rows_built_under_other_rules(evidence_rules()) }}",
    )
}}
{#- Evidence that the log pipeline is complete, per source instance and day. One day definition
    everywhere: the UTC day of the event time. Fetch windows and quarantined records count on every day
    their window intersects (a window may span midnight), never just the day it starts.

    Incremental: only days touched since the last build (new or late events, new fetch windows, new
    quarantined records) are recomputed. The tamper-evident part is rpt_integrity_chain, which seals
    closed days from the raw records and is never rebuilt. -#}
{%- set grace_minutes = var('late_arrival_grace_minutes') | int %}
{%- set seal_after_hours = var('integrity_seal_after_hours') | int %}
{%- set touched_days = [] -%}
{%- set incremental_run = is_incremental() and not rules_changed(this, evidence_rules()) -%}
{%- if execute and incremental_run -%}
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
        select distinct cast(f.event_time as date)::varchar
        from {{ ref('fct_audit_events') }} f, marks
        where f.loaded_at > marks.loaded_mark
        union
        select distinct unnest(generate_series(cast(w.window_start as date), cast(w.window_end as date),
                                               interval 1 day))::date::varchar
        from {{ ref('int_ingest_windows') }} w, marks
        where w.fetched_at > marks.fetched_mark
        union
        select distinct unnest(generate_series(cast(q.window_start as date), cast(q.window_end as date),
                                               interval 1 day))::date::varchar
        from {{ ref('int_quarantined_records') }} q, marks
        where q.quarantined_at > marks.quarantined_mark
    {%- endset -%}
    {%- for row in run_query(query).rows -%}{%- do touched_days.append(row[0]) -%}{%- endfor -%}
{%- endif -%}
{%- set date_literals = [] -%}
{%- for day in touched_days -%}{%- do date_literals.append("date '" ~ day ~ "'") -%}{%- endfor -%}

with windows as (
    select
        source_system, source_instance, window_start, window_end, fetched, new_events, duplicates, quarantined,
        fetched_at
    from {{ ref('int_ingest_windows') }}
),

window_days as (
    -- every (window, UTC day it intersects)
    select
        w.*,
        unnest(generate_series(cast(w.window_start as date), cast(w.window_end as date), interval 1 day))::date
            as evidence_date
    from windows w
),

days as (
    select source_system, source_instance, evidence_date from window_days
    union
    select source_system, source_instance, cast(event_time as date) as evidence_date
    from {{ ref('fct_audit_events') }}
    {%- if incremental_run %}
    where {% if touched_days -%}
        event_time >= timestamptz '{{ touched_days | min }} 00:00:00+00'
        and cast(event_time as date) in ({{ date_literals | join(', ') }})
    {%- else -%} false {%- endif %}
    {%- endif %}
    union
    select q.source_system, q.source_instance,
        unnest(generate_series(cast(q.window_start as date), cast(q.window_end as date), interval 1 day))::date
            as evidence_date
    from {{ ref('int_quarantined_records') }} q
),

selected_days as (
    select * from days
    {%- if incremental_run %}
    where {% if touched_days -%}
        evidence_date in ({{ date_literals | join(', ') }})
    {%- else -%} false {%- endif %}
    {%- endif %}
),

coverage as (
    -- islands of contiguous fetched time per instance: windows that overlap or touch (1 s) merge
    select source_system, source_instance, min(window_start) as covered_from, max(window_end) as covered_to
    from (
        select *, sum(starts_island) over (
            partition by source_system, source_instance order by window_start, window_end
        ) as island
        from (
            select
                *,
                case when window_start <= max(window_end) over (
                    partition by source_system, source_instance order by window_start, window_end
                    rows between unbounded preceding and 1 preceding
                ) + interval 1 second then 0 else 1 end as starts_island
            from windows
        ) flagged
    ) islands
    group by source_system, source_instance, island
),

window_stats as (
    select
        d.source_system, d.source_instance, d.evidence_date,
        count(wd.window_start) as windows_fetched,
        coalesce(sum(wd.fetched), 0) as records_fetched,
        coalesce(sum(wd.duplicates), 0) as duplicates_absorbed,
        count(wd.window_start) filter (where wd.fetched <> wd.new_events + wd.duplicates + wd.quarantined)
            as windows_unreconciled,
        min(wd.fetched_at) as first_fetched_at,
        max(wd.fetched_at) as last_fetched_at,
        -- when a window reaching the day's last instant was last fetched: the day's late reveals had until then
        max(wd.fetched_at) filter (where wd.window_end >= d.evidence_date + interval 1 day - interval 1 second)
            as day_end_fetched_at
    from selected_days d
    left join window_days wd using (source_system, source_instance, evidence_date)
    group by all
),

covered as (
    select d.source_system, d.source_instance, d.evidence_date, true as windows_cover_day
    from selected_days d
    semi join coverage c
        on c.source_system = d.source_system and c.source_instance = d.source_instance
        and c.covered_from <= d.evidence_date::timestamptz
        and c.covered_to >= d.evidence_date + interval 1 day - interval 1 second
),

events as (
    select f.source_system, f.source_instance, cast(f.event_time as date) as evidence_date, f.source_event_id,
        f.event_time, f.loaded_at, f.delivery_path
    from {{ ref('fct_audit_events') }} f
    semi join selected_days d
        on d.source_system = f.source_system and d.source_instance = f.source_instance
        and d.evidence_date = cast(f.event_time as date)
    {%- if incremental_run and touched_days %}
    where f.event_time >= timestamptz '{{ touched_days | min }} 00:00:00+00'
    {%- endif %}
),

first_covering_fetch as (
    -- per event, the first fetch whose window covered its time: loaded later than that is a late arrival
    select e.source_system, e.source_instance, e.source_event_id, min(w.fetched_at) as first_fetched_at
    from events e
    inner join windows w
        on w.source_system = e.source_system and w.source_instance = e.source_instance
        and e.event_time between w.window_start and w.window_end
    group by all
),

event_stats as (
    select
        e.source_system, e.source_instance, e.evidence_date,
        count(*) as events_loaded,
        -- which path brought each event first (raw keeps the first arrival); the push is fresh data, not
        -- coverage: nothing below (windows, reconciliation, completeness) counts it
        count(*) filter (where e.delivery_path = 'push') as events_pushed_first,
        count(*) filter (where e.delivery_path = 'pull') as events_pulled_first,
        count(distinct e.source_event_id) as distinct_event_ids,
        min(e.event_time) as first_event_at,
        max(e.event_time) as last_event_at,
        max(e.loaded_at) as last_loaded_at,
        count(*) filter (
            where e.loaded_at > fc.first_fetched_at + interval '{{ grace_minutes }} minutes'
        ) as late_arrivals,
        count(*) filter (where fc.first_fetched_at is null) as events_outside_fetch_windows,
        round(quantile_cont(date_diff('second', e.event_time, e.loaded_at) / 60.0, 0.95), 2)
            as late_arrival_p95_minutes
    from events e
    left join first_covering_fetch fc using (source_system, source_instance, source_event_id)
    group by all
),

quarantine_stats as (
    select q.source_system, q.source_instance, d.evidence_date,
        count(*) as quarantined_records,
        max(q.quarantined_at) as last_quarantined_at
    from {{ ref('int_quarantined_records') }} q
    inner join selected_days d
        on d.source_system = q.source_system and d.source_instance = q.source_instance
        and d.evidence_date between cast(q.window_start as date) and cast(q.window_end as date)
    group by all
)

select
    d.source_system::varchar as source_system,
    d.source_instance::varchar as source_instance,
    d.evidence_date::date as evidence_date,
    coalesce(e.events_loaded, 0)::bigint as events_loaded,
    coalesce(e.events_pushed_first, 0)::bigint as events_pushed_first,
    coalesce(e.events_pulled_first, 0)::bigint as events_pulled_first,
    e.first_event_at::timestamptz as first_event_at,
    e.last_event_at::timestamptz as last_event_at,
    coalesce(w.windows_fetched, 0)::bigint as windows_fetched,
    coalesce(w.records_fetched, 0)::bigint as records_fetched,
    coalesce(w.duplicates_absorbed, 0)::bigint as duplicates_absorbed,
    coalesce(w.windows_unreconciled, 0)::bigint as windows_unreconciled,
    coalesce(q.quarantined_records, 0)::bigint as quarantined_records,
    coalesce(e.late_arrivals, 0)::bigint as late_arrivals,
    coalesce(e.events_outside_fetch_windows, 0)::bigint as events_outside_fetch_windows,
    e.late_arrival_p95_minutes::double as late_arrival_p95_minutes,
    (coalesce(e.events_loaded, 0) - coalesce(e.distinct_event_ids, 0))::bigint as duplicate_event_ids_in_fact,
    coalesce(c.windows_cover_day, false)::boolean as windows_cover_day,
    (coalesce(c.windows_cover_day, false) and coalesce(w.windows_unreconciled, 0) = 0)::boolean as is_reconciled,
    (
        coalesce(c.windows_cover_day, false)
        and coalesce(w.windows_unreconciled, 0) = 0
        and coalesce(q.quarantined_records, 0) = 0
        and coalesce(e.events_outside_fetch_windows, 0) = 0
    )::boolean as is_complete,
    -- closed: covered and reconciled, and fetched again long enough after midnight for late reveals to be in
    (
        coalesce(c.windows_cover_day, false)
        and coalesce(w.windows_unreconciled, 0) = 0
        and coalesce(w.day_end_fetched_at >= d.evidence_date + interval 1 day
                                              + interval '{{ seal_after_hours }} hours', false)
    )::boolean as is_closed,
    e.last_loaded_at::timestamptz as last_loaded_at,
    w.last_fetched_at::timestamptz as last_fetched_at,
    q.last_quarantined_at::timestamptz as last_quarantined_at,
    '{{ rules_fingerprint(evidence_rules()) }}'::varchar as rules_fingerprint
from selected_days d
left join event_stats e using (source_system, source_instance, evidence_date)
left join window_stats w using (source_system, source_instance, evidence_date)
left join quarantine_stats q using (source_system, source_instance, evidence_date)
left join covered c using (source_system, source_instance, evidence_date)
