"""`auditlake ingest`: load new audit events from every configured source (or one) into the warehouse."""

from __future__ import annotations

import argparse
import sys

from pipelines import settings
from pipelines.sources import registry
from pipelines.warehouse.locks import warehouse_write_lock


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--source",
        choices=(*registry.names(), "all"),
        default="all",
        help="which vendor to load (default: all configured sources)",
    )
    parser.add_argument(
        "--since",
        help="backfill: re-read events from this UTC date/time (e.g. 2026-11-01 or 2026-11-01T06:00:00Z) "
        "without moving the saved cursor; ThoughtSpot keeps 30 days",
    )
    parser.add_argument(
        "--until",
        help="end of the last window read (UTC date/time; default now)",
    )


def main(args: argparse.Namespace) -> int:
    from pipelines.ingest import run_ingest

    selected = registry.names() if args.source == "all" else (args.source,)
    since, until = getattr(args, "since", None), getattr(args, "until", None)
    print(f"warehouse: {settings.warehouse_path()}", flush=True)
    if since:
        print(f"backfill: re-reading {since} .. {until or 'now'} (the saved cursor is not moved)", flush=True)
    overrides = {key: value for key, value in (("since", since), ("until", until)) if value}
    # Queue behind any other auditlake writer (a scheduled run, a dbt build) instead of failing on DuckDB's lock.
    with warehouse_write_lock():
        summaries = run_ingest(selected, progress=lambda line: print(line, flush=True), **overrides)
    for summary in summaries:
        print(summary.line(), file=sys.stderr if summary.error and not summary.skipped else sys.stdout, flush=True)
    if all(s.skipped for s in summaries):
        print("nothing to ingest: no source is configured", file=sys.stderr)
        return 2
    return 1 if any(s.error and not s.skipped for s in summaries) else 0
