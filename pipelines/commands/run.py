"""`auditlake run`: one pass of what the schedule runs (ingest -> dbt build -> checks -> publish).

The full Dagster and dbt log goes to a file beside the warehouse; the terminal gets a short summary.
"""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING, TextIO

from pipelines import settings
from pipelines.commands.arguments import add_progress_flags, check_range, utc_moment, wants_progress

if TYPE_CHECKING:
    from pipelines.orchestration.job_runner import RunOutcome


def print_summary(outcome: RunOutcome, out: TextIO = sys.stdout) -> None:
    state = "succeeded" if outcome.ok else ("finished with failures" if outcome.success else "FAILED")
    print(f"run {outcome.run_id[:8]} {state} in {outcome.seconds:.0f} s", file=out)
    if outcome.log_path:
        print(f"  full log: {outcome.log_path}", file=out)
    for source, meta in sorted(outcome.ingested.items()):
        if meta.get("status") == "skipped":
            print(f"  {source}: skipped (not configured)", file=out)
        elif meta.get("status") == "failed":
            print(f"  {source}: FAILED: {meta.get('error')}", file=out)
        else:
            print(
                f"  {source}: {meta.get('new_events', 0):,} new events, {meta.get('duplicates_absorbed', 0):,} re-read "
                f"duplicates absorbed, {meta.get('quarantined', 0):,} quarantined, {meta.get('windows', 0)} windows",
                file=out,
            )
    for step in outcome.failed_steps:
        print(f"  step {step} FAILED: {outcome.step_errors.get(step, 'see the log')}", file=out)
    print_checks(outcome, out=out)


def print_checks(outcome: RunOutcome, out: TextIO = sys.stdout) -> None:
    passed = sum(c.passed for c in outcome.checks)
    warned = [c for c in outcome.checks if not c.passed and not c.blocking]
    failed = [c for c in outcome.checks if c.blocking]
    print(f"  checks: {passed} passed, {len(warned)} warnings, {len(failed)} failed", file=out)
    for check in failed + warned:
        if check.name == "ingest":  # already printed as the source's FAILED line
            continue
        mark = "FAIL" if check.blocking else "WARN"
        detail = {k: v for k, v in check.metadata.items() if v not in ([], {}, None, 0, "")}
        print(f"    [{mark}] {check.asset} :: {check.name}  {detail}", file=out)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--since", type=utc_moment, help="Backfill: re-read events from this UTC date/time (within vendor retention)."
    )
    parser.add_argument(
        "--until", type=utc_moment, help="Backfill: re-read events up to this UTC date/time (default now)."
    )
    parser.add_argument(
        "--verbose", action="store_true", help="Stream Dagster's and dbt's logs here instead of a file."
    )
    add_progress_flags(parser)


def main(args: argparse.Namespace) -> int:
    from pipelines.orchestration.job_runner import run_pipeline

    check_range(args._parser, args.since, args.until)
    outcome = run_pipeline(since=args.since, until=args.until, verbose=args.verbose, progress=wants_progress(args))
    print_summary(outcome)
    if outcome.interrupted:
        raise KeyboardInterrupt
    if outcome.ok:
        from pipelines.warehouse import engine

        wh = engine.warehouse()
        readers = "the lake itself (last committed snapshot)" if wh.is_ducklake else str(settings.published_path())
        print(f"warehouse: {wh.describe()}\nanalysts read: {readers}")
    return 0 if outcome.ok else 1
