{{ config(materialized='table') }}
-- One row per user per source instance. A user is known by name (ThoughtSpot and Mode both log the
-- username); ids seen beside a name map id-only events (ThoughtSpot USERS_DELETED lists GUIDs) back
-- to it. Failed logins count against a known user but do not create one: an attempted name that
-- never did anything else is not an account.
with events as (
    -- only events that change an account or a role: a small slice of the history, kept incrementally
    select
        source_system, source_instance, event_time, event_category, event_action, outcome,
        is_privileged, actor_id, actor_name, target_type, target_id, target_name, details
    from {{ ref('int_user_account_events') }}
),

daily as (
    select * from {{ ref('int_user_activity_daily') }}
),

identities as (
    -- latest name seen for each vendor user id, from actors and from user-typed targets
    select source_system, source_instance, user_id, arg_max(user_name, event_time) as user_name
    from (
        select source_system, source_instance, user_id, user_name, last_seen_at as event_time
        from daily where user_id is not null and last_seen_at is not null
        union all
        select source_system, source_instance, target_id, target_name, event_time
        from events
        where target_id is not null and target_name is not null
    ) named_ids
    group by all
),

lifecycle as (
    -- account state changes applied to a user (the target): succeeded or attempted (the vendor logs many as
    -- "attempted"); a failed change is not one.
    -- Mode logs no removal action: a role change to `removed` is the removal.
    select
        e.source_system,
        e.source_instance,
        -- ThoughtSpot trial / team events name the account in data.userName
        coalesce(e.target_name, e.details ->> '$.userName', i.user_name, e.target_id) as user_name,
        coalesce(e.target_id, i2.user_id) as user_id,
        e.lifecycle_action as event_action,
        e.event_time
    from (
        select *, case
            when event_category = 'user_management' then event_action
            when event_category = 'privilege_management'
                and lower(coalesce(details ->> '$.new_role', '')) in ('removed', 'deactivated', 'deleted')
                then 'delete'
        end as lifecycle_action
        from events
    ) e
    left join identities i
        on i.source_system = e.source_system and i.source_instance = e.source_instance and i.user_id = e.target_id
    left join identities i2
        on i2.source_system = e.source_system and i2.source_instance = e.source_instance
        and i2.user_name = e.target_name and e.target_id is null
    where e.target_type in ('user', 'workspace_user')
      -- stated as done, or attempted by an administrator (ThoughtSpot logs account changes as "attempted"), or
      -- an attempted sign-up (it names the account); a self-service "successfully or unsuccessfully attempted"
      -- deletion, or a failed change, is not a state change
      and (e.outcome = 'success'
           or (e.outcome = 'attempt' and (e.is_privileged or e.lifecycle_action in ('create', 'invite', 'enable'))))
      and e.lifecycle_action in ('create', 'invite', 'enable', 'delete', 'disable', 'expire')
      and coalesce(e.target_name, e.details ->> '$.userName', i.user_name, e.target_id) is not null
),

activity as (
    select
        source_system, source_instance, user_name,
        arg_max(user_id, activity_date) filter (where user_id is not null) as user_id,
        min(first_seen_at) as first_seen_at,
        max(last_seen_at) as last_seen_at,
        max(last_login_at) as last_login_at,
        max(last_failed_login_at) as last_failed_login_at,
        sum(failed_login_count) as failed_login_count,
        sum(event_count) as event_count,
        max(last_privileged_action_at) as last_privileged_action_at,
        sum(privileged_action_count) as privileged_action_count
    from daily
    group by all
),

admin_grants as (
    -- role changes that made a user an admin (Mode context carries the new role)
    select source_system, source_instance, target_name as user_name, max(event_time) as last_admin_grant_at
    from events
    where event_category = 'privilege_management' and target_type in ('user', 'workspace_user')
      and coalesce(details ->> '$.new_role', details ->> '$.role', '') ilike '%admin%'
    group by all
),

lifecycle_by_user as (
    select
        source_system, source_instance, user_name,
        max(user_id) as user_id,
        min(event_time) filter (where event_action in ('create', 'invite')) as created_at,
        max(event_time) filter (where event_action in ('create', 'invite', 'enable')) as last_enabled_at,
        max(event_time) filter (where event_action = 'delete') as deleted_at,
        max(event_time) filter (where event_action in ('disable', 'expire')) as disabled_at
    from lifecycle
    group by all
),

users as (
    select source_system, source_instance, user_name from lifecycle_by_user
    union
    select source_system, source_instance, user_name from activity where event_count > 0
)

select
    {{ audit_event_key('u.source_system', 'u.source_instance', 'u.user_name') }} as user_key,
    u.source_system,
    u.source_instance,
    u.user_name,
    coalesce(a.user_id, l.user_id) as user_id,
    least(a.first_seen_at, l.created_at) as first_seen_at,
    greatest(a.last_seen_at, l.deleted_at, l.disabled_at, l.last_enabled_at) as last_seen_at,
    a.last_seen_at as last_activity_at,
    a.last_login_at,
    a.last_failed_login_at,
    coalesce(a.failed_login_count, 0) as failed_login_count,
    coalesce(a.event_count, 0) as event_count,
    l.created_at,
    l.deleted_at,
    l.disabled_at,
    case
        when l.deleted_at is not null and l.deleted_at >= coalesce(l.last_enabled_at, l.deleted_at) then 'deleted'
        when l.disabled_at is not null and l.disabled_at >= coalesce(l.last_enabled_at, l.disabled_at) then 'disabled'
        else 'active'
    end as current_status,
    coalesce(a.privileged_action_count, 0) > 0 or g.last_admin_grant_at is not null as is_privileged,
    coalesce(a.privileged_action_count, 0) as privileged_action_count,
    a.last_privileged_action_at,
    g.last_admin_grant_at
from users u
left join activity a using (source_system, source_instance, user_name)
left join lifecycle_by_user l using (source_system, source_instance, user_name)
left join admin_grants g using (source_system, source_instance, user_name)
