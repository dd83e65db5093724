"""What the entitlement (state) sources share: one complete snapshot per run, kept as dlt scd2 history.

Why dlt `scd2` and not dbt snapshots: the history is recorded where the state is observed, at extraction, with the
snapshot's own time as the validity boundary (`boundary_timestamp`). dbt snapshots would stamp rows with the dbt run's
time and keep only what the raw table holds when dbt happens to run: a day whose ingest ran but whose dbt build did
not (or failed) would be lost for good, and the raw layer would hold only the latest state. With scd2 the raw tables
alone reconstruct the state on any date since the first snapshot: a row is valid at T when
`valid_from <= T < coalesce(valid_to, infinity)`.

A snapshot is all or nothing: every page of every endpoint is fetched (and checked) before the first row is handed
to dlt, so a failed page raises before anything is extracted and the load writes nothing; the `snapshot_runs` row
(written in the same load) marks it complete. The first `snapshot_runs` row is the earliest date state can be read.
A table that is empty in a snapshot is not written by dlt, so its rows are not retired there; `snapshot_runs.row_counts`
records the empty table and dbt ends those rows at that snapshot (macro entitlement_valid_to).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import dlt

from pipelines.sources.common.errors import SourceError
from pipelines.sources.common.http_session import DEFAULT_REQUEST_TIMEOUT_SECONDS, retrying_client
from pipelines.sources.common.window_report import progress_logger
from pipelines.sources.common.windows import parse_bound
from pipelines.sources.registry import SNAPSHOTS_TABLE

VALIDITY_COLUMNS = ["valid_from", "valid_to"]
MAX_PAGES = 10_000  # a listing longer than this is a paging loop, not a tenant


def http_client() -> Any:
    """dlt's retrying session (429, 5xx and dropped connections, Retry-After honoured; RUNTIME__REQUEST_* tune it)
    that hands every other status back to us, so refusals become messages that name the fix."""
    return retrying_client(DEFAULT_REQUEST_TIMEOUT_SECONDS)


def snapshot_time(snapshot_at: str | datetime | None) -> datetime:
    """The snapshot's instant: `snapshot_at` (tests pin it to a simulator's clock), else now, in UTC, to the µs."""
    moment = parse_bound(snapshot_at, "snapshot_at") if snapshot_at is not None else None
    return moment or datetime.now(UTC)


def ms_to_utc(value: Any, field_name: str) -> datetime | None:
    """ThoughtSpot epoch millis; 0/None -> None. The docs' expiration example is in seconds: < 1e11 means seconds."""
    if value in (None, 0, "0", ""):
        return None
    if isinstance(value, str):  # typed number in the spec; a numeric string is the same number
        try:
            value = float(value)
        except ValueError:
            raise SourceError(f"{field_name} is not a number of milliseconds ({value[:40]!r}): unknown shape") from None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise SourceError(f"{field_name} is not a number of milliseconds ({str(value)[:40]!r}): unknown shape")
    seconds = value / 1000 if value >= 1e11 else float(value)
    return datetime.fromtimestamp(seconds, tz=UTC)


def as_json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"))


@dataclass
class Snapshot:
    """The rows of one complete snapshot, per table."""

    source: str
    source_instance: str
    snapshot_at: datetime
    tables: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    scope: list[str] = field(default_factory=list)  # what was read (orgs, workspace), for the evidence

    def run_row(self) -> dict[str, Any]:
        return {
            "source_instance": self.source_instance,
            "snapshot_at": self.snapshot_at,
            "snapshot_date": self.snapshot_at.date(),
            "scope": as_json(self.scope),
            "row_counts": as_json({name: len(rows) for name, rows in self.tables.items()}),
            "is_complete": True,
        }

    def report(self) -> None:
        counts = ", ".join(f"{len(rows)} {name}" for name, rows in self.tables.items())
        record = logging.LogRecord(
            "auditlake.ingest",
            logging.INFO,
            __file__,
            0,
            "%s (%s): snapshot %s complete: %s",
            (self.source, self.source_instance, self.snapshot_at.strftime("%Y-%m-%dT%H:%M:%SZ"), counts),
            None,
        )
        record.snapshot_stats = self
        progress_logger.handle(record)


def column_hints(spec: str) -> dict[str, Any]:
    """ "name type, name type" -> dlt column hints: every column exists (and is typed) even when a snapshot holds
    only nulls in it, so dbt's contract never meets a missing column."""
    hints = {}
    for item in spec.split(","):
        name, data_type = item.split()
        hints[name] = {"data_type": data_type, "nullable": True}
    return hints


SNAPSHOT_RUN_COLUMNS = column_hints(
    "source_instance text, snapshot_at timestamp, snapshot_date date, scope text, row_counts text, is_complete bool"
)


def snapshot_resources(
    fetch: Callable[[], Snapshot], tables: dict[str, str], snapshot_at: datetime, columns: dict[str, dict[str, Any]]
) -> list[Any]:
    """One scd2 resource per state table plus the append-only `snapshot_runs`; `fetch` runs once, before any row."""
    memo: dict[str, Snapshot] = {}

    def snapshot() -> Snapshot:
        if "value" not in memo:
            memo["value"] = fetch()
        return memo["value"]

    def rows_of(table: str) -> Callable[[], Iterator[dict[str, Any]]]:
        def rows() -> Iterator[dict[str, Any]]:
            yield from snapshot().tables.get(table, [])

        rows.__name__ = table
        return rows

    scd2 = {
        "disposition": "merge",
        "strategy": "scd2",
        "validity_column_names": VALIDITY_COLUMNS,
        "boundary_timestamp": snapshot_at,
    }
    resources: list[Any] = [
        dlt.resource(
            rows_of(table),
            name=table,
            write_disposition=scd2,  # type: ignore[call-overload]
            columns=columns[table],
            # Several tenants write these tables: a snapshot retires only rows of its own instance, never the rows
            # another cluster or workspace holds (scd2 without a merge key retires every row absent from the load).
            merge_key="source_instance",
        )
        for table in tables
    ]

    def snapshot_runs() -> Iterator[dict[str, Any]]:
        done = snapshot()
        done.report()
        yield done.run_row()

    resources.append(
        dlt.resource(snapshot_runs, name=SNAPSHOTS_TABLE, write_disposition="append", columns=SNAPSHOT_RUN_COLUMNS)
    )
    return resources
