"""`auditlake demo`: the whole product on local simulators, start to finish.

Starts both API simulators on free loopback ports, points the sources at them, runs the
same job the schedule runs (ingest, dbt build, checks, publish) and prints a short report.
The demo warehouse is its own file (default warehouse/demo/auditlake.duckdb), recreated on
each demo, so a demo never touches a real warehouse.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import sys
from pathlib import Path

from pipelines import settings
from pipelines.sources import registry

DEMO_WAREHOUSE = Path("warehouse/demo/auditlake.duckdb")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--warehouse", default=str(DEMO_WAREHOUSE), help="Demo DuckDB file (recreated).")
    parser.add_argument("--days", type=int, default=30, help="Days of simulated history (max 30: vendor retention).")
    parser.add_argument("--events-per-day", type=int, default=400, help="Simulated ThoughtSpot events per day.")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--verbose", action="store_true", help="Stream Dagster's and dbt's logs instead of a log file.")


def _reset(warehouse: Path) -> None:
    warehouse.parent.mkdir(parents=True, exist_ok=True)
    for path in (warehouse, settings.published_path(), warehouse.with_name(warehouse.name + ".wal")):
        path.unlink(missing_ok=True)
    shutil.rmtree(settings.pipelines_dir(), ignore_errors=True)


def mart_findings(con) -> list[tuple[str, int, dict[str, int]]]:
    """(mart, rows, {flag column: rows where it is true}) for every compliance mart."""
    marts = [
        r[0]
        for r in con.execute(
            "select table_name from information_schema.tables where table_schema = 'compliance' order by 1"
        ).fetchall()
    ]
    findings = []
    for mart in marts:
        columns = con.execute(
            "select column_name from information_schema.columns where table_schema = 'compliance' "
            "and table_name = ? and data_type = 'BOOLEAN' order by ordinal_position",
            [mart],
        ).fetchall()
        rows = con.execute(f"select count(*) from compliance.{mart}").fetchone()[0]
        flags = {}
        for (column,) in columns:
            flags[column] = con.execute(f'select count(*) from compliance.{mart} where "{column}"').fetchone()[0]
        findings.append((mart, rows, flags))
    return findings


def report(outcome, out=sys.stdout) -> None:
    from pipelines.commands.run import print_summary
    from pipelines.warehouse import health as wc

    published = settings.published_path()
    print("\n=== auditlake demo report ===", file=out)
    print_summary(outcome, out=out)
    with wc.open_warehouse() as con:
        print("\nevents in core.fct_audit_events:", file=out)
        for spec in registry.all_sources():
            if spec.feeds_dbt:
                counts = wc.fact_event_counts(con, spec.name)
                print(f"  {spec.name:12s} {sum(counts.values()):>8,}", file=out)
        print("\ncompliance marts (rows; rows flagged):", file=out)
        for mart, rows, flags in mart_findings(con):
            flagged = ", ".join(f"{k}={v}" for k, v in flags.items() if v) or "-"
            print(f"  compliance.{mart:30s} {rows:>7,}  {flagged}", file=out)
    print(
        f"\nwarehouse (writer):    {settings.warehouse_path()}\n"
        f"analysts' copy:        {published}  (replaced after each successful run; query it any time)\n"
        f"query it:  AUDITLAKE_WAREHOUSE={settings.warehouse_path()} auditlake query "
        "\"select * from compliance.rpt_authentication_failures where is_brute_force\"\n"
        f"   or:     python -c \"import duckdb; print(duckdb.connect('{published}', read_only=True)"
        ".sql('select event_category, count(*) from core.fct_audit_events group by 1'))\"",
        file=out,
    )


def main(args: argparse.Namespace) -> int:
    from pipelines.orchestration.job_runner import run_pipeline
    from pipelines.simulators import HistoryConfig

    warehouse = Path(args.warehouse).expanduser().resolve()
    os.environ[settings.ENV_WAREHOUSE] = str(warehouse)
    _reset(warehouse)
    days = max(1, min(args.days, 30))
    ts_history = HistoryConfig(seed=args.seed, days=days, events_per_day=args.events_per_day)
    mode_history = HistoryConfig(seed=args.seed + 1, days=days, events_per_day=max(20, args.events_per_day // 4))
    histories = {"thoughtspot": ts_history, "mode": mode_history}
    with contextlib.ExitStack() as stack:
        for spec in registry.simulated():
            simulator = stack.enter_context(spec.simulator_class()(history=histories.get(spec.name, ts_history)))
            os.environ.update(spec.environment_for(simulator))
            print(f"simulator: {spec.title} at {simulator.base_url}")
        os.environ.pop("SOURCES__THOUGHTSPOT__PASSWORD", None)
        print(f"history: {days} days, ~{args.events_per_day} ThoughtSpot events/day; warehouse {warehouse}")
        print("running ingest -> dbt build -> checks -> publish (about a minute) ...", flush=True)
        outcome = run_pipeline(verbose=args.verbose)
    if not outcome.success:
        from pipelines.commands.run import print_summary

        print_summary(outcome)
        print("demo FAILED: see the failed steps above and the full log")
        return 1
    report(outcome)
    if not outcome.ok:
        print("\ndemo FAILED: a blocking check failed (see above)")
        return 1
    print("\ndemo OK")
    return 0
