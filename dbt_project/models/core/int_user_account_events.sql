{{
    config(
        materialized='incremental',
        unique_key='event_key',
        incremental_strategy='delete+insert',
        on_schema_change='fail',
        pre_hook="{{ delete_rows_built_under_other_rules(catalogue_rules()) }}",
    )
}}
-- The events that change a user account or its role, kept apart from the fact so that dim_users
-- (rebuilt every run) reads this small slice, not the whole history. Incremental on load time.
{%- set incremental_run = is_incremental() and not rules_changed(this, catalogue_rules()) %}
{%- set since = loaded_since('loaded_at') if incremental_run else none %}
select
    event_key, source_system, source_instance, event_time, event_category, event_action, outcome,
    is_privileged, actor_id, actor_name, target_type, target_id, target_name, details, loaded_at,
    '{{ rules_fingerprint(catalogue_rules()) }}' as rules_fingerprint
from {{ ref('fct_audit_events') }}
where target_type in ('user', 'workspace_user')
  and event_category in ('user_management', 'privilege_management')
{%- if since %}
  and loaded_at > {{ since }}
{%- endif %}
