-- Role, privilege, group-membership and other administrative access changes: who changed what for whom.
with changes as (
    -- named columns only: never decompress raw_payload for a scattered slice of history
    select event_key, source_system, source_instance, event_time, event_type, event_category, event_action, outcome, is_privileged, actor_id, actor_name, actor_ip, actor_user_agent, target_type, target_id, target_name, details
    from {{ ref('fct_audit_events') }}
    where is_privileged
      and event_category in ('privilege_management', 'group_management', 'access_control', 'org_management')
),

self_joined_groups as (
    -- groups an actor added themselves to (ThoughtSpot PRINCIPALS_IN_GROUP_UPDATE lists member GUIDs)
    select distinct source_system, source_instance, actor_id, target_id as group_id, event_time as joined_at
    from changes
    where actor_id is not null
      and list_contains(coalesce(json_extract_string(details, '$.requestedUsersInGroup[*].id'), []), actor_id)
),

subjects as (
    select
        *,
        list_contains(coalesce(json_extract_string(details, '$.requestedUsersInGroup[*].id'), []), actor_id)
            as adds_actor_to_group,
        exists (
            select 1 from self_joined_groups g
            where g.source_system = changes.source_system and g.source_instance = changes.source_instance
              and g.actor_id = changes.actor_id and g.group_id = changes.target_id
              and g.joined_at <= changes.event_time
              and changes.event_category = 'privilege_management'
        ) as grants_to_own_group,
        -- the user whose access changed: the target when it is a user, else a member named in the details
        case when target_type in ('user', 'workspace_user') then target_name end as subject_user_name_from_target,
        case when target_type in ('user', 'workspace_user') then target_id end as subject_user_id_from_target,
        coalesce(details ->> '$.member_username', details ->> '$.username', details ->> '$.userName') as subject_user_name_from_details,
        coalesce(details ->> '$.member_id', details ->> '$.userId', details ->> '$.UserId', details ->> '$.userGuid.id') as subject_user_id_from_details
    from changes
)

select
    event_key,
    source_system,
    source_instance,
    event_time,
    event_type,
    event_category,
    event_action,
    outcome,
    actor_name as changed_by,
    actor_id as changed_by_id,
    actor_ip,
    target_type,
    target_id,
    target_name,
    coalesce(subject_user_name_from_target, subject_user_name_from_details) as subject_user_name,
    coalesce(subject_user_id_from_target, subject_user_id_from_details) as subject_user_id,
    details,
    -- segregation of duties: granting access to oneself (revocations are not grants)
    coalesce(
        event_action not in ('revoke', 'remove', 'remove_member', 'delete')
        and (
            (actor_id is not null and actor_id = coalesce(subject_user_id_from_target, subject_user_id_from_details))
            or (actor_name is not null and lower(actor_name) = lower(coalesce(subject_user_name_from_target, subject_user_name_from_details)))
            or adds_actor_to_group
            or grants_to_own_group
        ),
        false
    ) as is_self_grant,
    {{ is_off_hours('event_time') }} as is_off_hours
from subjects
