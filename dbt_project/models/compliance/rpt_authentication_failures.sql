-- Failed logins and lockouts per user, IP and hour, with a sliding-window brute-force flag per user
-- and per IP (password spraying hits many users from one IP), and whether a success followed.
{%- set window = "interval '" ~ var('brute_force_window_minutes') ~ " minutes'" %}
{%- set success_window = "interval '" ~ var('success_after_failure_window_minutes') ~ " minutes'" %}
with failures as (
    select
        source_system, source_instance, event_key, event_time, event_action,
        coalesce(actor_name, '(unknown)') as user_name,
        coalesce(actor_ip, '(unknown)') as actor_ip
    from {{ ref('fct_audit_events') }}
    where event_category = 'authentication' and outcome = 'failure' and event_action in ('login', 'lock')
),

windowed as (
    select
        *,
        count(*) over (
            partition by source_system, source_instance, user_name order by event_time
            range between {{ window }} preceding and current row
        ) as user_failures_in_window,
        count(*) over (
            partition by source_system, source_instance, actor_ip order by event_time
            range between {{ window }} preceding and current row
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
        max(ip_failures_in_window) as max_ip_failures_in_window
    from windowed
    group by all
),

successes as (
    select s.source_system, s.source_instance, s.actor_name as user_name, s.event_time
    from {{ ref('fct_audit_events') }} s
    where s.event_category = 'authentication' and s.event_action = 'login' and s.outcome = 'success'
      and exists (
          select 1 from failures f
          where f.source_system = s.source_system and f.source_instance = s.source_instance
            and f.user_name = s.actor_name
      )
),

followed as (
    select h.source_system, h.source_instance, h.user_name, h.actor_ip, h.failure_hour,
           min(s.event_time) as success_after_failure_at
    from hourly h
    join successes s
        on s.source_system = h.source_system and s.source_instance = h.source_instance
        and s.user_name = h.user_name
        and s.event_time > h.last_failure_at
        and s.event_time <= h.last_failure_at + {{ success_window }}
    group by all
)

select
    {{ audit_event_key('h.source_system', "h.source_instance || '|' || h.user_name || '|' || h.actor_ip", 'h.failure_hour') }} as failure_key,
    h.source_system,
    h.source_instance,
    h.user_name,
    h.actor_ip,
    h.failure_hour,
    h.failed_logins,
    h.lockouts,
    h.first_failure_at,
    h.last_failure_at,
    h.max_user_failures_in_window,
    h.max_ip_failures_in_window,
    (h.max_user_failures_in_window >= {{ var('brute_force_threshold') }}
        or h.max_ip_failures_in_window >= {{ var('brute_force_threshold') }}) as is_brute_force,
    f.success_after_failure_at is not null as is_followed_by_success,
    f.success_after_failure_at
from hourly h
left join followed f using (source_system, source_instance, user_name, actor_ip, failure_hour)
