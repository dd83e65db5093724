"""`auditlake demo`: the whole product on local simulators, start to finish.

Starts both API simulators on free loopback ports, points the sources at them, runs the
same job the schedule runs (ingest, dbt build, checks, publish) and prints a short report.
The demo warehouse is its own (default: a DuckLake in warehouse/demo/, same engine as the default warehouse),
recreated on each demo, so a demo never touches a real warehouse.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from pipelines import settings
from pipelines.commands.arguments import add_progress_flags, int_between, wants_progress
from pipelines.settings import ConfigurationError
from pipelines.sources import registry

if TYPE_CHECKING:
    from pipelines.warehouse.engine import Warehouse

DEMO_WAREHOUSE = "ducklake:sqlite:warehouse/demo/catalog.sqlite"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--warehouse",
        default=DEMO_WAREHOUSE,
        help="Demo warehouse, recreated: a DuckDB file or ducklake:sqlite:<catalog file> "
        f"(default {DEMO_WAREHOUSE} in the project home; its data in data/ beside the catalog).",
    )
    parser.add_argument(
        "--days", type=int_between(1, 30), default=30, help="Days of simulated history (1-30: the vendors' retention)."
    )
    parser.add_argument(
        "--events-per-day", type=int_between(1, 1_000_000), default=400, help="Simulated ThoughtSpot events per day."
    )
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--no-push", action="store_true", help="Pull only: no receiver and no simulated push.")
    parser.add_argument("--verbose", action="store_true", help="Stream Dagster's and dbt's logs instead of a log file.")
    add_progress_flags(parser)


def demo_warehouse(value: str) -> Warehouse:
    """The demo's warehouse: relative paths in the default are in the project home, others in the current folder.
    Its DuckLake data always lives beside its catalog (an AUDITLAKE_DATA_PATH of a real lake is never used:
    the demo deletes it)."""
    from pipelines.warehouse import engine

    if value.lower().startswith(engine.DUCKLAKE_PREFIX):
        wh = engine.parse_warehouse(value if value == DEMO_WAREHOUSE else _absolute_setting(value))
        if wh.catalog_type != "sqlite":
            raise ConfigurationError(
                "the demo recreates its warehouse, so it runs on a DuckDB file or ducklake:sqlite:<catalog file>, "
                "never on a shared PostgreSQL catalog"
            )
        return wh
    path = settings.in_home(value) if value == DEMO_WAREHOUSE else Path(value).expanduser().resolve()
    return engine.parse_warehouse(str(path))


def _absolute_setting(value: str) -> str:
    prefix, _, rest = value.partition(":")[2].partition(":")
    return f"ducklake:{prefix}:{Path(rest).expanduser().resolve()}"


def _reset(wh: Warehouse) -> None:
    home = wh.home
    home.mkdir(parents=True, exist_ok=True)
    if wh.is_ducklake:
        catalog = wh.file
        for path in (catalog, catalog.with_name(catalog.name + "-wal"), catalog.with_name(catalog.name + "-shm")):
            path.unlink(missing_ok=True)
        shutil.rmtree(wh.data_path or home / "data", ignore_errors=True)
    else:
        from pipelines.warehouse.publish import copies_of

        warehouse = wh.file
        published = settings.published_path()
        for path in (warehouse, published, *copies_of(published), warehouse.with_name(warehouse.name + ".wal")):
            path.unlink(missing_ok=True)
    shutil.rmtree(settings.pipelines_dir(), ignore_errors=True)
    shutil.rmtree(home / "dagster_home", ignore_errors=True)


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


def access_review_findings(con) -> list[str]:
    """The access review's findings by name (who, in which product), from the entitlement state."""
    import duckdb

    def names(where: str) -> str:
        try:
            rows = con.execute(
                f"select source_system || ':' || account_name from compliance.rpt_access_review as r where {where} "
                "order by 1"
            ).fetchall()
        except duckdb.Error as exc:  # a mart this line joins may have changed shape: say so, keep the report
            return f"(unavailable: {str(exc).splitlines()[0][:80]})"
        return ", ".join(r[0] for r in rows[:12]) + (f" (+{len(rows) - 12} more)" if len(rows) > 12 else "") or "-"

    totals = con.execute(
        """select count(*), count(*) filter (where is_privileged), count(*) filter (where account_type = 'local'
                  and status = 'active'), min(first_snapshot_at), count(distinct snapshot_at)
           from compliance.rpt_access_review"""
    ).fetchone()
    if not totals[0]:
        return ["\naccess review: no entitlement snapshot yet (run the `entitlements` job)"]
    drift = con.execute(
        "select drift_type || ' ' || change || ': ' || source_system || ':' || coalesce(account_name, account_id) "
        "from compliance.rpt_entitlement_drift order by 1"
    ).fetchall()
    return [
        f"\naccess review (compliance.rpt_access_review, state as of now; snapshots since {totals[3]:%Y-%m-%d}):",
        f"  accounts {totals[0]}, holding an admin privilege {totals[1]}, active local (non-SSO) accounts {totals[2]}",
        f"  dormant (incl. never logged in):     {names('is_dormant')}",
        f"  cross-product leavers (still active): {names('is_cross_product_leaver')}",
        f"  removed, yet active after removal:   {names('has_activity_after_removal')}",
        f"  newly privileged via self-grant:     {names(SELF_GRANT_WHERE)}",
        "  unmatched across products:           "
        + ", ".join(
            f"{system} {n}"
            for system, n in con.execute(
                "select source_system, count(*) from compliance.rpt_access_review where is_unmatched group by 1 "
                "order by 1"
            ).fetchall()
        )
        + " accounts (no account with the same e-mail in the other product)",
        "  state vs log drift (compliance.rpt_entitlement_drift): " + (", ".join(r[0] for r in drift) or "none"),
        "  API tokens never revoked (neither vendor lists tokens: from the log, with the creator's state now): "
        + _tokens(con),
    ]


