{{
    config(
        materialized='incremental',
        unique_key=['source_system', 'source_instance', 'group_id', 'group_name'],
        incremental_strategy='delete+insert',
        on_schema_change='fail',
        pre_hook="{{ delete_rows_built_under_other_rules(catalogue_rules()) }}",
    )
}}
-- Group id <-> name pairs, from the group and privilege events that carry both (a grant may name its group only
-- by name). Incremental on the fact's load time: compliance.rpt_privileged_changes reads these few rows instead of
-- parsing every group event's JSON in the history on each run.
{%- set incremental_run = is_incremental() and not rules_changed(this, catalogue_rules()) %}
{%- set since = loaded_since('last_loaded_at') if incremental_run else none %}
select
    source_system,
    source_instance,
    group_id,
    group_name,
    max(loaded_at) as last_loaded_at,
    '{{ rules_fingerprint(catalogue_rules()) }}' as rules_fingerprint
from (
    select
        source_system,
        source_instance,
        loaded_at,
        coalesce(details ->> '$.groupIdentity.id.id', details ->> '$.groupGUID', target_id) as group_id,
        coalesce(details ->> '$.groupIdentity.name', details ->> '$.groupName', target_name) as group_name
    from {{ ref('fct_audit_events') }}
    where event_category in ('group_management', 'privilege_management') and target_type = 'group'
    {%- if since %}
      and loaded_at > {{ since }}
    {%- endif %}
) named
where group_id is not null and group_name is not null
group by source_system, source_instance, group_id, group_name
