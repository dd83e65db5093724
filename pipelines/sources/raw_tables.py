"""The raw tables the dlt sources write and the dbt sources read: the one contract between them.

Column names follow dlt's snake_case naming of the vendor fields (orgId -> org_id, cIP -> c_ip).
Every table carries `source_instance` (ThoughtSpot host / Mode workspace) so several tenants
can share one warehouse; event tables are merged on (source_instance, id).

raw_thoughtspot.security_audit_events   one row per ThoughtSpot event
  source_instance  varchar      ThoughtSpot host, e.g. my-company.thoughtspot.cloud (host:port for loopback)
  id               varchar      vendor event id "TS-<uuid>"  (merge key with source_instance)
  date             timestamptz  the record's `date` (ingest time, microseconds, UTC)
  ts               timestamptz  event time parsed from log.ts (UTC, seconds)
  version          varchar      log.version ("1.1")
  org_id           bigint       log.orgId (0 primary org, -1 cluster-level)
  user_guid        varchar      log.userGUID (null on failed logins)
  user_name        varchar      log.userName (null on failed logins)
  c_ip             varchar      log.cIP (null or empty string happen)
  type             varchar      log.type (open vocabulary)
  desc             varchar      log.desc
  data             json         log.data, re-serialised (values may themselves be JSON strings)
  log              varchar      the vendor's `log` string, verbatim
  _loaded_at       timestamptz  when auditlake first loaded the row
  _auditlake_delivery varchar   how the first copy arrived: 'pull' (logs API) or 'push' (SIEM output via
                                `auditlake receive`); the insert-only merge keeps the first arrival's row.
                                Null on rows loaded before the push existed (all pulled).

raw_mode.audit_logs                      one row per Mode audit log entry
  source_instance  varchar      Mode workspace username
  id               varchar      vendor id (UUID)  (merge key with source_instance)
  action           varchar
  description      varchar
  timestamp        timestamptz  UTC
  workspace_username varchar
  context          json         nested objects kept as JSON (absent/null allowed)
  actor            json
  entity           json
  record           json         the vendor's entry, verbatim (every key, including unknown ones)
  _loaded_at       timestamptz

raw_<source>.quarantined_records         records that could not be parsed; never dropped
  source_instance  varchar
  record_hash      varchar      sha256 of the verbatim record (merge key with source_instance)
  record           varchar      the record, verbatim
  reason           varchar      why it was set aside
  window_start     timestamptz  the request window it came from
  window_end       timestamptz
  quarantined_at   timestamptz

raw_<source>.ingest_windows              one row per window fetched (append); coverage + evidence
  source_instance  varchar
  org_id           bigint       the ThoughtSpot org read; null: the whole instance (an Org 0 administrator's
                                all-orgs read, a cluster without Orgs, or Mode)
  window_start     timestamptz  inclusive
  window_end       timestamptz  inclusive
  fetched          bigint       records the API returned
  new_events       bigint       events not seen before
  duplicates       bigint       re-read events absorbed (already loaded)
  quarantined      bigint       quarantined records not seen before
  fetched_at       timestamptz

Every table also carries dlt's `_dlt_load_id` (the load that inserted the row; the insert-only merge
never rewrites it). An incremental run counts duplicates against the overlap ids in its saved state
while extracting, then, like a re-read, settles its counts from the load (events the push delivered
first are not in that state: the merge absorbs them and they count as duplicates). A re-read
(`--since`) reads nothing from the warehouse while extracting: it emits every event, and its rows'
new_events / duplicates / quarantined are first the counts seen within the run, then corrected by the
runner from the rows that carry the load's id once the load is committed
(pipelines/sources/common/reread_accounting.py). If that correction cannot run (the process dies
between the load and the count), the rows keep the within-run counts: new_events then counts events
emitted, some of which the merge absorbed.
"""

from __future__ import annotations

import pyarrow as pa

TS_UTC = pa.timestamp("us", tz="UTC")

THOUGHTSPOT_EVENTS_TABLE = "security_audit_events"
MODE_EVENTS_TABLE = "audit_logs"
from pipelines.sources.registry import QUARANTINE_TABLE, WINDOWS_TABLE  # noqa: E402 - named once, in the registry

EVENT_TABLES = (THOUGHTSPOT_EVENTS_TABLE, MODE_EVENTS_TABLE)

EVENT_KEY = ("source_instance", "id")
DELIVERY_PULL = "pull"
DELIVERY_PUSH = "push"
QUARANTINE_KEY = ("source_instance", "record_hash")

