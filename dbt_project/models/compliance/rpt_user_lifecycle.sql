{{
    config(
        materialized='incremental',
        unique_key='event_key',
        incremental_strategy='delete+insert',
        on_schema_change='fail',
        pre_hook="{{ delete_rows_built_under_other_rules(catalogue_rules()) }}",
    )
}}
-- Joiner / mover / leaver events per user, with activity after deletion on leaver rows. Movers include
-- group-membership changes (the member is the user). An attempted change (ThoughtSpot logs account
-- deletions as "attempted") counts, with is_change_confirmed saying whether the vendor states it happened.
{#- Incremental on the fact's load time. Only a deletion row depends on other events (the user acting
    afterwards, until re-created), so a build adds the new lifecycle events and recomputes the stored
    deletions of (a) users with new lifecycle events (a deletion, or a re-creation that closes one) and
    (b) users who acted in the new events. The subject's name is resolved when the row is built. -#}
{%- set incremental_run = is_incremental() and not rules_changed(this, catalogue_rules()) %}
{%- set since = loaded_since('loaded_at') if incremental_run else none %}

with users as (
    select * from {{ ref('dim_users') }}
),

actions as (
    -- Mode logs no removal action: a role change to `removed` is the removal
    select
        event_key, source_system, source_instance, event_time, event_type, event_category, event_action,
        outcome, is_privileged, actor_id, actor_name, target_type, loaded_at,
        -- the user concerned: the target user, or the member a group-membership change names
        case
            when target_type in ('user', 'workspace_user') then target_id
            else coalesce(details ->> '$.member_id', json_extract_string(details, '$.requestedUsersInGroup[0].id'))
        end as target_id,
        -- ThoughtSpot trial / team events carry the account's name in data.userName
        case
            when target_type in ('user', 'workspace_user') then coalesce(target_name, details ->> '$.userName')
            else details ->> '$.member_username'
        end as target_name,
        case
            when event_category = 'user_management' then event_action
            when event_category = 'privilege_management'
                 and lower(coalesce(details ->> '$.new_role', '')) in ('removed', 'deactivated', 'deleted')
                then 'delete'
        end as lifecycle_action
    from {{ ref('fct_audit_events') }}
    where (
        target_type in ('user', 'workspace_user')
        or (event_category = 'group_management'
            and coalesce(details ->> '$.member_id', json_extract_string(details, '$.requestedUsersInGroup[0].id'))
                is not null)
    )
    {%- if since %}
      and loaded_at > {{ since }}
    {%- endif %}
),

stages as (
    select
        *,
        case
            when lifecycle_action in ('create', 'invite', 'enable') then 'joiner'
            when lifecycle_action in ('delete', 'disable', 'expire') then 'leaver'
            when event_category in ('privilege_management', 'group_management', 'access_control') then 'mover'
        end as lifecycle_stage
    from actions
    where lifecycle_action in ('create', 'invite', 'enable', 'delete', 'disable', 'expire')
       or event_category in ('privilege_management', 'group_management', 'access_control')
),

resolved as (
    -- name the subject user: the target name, or the user last seen with the target id
    select s.*, coalesce(s.target_name, u.user_name, s.target_id) as subject_user_name
    from stages s
    left join users u
        on u.source_system = s.source_system and u.source_instance = s.source_instance and u.user_id = s.target_id
        and s.target_name is null
),

{%- if incremental_run %}

new_activity as (
    -- who acted in the events loaded since the last build
    select distinct source_system, source_instance, actor_name, actor_id
    from {{ ref('fct_audit_events') }}
    where loaded_at > {{ since }}
      and not (event_category = 'authentication' and outcome = 'failure')
),

affected_users as (
    select source_system, source_instance, subject_user_name as user_name from resolved
    union
    select stored.source_system, stored.source_instance, stored.user_name
    from {{ this }} stored
    where stored.lifecycle_action = 'delete' and stored.outcome <> 'failure'
      and exists (
          select 1 from new_activity a
          where a.source_system = stored.source_system and a.source_instance = stored.source_instance
            and (a.actor_name = stored.user_name or a.actor_id = stored.user_id)
      )
),
{%- endif %}

lifecycle_rows as (
    select event_key, source_system, source_instance, subject_user_name, target_id, event_time,
           lifecycle_stage, lifecycle_action, outcome, is_privileged
    from resolved
    {%- if incremental_run %}
    union all
    -- the affected users' stored lifecycle rows: their deletions, and the re-creations that close them
    select stored.event_key, stored.source_system, stored.source_instance, stored.user_name, stored.user_id,
           stored.event_time, stored.lifecycle_stage, stored.lifecycle_action, stored.outcome, stored.is_admin_action
    from {{ this }} stored
    where stored.event_key not in (select event_key from resolved)
      and exists (
          select 1 from affected_users a
          where a.source_system = stored.source_system and a.source_instance = stored.source_instance
            and a.user_name = stored.user_name
      )
    {%- endif %}
),

deletions as (
    -- successful deletions, each open until the account is created / invited / enabled again
    select
        d.event_key, d.source_system, d.source_instance, d.subject_user_name, d.target_id, d.event_time,
        min(j.event_time) as rejoined_at
    from lifecycle_rows d
    left join lifecycle_rows j
        on j.source_system = d.source_system and j.source_instance = d.source_instance
        and j.subject_user_name = d.subject_user_name and j.lifecycle_stage = 'joiner'
        and j.outcome <> 'failure' and j.event_time > d.event_time
    -- a deletion: stated as done, or attempted by an administrator (ThoughtSpot logs every USERS_DELETED as
    -- "attempted"). A self-service trial / team deletion "successfully or unsuccessfully attempted" by a user
    -- who keeps working most likely did not happen, so it is no leaver finding.
    where d.lifecycle_stage = 'leaver' and d.lifecycle_action = 'delete'
      and (d.outcome = 'success' or (d.outcome = 'attempt' and d.is_privileged))
    group by all
),

