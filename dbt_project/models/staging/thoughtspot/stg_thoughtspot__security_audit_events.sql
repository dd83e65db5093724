-- One row per ThoughtSpot security audit event, fields parsed from the verbatim `log` string with
-- DuckDB's JSON functions (the raw typed columns are the loader's copy; the log is the evidence).
with source as (
    select * from {{ raw_source('raw_thoughtspot', 'security_audit_events') }}
),

parsed as (
    select
        source_instance,
        id,
        ts,
        "date",
        _loaded_at,
        _auditlake_delivery,
        log,
        try_cast(log as json) as log_json
    from source
),

fields as (
    select
        *,
        coalesce(log_json -> '$.data', '{}'::json) as data_json
    from parsed
)

select
    'thoughtspot' as source_system,
    source_instance,
    id as source_event_id,
    -- `ts` is the event time (to the second, UTC); the record's `date` is when ThoughtSpot ingested it.
    coalesce(try_cast(log_json ->> '$.ts' as timestamp with time zone), ts) as event_time,
    "date" as vendor_ingested_at,
    log_json ->> '$.type' as event_type,
    log_json ->> '$.desc' as event_description,
    log_json ->> '$.version' as schema_version,
    try_cast(log_json ->> '$.orgId' as bigint) as org_id,
    nullif(log_json ->> '$.userGUID', '') as actor_id,
    -- A failed login has no userName: the attempted name is in data.userName.
    coalesce(nullif(log_json ->> '$.userName', ''), nullif(data_json ->> '$.userName', '')) as actor_name,
    nullif(trim(log_json ->> '$.cIP'), '') as actor_ip,
    cast(null as varchar) as actor_user_agent,
    -- ThoughtSpot names the object in per-event keys; the kind of object comes from the catalogue.
    cast(null as varchar) as target_type,
    coalesce(
        data_json ->> '$.userId',
        data_json ->> '$.UserId',
        data_json ->> '$.userGUIDs[0].id',
        data_json ->> '$.groupGUIDs[0].id',
        data_json ->> '$.groupID',
        data_json ->> '$.groupIdentity.id.id',
        data_json ->> '$.OrgId',
        data_json ->> '$.org',
        data_json ->> '$.ruleId',
        data_json ->> '$.connection',
        data_json ->> '$.connectionId',
        {{ first_json_id("data_json -> '$.objIds'") }},
        {{ first_json_id("data_json -> '$.pinboardIds'") }},
        {{ first_json_id("data_json -> '$.answerIds'") }},
        {{ first_json_id("data_json -> '$.rlsRuleIds'") }},
        {{ first_json_id("data_json -> '$.\"DeletedIds \"'") }},
        {{ first_json_id("data_json -> '$.DeletedIds'") }}
    ) as target_id,
    coalesce(
        data_json ->> '$.userNames',
        data_json ->> '$.groupNames',
        data_json ->> '$.groupIdentity.name',
        data_json ->> '$.OrgName',
        data_json ->> '$.connectionName',
        data_json ->> '$.ruleName',
        data_json ->> '$.answerName',
        data_json ->> '$.pinboardName',
        data_json ->> '$.modelName',
        data_json ->> '$.tableName',
        data_json ->> '$.viewName'
    ) as target_name,
    data_json as details,
    log_json as raw_payload,
    -- the vendor's text exactly as stored (the per-day integrity hash is over this, never over parsed fields)
    log as raw_content,
    -- the loader's copy of the event time, a plain column: filters on it skip raw row groups unparsed
    ts as raw_event_time,
    _loaded_at as loaded_at,
    -- how the kept (first) copy arrived: 'push' (SIEM output) or 'pull' (logs API); rows loaded before the
    -- push existed carry null and were all pulled
    coalesce(_auditlake_delivery, 'pull') as delivery_path
from fields
