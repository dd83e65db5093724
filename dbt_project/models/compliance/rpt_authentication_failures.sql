{{
    config(
        materialized='incremental',
        unique_key='failure_key',
        incremental_strategy='delete+insert',
        on_schema_change='fail',
        pre_hook="{{ delete_rows_built_under_other_rules(authentication_rules()) }}",
    )
}}
-- Failed logins and lockouts per user, IP and hour, with sliding-window brute-force flags by user and,
-- separately, by source IP (Panther's brute_force_by_user / brute_force_by_ip: password spraying hits many
-- users from one IP), lockouts as findings, and whether a success followed enough failures.
-- A failure without a user name, or without an IP, counts for neither: unknowns are never pooled.
{%- set window_minutes = var('brute_force_window_minutes') | int %}
{%- set success_minutes = var('success_after_failure_window_minutes') | int %}
{%- set incremental_run = is_incremental() and not rules_changed(this, authentication_rules()) %}
{#- Incremental: new authentication events (late ones included) can only change hours from
    (their time - window - success window) on, so only those hours are recomputed, from a literal
    time bound that DuckDB prunes the fact's row groups with. -#}
{%- set recompute_from = none -%}
{%- set nothing_new = false -%}
{%- if execute and incremental_run -%}
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
           actor_name as user_name,
           actor_ip
    from {{ ref('fct_audit_events') }}
    where event_category = 'authentication' and event_action in ('login', 'lock')
    {%- if nothing_new and incremental_run %}
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
        case when user_name is not null then count(*) over (
            partition by source_system, source_instance, user_name order by event_time
            range between interval '{{ window_minutes }} minutes' preceding and current row
        ) end as user_failures_in_window,
        case when actor_ip is not null then count(*) over (
            partition by source_system, source_instance, actor_ip order by event_time
            range between interval '{{ window_minutes }} minutes' preceding and current row
        ) end as ip_failures_in_window
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
    -- (an as-of join never matches a null user name: an unknown user's success cannot follow)
)

select
    {{ audit_event_key(
        'source_system',
        "source_instance || '|' || coalesce(user_name, '(unknown)') || '|' || coalesce(actor_ip, '(unknown)')",
        'failure_hour'
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
    coalesce(max_user_failures_in_window >= {{ var('brute_force_threshold') }}, false) as is_brute_force_by_user,
    coalesce(max_ip_failures_in_window >= {{ var('brute_force_threshold') }}, false) as is_brute_force_by_ip,
    coalesce(max_user_failures_in_window >= {{ var('brute_force_threshold') }}
             or max_ip_failures_in_window >= {{ var('brute_force_threshold') }}, false) as is_brute_force,
    lockouts > 0 as is_lockout,
    -- a success soon after at least N failures for the user (one typo then a success is not a finding)
    coalesce(success_at <= last_failure_at + interval '{{ success_minutes }} minutes'
             and max_user_failures_in_window >= {{ var('min_failures_before_success') }}, false)
        as is_followed_by_success,
    case when success_at <= last_failure_at + interval '{{ success_minutes }} minutes' then success_at end
        as success_after_failure_at,
    greatest(last_loaded_at, case when success_at <= last_failure_at + interval '{{ success_minutes }} minutes'
                                  then success_loaded_at end) as last_loaded_at,
    '{{ rules_fingerprint(authentication_rules()) }}' as rules_fingerprint
from followed
{%- if from_hour %}
where failure_hour >= {{ from_hour }}
{%- endif %}
