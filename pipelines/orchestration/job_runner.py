"""Execute auditlake's Dagster jobs in this process (`auditlake run`, `transform`, `demo`, the tests).

The same job the schedule launches runs here, so cron and the Dagster daemon produce identical results. With DAGSTER_HOME set the run is recorded in that
instance (visible in the UI); otherwise an ephemeral instance is used. The full Dagster and
dbt log goes to a file beside the warehouse; the terminal gets a short summary.
"""

from __future__ import annotations

import contextlib
import os
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
    sources: tuple[str, ...] | None = None,
    verbose: bool = False,
    log_path: Path | None = None,
) -> RunOutcome:
    """Execute the refresh job (or, with since/until, the backfill job) in this process."""
    from pipelines.orchestration.dlt_assets import ingest_run_config

    job = "backfill" if (since or until) else "refresh"
    return run_job(job, ingest_run_config(since=since, until=until, sources=sources), verbose, log_path)


def run_job(
    job_name: str,
    run_config: dict,
    verbose: bool = False,
    log_path: Path | None = None,
    asset_selection: list | None = None,
) -> RunOutcome:
    """Execute one of the Definitions' jobs with `run_config`; the full log goes to `log_path` unless verbose."""
    import dagster as dg

    from pipelines.definitions import defs
    from pipelines.sources.registry import WINDOWS_TABLE

    job = defs.resolve_job_def(job_name)
    instance = dg.DagsterInstance.get() if os.environ.get("DAGSTER_HOME") else dg.DagsterInstance.ephemeral()
    log_path = None if verbose else (log_path or default_log_path())
    started = time.monotonic()
    with contextlib.ExitStack() as stack:
        if log_path is not None:
            # Dagster's console logger and dbt's streamed output are detail for the log file, not the terminal.
            log_file = stack.enter_context(open(log_path, "a", encoding="utf-8"))
            stack.enter_context(contextlib.redirect_stdout(log_file))
            stack.enter_context(contextlib.redirect_stderr(log_file))
        result = job.execute_in_process(
            instance=instance, run_config=run_config, raise_on_error=False, asset_selection=asset_selection
        )
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
