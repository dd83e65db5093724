"""`auditlake ingest`: load new audit events from every configured source (or one) into the warehouse."""

from __future__ import annotations

import argparse
import sys

from pipelines.commands.arguments import add_progress_flags, check_range, utc_moment, wants_progress
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
        type=utc_moment,
        help="backfill: re-read events from this UTC date/time (e.g. 2026-11-01 or 2026-11-01T06:00:00Z) "
        "without moving the saved cursor; ThoughtSpot keeps 30 days",
    )
    parser.add_argument(
        "--until",
        type=utc_moment,
        help="end of the last window read (UTC date/time; default now)",
    )
    add_progress_flags(parser)


def main(args: argparse.Namespace) -> int:
    from pipelines.ingest_runner import run_ingest

    selected = registry.names() if args.source == "all" else (args.source,)
    since, until = getattr(args, "since", None), getattr(args, "until", None)
    check_range(args._parser, since, until, until_needs_since=False)
    from pipelines.warehouse import catalog_guard

    # Before any fetch: an unreachable catalog or unwritable data path stops here, one line naming the setting.
    print(f"warehouse: {catalog_guard.prepare_for_writing().describe()}", flush=True)
    if since:
        print(f"backfill: re-reading {since} .. {until or 'now'} (the saved cursor is not moved)", flush=True)
    overrides = {key: value for key, value in (("since", since), ("until", until)) if value}
    # Queue behind any other auditlake writer (a scheduled run, a dbt build) instead of failing on DuckDB's lock.
    with warehouse_write_lock():
        show = wants_progress(args)
        summaries = run_ingest(
            selected, progress=(lambda line: print(line, flush=True)) if show else (lambda _: None), **overrides
        )
    for summary in summaries:
        if summary.skipped and show:
            continue  # its notice was printed as it happened
        print(summary.line(), file=sys.stderr if summary.error and not summary.skipped else sys.stdout, flush=True)
    if all(s.skipped for s in summaries):
        print("nothing to ingest: no source is configured", file=sys.stderr)
        return 2
    return 1 if any(s.error and not s.skipped for s in summaries) else 0
