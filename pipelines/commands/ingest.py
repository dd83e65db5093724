"""`auditlake ingest`: load new audit events from every configured source (or one) into the warehouse."""

from __future__ import annotations

import argparse
import sys

from pipelines.commands.arguments import add_progress_flags, check_range, utc_moment, wants_progress
from pipelines.sources import registry
from pipelines.warehouse.locks import ingest_lock


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--source",
        choices=(*registry.names(), "all"),
        default="all",
        help="which vendor to load (default: all configured sources)",
    )
    parser.add_argument(
        "--instance",
        metavar="NAME",
        help="only this configured instance (a ThoughtSpot cluster or Mode workspace listed under "
        "[sources.<vendor>.instances.NAME]); default every instance",
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
    if getattr(args, "instance", None):
        from pipelines.sources.instances import select_instances

        select_instances(selected, args.instance)  # an unknown name fails here, before waiting for the lock
        overrides["instance"] = args.instance
    # Queue behind any other auditlake writer (a scheduled run, a dbt build) instead of failing on DuckDB's lock;
    # on a PostgreSQL catalog only behind another ingest of the same source (pipelines/warehouse/locks.py).
    with ingest_lock(selected):
        show = wants_progress(args)
        # The spool first: those events arrived before this pull, so `_auditlake_delivery` says push for them.
        drained = _drain_push() if "thoughtspot" in selected and not since else None
        summaries = run_ingest(
            selected, progress=(lambda line: print(line, flush=True)) if show else (lambda _: None), **overrides
        )
    for summary in summaries:
        if summary.skipped and show:
            continue  # its notice was printed as it happened
        print(summary.line(), file=sys.stderr if summary.error and not summary.skipped else sys.stdout, flush=True)
    if drained is not None:
        print(drained.line(), file=sys.stderr if drained.error else sys.stdout, flush=True)
    if all(s.skipped for s in summaries) and drained is None:
        print("nothing to ingest: no source is configured", file=sys.stderr)
        return 2
    failed = any(s.error and not s.skipped for s in summaries) or bool(drained and drained.error)
    return 1 if failed else 0


def _drain_push():  # -> DrainSummary | None
    """The push receiver's spool, when it holds anything: loaded beside the pulled events (merge on id)."""
    from pipelines.receiver.push_drain import drain_push_spool, spool_pending

    if not spool_pending():
        return None
    return drain_push_spool(progress=lambda line: print(line, flush=True))
