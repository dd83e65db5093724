"""After an interrupted load was finished: the second copies a re-run copy job may have inserted."""

from __future__ import annotations

from typing import Any

from pipelines.sources import registry


def drop_retried_copies(source: str, pipeline: Any) -> None:
    """A copy into dlt's staging table that committed just before a kill is run again when the package is
    finished, and the insert-only merge inserts every row it finds in staging: remove those second copies, keeping
    the first row of each key (exactly once). Runs only after an interrupted load was finished."""
    spec = registry.get(source)
    if spec.is_state:
        return  # scd2 state tables are merged by dlt's own row hashes
    from pipelines.sources import raw_tables

    keys = {spec.events_table: raw_tables.EVENT_KEY, raw_tables.QUARANTINE_TABLE: raw_tables.QUARANTINE_KEY}
    with pipeline.sql_client() as client:
        for table, key in keys.items():
            name = client.make_qualified_table_name(table)
            if not client.has_dataset() or not _has_table(client, table):
                continue
            client.execute_sql(
                f"delete from {name} where rowid not in (select min(rowid) from {name} group by {', '.join(key)})"
            )


def _has_table(client: Any, table: str) -> bool:
    rows = client.execute_sql(
        "select count(*) from information_schema.tables where table_schema = %s and table_name = %s",
        client.dataset_name,
        table,
    )
    return bool(rows and rows[0][0])
