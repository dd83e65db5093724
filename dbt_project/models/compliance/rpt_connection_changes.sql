{{
    config(
        materialized='incremental',
        unique_key='event_key',
        incremental_strategy='delete+insert',
        on_schema_change='fail',
        pre_hook="{{ delete_rows_built_under_other_rules(off_hours_rules()) }}",
    )
}}
-- Data connections created, edited or deleted, and access to them granted, changed or removed.
-- One row per event, nothing depends on other events: incremental on the fact's load time.
{%- set incremental_run = is_incremental() and not rules_changed(this, off_hours_rules()) %}
{%- set since = loaded_since('loaded_at') if incremental_run else none %}

with changes as (
    select
        event_key, source_system, source_instance, event_time, event_type, event_action, change_direction,
        outcome, actor_name, actor_id, actor_ip, target_type, target_id, target_name, details, loaded_at
    from {{ ref('fct_audit_events') }}
    where event_category = 'connection_management'
    {%- if since %}
      and loaded_at > {{ since }}
    {%- endif %}
),

with_off_hours as (
    {{ select_with_off_hours('changes') }}
)

select
    event_key,
    source_system,
    source_instance,
    event_time,
    local_event_time,
    event_type,
    event_action,
    outcome,
    outcome = 'success' as is_change_confirmed,
    case
        when event_action = 'grant' then 'access_granted'
        when event_action = 'revoke' then 'access_removed'
        when event_action = 'update' and event_type ilike '%access%' then 'access_changed'
        when event_action = 'create' then 'created'
        when event_action = 'delete' then 'deleted'
        else 'edited'
    end as change_kind,
    actor_name as changed_by,
    actor_id as changed_by_id,
    actor_ip,
    target_type,
    coalesce(target_id, details ->> '$.connectionId', details ->> '$.connection') as connection_id,
    coalesce(target_name, details ->> '$.connectionName') as connection_name,
    details ->> '$.connectionType' as connection_type,
    -- the principal given or denied access (Mode context), and with which role
    coalesce(details ->> '$.group_name', details ->> '$.member_username', details ->> '$.username')
        as principal_name,
    coalesce(details ->> '$.group_id', details ->> '$.member_id', details ->> '$.user_id') as principal_id,
    coalesce(details ->> '$.role', details ->> '$.new_role') as principal_role,
    is_service_account,
    coalesce(is_outside_business_hours and not is_service_account, false) as is_off_hours,
    details,
    loaded_at,
    '{{ rules_fingerprint(off_hours_rules()) }}' as rules_fingerprint
from with_off_hours
