{{
    config(
        materialized='incremental',
        unique_key='event_key',
        incremental_strategy='delete+insert',
        on_schema_change='fail',
        pre_hook="{{ delete_rows_built_under_other_rules(catalogue_rules()) }}",
    )
}}
{#- The stored part of rpt_api_tokens: every API token event, and for each issuance its revocation.
    Incremental: new token events are added; a revocation that arrives later (or late) re-selects the
    stored issuances it revokes, so their revoked_at / is_never_revoked are recomputed and replaced.
    Revocations are rare, so matching against all of them stays cheap. -#}
{%- set incremental_run = is_incremental() and not rules_changed(this, catalogue_rules()) %}
{%- set since = loaded_since('loaded_at') if incremental_run else none %}

{%- set token_columns -%}
    event_key, source_system, source_instance, event_time, event_type, event_action, outcome,
    actor_id, actor_name, actor_ip, target_type, target_id, target_name, loaded_at
{%- endset %}

-- two scans of the fact, each with its own filter (a shared CTE would be materialised in full)
with new_events as (
    select {{ token_columns }}
    from {{ ref('fct_audit_events') }}
    where event_category = 'api_token'
    {%- if since %}
      and loaded_at > {{ since }}
    {%- endif %}
),

revocations as (
    select {{ token_columns }}
    from {{ ref('fct_audit_events') }}
    where event_category = 'api_token' and event_action = 'revoke' and outcome = 'success'
),

candidates as (
    -- the rows to (re)build: new events, and stored issuances a new revocation may revoke
    select * exclude (target_type) from new_events
    {%- if incremental_run %}
    union all by name
    select
        stored.event_key, stored.source_system, stored.source_instance, stored.event_time, stored.event_type,
        stored.event_action, stored.outcome, stored.actor_id, stored.actor_name, stored.actor_ip,
        stored.token_id as target_id, stored.token_name as target_name, stored.loaded_at
    from {{ this }} stored
    where stored.is_issuance
      and stored.event_key not in (select event_key from new_events)
      and exists (
          select 1 from new_events r
          where r.event_action = 'revoke' and r.outcome = 'success'
            and r.source_system = stored.source_system and r.source_instance = stored.source_instance
            and (r.target_id = stored.token_id
                 or (r.event_type = 'api_token_member_key_revoked'
                     and stored.event_type = 'api_token_member_key_generated'
                     and r.target_type in ('user', 'workspace_user')
                     and (r.target_name = stored.actor_name or r.target_id = stored.actor_id)))
      )
    {%- endif %}
),

issued as (
    select * from candidates where event_action = 'create' and outcome = 'success'
),

revoked as (
    -- a revocation names the token itself, or (member keys) the member whose keys it revokes
    select
        i.event_key,
        min(r.event_time) as revoked_at,
        arg_min(r.actor_name, r.event_time) as revoked_by
    from issued i
    inner join revocations r
        on r.source_system = i.source_system and r.source_instance = i.source_instance
        and r.event_time >= i.event_time
        and (
            (i.target_id is not null and r.target_id = i.target_id)
            or (r.event_type = 'api_token_member_key_revoked'
                and i.event_type = 'api_token_member_key_generated'
                and r.target_type in ('user', 'workspace_user')
                and (r.target_name = i.actor_name or r.target_id = i.actor_id))
        )
    group by i.event_key
)

select
    t.event_key,
    t.source_system,
    t.source_instance,
    t.event_time,
    t.event_type,
    t.event_action,
    t.outcome,
    t.actor_name,
    t.actor_id,
    t.actor_ip,
    t.target_id as token_id,
    t.target_name as token_name,
    t.event_action = 'create' and t.outcome = 'success' as is_issuance,
    t.outcome = 'failure' as is_failure,
    r.revoked_at,
    r.revoked_by,
    -- ThoughtSpot bearer tokens expire on their own (minutes); revocation tracking applies to Mode's long-lived tokens
    case when t.source_system = 'mode' and t.event_action = 'create' and t.outcome = 'success'
         then r.revoked_at is null end as is_never_revoked,
    t.loaded_at,
    '{{ rules_fingerprint(catalogue_rules()) }}' as rules_fingerprint
from candidates t
left join revoked r using (event_key)
