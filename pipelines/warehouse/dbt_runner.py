"""Run dbt on the warehouse outside a Dagster run (tests, benchmarks), with failures explained.

Same invocation as the Dagster dbt asset: dagster-dbt's `DbtCliResource` (a child process running the venv's
dbt), with AUDITLAKE_WAREHOUSE set to an absolute path so the profile's relative default never applies.
A child process, not dbt's in-process runner: dbt-duckdb caches its DuckDB connection at class level,
so an in-process run would keep the warehouse open (and locked against other writers) after returning.
"""

from __future__ import annotations

import collections
import json
import os
import sys
from pathlib import Path

from pipelines import settings

_TAIL_LINES = 40


class DbtRunError(RuntimeError):
    """dbt could not run, or a model / test / seed failed. The message names what and how to fix it."""


def _resolve_warehouse(warehouse: Path | str | None) -> Path:
    path = Path(warehouse).expanduser() if warehouse is not None else settings.warehouse_path()
    return path.resolve()


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


def _explain(output: str, warehouse: Path) -> str | None:
    lowered = output.lower()
    if "could not set lock" in lowered or "conflicting lock" in lowered:
        return (
            f"the warehouse {warehouse} is open in another process (an ingest, Dagster, or a DuckDB shell); "
            "DuckDB allows one writer: wait for it to finish or close it, then rerun"
        )
    return None


def run_dbt(args: list[str], warehouse: Path | None = None) -> None:
    """Run `dbt <args>` on the auditlake project against `warehouse` (default: settings.warehouse_path()).

    dbt's output streams to this process's stdout. Raises DbtRunError when dbt cannot start (bad
    arguments, unreadable project, locked warehouse) or when any node fails; the message lists the
    failing nodes.
    """
    if not args:
        raise DbtRunError("run_dbt needs a dbt command, e.g. run_dbt(['build'])")
    warehouse_file = _resolve_warehouse(warehouse)
    warehouse_file.parent.mkdir(parents=True, exist_ok=True)
    project_dir = str(settings.DBT_PROJECT_DIR)
    dbt_args = [*args]  # the resource adds the project and profiles directories
    target_dir = Path(_option(dbt_args, "--target-path") or settings.DBT_PROJECT_DIR / "target")
    run_results = target_dir / "run_results.json"
    run_results.unlink(missing_ok=True)  # never report a previous run's failures

    from pipelines.orchestration.dbt_manifest import dbt_resource

    tail: collections.deque[str] = collections.deque(maxlen=_TAIL_LINES)
    previous = os.environ.get(settings.ENV_WAREHOUSE)
    os.environ[settings.ENV_WAREHOUSE] = str(warehouse_file)
    try:
        invocation = dbt_resource().cli(dbt_args, raise_on_error=False, target_path=target_dir)
        for event in invocation.stream_raw_events():
            text = str(event.raw_event.get("info", {}).get("msg", ""))
            sys.stdout.write(text + "\n")
            tail.append(text.rstrip())
        ok = invocation.is_successful()
    except OSError as exc:
        raise DbtRunError(f"could not start dbt ({exc}): reinstall with `make setup`") from exc
    finally:
        if previous is None:
            os.environ.pop(settings.ENV_WAREHOUSE, None)
        else:
            os.environ[settings.ENV_WAREHOUSE] = previous
    if ok:
        return

    command = " ".join(args)
    output = "\n".join(tail)
    reason = _explain(output, warehouse_file)
    failures = _failed_nodes(run_results)
    if reason:
        raise DbtRunError(f"dbt {command} could not run: {reason}")
    if failures:
        detail = "\n  ".join(failures)
        raise DbtRunError(
            f"dbt {command} failed on {warehouse_file}:\n  {detail}\n"
            f"Inspect one with: dbt {args[0]} --select <node> --project-dir {project_dir} --profiles-dir {project_dir}"
        )
    last_lines = "\n  ".join(line for line in list(tail)[-12:] if line.strip())
    raise DbtRunError(f"dbt {command} could not run on {warehouse_file}:\n  {last_lines}")
