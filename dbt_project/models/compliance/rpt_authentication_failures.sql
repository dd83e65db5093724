{{
    config(
        materialized='incremental',
        unique_key='failure_key',
        incremental_strategy='delete+insert',
        on_schema_change='fail',
    )
}}
-- Failed logins and lockouts per user, IP and hour, with a sliding-window brute-force flag per user
-- and per IP (password spraying hits many users from one IP), and whether a success followed.
{%- set window_minutes = var('brute_force_window_minutes') | int %}
{%- set success_minutes = var('success_after_failure_window_minutes') | int %}
{#- Incremental: new authentication events (late ones included) can only change hours from
    (their time - window - success window) on, so only those hours are recomputed, from a literal
    time bound that DuckDB prunes the fact's row groups with. -#}
{%- set recompute_from = none -%}
{%- set nothing_new = false -%}
{%- if execute and is_incremental() -%}
    {%- set query -%}
        select strftime(date_trunc('hour', min(event_time) - interval '{{ window_minutes + success_minutes }} minutes')
                        at time zone 'UTC', '%Y-%m-%d %H:%M:%S')
        from {{ ref('fct_audit_events') }}
        where loaded_at > {{ loaded_since('last_loaded_at') }}
          and event_category = 'authentication' and event_action in ('login', 'lock')
    {%- endset -%}
    {%- set recompute_from = run_query(query).rows[0][0] -%}
    {%- set nothing_new = recompute_from is none -%}
{%- endif -%}
{%- set from_hour = "timestamptz '" ~ recompute_from ~ "+00'" if recompute_from else none %}

with auth_events as (
    select source_system, source_instance, event_key, event_time, event_action, outcome, loaded_at,
           coalesce(actor_name, '(unknown)') as user_name,
           coalesce(actor_ip, '(unknown)') as actor_ip
    from {{ ref('fct_audit_events') }}
    where event_category = 'authentication' and event_action in ('login', 'lock')
    {%- if nothing_new %}
      and false
    {%- elif from_hour %}
      -- the sliding window looks back from the first recomputed hour
      and event_time >= {{ from_hour }} - interval '{{ window_minutes }} minutes'
    {%- endif %}
),

failures as (
    select * from auth_events where outcome = 'failure'
),

windowed as (
    select
        *,
        count(*) over (
            partition by source_system, source_instance, user_name order by event_time
            range between interval '{{ window_minutes }} minutes' preceding and current row
        ) as user_failures_in_window,
        count(*) over (
            partition by source_system, source_instance, actor_ip order by event_time
            range between interval '{{ window_minutes }} minutes' preceding and current row
        ) as ip_failures_in_window
    from failures
),

hourly as (
    select
        source_system, source_instance, user_name, actor_ip,
        date_trunc('hour', event_time) as failure_hour,
        count(*) filter (where event_action = 'login') as failed_logins,
        count(*) filter (where event_action = 'lock') as lockouts,
        min(event_time) as first_failure_at,
        max(event_time) as last_failure_at,
        max(user_failures_in_window) as max_user_failures_in_window,
        max(ip_failures_in_window) as max_ip_failures_in_window,
        max(loaded_at) as last_loaded_at
    from windowed
    group by all
),

successes as (
    select source_system, source_instance, user_name, event_time as success_at, loaded_at
    from auth_events
    where outcome = 'success' and event_action = 'login'
),

followed as (
    -- the first success after the hour's last failure (an as-of join: no per-user fan-out)
    select h.*, s.success_at, s.loaded_at as success_loaded_at
    from hourly h
    asof left join successes s
        on s.source_system = h.source_system and s.source_instance = h.source_instance
        and s.user_name = h.user_name
        and s.success_at > h.last_failure_at
)

select
    {{ audit_event_key(
        'source_system', "source_instance || '|' || user_name || '|' || actor_ip", 'failure_hour'
    ) }} as failure_key,
    source_system,
    source_instance,
    user_name,
    actor_ip,
    failure_hour,
    failed_logins,
    lockouts,
    first_failure_at,
    last_failure_at,
    max_user_failures_in_window,
    max_ip_failures_in_window,
    (max_user_failures_in_window >= {{ var('brute_force_threshold') }}
        or max_ip_failures_in_window >= {{ var('brute_force_threshold') }}) as is_brute_force,
    coalesce(success_at <= last_failure_at + interval '{{ success_minutes }} minutes', false) as is_followed_by_success,
    case when success_at <= last_failure_at + interval '{{ success_minutes }} minutes' then success_at end
        as success_after_failure_at,
    greatest(last_loaded_at, case when success_at <= last_failure_at + interval '{{ success_minutes }} minutes'
                                  then success_loaded_at end) as last_loaded_at
from followed
{%- if from_hour %}
where failure_hour >= {{ from_hour }}
{%- endif %}
