{{
    config(
        materialized='incremental',
        unique_key='export_key',
        incremental_strategy='delete+insert',
        on_schema_change='fail',
        pre_hook="{{ delete_rows_built_under_other_rules(export_rules()) }}",
    )
}}
-- Exports and shares per user, object and day, against the user's own baseline: their exports per ACTIVE
-- day (a day they did anything, core.int_user_activity_daily) over the trailing window, so a new user or a
-- new deployment is not measured against days that did not exist; nothing is anomalous before the user has
-- var export_min_history_days active days in the window.
{#- Incremental: the user-days that received export events since the last build (late ones included)
    are recounted in full from the fact, so re-read events never double-count. Baselines come from the
    stored rows: a touched day's baseline reads the user's stored days before it, and the user's stored
    days in the baseline window after it get their baseline and anomaly flag restated. -#}
{%- set incremental_run = is_incremental() and not rules_changed(this, export_rules()) %}
{%- set since = loaded_since('last_loaded_at') if incremental_run else none %}
{%- set baseline_days = var('export_baseline_days') | int %}
{%- set recount_from = none %}
{%- if since and execute and model.resource_type != 'unit_test' %}
    {#- a literal lower bound on event_time lets DuckDB skip the fact's older row groups -#}
    {%- set recount_from = run_query(
        "select strftime(min(event_time) at time zone 'UTC', '%Y-%m-%d') from " ~ ref('fct_audit_events')
        ~ " where event_category = 'data_export' and loaded_at > " ~ since
    ).rows[0][0] %}
{%- endif %}

{#- Read the fact in separate scans (not one shared CTE, which DuckDB would materialise in full) so
    that each keeps its own pushed-down filter. -#}
{#- stored rows a touched day can reach (a literal, so DuckDB skips older row groups) -#}
{%- set stored_in_reach = "stored.export_date >= date '" ~ recount_from ~ "' - " ~ baseline_days
                          if recount_from else 'true' %}

{%- set export_events -%}
    select
        source_system, source_instance,
        coalesce(actor_name, '(unknown)') as user_name,
        coalesce(target_type, '(unknown)') as object_type,
        coalesce(target_id, target_name, '(unknown)') as object_id,
        target_name,
        cast(event_time as date) as export_date,
        event_action, loaded_at
    from {{ ref('fct_audit_events') }}
    where event_category = 'data_export'
{%- endset %}

with
{%- if incremental_run %}

touched as (
    -- user-days with events loaded since the last build
    select distinct source_system, source_instance, user_name, export_date
    from ({{ export_events }} and loaded_at > {{ since }})
),

recount as (
    -- every event of a touched user-day, old and new
    select e.*
    from (
        {{ export_events }}
        {%- if recount_from %}
        and event_time >= timestamptz '{{ recount_from }} 00:00:00+00'
        {%- elif execute and model.resource_type != 'unit_test' %}
        and false  -- no export events since the last build
        {%- endif %}
    ) e
    semi join touched t
        on t.source_system = e.source_system and t.source_instance = e.source_instance
        and t.user_name = e.user_name and t.export_date = e.export_date
),
{%- endif %}

exports as (
    select
        source_system, source_instance, user_name, object_type, object_id,
        max(target_name) as object_name,
        export_date,
        count(*) filter (where event_action = 'export') as exports,
        count(*) filter (where event_action = 'share') as shares,
        max(loaded_at) as last_loaded_at
    {%- if incremental_run %}
    from recount
    {%- else %}
    from ({{ export_events }})
    {%- endif %}
    group by all
),

user_days as (
    select source_system, source_instance, user_name, export_date, sum(exports + shares) as user_day_events
    from exports
    group by all
    {%- if incremental_run %}
    union all
    -- the same users' other stored days within reach of a touched day (each stored row repeats its day's total)
    select distinct stored.source_system, stored.source_instance, stored.user_name, stored.export_date, stored.user_day_events
    from {{ this }} stored
    where {{ stored_in_reach }}
      and exists (
            select 1 from touched t
            where t.source_system = stored.source_system and t.source_instance = stored.source_instance
              and t.user_name = stored.user_name
              and stored.export_date between t.export_date - {{ baseline_days }} and t.export_date + {{ baseline_days }}
        )
      and not exists (
            select 1 from touched t
            where t.source_system = stored.source_system and t.source_instance = stored.source_instance
              and t.user_name = stored.user_name and t.export_date = stored.export_date
        )
    {%- endif %}
),

prior_exports as (
    select
        *,
        coalesce(sum(user_day_events) over (
            partition by source_system, source_instance, user_name order by export_date
            range between interval '{{ baseline_days }} days' preceding and interval '1 day' preceding
        ), 0) as prior_window_events
    from user_days
),

active_history as (
    -- days the user did anything in the window before each of their export days
    select p.source_system, p.source_instance, p.user_name, p.export_date, count(a.activity_date) as prior_active_days
    from prior_exports p
    left join {{ ref('int_user_activity_daily') }} a
        on a.source_system = p.source_system and a.source_instance = p.source_instance
        and a.user_name = p.user_name and a.event_count > 0
        and a.activity_date >= p.export_date - {{ baseline_days }} and a.activity_date < p.export_date
    group by p.source_system, p.source_instance, p.user_name, p.export_date
),

baselines as (
    -- mean per active day over the preceding window (days the user did anything; export-free ones count 0)
    select
        p.*,
        h.prior_active_days,
        p.prior_window_events / greatest(h.prior_active_days, 1) as baseline_daily_events
    from prior_exports p
    inner join active_history h using (source_system, source_instance, user_name, export_date)
)

select
    {{ audit_event_key(
        'e.source_system', "e.source_instance || '|' || e.user_name || '|' || e.object_type",
        "e.object_id || '|' || e.export_date"
    ) }} as export_key,
    e.source_system,
    e.source_instance,
    e.user_name,
    e.object_type,
    e.object_id,
    e.object_name,
    e.export_date,
    e.exports,
    e.shares,
    b.user_day_events,
    round(b.baseline_daily_events, 3) as baseline_daily_events,
    b.prior_active_days,
    b.prior_active_days >= {{ var('export_min_history_days') }}
        and b.user_day_events >= {{ var('export_anomaly_min_events') }}
        and b.user_day_events > {{ var('export_anomaly_factor') }} * b.baseline_daily_events as is_anomalous,
    e.last_loaded_at,
    '{{ rules_fingerprint(export_rules()) }}' as rules_fingerprint
from exports e
inner join baselines b using (source_system, source_instance, user_name, export_date)

{%- if incremental_run %}

union all

-- stored days after a touched day, within the baseline window: same counts, restated baseline
select
    stored.export_key,
    stored.source_system,
    stored.source_instance,
    stored.user_name,
    stored.object_type,
    stored.object_id,
    stored.object_name,
    stored.export_date,
    stored.exports,
    stored.shares,
    stored.user_day_events,
    round(b.baseline_daily_events, 3),
    b.prior_active_days,
    b.prior_active_days >= {{ var('export_min_history_days') }}
        and stored.user_day_events >= {{ var('export_anomaly_min_events') }}
        and stored.user_day_events > {{ var('export_anomaly_factor') }} * b.baseline_daily_events,
    stored.last_loaded_at,
    stored.rules_fingerprint
from {{ this }} stored
join baselines b using (source_system, source_instance, user_name, export_date)
where {{ stored_in_reach }}
  and exists (
        select 1 from touched t
        where t.source_system = stored.source_system and t.source_instance = stored.source_instance
          and t.user_name = stored.user_name
          and stored.export_date > t.export_date and stored.export_date <= t.export_date + {{ baseline_days }}
    )
  and not exists (
        select 1 from touched t
        where t.source_system = stored.source_system and t.source_instance = stored.source_instance
          and t.user_name = stored.user_name and t.export_date = stored.export_date
    )
{%- endif %}
-- stored in day order, so the reach filter above skips older row groups
order by export_date
