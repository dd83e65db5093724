{{
    config(
        materialized='incremental',
        unique_key='event_key',
        incremental_strategy='delete+insert',
        on_schema_change='fail',
    )
}}
-- Role, privilege, group-membership and other administrative access changes: who changed what for whom.
{#- Incremental on the fact's load time. The one flag that depends on other events is a grant to a
    group the actor added themselves to earlier: new grants look for such self-joins among the stored
    rows too, and a self-join that arrives after (or later than) the grants it taints re-selects those
    stored grants and sets their is_self_grant. -#}
{%- set since = loaded_since('loaded_at') %}
{%- set not_a_grant = "('revoke', 'remove', 'remove_member', 'delete')" %}

with changes as (
    -- named columns only: never decompress raw_payload for a scattered slice of history
    select
        event_key, source_system, source_instance, event_time, event_type, event_category, event_action, outcome,
        is_privileged, actor_id, actor_name, actor_ip, actor_user_agent, target_type, target_id, target_name, details,
        loaded_at
    from {{ ref('fct_audit_events') }}
    where is_privileged
      and event_category in ('privilege_management', 'group_management', 'access_control', 'org_management')
    {%- if since %}
      and loaded_at > {{ since }}
    {%- endif %}
),

new_self_joins as (
    -- groups an actor added themselves to (ThoughtSpot PRINCIPALS_IN_GROUP_UPDATE lists member GUIDs)
    select distinct source_system, source_instance, actor_id, target_id as group_id, event_time as joined_at
    from changes
    where actor_id is not null
      and list_contains(coalesce(json_extract_string(details, '$.requestedUsersInGroup[*].id'), []), actor_id)
),

self_joined_groups as (
    select * from new_self_joins
    {%- if is_incremental() %}
    union
    -- earlier self-joins, stored, by the actors of this batch's grants on the same groups (joined
    -- first, and the JSON test reads the batch's actor id, so it runs on those few rows only)
    select distinct stored.source_system, stored.source_instance, stored.changed_by_id, stored.target_id, stored.event_time
    from {{ this }} stored
    join (
        select distinct source_system, source_instance, actor_id, target_id
        from changes
        where event_category = 'privilege_management' and actor_id is not null
    ) grant_pairs
        on grant_pairs.source_system = stored.source_system and grant_pairs.source_instance = stored.source_instance
        and grant_pairs.actor_id = stored.changed_by_id and grant_pairs.target_id = stored.target_id
    where list_contains(coalesce(json_extract_string(stored.details, '$.requestedUsersInGroup[*].id'), []), grant_pairs.actor_id)
    {%- endif %}
),

subjects as (
    select
        *,
        list_contains(coalesce(json_extract_string(details, '$.requestedUsersInGroup[*].id'), []), actor_id)
            as adds_actor_to_group,
        exists(
            select 1 from self_joined_groups g
            where g.source_system = changes.source_system and g.source_instance = changes.source_instance
              and g.actor_id = changes.actor_id and g.group_id = changes.target_id
              and g.joined_at <= changes.event_time
              and changes.event_category = 'privilege_management'
        ) as grants_to_own_group,
        -- the user whose access changed: the target when it is a user, else a member named in the details
        case when target_type in ('user', 'workspace_user') then target_name end as subject_user_name_from_target,
        case when target_type in ('user', 'workspace_user') then target_id end as subject_user_id_from_target,
        coalesce(details ->> '$.member_username', details ->> '$.username', details ->> '$.userName')
            as subject_user_name_from_details,
        coalesce(details ->> '$.member_id', details ->> '$.userId', details ->> '$.UserId', details ->> '$.userGuid.id')
            as subject_user_id_from_details
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
    -- segregation of duties: granting access to oneself (revocations are not grants; a subscription
    -- change names its own subscriber but grants no access)
    coalesce(
        event_action not in {{ not_a_grant }}
        and coalesce(target_type, '') <> 'subscription'
        and (
            (actor_id is not null and actor_id = coalesce(subject_user_id_from_target, subject_user_id_from_details))
            or (
                actor_name is not null
                and lower(actor_name) = lower(coalesce(subject_user_name_from_target, subject_user_name_from_details))
            )
            or adds_actor_to_group
            or grants_to_own_group
        ),
        false
    ) as is_self_grant,
    {{ is_off_hours('event_time') }} as is_off_hours,
    loaded_at
from subjects

{%- if is_incremental() %}

union all by name

-- stored grants to a group their actor has now been seen joining earlier: a self-grant after all
select stored.* replace (stored.is_self_grant or coalesce(stored.event_action not in {{ not_a_grant }}, false) as is_self_grant)
from {{ this }} stored
semi join new_self_joins g
    on g.source_system = stored.source_system and g.source_instance = stored.source_instance
    and g.actor_id = stored.changed_by_id and g.group_id = stored.target_id
    and g.joined_at <= stored.event_time
anti join changes c on c.event_key = stored.event_key
where stored.event_category = 'privilege_management'
{%- endif %}
