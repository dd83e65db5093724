"""Run dbt on the warehouse outside a Dagster run (tests, benchmarks), with failures explained.

Same invocation as the Dagster dbt asset: dagster-dbt's `DbtCliResource` (a child process running the venv's
dbt), with AUDITLAKE_WAREHOUSE (and AUDITLAKE_DATA_PATH) set to absolute paths so the profile's relative default never
applies; profiles.yml picks the file or DuckLake target from it.
A child process, not dbt's in-process runner: dbt-duckdb caches its DuckDB connection at class level,
so an in-process run would keep the warehouse open (and locked against other writers) after returning.
"""

from __future__ import annotations

import collections
import json
import sys
from pathlib import Path

from pipelines import settings
from pipelines.warehouse import catalog_guard, engine
from pipelines.warehouse.engine import Warehouse

_TAIL_LINES = 40


class DbtRunError(RuntimeError):
    """dbt could not run, or a model / test / seed failed. The message names what and how to fix it."""


def _option(args: list[str], name: str) -> str | None:
    for index, arg in enumerate(args):
        if arg == name and index + 1 < len(args):
            return args[index + 1]
        if arg.startswith(name + "="):
            return arg.split("=", 1)[1]
    return None


def _failed_nodes(run_results: Path) -> list[str]:
    """'<status> <node>: <message>' for every node that errored or failed, from dbt's run_results.json."""
    try:
        results = json.loads(run_results.read_text())["results"]
    except (OSError, ValueError, KeyError):
        return []
    failures = []
    for result in results:
        if result.get("status") in {"error", "fail", "runtime error"}:
            message = " ".join((result.get("message") or "no message").split())
            failures.append(f"{result['status']} {result.get('unique_id', '?')}: {message[:400]}")
    return failures


def _explain(output: str, warehouse: str) -> str | None:
    lowered = output.lower()
    if "could not set lock" in lowered or "conflicting lock" in lowered:
        return (
            f"the warehouse ({warehouse}) is open in another process (an ingest, Dagster, or a DuckDB shell); "
            "DuckDB allows one writer: wait for it to finish or close it, then rerun"
        )
    return None


def run_dbt(args: list[str], warehouse: Warehouse | Path | str | None = None, *, unit_tests: bool = False) -> None:
    """Run `dbt <args>` on the auditlake project against `warehouse` (default: the configured one; a DuckDB file
    path, a `ducklake:...` setting or an engine.Warehouse).

    `build` and `test` leave dbt's unit tests out, as the product's builds do (dbt_manifest.WITHOUT_UNIT_TESTS),
    unless `unit_tests` is true or the arguments choose resource types themselves.

    dbt's output streams to this process's stdout. Raises DbtRunError when dbt cannot start (bad
    arguments, unreadable project, locked warehouse) or when any node fails; the message lists the
    failing nodes.
    """
    if not args:
        raise DbtRunError("run_dbt needs a dbt command, e.g. run_dbt(['build'])")
    wh = catalog_guard.prepare_for_writing(warehouse)
    wh.home.mkdir(parents=True, exist_ok=True)
    described = wh.describe()
    project_dir = str(settings.DBT_PROJECT_DIR)
    from pipelines.orchestration.dbt_manifest import WITHOUT_UNIT_TESTS, dbt_resource

    dbt_args = [*args]  # the resource adds the project and profiles directories
    chooses_types = any(a.startswith(("--resource-type", "--exclude-resource-type")) or "_type:" in a for a in args)
    if args[0] in ("build", "test") and not unit_tests and not chooses_types:
        dbt_args += WITHOUT_UNIT_TESTS
    target_dir = Path(_option(dbt_args, "--target-path") or settings.DBT_PROJECT_DIR / "target")
    run_results = target_dir / "run_results.json"
    run_results.unlink(missing_ok=True)  # never report a previous run's failures

    tail: collections.deque[str] = collections.deque(maxlen=_TAIL_LINES)
    # dbt's subprocess gets this warehouse's settings (and no data path of another); see dbt_assets.dbt_models.
    child_env: dict[str, str | None] = {engine.ENV_DATA_PATH: None, **wh.environment()}
    try:
        with settings.scoped_environment(child_env):
            invocation = dbt_resource().cli(dbt_args, raise_on_error=False, target_path=target_dir)
        for event in invocation.stream_raw_events():
            text = str(event.raw_event.get("info", {}).get("msg", ""))
            sys.stdout.write(text + "\n")
            tail.append(text.rstrip())
        ok = invocation.is_successful()
    except OSError as exc:
        raise DbtRunError(f"could not start dbt ({exc}): reinstall with `make setup`") from exc
    if ok:
        return

    command = " ".join(args)
    output = "\n".join(tail)
    reason = _explain(output, described)
    failures = _failed_nodes(run_results)
    if reason:
        raise DbtRunError(f"dbt {command} could not run: {reason}")
    if failures:
        detail = "\n  ".join(failures)
        raise DbtRunError(
            f"dbt {command} failed on {described}:\n  {detail}\n"
            f"Inspect one with: dbt {args[0]} --select <node> --project-dir {project_dir} --profiles-dir {project_dir}"
        )
    last_lines = "\n  ".join(line for line in list(tail)[-12:] if line.strip())
    raise DbtRunError(f"dbt {command} could not run on {described}:\n  {last_lines}")