def _tokens(con) -> str:
    import duckdb

    try:
        rows = con.execute(
            """select t.source_system || ':' || coalesce(t.token_name, t.token_id) || ' created by '
                      || coalesce(t.actor_name, t.actor_id) || ' (' || coalesce(r.status, 'no account') ||
                      case when r.is_privileged then ', holds ' || r.privileges else '' end || ')'
               from compliance.rpt_api_tokens as t
               left join compliance.rpt_access_review as r
                 on r.source_system = t.source_system and r.source_instance = t.source_instance
                and r.account_id = t.actor_id
               where t.is_never_revoked order by 1"""
        ).fetchall()
    except duckdb.Error as exc:  # rpt_api_tokens may have changed shape: say so, keep the report
        return f"(unavailable: {str(exc).splitlines()[0][:80]})"
    return ", ".join(r[0] for r in rows) or "none"


# An account that now holds a P0 privilege and granted access to itself (rpt_privileged_changes.is_self_grant).
SELF_GRANT_WHERE = """r.is_privileged and exists (
    select 1 from compliance.rpt_privileged_changes as p
    where p.source_system = r.source_system and p.is_self_grant
      and (p.changed_by_id = r.account_id or lower(p.changed_by) = lower(r.account_name)))"""


def take_snapshots(simulators: list, days: int, progress=print) -> int:
    """Entitlement snapshots over the simulated history (every 5 days, and now), as a daily schedule would have
    taken them: each simulator's clock is moved back to the snapshot's moment, so the state served is the state
    then. Returns how many were taken."""
    from datetime import timedelta

    from pipelines.ingest_runner import run_ingest

    state_sources = [spec.name for spec in registry.state_sources()]
    taken = 0
    for back in sorted(set(range(days - 1, 0, -5)) | {0}, reverse=True):
        shift = timedelta(days=back)
        for sim in simulators:
            sim.clock.advance(-shift)
        try:
            moment = simulators[0].clock.now().isoformat()
            summaries = run_ingest(state_sources, progress=lambda _line: None, snapshot_at=moment)
        finally:
            for sim in simulators:
                sim.clock.advance(shift)
        failed = [s.line() for s in summaries if s.error]
        if failed:
            raise RuntimeError("entitlement snapshot failed: " + "; ".join(failed))
        taken += 1
    progress(f"entitlement snapshots: {taken} (every 5 days over the history, and now)")
    return taken


def _start_push(simulators: list, folder: Path):  # -> DemoPush | None
    from pipelines.commands.demo_push import DemoPush
    from pipelines.simulators import ThoughtSpotSimulator

    simulator = next((sim for sim in simulators if isinstance(sim, ThoughtSpotSimulator)), None)
    if simulator is None:
        return None
    push = DemoPush(simulator, folder)
    print(push.start(), flush=True)
    return push


