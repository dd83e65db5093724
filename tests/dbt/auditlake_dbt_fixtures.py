"""Raw tables for dbt tests, built straight from the raw table contract (pipelines/sources/raw_tables.py).

The DDL is derived from the contract's Arrow schemas (JSON_COLUMNS become DuckDB JSON), so a contract
change reaches these fixtures without edits. Rows are shaped like the vendors' records.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path

import duckdb

from pipelines.sources import raw_tables as contract
from pipelines.sources import registry

TABLES = {
    ("thoughtspot", contract.THOUGHTSPOT_EVENTS_TABLE): contract.THOUGHTSPOT_EVENTS_SCHEMA,
    ("mode", contract.MODE_EVENTS_TABLE): contract.MODE_EVENTS_SCHEMA,
    ("thoughtspot", contract.QUARANTINE_TABLE): contract.QUARANTINE_SCHEMA,
    ("mode", contract.QUARANTINE_TABLE): contract.QUARANTINE_SCHEMA,
    ("thoughtspot", contract.WINDOWS_TABLE): contract.WINDOWS_SCHEMA,
    ("mode", contract.WINDOWS_TABLE): contract.WINDOWS_SCHEMA,
}


def raw_table_ddl(source: str, table: str) -> str:
    columns = ", ".join(f'"{name}" {sql_type}' for name, sql_type in contract.duckdb_columns(table))
    return f'create table if not exists {registry.get(source).dataset}."{table}" ({columns})'


def create_raw_tables(con: duckdb.DuckDBPyConnection, sources: tuple[str, ...] = ("thoughtspot", "mode")) -> None:
    for source in sources:
        con.execute(f"create schema if not exists {registry.get(source).dataset}")
        for table_source, table in TABLES:
            if table_source == source:
                con.execute(raw_table_ddl(source, table))


def insert(con: duckdb.DuckDBPyConnection, source: str, table: str, rows: list[dict]) -> None:
    if not rows:
        return
    schema = TABLES[(source, table)]
    names = [f.name for f in schema]
    placeholders = ", ".join("?" for _ in names)
    quoted = ", ".join(f'"{n}"' for n in names)
    con.executemany(
        f'insert into {registry.get(source).dataset}."{table}" ({quoted}) values ({placeholders})',
        [[row.get(n) for n in names] for row in rows],
    )


def _iso_z(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def ts_event(
    event_type: str,
    at: datetime,
    *,
    user: str | None,
    guid: str | None,
    ip: str | None = "10.0.0.1",
    data: dict | None = None,
    org_id: int = 0,
    instance: str = "ts.test",
    loaded_at: datetime | None = None,
    event_id: str | None = None,
) -> dict:
    """A raw_thoughtspot.security_audit_events row, `log` serialised like the vendor does."""
    event_id = event_id or f"TS-{uuid.uuid4()}"
    log = {
        "version": "1.1",
        "id": event_id,
        "ts": _iso_z(at),
        "orgId": org_id,
        "userGUID": guid,
        "userName": user,
        "cIP": ip,
        "type": event_type,
        "desc": event_type.replace("_", " ").lower(),
        "data": data or {},
    }
    return {
        "source_instance": instance,
        "id": event_id,
        "date": at + timedelta(milliseconds=250),
        "ts": at,
        "version": "1.1",
        "org_id": org_id,
        "user_guid": guid,
        "user_name": user,
        "c_ip": ip,
        "type": event_type,
        "desc": log["desc"],
        "data": json.dumps(log["data"]),
        "log": json.dumps(log, separators=(",", ":")),
        "_loaded_at": loaded_at or at + timedelta(minutes=20),
    }


def mode_event(
    action: str,
    at: datetime,
    *,
    user: str | None,
    user_id: str | None = None,
    ip: str | None = "198.51.100.7",
    entity: dict | None = None,
    context: dict | None = None,
    instance: str = "acme",
    loaded_at: datetime | None = None,
    event_id: str | None = None,
) -> dict:
    """A raw_mode.audit_logs row; `record` is the entry as the API returns it."""
    event_id = event_id or str(uuid.uuid4())
    actor = (
        None
        if user is None
        else {
            "ip": ip,
            "user_agent": "Mozilla/5.0",
            "user_id": user_id or hashlib.md5(user.encode()).hexdigest()[:12],
            "username": user,
        }
    )
    record = {
        "id": event_id,
        "action": action,
        "description": action.replace("_", " "),
        "timestamp": at.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        "workspace_username": instance,
        "context": context,
        "actor": actor,
        "entity": entity,
    }
    dump = lambda value: None if value is None else json.dumps(value)  # noqa: E731
    return {
        "source_instance": instance,
        "id": event_id,
        "action": action,
        "description": record["description"],
        "timestamp": at,
        "workspace_username": instance,
        "context": dump(context),
        "actor": dump(actor),
        "entity": dump(entity),
        "record": json.dumps(record),
        "_loaded_at": loaded_at or at + timedelta(minutes=5),
    }


def ingest_window(
    start: datetime, end: datetime, *, fetched: int, new: int, duplicates: int, quarantined: int = 0, instance: str
) -> dict:
    return {
        "source_instance": instance,
        "window_start": start,
        "window_end": end,
        "fetched": fetched,
        "new_events": new,
        "duplicates": duplicates,
        "quarantined": quarantined,
        "fetched_at": end + timedelta(minutes=1),
    }


def open_warehouse(path: Path) -> duckdb.DuckDBPyConnection:
    path.parent.mkdir(parents=True, exist_ok=True)
    return duckdb.connect(str(path))
