"""Warehouse health questions, answered in SQL: used by the Dagster asset checks, `auditlake status` and the demo
report.

Each function takes an open DuckDB connection and returns plain data, so the same answer
reaches the Dagster UI, the terminal and the tests.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

import duckdb

from pipelines import settings
from pipelines.settings import ConfigurationError
from pipelines.sources import registry
from pipelines.sources.registry import QUARANTINE_TABLE, WINDOWS_TABLE
from pipelines.warehouse import engine
from pipelines.warehouse.engine import Warehouse
from pipelines.warehouse.locks import warehouse_write_lock

FACT = "core.fct_audit_events"
# Two windows that touch within this tolerance are contiguous (bounds are inclusive, in milliseconds).
_CONTIGUOUS = timedelta(seconds=1)


def table_exists(con: duckdb.DuckDBPyConnection, schema: str, table: str) -> bool:
    row = con.execute(
        "select count(*) from information_schema.tables where table_schema = ? and table_name = ?", [schema, table]
    ).fetchone()
    return bool(row and row[0])


@dataclass
class Gap:
    source_instance: str
    start: datetime
    end: datetime
    recoverable: bool  # still inside the vendor's retention: a backfill can fill it

    def describe(self) -> str:
        hours = (self.end - self.start).total_seconds() / 3600
        state = "recoverable: run a backfill" if self.recoverable else "past vendor retention: events lost"
        span = f"{self.start:%Y-%m-%d %H:%M} → {self.end:%Y-%m-%d %H:%M} UTC"
        return f"{self.source_instance}: {span} ({hours:.1f} h, {state})"


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
        assert covered_until is not None  # set with `current` on the instance's first window
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


def reason_class(reason: str) -> str:
    """A quarantine reason without its particulars (offsets, values), so equal causes group together."""
    text = re.sub(r"'[^']*'|\"[^\"]*\"", "<value>", reason)
    return re.sub(r"(?<![\w-])\d+", "<n>", text)


def quarantine_summary(con: duckdb.DuckDBPyConnection, source: str) -> list[tuple[str, int, str]]:
    """(reason class, records, one full example reason), largest class first."""
    groups: dict[str, list] = {}
    for _instance, reason, count in quarantined(con, source):
        group = groups.setdefault(reason_class(reason), [0, reason])
        group[0] += count
    return sorted(((cls, n, example) for cls, (n, example) in groups.items()), key=lambda g: -g[1])


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


def raw_row_counts(con: duckdb.DuckDBPyConnection, source: str) -> dict[str, int]:
    """Rows per instance in a source's raw events table: its events, since the loader's insert-only merge on
    (source_instance, id) keeps one row per event. A plain count reads one dictionary-encoded column;
    count(distinct id) hashed every id of the history on every run (0.7 s per million events)."""
    spec = registry.get(source)
    schema, table = spec.dataset, spec.events_table
    if not table_exists(con, schema, table):
        return {}
    return dict(con.execute(f"select source_instance, count(*) from {schema}.{table} group by 1 order by 1").fetchall())


def reconciliation(
    con: duckdb.DuckDBPyConnection, source: str, fact: dict[str, int] | None = None
) -> list[tuple[str, int, int]]:
    """(source_instance, raw events, fact rows) where the two differ (`fact`: fact_event_counts, if already read).

    The whole history, not recent days: a count per instance stays cheap as history grows, and a fact row lost in
    an old day is exactly what this check exists to catch. A duplicate raw row (a loader fault) shows as raw > fact.
    """
    raw = raw_row_counts(con, source)
    fact = fact_event_counts(con, source) if fact is None else fact
    return [
        (instance, raw.get(instance, 0), fact.get(instance, 0))
        for instance in sorted(set(raw) | set(fact))
        if raw.get(instance, 0) != fact.get(instance, 0)
    ]


def unmapped_event_types(con: duckdb.DuckDBPyConnection) -> list[tuple[str, str, int]]:
    """(source_system, event_type, events) that the event catalogue does not know."""
    if not table_exists(con, "core", "fct_audit_events"):
        return []
    return con.execute(
        f"""select source_system, event_type, count(*) from {FACT}
            where event_category = 'unknown' group by 1, 2 order by 3 desc"""
    ).fetchall()


PROFILE = "core.int_field_profile_daily"
PROFILED_FIELDS = ("actor_id", "actor_name", "actor_ip", "target_id", "target_name", "org_id")


@dataclass(frozen=True)
class DriftThresholds:
    baseline_days: int = 14  # the days before the recent one that define "normal"
    mostly_filled: float = 0.8  # a field filled at least this often in the baseline ...
    mostly_empty: float = 0.2  # ... and at most this often on the recent day has drifted
    min_baseline_events: int = 20  # below these counts a rate says nothing
    min_recent_events: int = 10


def field_drift(
    con: duckdb.DuckDBPyConnection, now: datetime | None = None, limits: DriftThresholds = DriftThresholds()
) -> list[str]:
    """Signs that a vendor changed its record format, comparing the last UTC day with the days before it:
    a field that was mostly filled is now mostly empty, or the payload carries a key never seen for that type."""
    schema, table = PROFILE.split(".")
    if not table_exists(con, schema, table):
        return []
    today = (now or settings.utc_now()).date()
    recent_from = today - timedelta(days=1)
    baseline_from = recent_from - timedelta(days=limits.baseline_days)
    filled = ", ".join(
        f"sum({f}_filled) filter (where recent) as r_{f}, sum({f}_filled) filter (where not recent) as b_{f}"
        for f in PROFILED_FIELDS
    )
    rows = con.execute(
        f"""
        with days as (select *, event_date >= ? as recent from {PROFILE} where event_date >= ?)
        select source_system, event_type,
               coalesce(sum(events) filter (where recent), 0) as r_events,
               coalesce(sum(events) filter (where not recent), 0) as b_events,
               {filled},
               list_distinct(flatten(list(context_keys) filter (where recent))) as r_keys,
               list_distinct(flatten(list(context_keys) filter (where not recent))) as b_keys
        from days group by 1, 2 order by 1, 2
        """,
        [recent_from, baseline_from],
    ).fetchall()
    findings = []
    for row in rows:
        source, event_type, recent_events, baseline_events = row[:4]
        if recent_events < limits.min_recent_events or baseline_events < limits.min_baseline_events:
            continue
        for i, field_name in enumerate(PROFILED_FIELDS):
            recent_rate = (row[4 + 2 * i] or 0) / recent_events
            baseline_rate = (row[5 + 2 * i] or 0) / baseline_events
            if baseline_rate >= limits.mostly_filled and recent_rate <= limits.mostly_empty:
                findings.append(
                    f"{source} {event_type}: {field_name} filled in {recent_rate:.0%} of the last day's "
                    f"events, {baseline_rate:.0%} before"
                )
        recent_keys, baseline_keys = row[-2] or [], row[-1] or []
        new_keys = sorted(set(recent_keys) - set(baseline_keys))
        if new_keys and baseline_keys:
            findings.append(f"{source} {event_type}: new payload keys {', '.join(new_keys)}")
    return findings


def connect_read_only(path: Warehouse | Path | str | None = None) -> duckdb.DuckDBPyConnection:
    """A read-only connection to the warehouse (default: the configured one). On DuckLake it reads the last
    committed snapshot and never waits for a writer; on a DuckDB file a writer holding it raises WarehouseBusy."""
    wh = engine.as_warehouse(path)
    if not wh.exists():
        raise ConfigurationError(
            f"no warehouse at {wh.location}: run `auditlake run` (or `auditlake demo`) first, "
            f"or set {settings.ENV_WAREHOUSE}"
        )
    try:
        return engine.connect(wh, read_only=True)
    except engine.WarehouseLocked:
        raise WarehouseBusy(Path(wh.location)) from None


class WarehouseBusy(Exception):
    """A writer holds the DuckDB file; readers go to the published copy instead of waiting."""

    def __init__(self, path: Path):
        self.path = path
        super().__init__(f"{path} is being written by another auditlake process")


@contextlib.contextmanager
def open_for_reading(path: Warehouse | Path | str | None = None) -> Iterator[tuple[duckdb.DuckDBPyConnection, Path]]:
    """A read-only connection that never waits for the writer (yields the connection and the file actually read).

    DuckLake: the last committed snapshot, read from the lake itself (the path yielded is the warehouse's anchor).
    DuckDB file: the file itself when no run holds it, else the analysts' published copy.
    """
    wh = engine.as_warehouse(path)
    try:
        con = connect_read_only(wh)
        read_from = wh.anchor
    except WarehouseBusy:
        published = settings.published_path() if wh.anchor == settings.warehouse_path() else None
        if published is None or not published.exists():
            raise ConfigurationError(
                f"{wh.location} is being written by another auditlake process and there is no published copy yet: "
                "wait for the run to finish"
            ) from None
        read_from, con = published, engine.connect(published, read_only=True)
    try:
        yield con, read_from
    finally:
        con.close()


@contextlib.contextmanager
def open_warehouse(path: Warehouse | Path | str | None = None) -> Iterator[duckdb.DuckDBPyConnection]:
    """A read-only connection for checks inside a writing run.

    DuckDB file: taken under the writer lock (the checks queue behind writers anyway). DuckLake: the last
    committed snapshot, no lock. Before anything was loaded there is no warehouse: the checks then see an empty
    one (never fetched), not an error.
    """
    wh = engine.as_warehouse(path)
    lock = contextlib.nullcontext() if wh.is_ducklake else warehouse_write_lock(path=wh.anchor)
    with lock:
        con = connect_read_only(wh) if wh.exists() else duckdb.connect(":memory:")
        try:
            yield con
        finally:
            con.close()
