{{ config(materialized='view') }}
-- API token lifecycle: creation, generation, revocation and failures; tokens never revoked and their age.
-- A view: the stored rows (core.int_api_token_events) are incremental, and a token's age runs to now,
-- so it is computed when the report is read rather than frozen at build time.
select
    event_key,
    source_system,
    source_instance,
    event_time,
    event_type,
    event_action,
    outcome,
    actor_name,
    actor_id,
    actor_ip,
    token_id,
    token_name,
    is_issuance,
    is_failure,
    revoked_at,
    revoked_by,
    is_never_revoked,
    case
        when is_issuance then date_diff('day', event_time, coalesce(revoked_at, current_timestamp))
    end as token_age_days,
    loaded_at
from {{ ref('int_api_token_events') }}
