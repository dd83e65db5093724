"""`auditlake transform`: `dbt build` on the warehouse, through the same Dagster dbt asset the schedule runs."""

from __future__ import annotations

import argparse
import sys

from pipelines import settings
from pipelines.commands.arguments import add_progress_flags, wants_progress


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "-s",
        "--select",
        nargs="+",
        metavar="SELECTOR",
        help="dbt node selection, as `dbt build --select` (e.g. fct_audit_events+ or compliance)",
    )
    parser.add_argument("--exclude", nargs="+", metavar="SELECTOR", help="dbt nodes to leave out")
    parser.add_argument(
        "--full-refresh",
        action="store_true",
        help="rebuild incremental models from the raw tables instead of adding new rows",
    )
    parser.add_argument(
        "--warehouse",
        help=f"a DuckDB file or ducklake:... setting (default: ${settings.ENV_WAREHOUSE} "
        f"or {settings.DEFAULT_WAREHOUSE})",
    )
    parser.add_argument("--verbose", action="store_true", help="Stream Dagster's and dbt's logs instead of a log file.")
    add_progress_flags(parser)


def main(args: argparse.Namespace) -> int:
    overrides: dict[str, str] = {}
    if args.warehouse:
        from pipelines.warehouse import engine

        overrides = engine.as_warehouse(args.warehouse).environment()
    # --warehouse is the setting for everything this command runs (the write guard, the job's run worker, dbt),
    # which all read it from the environment; it is restored afterwards so a caller in the same process (a test,
    # `auditlake run`) keeps its own.
    with settings.scoped_environment(overrides):
        return _transform(args)


def _transform(args: argparse.Namespace) -> int:
    from pipelines.commands.run import print_summary
    from pipelines.orchestration.job_runner import run_job

    selection = None
    if args.select or args.exclude:
        from dagster_dbt import build_dbt_asset_selection

        from pipelines.definitions import defs
        from pipelines.orchestration.dbt_assets import dbt_models

        chosen = build_dbt_asset_selection(
            [dbt_models], dbt_select=" ".join(args.select or ["fqn:*"]), dbt_exclude=" ".join(args.exclude or [])
        )
        selection = sorted(chosen.resolve(defs.resolve_asset_graph()), key=lambda key: key.to_user_string())
        if not selection:
            print(f"auditlake transform: nothing matches --select {' '.join(args.select or [])}", file=sys.stderr)
            return 2
    run_config = {"ops": {"dbt_models": {"config": {"full_refresh": bool(args.full_refresh)}}}}
    outcome = run_job(
        "transform", run_config, verbose=args.verbose, asset_selection=selection, progress=wants_progress(args)
    )
    print_summary(outcome)
    if outcome.interrupted:
        raise KeyboardInterrupt
    return 0 if outcome.ok else 1
