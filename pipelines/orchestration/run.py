"""`auditlake run`: one pass of what the schedule runs (ingest -> dbt build -> checks -> publish).

It executes the same Dagster job the schedule launches, in this process, so cron and the
Dagster daemon produce identical results. With DAGSTER_HOME set the run is recorded in that
instance (visible in the UI); otherwise an ephemeral instance is used.
"""

from __future__ import annotations

import argparse
import os
import sys
from dataclasses import dataclass, field

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
    checks: list[CheckOutcome]
    failed_steps: list[str]
    skipped_sources: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.success and not any(c.blocking for c in self.checks)


def _metadata_values(metadata) -> dict:
    return {k: getattr(v, "value", v) for k, v in (metadata or {}).items()}


def run_pipeline(
    since: str | None = None, until: str | None = None, sources: tuple[str, ...] = settings.SOURCES
) -> RunOutcome:
    import dagster as dg

    from pipelines.definitions import defs
    from pipelines.orchestration.ingest import ingest_run_config

    job_name = "backfill" if (since or until) else "refresh"
    job = defs.resolve_job_def(job_name)
    instance = dg.DagsterInstance.get() if os.environ.get("DAGSTER_HOME") else dg.DagsterInstance.ephemeral()
    result = job.execute_in_process(
        instance=instance,
        run_config=ingest_run_config(since=since, until=until, sources=sources),
        raise_on_error=False,
    )
    checks = [
        CheckOutcome(
            asset="/".join(e.asset_key.path),
            name=e.check_name,
            passed=e.passed,
            severity=e.severity.value,
            metadata=_metadata_values(e.metadata),
        )
        for e in result.get_asset_check_evaluations()
    ]
    failed = [e.step_key for e in result.all_events if e.event_type_value == "STEP_FAILURE"]
    materializations = [_metadata_values(e.materialization.metadata) for e in result.get_asset_materialization_events()]
    skipped = sorted({str(m.get("source")) for m in materializations if m.get("status") == "skipped"})
    return RunOutcome(success=result.success, run_id=result.run_id, checks=checks, failed_steps=failed, skipped_sources=skipped)


def print_checks(outcome: RunOutcome, out=sys.stdout) -> None:
    for check in sorted(outcome.checks, key=lambda c: (c.passed, c.asset, c.name)):
        mark = "PASS" if check.passed else ("FAIL" if check.severity == "ERROR" else "WARN")
        detail = ""
        if not check.passed:
            interesting = {k: v for k, v in check.metadata.items() if v not in ([], {}, None, 0)}
            detail = f"  {interesting}" if interesting else ""
        print(f"  [{mark}] {check.asset} :: {check.name}{detail}", file=out)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--since", help="Backfill: re-read events from this UTC date/time (within vendor retention).")
    parser.add_argument("--until", help="Backfill: re-read events up to this UTC date/time (default now).")


def main(args: argparse.Namespace) -> int:
    outcome = run_pipeline(since=args.since, until=args.until)
    print(f"run {outcome.run_id}: {'succeeded' if outcome.success else 'FAILED'}")
    if outcome.failed_steps:
        print(f"  failed steps: {', '.join(outcome.failed_steps)}")
    print_checks(outcome)
    if outcome.ok:
        print(f"warehouse: {settings.warehouse_path()}\nanalysts' copy: {settings.published_path()}")
    return 0 if outcome.ok else 1