def report(outcome, out=sys.stdout, push=None) -> None:
    from pipelines.commands.run import print_summary
    from pipelines.warehouse import engine
    from pipelines.warehouse import health as wc

    published = settings.published_path()
    print("\n=== auditlake demo report ===", file=out)
    print_summary(outcome, out=out)
    with wc.open_warehouse() as con:
        print("\nevents in core.fct_audit_events:", file=out)
        for spec in registry.event_sources():
            if spec.feeds_dbt:
                counts = wc.fact_event_counts(con, spec.name)
                print(f"  {spec.name:12s} {sum(counts.values()):>8,}", file=out)
        print("\ncompliance marts (rows; rows flagged):", file=out)
        for mart, rows, flags in mart_findings(con):
            flagged = ", ".join(f"{k}={v}" for k, v in flags.items() if v) or "-"
            print(f"  compliance.{mart:30s} {rows:>7,}  {flagged}", file=out)
        for line in access_review_findings(con):
            print(line, file=out)
        if push is not None:
            for line in push.report_lines(con):
                print(line, file=out)
    wh = engine.warehouse()
    setting = wh.environment()[settings.ENV_WAREHOUSE]
    if wh.is_ducklake:
        print(
            f"\nwarehouse: {wh.describe()}\n"
            "analysts read the lake itself, read-only, at its last committed snapshot (no copy; a run in progress "
            "is invisible until it commits)\n"
            f"query it:  AUDITLAKE_WAREHOUSE={setting} auditlake query "
            '"select * from compliance.rpt_authentication_failures where is_brute_force"\n'
            f"   as of:  AUDITLAKE_WAREHOUSE={setting} auditlake query --as-of <ISO time> "
            '"select count(*) from core.fct_audit_events"',
            file=out,
        )
        return
    print(
        f"\nwarehouse (writer):    {settings.warehouse_path()}\n"
        f"analysts' copy:        {published}  (replaced after each successful run; query it any time)\n"
        f"query it:  AUDITLAKE_WAREHOUSE={settings.warehouse_path()} auditlake query "
        '"select * from compliance.rpt_authentication_failures where is_brute_force"\n'
        f"   or:     python -c \"import duckdb; print(duckdb.connect('{published}', read_only=True)"
        ".sql('select event_category, count(*) from core.fct_audit_events group by 1'))\"",
        file=out,
    )


def write_evidence_pack(wh: Warehouse, days: int) -> Path:
    """The evidence pack for the demo's period (every simulated day up to today), beside the demo warehouse."""
    from datetime import timedelta

    from pipelines.evidence.pack_builder import build_pack

    end = settings.utc_now().date()
    start = end - timedelta(days=days)
    out = wh.home / "evidence" / f"{start.isoformat()}_{end.isoformat()}"
    print(f"\nwriting the evidence pack for {start} to {end} ...", flush=True)
    result = build_pack(start, end, out, warehouse=wh)
    chain = "verified" if result.chain_verified else "BROKEN"
    print(
        f"evidence pack: {result.findings} findings, {result.days_complete}/{result.days} instance-days complete, "
        f"hash chain {chain}\n  {out / 'index.html'}\n  {out / 'evidence.pdf'}\n  {out / 'manifest.json'}\n"
        f"open findings in the terminal: AUDITLAKE_WAREHOUSE={wh.environment()[settings.ENV_WAREHOUSE]} "
        "auditlake findings"
    )
    return out


def main(args: argparse.Namespace) -> int:
    from pipelines.orchestration.job_runner import run_pipeline
    from pipelines.simulators import HistoryConfig
    from pipelines.warehouse import engine

    os.environ.pop(engine.ENV_DATA_PATH, None)
    wh = demo_warehouse(args.warehouse)
    os.environ.update(wh.environment())
    warehouse = wh.describe()
    _reset(wh)
    # The demo's runs go to its own Dagster instance beside its warehouse, never into the real history.
    settings.use_dagster_home(wh.home / "dagster_home")
    days = max(1, min(args.days, 30))
    ts_history = HistoryConfig(seed=args.seed, days=days, events_per_day=args.events_per_day)
    mode_history = HistoryConfig(seed=args.seed + 1, days=days, events_per_day=max(20, args.events_per_day // 4))
    histories = {"thoughtspot": ts_history, "mode": mode_history}
    with contextlib.ExitStack() as stack:
        simulators = []
        for spec in registry.simulated():
            simulator = stack.enter_context(spec.simulator_class()(history=histories.get(spec.name, ts_history)))
            os.environ.update(spec.environment_for(simulator))
            simulators.append(simulator)
            print(f"simulator: {spec.title} at {simulator.base_url}")
        os.environ.pop("SOURCES__THOUGHTSPOT__PASSWORD", None)
        push = _start_push(simulators, wh.home) if not args.no_push else None
        take_snapshots(simulators, days)
        if push is not None:
            push.stop()  # what it spooled is drained by the refresh's ThoughtSpot ingest, before dbt
        print(f"history: {days} days, ~{args.events_per_day} ThoughtSpot events/day; warehouse {warehouse}")
        print("running ingest -> dbt build -> checks -> publish (about a minute) ...", flush=True)
        outcome = run_pipeline(verbose=args.verbose, progress=wants_progress(args))
    if outcome.interrupted:
        raise KeyboardInterrupt
    if not outcome.success:
        from pipelines.commands.run import print_summary

        print_summary(outcome)
        print("demo FAILED: see the failed steps above and the full log")
        return 1
    report(outcome, push=push)
    write_evidence_pack(wh, days)
    if not outcome.ok:
        print("\ndemo FAILED: a blocking check failed (see above)")
        return 1
    print("\ndemo OK")
    return 0
