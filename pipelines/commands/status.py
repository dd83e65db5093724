"""`auditlake status`: per source, last load, coverage, gaps and freshness, read from the warehouse."""

from __future__ import annotations

import argparse

from pipelines import settings
from pipelines.sources import registry
from pipelines.warehouse import health as wc


def status_lines(con) -> tuple[list[str], bool]:
    """Human lines and whether everything is healthy (fresh, no recoverable gap)."""
    now = settings.utc_now()
    limit = settings.freshness_limit()
    lines: list[str] = []
    healthy = True
    for spec in registry.state_sources():
        snapshots = wc.last_snapshots(con, spec.name)
        if not snapshots:
            lines.append(f"{spec.name}: no complete snapshot yet (no entitlement state to review)")
        max_age = settings.snapshot_max_age()
        for instance, snap in snapshots.items():
            age = now - snap.last
            healthy &= age <= max_age
            lines.append(
                f"{spec.name} {instance}: last complete snapshot {snap.last:%Y-%m-%d %H:%M} UTC "
                f"({age.total_seconds() / 3600:.1f} h ago, {'fresh' if age <= max_age else 'STALE'}); "
                f"{snap.count} snapshots since {snap.first:%Y-%m-%d %H:%M} UTC; rows {snap.row_counts}"
            )
    for spec in registry.event_sources():
        source = spec.name
        fetched = wc.last_fetch(con, source)
        if not fetched:
            lines.append(f"{source}: never loaded")
            continue
        cov = wc.coverage(con, source, now)
        events = wc.raw_event_counts(con, source)
        groups = wc.quarantine_summary(con, source)
        quarantined = sum(n for _, n, _ in groups)
        for instance, last in fetched.items():
            age = now - last
            fresh = age <= limit
            healthy &= fresh
            first, covered_until = cov.instances.get(instance, (None, None))
            lines.append(
                f"{source} {instance}: {events.get(instance, 0)} events; last load {last:%Y-%m-%d %H:%M} UTC "
                f"({age.total_seconds() / 60:.0f} min ago, {'fresh' if fresh else 'STALE'}); "
                f"covered {first:%Y-%m-%d %H:%M} → {covered_until:%Y-%m-%d %H:%M} UTC"
            )
        for gap in cov.gaps:
            healthy &= not gap.recoverable
            lines.append(f"  gap {gap.describe()}")
        if spec.retention:
            # Coverage is never over-claimed: what the vendor no longer holds cannot be fetched again.
            horizon = now - spec.retention
            lines.append(
                f"  {spec.title} keeps {spec.retention.days} days: events before {horizon:%Y-%m-%d %H:%M} UTC "
                "that are not loaded here are unrecoverable"
            )
        if quarantined:
            lines.append(f"  {quarantined} quarantined records in {spec.dataset}.{registry.QUARANTINE_TABLE}:")
            lines += [f"    {n} x {cls}" for cls, n, _ in groups[:5]]
    return lines, healthy


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--warehouse",
        help="warehouse to inspect: a DuckDB file or a ducklake:... setting (default AUDITLAKE_WAREHOUSE)",
    )


def main(args: argparse.Namespace) -> int:
    from pipelines.warehouse import engine

    wh = engine.as_warehouse(args.warehouse)
    # A reader never waits for (or blocks) a writer: DuckLake readers read the last committed snapshot; while a
    # run holds a DuckDB file, the published copy is read.
    with wc.open_for_reading(wh) as (con, read_from):
        lines, healthy = status_lines(con)
        snapshot = engine.current_snapshot(con)
    note = "" if read_from == wh.anchor else f" (a run is writing it: read the analysts' copy {read_from})"
    if snapshot is not None:
        note += f" (snapshot {snapshot})"
    print(f"warehouse: {wh.describe()}{note}")
    for line in lines:
        print(line)
    return 0 if healthy else 1
