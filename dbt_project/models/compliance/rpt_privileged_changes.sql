{{
    config(
        materialized='incremental',
        unique_key='event_key',
        incremental_strategy='delete+insert',
        on_schema_change='fail',
        pre_hook="{{ delete_rows_built_under_other_rules(off_hours_rules()) }}",
    )
}}
-- Every privileged action (the catalogue's is_privileged: account, group, privilege, role, org, access,
-- connection, credential and audit-log administration): who did what to whom, whether it is known to have
-- happened, its direction, and the findings: self-grants, admin grants, off-hours changes.
{#- Incremental on the fact's load time. The one flag that depends on other events is a grant to a
    group the actor added themselves to earlier: new grants look for such self-joins in the fact, and a
    self-join that arrives after (or later than) the grants it taints re-selects those stored grants. -#}
{%- set incremental_run = is_incremental() and not rules_changed(this, off_hours_rules()) %}
{%- set since = loaded_since('loaded_at') if incremental_run else none %}

with changes as (
    -- named columns only: never decompress raw_payload for a scattered slice of history
    select
        event_key, source_system, source_instance, event_time, event_type, event_category, event_action, outcome,
        change_direction, actor_id, actor_name, actor_ip, target_type, target_id, target_name, details, loaded_at
    from {{ ref('fct_audit_events') }}
    where is_privileged
    {%- if since %}
      and loaded_at > {{ since }}
    {%- endif %}
),

group_names as (
    -- group id <-> name, from the events that carry both (a grant may name its group only by name)
    select source_system, source_instance, group_id, group_name
    from {{ ref('int_group_names') }}
),

memberships as (
    -- the members a membership change names (ThoughtSpot requestedUsersInGroup ids, Mode member context)
    select
        event_key,
        coalesce(
            json_extract_string(details, '$.requestedUsersInGroup[*].id'),
            case when (details ->> '$.member_id') is not null then [details ->> '$.member_id'] end,
            []
        ) as member_ids
    from changes
),

self_joins as (
    -- groups an actor added themselves to: from the whole fact, so a grant finds an earlier self-join
    select distinct f.source_system, f.source_instance, f.actor_id, f.target_id as group_id,
        coalesce(f.target_name, gn.group_name) as group_name, f.event_time as joined_at, f.loaded_at
    from {{ ref('fct_audit_events') }} f
    left join group_names gn
        on gn.source_system = f.source_system and gn.source_instance = f.source_instance
        and gn.group_id = f.target_id
    where f.event_category = 'group_management' and f.actor_id is not null
      and coalesce(f.change_direction, 'grant') = 'grant'
      -- parenthesised: DuckDB 1.5.5 binds `a or x ->> p = y` wrongly (casts x to a number)
      and (list_contains(coalesce(json_extract_string(f.details, '$.requestedUsersInGroup[*].id'), []), f.actor_id)
           or (f.details ->> '$.member_id') = f.actor_id)
),

subjects as (
    select
        c.*,
        list_contains(m.member_ids, c.actor_id) as adds_actor_to_group,
        -- the group a privilege / role change is about, by id or by name
        coalesce(c.details ->> '$.groupIdentity.id.id', case when c.target_type = 'group' then c.target_id end)
            as granted_group_id,
        coalesce(c.details ->> '$.groupIdentity.name', c.details ->> '$.groupNames',
                 case when c.target_type = 'group' then c.target_name end) as granted_group_name,
        -- the user whose access changed: the target when it is a user, a member named in the details, else
        -- the first member of a membership change
        coalesce(
            case when c.target_type in ('user', 'workspace_user') then c.target_id end,
            c.details ->> '$.member_id', c.details ->> '$.userId', c.details ->> '$.UserId',
            c.details ->> '$.userGuid.id', m.member_ids[1]
        ) as subject_id_found,
        coalesce(
            case when c.target_type in ('user', 'workspace_user') then c.target_name end,
            c.details ->> '$.member_username', c.details ->> '$.username', c.details ->> '$.userName'
        ) as subject_name_found
    from changes c
    left join memberships m using (event_key)
),

flagged as (
    select
        s.*,
        exists(
            select 1 from self_joins g
            where g.source_system = s.source_system and g.source_instance = s.source_instance
              and g.actor_id = s.actor_id and g.joined_at <= s.event_time
              and (g.group_id = s.granted_group_id or lower(g.group_name) = lower(s.granted_group_name))
        ) as grants_to_own_group,
        u.user_name as subject_name_resolved
    from subjects s
    left join {{ ref('dim_users') }} u
        on u.source_system = s.source_system and u.source_instance = s.source_instance
        and u.user_id = s.subject_id_found and s.subject_name_found is null
),

with_off_hours as (
    {{ select_with_off_hours('flagged') }}
)

select
    event_key,
    source_system,
    source_instance,
    event_time,
    local_event_time,
    event_type,
    event_category,
    event_action,
    change_direction,
    outcome,
    -- the vendor states the change happened (ThoughtSpot logs many admin actions as "attempted")
    outcome = 'success' as is_change_confirmed,
    actor_name as changed_by,
    actor_id as changed_by_id,
    actor_ip,
    target_type,
    target_id,
    target_name,
    coalesce(subject_name_found, subject_name_resolved) as subject_user_name,
    subject_id_found as subject_user_id,
    details,
    -- segregation of duties: access granted to oneself, directly, by joining a group, or by granting a group
    -- one had joined (a revocation, or a change whose direction is unknown, is not a grant)
    coalesce(
        outcome <> 'failure'
        and coalesce(target_type, '') <> 'subscription'
        and (
            adds_actor_to_group
            or (change_direction = 'grant' and (
                (actor_id is not null and actor_id = subject_id_found)
                or (actor_name is not null and lower(actor_name) = lower(subject_name_found))
                or grants_to_own_group
            ))
        ),
        false
    ) as is_self_grant,
    -- Panther's admin_assigned: administration granted (ThoughtSpot ADMINISTRATION privilege, an admin role)
    coalesce(
        outcome <> 'failure' and change_direction = 'grant'
        and (
            list_contains(coalesce(json_extract_string(details, '$.modifiedPrivileges[*]'), []), 'ADMINISTRATION')
            or coalesce(details ->> '$.new_role', details ->> '$.role', '') ilike '%admin%'
        ),
        false
    ) as is_admin_grant,
    is_service_account,
    coalesce(is_outside_business_hours and not is_service_account, false) as is_off_hours,
    loaded_at,
    '{{ rules_fingerprint(off_hours_rules()) }}' as rules_fingerprint
from with_off_hours

{%- if incremental_run %}

union all by name

-- stored grants to a group their actor has now been seen joining earlier: a self-grant after all
select stored.* replace (true as is_self_grant)
from {{ this }} stored
where not stored.is_self_grant and stored.change_direction = 'grant' and stored.outcome <> 'failure'
  and stored.event_key not in (select c.event_key from changes c)
  and exists (
      select 1 from self_joins g
      where g.loaded_at > {{ since }}
        and g.source_system = stored.source_system and g.source_instance = stored.source_instance
        and g.actor_id = stored.changed_by_id and g.joined_at <= stored.event_time
        and (g.group_id = coalesce(stored.details ->> '$.groupIdentity.id.id', stored.target_id)
             or lower(g.group_name) = lower(coalesce(stored.details ->> '$.groupIdentity.name',
                                                     stored.details ->> '$.groupNames', stored.target_name)))
  )
{%- endif %}
