"""Warehouse health questions, answered in SQL: used by the Dagster asset checks, `auditlake status` and the demo report.

Each function takes an open DuckDB connection and returns plain data, so the same answer
reaches the Dagster UI, the terminal and the tests.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

import duckdb

from pipelines import settings
from pipelines.errors import ConfigurationError
from pipelines.sources import registry
from pipelines.sources.registry import QUARANTINE_TABLE, WINDOWS_TABLE
from pipelines.warehouse.locks import warehouse_write_lock

FACT = "core.fct_audit_events"
# Two windows that touch within this tolerance are contiguous (bounds are inclusive, in milliseconds).
_CONTIGUOUS = timedelta(seconds=1)


def table_exists(con: duckdb.DuckDBPyConnection, schema: str, table: str) -> bool:
    return bool(
        con.execute(
            "select count(*) from information_schema.tables where table_schema = ? and table_name = ?",
            [schema, table],
        ).fetchone()[0]
    )


@dataclass
class Gap:
    source_instance: str
    start: datetime
    end: datetime
    recoverable: bool  # still inside the vendor's retention: a backfill can fill it

    def describe(self) -> str:
        hours = (self.end - self.start).total_seconds() / 3600
        state = "recoverable: run a backfill" if self.recoverable else "past vendor retention: events lost"
        return f"{self.source_instance}: {self.start:%Y-%m-%d %H:%M} → {self.end:%Y-%m-%d %H:%M} UTC ({hours:.1f} h, {state})"


@dataclass
class Coverage:
    source: str
    instances: dict[str, tuple[datetime, datetime]] = field(default_factory=dict)  # first start, last end
    gaps: list[Gap] = field(default_factory=list)
    windows: int = 0


def coverage(con: duckdb.DuckDBPyConnection, source: str, now: datetime | None = None) -> Coverage:
    """Uncovered time between each instance's first window and now − vendor latency.

    Windows are merged as intervals; a hole between them, or after the last one, is a gap.
    """
    now = now or settings.utc_now()
    horizon = now - settings.VENDOR_LATENCY
    spec = registry.get(source)
    # Without a documented retention, treat every gap as still recoverable: never claim data is lost for good.
    retention_edge = now - spec.retention if spec.retention else datetime.min.replace(tzinfo=now.tzinfo)
    schema = spec.dataset
    result = Coverage(source=source)
    if not table_exists(con, schema, WINDOWS_TABLE):
        return result
    rows = con.execute(
        f"""
        select source_instance, window_start, window_end
        from {schema}.{WINDOWS_TABLE}
        order by source_instance, window_start, window_end
        """
    ).fetchall()
    result.windows = len(rows)
    current: str | None = None
    covered_until: datetime | None = None
    for instance, start, end in rows + [(None, None, None)]:
        if instance != current:
            if current is not None and covered_until is not None and covered_until + _CONTIGUOUS < horizon:
                result.gaps.append(Gap(current, covered_until, horizon, recoverable=horizon > retention_edge))
            if instance is None:
                break
            current, covered_until = instance, end
            result.instances[instance] = (start, end)
            continue
        if start > covered_until + _CONTIGUOUS:
            result.gaps.append(Gap(instance, covered_until, start, recoverable=start > retention_edge))
        covered_until = max(covered_until, end)
        first, _ = result.instances[instance]
        result.instances[instance] = (first, covered_until)
    return result


def last_fetch(con: duckdb.DuckDBPyConnection, source: str) -> dict[str, datetime]:
    """Per instance, when a window was last fetched successfully (a quiet tenant still counts as fresh)."""
    schema = registry.get(source).dataset
    if not table_exists(con, schema, WINDOWS_TABLE):
        return {}
    return dict(
        con.execute(
            f"select source_instance, max(fetched_at) from {schema}.{WINDOWS_TABLE} group by 1 order by 1"
        ).fetchall()
    )


@dataclass
class Snapshots:
    first: datetime  # the earliest moment state can be read for
    last: datetime
    count: int
    row_counts: str  # JSON text: rows per table in the last snapshot


def last_snapshots(con: duckdb.DuckDBPyConnection, source: str) -> dict[str, Snapshots]:
    """Per instance of a state source: its first and last COMPLETE snapshot."""
    schema = registry.get(source).dataset
    if not table_exists(con, schema, registry.SNAPSHOTS_TABLE):
        return {}
    rows = con.execute(
        f"""select source_instance, min(snapshot_at), max(snapshot_at), count(*),
                   arg_max(row_counts, snapshot_at)
            from {schema}.{registry.SNAPSHOTS_TABLE} where is_complete group by 1 order by 1"""
    ).fetchall()
    return {instance: Snapshots(first, last, n, counts) for instance, first, last, n, counts in rows}


def quarantined(con: duckdb.DuckDBPyConnection, source: str) -> list[tuple[str, str, int]]:
    """(source_instance, reason, records) set aside because they could not be parsed."""
    schema = registry.get(source).dataset
    if not table_exists(con, schema, QUARANTINE_TABLE):
        return []
    return con.execute(
        f"select source_instance, reason, count(*) from {schema}.{QUARANTINE_TABLE} group by 1, 2 order by 3 desc"
    ).fetchall()


def raw_event_counts(con: duckdb.DuckDBPyConnection, source: str) -> dict[str, int]:
    spec = registry.get(source)
    schema, table = spec.dataset, spec.events_table
    if not table_exists(con, schema, table):
        return {}
    return dict(
        con.execute(
            f"select source_instance, count(distinct id) from {schema}.{table} group by 1 order by 1"
        ).fetchall()
    )


def fact_event_counts(con: duckdb.DuckDBPyConnection, source: str) -> dict[str, int]:
    if not table_exists(con, "core", "fct_audit_events"):
        return {}
    return dict(
        con.execute(
            f"select source_instance, count(*) from {FACT} where source_system = ? group by 1 order by 1", [source]
        ).fetchall()
    )


def reconciliation(con: duckdb.DuckDBPyConnection, source: str) -> list[tuple[str, int, int]]:
    """(source_instance, raw distinct events, fact rows) where the two differ."""
    raw, fact = raw_event_counts(con, source), fact_event_counts(con, source)
    return [
        (instance, raw.get(instance, 0), fact.get(instance, 0))
        for instance in sorted(set(raw) | set(fact))
        if raw.get(instance, 0) != fact.get(instance, 0)
    ]


def fact_duplicates(con: duckdb.DuckDBPyConnection) -> int:
    if not table_exists(con, "core", "fct_audit_events"):
        return 0
    return con.execute(
        f"""select coalesce(sum(n - 1), 0) from (
                select count(*) as n from {FACT}
                group by source_system, source_instance, source_event_id having count(*) > 1)"""
    ).fetchone()[0]


def unmapped_event_types(con: duckdb.DuckDBPyConnection) -> list[tuple[str, str, int]]:
    """(source_system, event_type, events) that the event catalogue does not know."""
    if not table_exists(con, "core", "fct_audit_events"):
        return []
    return con.execute(
        f"""select source_system, event_type, count(*) from {FACT}
            where event_category = 'unknown' group by 1, 2 order by 3 desc"""
    ).fetchall()


def connect_read_only(path: Path | None = None) -> duckdb.DuckDBPyConnection:
    path = path or settings.warehouse_path()
    if not path.exists():
        raise ConfigurationError(
            f"no warehouse at {path}: run `auditlake run` (or `auditlake demo`) first, or set {settings.ENV_WAREHOUSE}"
        )
    try:
        return duckdb.connect(str(path), read_only=True)
    except duckdb.IOException as exc:
        if "lock" in str(exc).lower():
            raise WarehouseBusy(path) from None
        raise ConfigurationError(f"cannot read the warehouse {path}: {str(exc).splitlines()[0]}") from None


class WarehouseBusy(Exception):
    """A writer holds the DuckDB file; readers go to the published copy instead of waiting."""

    def __init__(self, path: Path):
        self.path = path
        super().__init__(f"{path} is being written by another auditlake process")


@contextlib.contextmanager
def open_for_reading(path: Path | None = None) -> Iterator[tuple[duckdb.DuckDBPyConnection, Path]]:
    """A read-only connection that never waits for the writer: the warehouse itself when no run holds it,
    else the analysts' published copy (yields the connection and the file actually read)."""
    path = path or settings.warehouse_path()
    try:
        con = connect_read_only(path)
    except WarehouseBusy:
        published = settings.published_path() if path == settings.warehouse_path() else None
        if published is None or not published.exists():
            raise ConfigurationError(
                f"{path} is being written by another auditlake process and there is no published copy yet: "
                "wait for the run to finish"
            ) from None
        path, con = published, duckdb.connect(str(published), read_only=True)
    try:
        yield con, path
    finally:
        con.close()


@contextlib.contextmanager
def open_warehouse(path: Path | None = None) -> Iterator[duckdb.DuckDBPyConnection]:
    """A read-only connection taken under the writer lock (for checks inside a writing run, which queue anyway)."""
    with warehouse_write_lock(path=path):
        con = connect_read_only(path)
        try:
            yield con
        finally:
            con.close()
