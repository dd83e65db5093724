"""Execute auditlake's Dagster jobs in this process (`auditlake run`, `transform`, `demo`, the tests).

The same job the schedule launches runs here, so cron and the Dagster daemon produce identical results. The CLI
sets DAGSTER_HOME (the project's `dagster_home/` by default), so each run is recorded in the instance the UI shows,
under its job; without DAGSTER_HOME (library use, tests) an ephemeral instance is used. The full Dagster and
dbt log goes to a file beside the warehouse; the terminal gets a short summary.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from pipelines import settings

if TYPE_CHECKING:
    import dagster as dg

# The Dagster UI lists a job's runs by this tag (what its own launches carry): "__repository__@<code location>",
# the location being "auditlake" in workspace.yaml. In-process runs carry it too, so they list under their job.
UI_REPOSITORY_TAG = {".dagster/repository": "__repository__@auditlake"}


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
    ingested: dict[str, dict] = field(default_factory=dict)  # source (or "source instance") -> its load metadata
    log_path: Path | None = None
    step_errors: dict[str, str] = field(default_factory=dict)  # failed step -> its error, one line, scrubbed

    interrupted: bool = False  # Ctrl-C / SIGTERM stopped the run (Dagster turns it into a step failure)

    @property
    def ok(self) -> bool:
        return self.success and not any(c.blocking for c in self.checks)


def _values(metadata) -> dict:
    return {k: getattr(v, "value", v) for k, v in (metadata or {}).items()}


def default_log_path() -> Path:
    logs = settings.warehouse_path().parent / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    return logs / f"run-{time.strftime('%Y%m%dT%H%M%SZ', time.gmtime())}.log"


def _recorded_instance() -> dg.DagsterInstance:
    """The DAGSTER_HOME instance, opened by one process at a time: two runs started together on a fresh home (two
    cron entries, a test) would otherwise both create its SQLite tables and one fails ("table already exists")."""
    import fcntl

    import dagster as dg

    home = Path(os.environ["DAGSTER_HOME"])
    home.mkdir(parents=True, exist_ok=True)
    with open(home / ".auditlake-instance.lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        instance = dg.DagsterInstance.get()
        instance.get_runs(limit=1)  # the storages exist (created now if new) before the next process looks
    return instance


def run_pipeline(
    since: str | None = None,
    until: str | None = None,
    sources: tuple[str, ...] | None = None,
    verbose: bool = False,
    log_path: Path | None = None,
    progress: bool = False,
) -> RunOutcome:
    """Execute the refresh job (or, with since/until, the backfill job) in this process."""
    from pipelines.orchestration.dlt_assets import ingest_run_config

    job = "backfill" if (since or until) else "refresh"
    run_config = ingest_run_config(since=since, until=until, sources=sources)
    return run_job(job, run_config, verbose, log_path, progress=progress)


def run_job(
    job_name: str,
    run_config: dict,
    verbose: bool = False,
    log_path: Path | None = None,
    asset_selection: list | None = None,
    progress: bool = False,
) -> RunOutcome:
    """Execute one of the Definitions' jobs with `run_config`; the full log goes to `log_path` unless verbose.

    progress: print a line per step start / end on this process's stdout as the run goes (the full log still
    goes to the file).
    """
    import dagster as dg

    from pipelines.definitions import defs
    from pipelines.sources.registry import WINDOWS_TABLE

    job = defs.resolve_job_def(job_name)
    instance = _recorded_instance() if os.environ.get("DAGSTER_HOME") else dg.DagsterInstance.ephemeral()
    log_path = None if verbose else (log_path or default_log_path())
    started = time.monotonic()
    run_config = {**run_config, "loggers": {"console": {}, **({"step_progress": {}} if progress else {})}}
    global _progress_stream
    _progress_stream = sys.stdout
    with contextlib.ExitStack() as stack:
        if log_path is not None:
            # Dagster's console logger and dbt's streamed output are detail for the log file, not the terminal.
            log_file = stack.enter_context(open(log_path, "a", encoding="utf-8"))
            stack.enter_context(contextlib.redirect_stdout(log_file))
            stack.enter_context(contextlib.redirect_stderr(log_file))
        result = job.execute_in_process(
            instance=instance,
            run_config=run_config,
            raise_on_error=False,
            asset_selection=asset_selection,
            tags=UI_REPOSITORY_TAG,
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
    failures = [
        e for e in result.all_events if e.event_type_value == "STEP_FAILURE" and e.step_key and e.step_failure_data
    ]
    step_errors: dict[str, str] = {
        str(e.step_key): "interrupted (Ctrl-C or SIGTERM)"
        if _is_interrupt(e.step_failure_data.error)
        else _first_line(e.step_failure_data.error)
        for e in failures
    }
    interrupted = any(message.startswith("interrupted") for message in step_errors.values())
    failed = list(step_errors)
    ingested = {}
    for event in result.get_asset_materialization_events():
        mat = event.materialization
        meta = _values(mat.metadata)
        if "instance" in meta and "source" in meta:  # several tenants: one instance's own asset
            ingested[f"{meta['source']} {meta['instance']}"] = meta
        elif mat.asset_key.path[-1] == WINDOWS_TABLE and "source" in meta:
            ingested[meta["source"]] = meta
    return RunOutcome(
        success=result.success,
        run_id=result.run_id,
        seconds=time.monotonic() - started,
        checks=checks,
        failed_steps=failed,
        ingested=ingested,
        log_path=log_path,
        step_errors=step_errors,
        interrupted=interrupted,
    )


def _is_interrupt(error: object) -> bool:
    while error is not None:
        if getattr(error, "cls_name", "") in ("DagsterExecutionInterruptedError", "KeyboardInterrupt"):
            return True
        error = getattr(error, "cause", None)
    return False


def _first_line(error: object) -> str:
    """The innermost cause of a step's error, one line, secrets removed: what the console shows."""
    from pipelines.sources.common.redaction import scrub

    while getattr(error, "cause", None) is not None:
        error = error.cause  # type: ignore[attr-defined]
    message = str(getattr(error, "message", "") or "").strip()
    return scrub(message.splitlines()[0] if message else "unknown error")[:500]


_progress_stream = sys.stdout  # the terminal, saved before the run's output is redirected to the log file
_PROGRESS_EVENTS = {"STEP_START": "started", "STEP_SUCCESS": "done", "STEP_FAILURE": "FAILED"}


class _StepProgress(logging.Handler):
    def emit(self, record: logging.LogRecord) -> None:
        event = (getattr(record, "dagster_meta", None) or {}).get("dagster_event")
        what = _PROGRESS_EVENTS.get(getattr(event, "event_type_value", ""))
        if what and event is not None and event.step_key:
            _progress_stream.write(f"  {time.strftime('%H:%M:%S')} {event.step_key} {what}\n")
            _progress_stream.flush()


def step_progress_logger_def() -> dg.LoggerDefinition:
    """A Dagster logger that prints one line per step to the terminal (`--progress`, the default on a TTY)."""
    import dagster as dg

    def step_progress(_init_context: dg.InitLoggerContext) -> logging.Logger:
        logger = logging.Logger("auditlake.steps", level=logging.DEBUG)
        logger.addHandler(_StepProgress())
        return logger

    return dg.LoggerDefinition(
        step_progress, description="One line per step start and end, on the terminal that started the run."
    )
