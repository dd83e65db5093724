{{
    config(
        materialized='incremental',
        unique_key='event_key',
        incremental_strategy='delete+insert',
        on_schema_change='fail',
    )
}}
-- Audit events that change entitlement state, one row per (event, account, object) they name: what the state
-- snapshots are reconciled against (compliance.rpt_entitlement_drift).
-- ThoughtSpot: USERS_CREATED (data.userNames, comma-separated), USERS_DELETED (data.userGUIDs[].id),
-- PRINCIPALS_IN_GROUP_UPDATE (data.requestedUsersInGroup[].id into data.groupID).
-- Mode: org_user_role_changed (entity = the member; context.new_role admin / removed / other),
-- group_member_added / group_member_removed (entity = the group; context.member_id).
-- Incremental on the fact's load time (one event may give several rows; delete+insert replaces them all), so the
-- reports reading it never parse the whole history's JSON again.
{%- set since = loaded_since('loaded_at') %}
with events as (
    select event_key, source_system, source_instance, event_time, event_type, target_id, details, loaded_at
    from {{ ref('fct_audit_events') }}
    where event_type in ('USERS_CREATED', 'USERS_DELETED', 'PRINCIPALS_IN_GROUP_UPDATE',
                         'org_user_role_changed', 'group_member_added', 'group_member_removed')
    {%- if since %}
      and loaded_at > {{ since }}
    {%- endif %}
),

ts_created as (
    select event_key, source_system, source_instance, event_time, 'account_created' as change,
        cast(null as varchar) as account_id, trim(unnest(string_split(details ->> '$.userNames', ','))) as account_name,
        cast(null as varchar) as object_id,
        loaded_at
    from events where event_type = 'USERS_CREATED'
),

ts_deleted as (
    select event_key, source_system, source_instance, event_time, 'account_removed' as change,
        unnest(json_extract_string(details, '$.userGUIDs[*].id')) as account_id, cast(null as varchar) as account_name,
        cast(null as varchar) as object_id,
        loaded_at
    from events where event_type = 'USERS_DELETED'
),

ts_joined as (
    select event_key, source_system, source_instance, event_time, 'group_joined' as change,
        unnest(json_extract_string(details, '$.requestedUsersInGroup[*].id')) as account_id,
        cast(null as varchar) as account_name, details ->> '$.groupID' as object_id,
        loaded_at
    from events where event_type = 'PRINCIPALS_IN_GROUP_UPDATE'
),

mode_roles as (
    select event_key, source_system, source_instance, event_time,
        case details ->> '$.new_role' when 'admin' then 'admin_granted' when 'removed' then 'account_removed'
            else 'admin_revoked' end as change,
        target_id as account_id, cast(null as varchar) as account_name, cast(null as varchar) as object_id,
        loaded_at
    from events where event_type = 'org_user_role_changed'
),

mode_groups as (
    select event_key, source_system, source_instance, event_time,
        case event_type when 'group_member_added' then 'group_joined' else 'group_left' end as change,
        details ->> '$.member_id' as account_id, cast(null as varchar) as account_name, target_id as object_id,
        loaded_at
    from events where event_type in ('group_member_added', 'group_member_removed')
)

select * from ts_created
union all
select * from ts_deleted
union all
select * from ts_joined
union all
select * from mode_roles
union all
select * from mode_groups
