"""One dlt resource feeds three tables: events, quarantined_records and ingest_windows."""

from __future__ import annotations

from typing import Any

import dlt
import pyarrow as pa

from pipelines.sources import raw_tables

# Audit records never change once written: "insert-only" merge adds rows whose key is new and leaves
# loaded rows (their _loaded_at and _dlt_load_id) untouched; it also loads faster than delete-insert on DuckDB.
INSERT_ONLY_MERGE = {"disposition": "merge", "strategy": "insert-only"}


def emit(table: pa.Table, table_name: str) -> Any:
    return dlt.mark.with_table_name(table, table_name)


def apply_table_hints(resource: Any, events_table: str) -> Any:
    """Each table gets its own keys and write disposition."""
    resource.apply_hints(
        table_name=events_table,
        write_disposition=INSERT_ONLY_MERGE,
        primary_key=list(raw_tables.EVENT_KEY),
        columns={name: {"data_type": "json"} for name in raw_tables.JSON_COLUMNS[events_table]},
        create_table_variant=True,
    )
    resource.apply_hints(
        table_name=raw_tables.QUARANTINE_TABLE,
        write_disposition=INSERT_ONLY_MERGE,
        primary_key=list(raw_tables.QUARANTINE_KEY),
        create_table_variant=True,
    )
    resource.apply_hints(
        table_name=raw_tables.WINDOWS_TABLE,
        write_disposition="append",
        create_table_variant=True,
    )
    return resource
