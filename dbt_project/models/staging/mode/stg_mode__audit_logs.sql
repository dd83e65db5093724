-- One row per Mode audit log entry; actor / entity / context are nested JSON objects (any may be
-- absent or null), read with DuckDB's JSON operators.
with source as (
    select * from {{ raw_source('raw_mode', 'audit_logs') }}
)

select
    'mode' as source_system,
    source_instance,
    id as source_event_id,
    coalesce(try_cast(record ->> '$.timestamp' as timestamp with time zone), "timestamp") as event_time,
    cast(null as timestamp with time zone) as vendor_ingested_at,
    coalesce(action, record ->> '$.action') as event_type,
    coalesce(description, record ->> '$.description') as event_description,
    cast(null as varchar) as schema_version,
    cast(null as bigint) as org_id,
    nullif(actor ->> '$.user_id', '') as actor_id,
    nullif(actor ->> '$.username', '') as actor_name,
    nullif(trim(actor ->> '$.ip'), '') as actor_ip,
    nullif(actor ->> '$.user_agent', '') as actor_user_agent,
    nullif(entity ->> '$.entity_type', '') as target_type,
    nullif(entity ->> '$.entity_id', '') as target_id,
    nullif(entity ->> '$.entity_name', '') as target_name,
    coalesce(context, '{}'::json) as details,
    record as raw_payload,
    -- the vendor's entry exactly as stored (the per-day integrity hash is over this, never over parsed fields)
    record::varchar as raw_content,
    -- the loader's copy of the event time, a plain column: filters on it skip raw row groups unparsed
    "timestamp" as raw_event_time,
    _loaded_at as loaded_at,
    -- Mode has no push: every entry came by the pull
    'pull' as delivery_path
from source
