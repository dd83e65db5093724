"""`auditlake transform`: run the dbt project (dbt_project/) against the warehouse.

dbt runs in a child process with --project-dir/--profiles-dir fixed to settings.DBT_PROJECT_DIR and
AUDITLAKE_WAREHOUSE set to an absolute path, so the profile's relative default never applies here.
A child process, not dbt's in-process runner: dbt-duckdb caches its DuckDB connection at class level,
so an in-process run would keep the warehouse open (and locked against other writers) after returning.
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import subprocess
import sys
from pathlib import Path

from pipelines import settings

_TAIL_LINES = 40


class DbtRunError(RuntimeError):
    """dbt could not run, or a model / test / seed failed. The message names what and how to fix it."""


def _resolve_warehouse(warehouse: Path | str | None) -> Path:
    path = Path(warehouse).expanduser() if warehouse is not None else settings.warehouse_path()
    return path.resolve()


def _dbt_command() -> list[str]:
    """The dbt installed beside this interpreter (the venv's), whatever PATH says."""
    script = Path(sys.executable).with_name("dbt")
    if script.exists():
        return [str(script)]
    return [sys.executable, "-c", "import sys; from dbt.cli.main import cli; sys.exit(cli())"]


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
    dbt_args = [*args]
    if _option(dbt_args, "--project-dir") is None:
        dbt_args += ["--project-dir", project_dir]
    if _option(dbt_args, "--profiles-dir") is None:
        dbt_args += ["--profiles-dir", project_dir]
    target_dir = Path(_option(dbt_args, "--target-path") or settings.DBT_PROJECT_DIR / "target")
    run_results = target_dir / "run_results.json"
    run_results.unlink(missing_ok=True)  # never report a previous run's failures

    env = {
        **os.environ,
        settings.ENV_WAREHOUSE: str(warehouse_file),
        "DBT_SEND_ANONYMOUS_USAGE_STATS": os.environ.get("DBT_SEND_ANONYMOUS_USAGE_STATS", "false"),
    }
    tail: collections.deque[str] = collections.deque(maxlen=_TAIL_LINES)
    try:
        process = subprocess.Popen(
            [*_dbt_command(), *dbt_args], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            text=True, bufsize=1,
        )
    except OSError as exc:
        raise DbtRunError(f"could not start dbt ({exc}): reinstall with `make setup`") from exc
    assert process.stdout is not None
    for line in process.stdout:
        sys.stdout.write(line)
        tail.append(line.rstrip())
    returncode = process.wait()
    if returncode == 0:
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
    raise DbtRunError(f"dbt {command} could not run on {warehouse_file} (exit {returncode}):\n  {last_lines}")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "-s", "--select", nargs="+", metavar="SELECTOR",
        help="dbt node selection passed to `dbt build --select` (e.g. fct_audit_events+ or compliance)",
    )
    parser.add_argument("--exclude", nargs="+", metavar="SELECTOR", help="dbt nodes to leave out")
    parser.add_argument(
        "--full-refresh", action="store_true",
        help="rebuild incremental models from the raw tables instead of adding new rows",
    )
    parser.add_argument(
        "--warehouse", type=Path,
        help=f"DuckDB file (default: ${settings.ENV_WAREHOUSE} or {settings.DEFAULT_WAREHOUSE})",
    )


def main(args: argparse.Namespace) -> int:
    dbt_args = ["build"]
    if args.select:
        dbt_args += ["--select", *args.select]
    if args.exclude:
        dbt_args += ["--exclude", *args.exclude]
    if args.full_refresh:
        dbt_args.append("--full-refresh")
    try:
        # Queue behind any other auditlake writer (a scheduled run, an ingest) instead of failing on DuckDB's lock.
        with settings.warehouse_write_lock(path=_resolve_warehouse(args.warehouse)):
            run_dbt(dbt_args, warehouse=args.warehouse)
    except DbtRunError as exc:
        print(f"auditlake transform: {exc}", file=sys.stderr)
        return 1
    return 0