THOUGHTSPOT_EVENTS_SCHEMA = pa.schema(
    [
        ("source_instance", pa.string()),
        ("id", pa.string()),
        ("date", TS_UTC),
        ("ts", TS_UTC),
        ("version", pa.string()),
        ("org_id", pa.int64()),
        ("user_guid", pa.string()),
        ("user_name", pa.string()),
        ("c_ip", pa.string()),
        ("type", pa.string()),
        ("desc", pa.string()),
        ("data", pa.string()),
        ("log", pa.string()),
        ("_loaded_at", TS_UTC),
        ("_auditlake_delivery", pa.string()),
    ]
)

MODE_EVENTS_SCHEMA = pa.schema(
    [
        ("source_instance", pa.string()),
        ("id", pa.string()),
        ("action", pa.string()),
        ("description", pa.string()),
        ("timestamp", TS_UTC),
        ("workspace_username", pa.string()),
        ("context", pa.string()),
        ("actor", pa.string()),
        ("entity", pa.string()),
        ("record", pa.string()),
        ("_loaded_at", TS_UTC),
    ]
)

QUARANTINE_SCHEMA = pa.schema(
    [
        ("source_instance", pa.string()),
        ("record_hash", pa.string()),
        ("record", pa.string()),
        ("reason", pa.string()),
        ("window_start", TS_UTC),
        ("window_end", TS_UTC),
        ("quarantined_at", TS_UTC),
    ]
)

WINDOWS_SCHEMA = pa.schema(
    [
        ("source_instance", pa.string()),
        ("org_id", pa.int64()),
        ("window_start", TS_UTC),
        ("window_end", TS_UTC),
        ("fetched", pa.int64()),
        ("new_events", pa.int64()),
        ("duplicates", pa.int64()),
        ("quarantined", pa.int64()),
        ("fetched_at", TS_UTC),
    ]
)

# Columns dlt must create as DuckDB JSON (Arrow carries them as strings).
JSON_COLUMNS = {
    THOUGHTSPOT_EVENTS_TABLE: ("data",),
    MODE_EVENTS_TABLE: ("context", "actor", "entity", "record"),
}

TABLE_SCHEMAS = {
    THOUGHTSPOT_EVENTS_TABLE: THOUGHTSPOT_EVENTS_SCHEMA,
    MODE_EVENTS_TABLE: MODE_EVENTS_SCHEMA,
    QUARANTINE_TABLE: QUARANTINE_SCHEMA,
    WINDOWS_TABLE: WINDOWS_SCHEMA,
}
DBT_CONTRACT_MACRO = "dbt_project/macros/raw_table_columns.sql"


def duckdb_columns(table: str) -> list[tuple[str, str]]:
    """(column, DuckDB type) of a raw table, as dlt creates it from the Arrow schema and the JSON hints."""
    columns = []
    for column in TABLE_SCHEMAS[table]:
        if column.name in JSON_COLUMNS.get(table, ()):
            sql_type = "json"
        elif pa.types.is_timestamp(column.type):
            sql_type = "timestamp with time zone"
        elif pa.types.is_int64(column.type):
            sql_type = "bigint"
        elif pa.types.is_string(column.type):
            sql_type = "varchar"
        else:
            raise TypeError(f"no DuckDB type for {table}.{column.name} ({column.type}): extend duckdb_columns")
        columns.append((column.name, sql_type))
    return columns


def render_dbt_contract_macro() -> str:
    """The dbt macro that gives a missing raw table its typed empty relation, generated from this module so the
    contract is written once (`python -m pipelines.sources.raw_tables` rewrites it; a test checks it is current)."""
    lines = [
        "{#- GENERATED from pipelines/sources/raw_tables.py by `python -m pipelines.sources.raw_tables`: do not edit.",
        "    The raw tables' columns and DuckDB types, for raw_source() when a table does not exist yet. -#}",
        "{% macro raw_table_columns(table_name) -%}",
        "    {%- set columns = {",
    ]
    for table in TABLE_SCHEMAS:
        pairs = ", ".join(f"('{name}', '{sql_type}')" for name, sql_type in duckdb_columns(table))
        lines.append(f"        '{table}': [{pairs}],")
    lines += [
        "    } -%}",
        "    {%- if table_name not in columns -%}",
        '        {{ exceptions.raise_compiler_error("raw_source: no contract for raw table \'" ~ table_name ~ "\'; '
        'add it to pipelines/sources/raw_tables.py and run python -m pipelines.sources.raw_tables") }}',
        "    {%- endif -%}",
        "    {{ return(columns[table_name]) }}",
        "{%- endmacro %}",
        "",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    from pipelines import settings

    target = settings.PROJECT_ROOT / DBT_CONTRACT_MACRO
    target.write_text(render_dbt_contract_macro())
    print(f"wrote {target}")