candidate_activity as (
    -- only events whose actor is a deleted user (by name or id), after the earliest deletion:
    -- a semi-join on two narrow columns, and no scan at all when there is no deletion to check
    select source_system, source_instance, event_key, event_time, actor_name, actor_id
    from {{ ref('fct_audit_events') }}
    where not (event_category = 'authentication' and outcome = 'failure')
      and event_time > (select min(dl.event_time) from deletions dl)
      and (actor_name in (select dl.subject_user_name from deletions dl)
           or actor_id in (select dl.target_id from deletions dl where dl.target_id is not null))
),

{#- Activity after a deletion, counted without pairing each deletion with each of the user's events: every
    event by a deleted user gets a running count along its actor's name, its id, and both together; a deletion
    reads the counts at its own time and just before the re-creation (ASOF joins) and subtracts. Matched by name
    or by id, counted once: name + id - both. Cost grows with deletions + events, not deletions x events (a name
    deleted hundreds of times without re-creation kept hundreds of deletions open over the same events). -#}
{%- set streams = {
    'by_name': {'columns': ['actor_name'], 'deletion': ['subject_user_name']},
    'by_id': {'columns': ['actor_id'], 'deletion': ['target_id']},
    'by_name_and_id': {'columns': ['actor_name', 'actor_id'], 'deletion': ['subject_user_name', 'target_id']},
} %}
{%- for stream, keys in streams.items() %}

activity_{{ stream }} as (
    -- events at the same instant share a count (the window's default frame includes peers)
    select
        source_system, source_instance, {{ keys.columns | join(', ') }}, event_time,
        count(*) over (
            partition by source_system, source_instance, {{ keys.columns | join(', ') }} order by event_time
        ) as events_so_far
    from candidate_activity
    where {{ keys.columns | join(' is not null and ') }} is not null
),
{%- endfor %}

after_deletion as (
    select
        d.event_key,
        {%- for stream in streams %}
        coalesce({{ stream }}_before_rejoin.events_so_far, 0)
        - coalesce({{ stream }}_at_deletion.events_so_far, 0) as events_{{ stream }},
        {%- endfor %}
        -- the first event after the deletion by name or by id, if it came before any re-creation
        least(
            case when next_by_name.event_time < d.active_until then next_by_name.event_time end,
            case when next_by_id.event_time < d.active_until then next_by_id.event_time end
        ) as first_activity_after_deletion_at
    from (
        select *, coalesce(rejoined_at, 'infinity'::timestamptz) as active_until from deletions
    ) d
    {%- for stream, keys in streams.items() %}
    {%- for side, comparison in [('at_deletion', '<= d.event_time'), ('before_rejoin', '< d.active_until')] %}
    {%- set alias = stream ~ '_' ~ side %}
    asof left join activity_{{ stream }} {{ alias }}
        on {{ alias }}.source_system = d.source_system and {{ alias }}.source_instance = d.source_instance
        {%- for column in keys.columns %}
        and {{ alias }}.{{ column }} = d.{{ keys.deletion[loop.index0] }}
        {%- endfor %}
        and {{ alias }}.event_time {{ comparison }}
    {%- endfor %}
    {%- endfor %}
    {%- for stream, keys in streams.items() if stream != 'by_name_and_id' %}
    asof left join activity_{{ stream }} next_{{ stream }}
        on next_{{ stream }}.source_system = d.source_system
        and next_{{ stream }}.source_instance = d.source_instance
        and next_{{ stream }}.{{ keys.columns[0] }} = d.{{ keys.deletion[0] }}
        and next_{{ stream }}.event_time > d.event_time
    {%- endfor %}
),

after_deletion_counted as (
    select
        event_key,
        events_by_name + events_by_id - events_by_name_and_id as events_after_deletion,
        first_activity_after_deletion_at
    from after_deletion
)

select
    r.event_key,
    r.source_system,
    r.source_instance,
    r.subject_user_name as user_name,
    r.target_id as user_id,
    r.lifecycle_stage,
    r.event_time,
    r.event_type,
    r.event_action,
    r.lifecycle_action,
    r.outcome,
    r.outcome = 'success' as is_change_confirmed,
    r.is_privileged as is_admin_action,
    r.actor_name as performed_by,
    r.actor_name is not null and lower(r.actor_name) = lower(r.subject_user_name) as is_self_service,
    coalesce(a.events_after_deletion, 0) > 0 as activity_after_deletion,
    coalesce(a.events_after_deletion, 0) as events_after_deletion,
    a.first_activity_after_deletion_at,
    r.loaded_at,
    '{{ rules_fingerprint(catalogue_rules()) }}' as rules_fingerprint
from resolved r
left join after_deletion_counted a using (event_key)

{%- if incremental_run %}

union all by name

-- the affected users' stored deletions, with activity after deletion recounted
select stored.* replace (
    coalesce(a.events_after_deletion, 0) > 0 as activity_after_deletion,
    coalesce(a.events_after_deletion, 0) as events_after_deletion,
    a.first_activity_after_deletion_at as first_activity_after_deletion_at
)
from {{ this }} stored
join deletions d using (event_key)
left join after_deletion_counted a using (event_key)
where stored.event_key not in (select event_key from resolved)
{%- endif %}
