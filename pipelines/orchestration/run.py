"""`auditlake run`: one pass of what the schedule runs (ingest -> dbt build -> checks -> publish).

It executes the same Dagster job the schedule launches, in this process, so cron and the
Dagster daemon produce identical results. With DAGSTER_HOME set the run is recorded in that
instance (visible in the UI); otherwise an ephemeral instance is used. The full Dagster and
dbt log goes to a file beside the warehouse; the terminal gets a short summary.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from pipelines import settings


@dataclass
class CheckOutcome:
    asset: str
    name: str
    passed: bool
    severity: str
    metadata: dict = field(default_factory=dict)

    @property
    def blocking(self) -> bool:
        return not self.passed and self.severity == "ERROR"


@dataclass
class RunOutcome:
    success: bool
    run_id: str
    seconds: float
    checks: list[CheckOutcome]
    failed_steps: list[str]
    ingested: dict[str, dict] = field(default_factory=dict)  # source -> metadata of its load
    log_path: Path | None = None

    @property
    def ok(self) -> bool:
        return self.success and not any(c.blocking for c in self.checks)


def _values(metadata) -> dict:
    return {k: getattr(v, "value", v) for k, v in (metadata or {}).items()}


def default_log_path() -> Path:
    logs = settings.warehouse_path().parent / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    return logs / f"run-{time.strftime('%Y%m%dT%H%M%SZ', time.gmtime())}.log"


def run_pipeline(
    since: str | None = None,
    until: str | None = None,
    sources: tuple[str, ...] = settings.SOURCES,
    verbose: bool = False,
    log_path: Path | None = None,
) -> RunOutcome:
    """Execute the refresh job (or, with since/until, the backfill job) in this process."""
    import dagster as dg

    from pipelines.definitions import defs
    from pipelines.orchestration.ingest import ingest_run_config
    from pipelines.sources.raw_tables import WINDOWS_TABLE

    job = defs.resolve_job_def("backfill" if (since or until) else "refresh")
    instance = dg.DagsterInstance.get() if os.environ.get("DAGSTER_HOME") else dg.DagsterInstance.ephemeral()
    run_config = ingest_run_config(since=since, until=until, sources=sources)
    log_path = None if verbose else (log_path or default_log_path())
    started = time.monotonic()
    with contextlib.ExitStack() as stack:
        if log_path is not None:
            # Dagster's console logger and dbt's streamed output are detail for the log file, not the terminal.
            log_file = stack.enter_context(open(log_path, "a", encoding="utf-8"))
            stack.enter_context(contextlib.redirect_stdout(log_file))
            stack.enter_context(contextlib.redirect_stderr(log_file))
        result = job.execute_in_process(instance=instance, run_config=run_config, raise_on_error=False)
    checks = [
        CheckOutcome(
            asset="/".join(e.asset_key.path),
            name=e.check_name,
            passed=e.passed,
            severity=e.severity.value,
            metadata=_values(e.metadata),
        )
        for e in result.get_asset_check_evaluations()
    ]
    failed = [e.step_key for e in result.all_events if e.event_type_value == "STEP_FAILURE"]
    ingested = {}
    for event in result.get_asset_materialization_events():
        mat = event.materialization
        meta = _values(mat.metadata)
        if mat.asset_key.path[-1] == WINDOWS_TABLE and "source" in meta:
            ingested[meta["source"]] = meta
    return RunOutcome(
        success=result.success,
        run_id=result.run_id,
        seconds=time.monotonic() - started,
        checks=checks,
        failed_steps=failed,
        ingested=ingested,
        log_path=log_path,
    )


def print_summary(outcome: RunOutcome, out=sys.stdout) -> None:
    state = "succeeded" if outcome.success else "FAILED"
    print(f"run {outcome.run_id[:8]} {state} in {outcome.seconds:.0f} s", file=out)
    if outcome.log_path:
        print(f"  full log: {outcome.log_path}", file=out)
    for source, meta in sorted(outcome.ingested.items()):
        if meta.get("status") == "skipped":
            print(f"  {source}: skipped (not configured)", file=out)
        else:
            print(
                f"  {source}: {meta.get('new_events', 0):,} new events, {meta.get('duplicates_absorbed', 0):,} re-read "
                f"duplicates absorbed, {meta.get('quarantined', 0):,} quarantined, {meta.get('windows', 0)} windows",
                file=out,
            )
    if outcome.failed_steps:
        print(f"  failed steps: {', '.join(outcome.failed_steps)}", file=out)
    print_checks(outcome, out=out)


def print_checks(outcome: RunOutcome, out=sys.stdout) -> None:
    passed = sum(c.passed for c in outcome.checks)
    warned = [c for c in outcome.checks if not c.passed and not c.blocking]
    failed = [c for c in outcome.checks if c.blocking]
    print(f"  checks: {passed} passed, {len(warned)} warnings, {len(failed)} failed", file=out)
    for check in failed + warned:
        mark = "FAIL" if check.blocking else "WARN"
        detail = {k: v for k, v in check.metadata.items() if v not in ([], {}, None, 0, "")}
        print(f"    [{mark}] {check.asset} :: {check.name}  {detail}", file=out)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--since", help="Backfill: re-read events from this UTC date/time (within vendor retention).")
    parser.add_argument("--until", help="Backfill: re-read events up to this UTC date/time (default now).")
    parser.add_argument("--verbose", action="store_true", help="Stream Dagster's and dbt's logs here instead of a file.")


def main(args: argparse.Namespace) -> int:
    outcome = run_pipeline(since=args.since, until=args.until, verbose=args.verbose)
    print_summary(outcome)
    if outcome.ok:
        print(f"warehouse: {settings.warehouse_path()}\nanalysts' copy: {settings.published_path()}")
    return 0 if outcome.ok else 1
