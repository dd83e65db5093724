-- Exports and shares per user, object and day, against the user's trailing daily baseline.
with exports as (
    select
        source_system, source_instance,
        coalesce(actor_name, '(unknown)') as user_name,
        coalesce(target_type, '(unknown)') as object_type,
        coalesce(target_id, target_name, '(unknown)') as object_id,
        max(target_name) as object_name,
        cast(event_time as date) as export_date,
        count(*) filter (where event_action = 'export') as exports,
        count(*) filter (where event_action = 'share') as shares
    from {{ ref('fct_audit_events') }}
    where event_category = 'data_export'
    group by all
),

user_days as (
    select source_system, source_instance, user_name, export_date, sum(exports + shares) as user_day_events
    from exports
    group by all
),

baselines as (
    select
        *,
        -- mean per day over the preceding window, days without exports counted as zero
        coalesce(sum(user_day_events) over (
            partition by source_system, source_instance, user_name order by export_date
            range between interval '{{ var("export_baseline_days") }} days' preceding and interval '1 day' preceding
        ), 0) / {{ var("export_baseline_days") }}.0 as baseline_daily_events
    from user_days
)

select
    {{ audit_event_key('e.source_system', "e.source_instance || '|' || e.user_name || '|' || e.object_type", "e.object_id || '|' || e.export_date") }} as export_key,
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
    b.user_day_events >= {{ var('export_anomaly_min_events') }}
        and b.user_day_events > {{ var('export_anomaly_factor') }} * b.baseline_daily_events as is_anomalous
from exports e
join baselines b using (source_system, source_instance, user_name, export_date)
