-- API token lifecycle: creation, generation, revocation and failures; tokens never revoked and their age.
with token_events as (
    select event_key, source_system, source_instance, event_time, event_type, event_category, event_action, outcome, is_privileged, actor_id, actor_name, actor_ip, actor_user_agent, target_type, target_id, target_name
    from {{ ref('fct_audit_events') }}
    where event_category = 'api_token'
),

issued as (
    select * from token_events where event_action = 'create' and outcome = 'success'
),

revocations as (
    select * from token_events where event_action = 'revoke' and outcome = 'success'
),

revoked as (
    -- a revocation names the token itself, or (member keys) the member whose keys it revokes
    select
        i.event_key,
        min(r.event_time) as revoked_at,
        arg_min(r.actor_name, r.event_time) as revoked_by
    from issued i
    join revocations r
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
    case when t.event_action = 'create' and t.outcome = 'success'
         then date_diff('day', t.event_time, coalesce(r.revoked_at, current_timestamp)) end as token_age_days
from token_events t
left join revoked r using (event_key)
