"""Weekly upkeep of a DuckLake warehouse: merge small files, expire old snapshots, delete files nothing needs.

Every scheduled run commits a few small Parquet files per table it touches (an incremental model appends the
run's new rows). Left alone, a year of 15-minute runs is ~35k files per table, and scans pay per file. Snapshots
are what time travel (`auditlake query --as-of`) and the evidence pack read: "the fact as it stood on the audit
date". Expiring a snapshot only forgets a *past* state; the current snapshot and every file it references are
never touched, so current data cannot be lost by this job. What can be lost is the ability to read a state older
than the retention, hence the default below.

Retention default: 400 days. A SOC 2 Type II / ISO 27001 audit period is twelve months and the auditor's
fieldwork follows it by weeks; 400 days keeps every state of the period under audit readable until the report
is signed. Lower it (AUDITLAKE_SNAPSHOT_RETENTION_DAYS) only if no audit needs as-of reads that far back; raising
it costs only the storage of rows that were later replaced or deleted (rare: the fact and marts are append-only).

On the DuckDB-file engine there are no snapshots and DuckDB compacts its own file: the job logs that and does
nothing.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING

from pipelines.settings import ConfigurationError
from pipelines.warehouse.locks import warehouse_write_lock

if TYPE_CHECKING:
    from pipelines.warehouse import engine

ENV_RETENTION_DAYS = "AUDITLAKE_SNAPSHOT_RETENTION_DAYS"
DEFAULT_RETENTION_DAYS = 400
# Orphaned files (no catalog entry) may belong to a commit in flight on another host: wait a day before deleting.
ORPHAN_GRACE = timedelta(days=1)


def snapshot_retention() -> timedelta:
    """How long past snapshots stay readable (AUDITLAKE_SNAPSHOT_RETENTION_DAYS, default 400 days)."""
    raw = os.environ.get(ENV_RETENTION_DAYS, "").strip() or str(DEFAULT_RETENTION_DAYS)
    try:
        days = float(raw)
    except ValueError:
        raise ConfigurationError(f"{ENV_RETENTION_DAYS}={raw!r} is not a number of days: use e.g. 400") from None
    if days < 1:
        # Below a day a running reader's snapshot (or the evidence pack being written) could lose its files.
        raise ConfigurationError(f"{ENV_RETENTION_DAYS}={raw!r} is below 1 day: readers in flight need their files")
    return timedelta(days=days)


@dataclass
class MaintenanceReport:
    engine: str
    skipped: str | None = None  # why nothing was done (the file engine)
    files_before: int = 0
    files_after: int = 0
    snapshots_before: int = 0
    snapshots_after: int = 0
    expired_before: datetime | None = None
    files_deleted: int = 0
    steps: list[str] = field(default_factory=list)

    def line(self) -> str:
        if self.skipped:
            return f"maintenance: nothing to do on {self.engine}: {self.skipped}"
        return (
            f"maintenance on {self.engine}: data files {self.files_before} -> {self.files_after}, snapshots "
            f"{self.snapshots_before} -> {self.snapshots_after} "
            f"(expired before {self.expired_before:%Y-%m-%dT%H:%MZ}), "
            f"{self.files_deleted} unreferenced files deleted"
        )


def run_maintenance(
    retention: timedelta | None = None,
    log: Callable[[str], None] = lambda _: None,
    now: datetime | None = None,
    cleanup_grace: timedelta = timedelta(hours=1),
) -> MaintenanceReport:
    """Compact, expire and clean up the configured warehouse (a logged no-op on the DuckDB-file engine)."""
    from pipelines.warehouse import engine

    wh = engine.warehouse()
    if not wh.is_ducklake:
        report = MaintenanceReport(
            engine=wh.describe(),
            skipped="a DuckDB file keeps no snapshots and reuses its own free blocks; only DuckLake needs this job",
        )
        log(report.line())
        return report
    retention = retention or snapshot_retention()
    cutoff = (now or datetime.now(timezone.utc)) - retention
    report = MaintenanceReport(engine=wh.describe(), expired_before=cutoff)
    lake = engine.LAKE_ALIAS
    # Behind the writer lock: a merge racing a dbt build on the same table would make one of them fail.
    with warehouse_write_lock():
        _maintain(wh, lake, cutoff, cleanup_grace, report, log)
    log(report.line())
    return report


def _maintain(
    wh: engine.Warehouse,
    lake: str,
    cutoff: datetime,
    cleanup_grace: timedelta,
    report: MaintenanceReport,
    log: Callable[[str], None],
) -> None:
    from pipelines.warehouse import engine

    con = engine.connect(wh)
    try:
        report.files_before = _count(con, f"SELECT coalesce(sum(file_count), 0) FROM ducklake_table_info('{lake}')")
        report.snapshots_before = _count(con, f"SELECT count(*) FROM ducklake_snapshots('{lake}')")
        # Small inserts kept inside the catalog (data inlining) go to Parquet first, so the merge sees them too.
        con.execute(f"CALL ducklake_flush_inlined_data('{lake}')")
        merged = con.execute(f"CALL ducklake_merge_adjacent_files('{lake}')").fetchall()
        report.steps.append(f"merged adjacent files of {len(merged)} table(s)")
        log(f"maintenance: {report.steps[-1]}")
        expire = _snapshots_to_expire(con, cutoff)
        if expire:
            con.execute(f"CALL ducklake_expire_snapshots('{lake}', versions => ?::UBIGINT[])", [expire])
        report.steps.append(f"expired {len(expire)} snapshot(s) older than {cutoff:%Y-%m-%dT%H:%MZ}")
        log(f"maintenance: {report.steps[-1]}")
        # Expiry and merging only schedule the files a past snapshot needed; delete them now that no remaining
        # snapshot refers to them. The grace keeps files a reader that began before the expiry may still be opening.
        deleted = con.execute(
            f"CALL ducklake_cleanup_old_files('{lake}', older_than => ?::TIMESTAMPTZ)",
            [datetime.now(timezone.utc) - cleanup_grace],
        ).fetchall()
        # Files no catalog entry names (a writer that died before committing) are deleted after a day, so a write
        # in flight on another host never loses the file it is about to commit.
        orphans = con.execute(
            f"CALL ducklake_delete_orphaned_files('{lake}', older_than => ?::TIMESTAMPTZ)",
            [datetime.now(timezone.utc) - max(cleanup_grace, ORPHAN_GRACE)],
        ).fetchall()
        report.files_deleted = len(deleted) + len(orphans)
        log(f"maintenance: deleted {len(deleted)} file(s) no snapshot needs and {len(orphans)} orphaned file(s)")
        report.files_after = _count(con, f"SELECT coalesce(sum(file_count), 0) FROM ducklake_table_info('{lake}')")
        report.snapshots_after = _count(con, f"SELECT count(*) FROM ducklake_snapshots('{lake}')")
    finally:
        con.close()


def _snapshots_to_expire(con: object, cutoff: datetime) -> list[int]:
    """Snapshots made before `cutoff`, except the one current at the cutoff (an as-of read at any moment inside
    the retention needs the snapshot that was current then) and the current one.

    Ids, not DuckLake's `older_than`: that one expires the snapshot current at the cutoff too, and on a SQLite
    catalog (DuckLake 1.5.5) it expired snapshots newer than the cutoff in our tests.
    """
    rows = con.execute(  # type: ignore[attr-defined]
        f"SELECT snapshot_id, snapshot_time FROM ducklake_snapshots('{_lake()}') ORDER BY snapshot_id"
    ).fetchall()
    if not rows:
        return []
    current = int(rows[-1][0])
    before = [(int(sid), moment) for sid, moment in rows if moment <= cutoff]
    at_cutoff = before[-1][0] if before else None
    return [sid for sid, moment in before if moment < cutoff and sid not in (at_cutoff, current)]


def _lake() -> str:
    from pipelines.warehouse import engine

    return engine.LAKE_ALIAS


def _count(con: object, sql: str) -> int:
    row = con.execute(sql).fetchone()  # type: ignore[attr-defined]
    return int(row[0]) if row else 0
