"""Benchmark: does `dbt build` cost follow new data or history?

For each history size (default 100k and 10M events), synthesise raw rows straight into a fresh DuckDB
warehouse with SQL (generate_series, shaped by the raw table contract), run a first full `dbt build`,
add 10k new events (and their fetch windows), and time the second, incremental `dbt build`. Prints
both times and their ratio; the target is <= 1.5.

    .venv/bin/python bench/bench_dbt.py                 # 100k vs 10M (about 10 minutes on 2 cores)
    .venv/bin/python bench/bench_dbt.py --large 2000000 # a quicker check
    .venv/bin/python bench/bench_dbt.py --profile 15    # also list the 15 slowest nodes of each timed build
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import duckdb

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests" / "dbt")]

from auditlake_dbt_fixtures import create_raw_tables  # noqa: E402  (contract-derived DDL)

from pipelines.warehouse.dbt_runner import run_dbt  # noqa: E402

# Background mix per product, weights out of ~100 (logins and report edits dominate, as in real tenants).
TS_MIX = {
    "LOGIN_SUCCESSFUL": 34,
    "LOGOUT_SUCCESSFUL": 14,
    "LOGIN_FAILED": 4,
    "AUTH_TOKEN_CREATED_SUCCESSFULLY": 6,
    "CREATE_ANSWER": 8,
    "UPDATE_ANSWERS": 8,
    "DELETE_ANSWERS": 2,
    "CREATE_PINBOARD": 5,
    "UPDATE_PINBOARDS": 7,
    "SHARE_OBJECTS": 3,
    "USERS_MODIFIED": 2,
    "PRINCIPALS_IN_GROUP_UPDATE": 2,
    "PRIVILEGE_CHANGES": 1,
    "EDIT_CONNECTION": 1,
    "USERS_CREATED": 1,
    "USERS_DELETED": 1,
    "ACCOUNT_LOCKED": 1,
}
MODE_MIX = {
    "report_activity_report_edited": 30,
    "report_activity_sql_added": 15,
    "report_activity_report_created": 10,
    "export_data_sql_exported": 8,
    "export_data_report_exported_csv": 6,
    "collection_member_added": 5,
    "group_member_added": 5,
    "org_user_role_changed": 3,
    "connection_member_added_with_role": 2,
    "audit_log_accessed": 2,
    "api_token_member_key_generated": 1,
    "org_user_invited": 2,
}
USERS = 500
TS_SHARE = 0.7  # of events


def _weighted(mix: dict[str, int]) -> str:
    names = [name for name, weight in mix.items() for _ in range(weight)]
    return "[" + ", ".join(f"'{n}'" for n in names) + "]"


def synthesise(
    con: duckdb.DuckDBPyConnection, count: int, first: int, start: datetime, end: datetime, loaded_at: datetime | None
) -> None:
    """Insert `count` events (ids first..first+count-1) spread evenly over [start, end) into both raw tables.

    loaded_at None: each event is loaded 1-45 minutes after it happened (history); else that instant.
    """
    span_us = int((end - start).total_seconds() * 1e6)
    ts_count = int(count * TS_SHARE)
    loaded = "event_time + to_minutes(1 + (i % 45))" if loaded_at is None else f"timestamptz '{loaded_at.isoformat()}'"
    con.execute(f"""
        insert into raw_thoughtspot.security_audit_events
        with g as (
            select i,
                   timestamptz '{start.isoformat()}' + to_microseconds(((i - {first}) * ({span_us} // {ts_count}))::bigint)
                       as event_time,
                   {_weighted(TS_MIX)}[1 + (hash(i) % {sum(TS_MIX.values())})::int] as type,
                   'user' || (hash(i * 31) % {USERS}) as name,
                   '10.' || (i % 250) || '.' || (i % 7) || '.1' as ip
            from generate_series({first}, {first + ts_count - 1}) as t(i)
        ), shaped as (
            select *, 'TS-' || md5(i::varchar) as id,
                   type in ('LOGIN_FAILED', 'ACCOUNT_LOCKED') as anonymous,
                   date_trunc('second', event_time) as ts
            from g
        )
        select
            'bench.thoughtspot.cloud', id, ts + to_microseconds(i % 999000), ts, '1.1', 0,
            case when anonymous then null else 'g-' || name end, case when anonymous then null else name end,
            ip, type, lower(replace(type, '_', ' ')), json_object('userName', name),
            json_object('version', '1.1', 'id', id, 'ts', strftime(ts, '%Y-%m-%dT%H:%M:%SZ'), 'orgId', 0,
                        'userGUID', case when anonymous then null else 'g-' || name end,
                        'userName', case when anonymous then null else name end, 'cIP', ip, 'type', type,
                        'desc', lower(replace(type, '_', ' ')), 'data', json_object('userName', name))::varchar,
            {loaded}
        from shaped
    """)
    mode_count = count - ts_count
    mode_first = first + ts_count
    con.execute(f"""
        insert into raw_mode.audit_logs
        with g as (
            select i,
                   timestamptz '{start.isoformat()}' + to_microseconds(((i - {mode_first}) * ({span_us} // {mode_count}))::bigint)
                       as event_time,
                   {_weighted(MODE_MIX)}[1 + (hash(i) % {sum(MODE_MIX.values())})::int] as action,
                   'user_' || (hash(i * 17) % {USERS}) as name
            from generate_series({mode_first}, {mode_first + mode_count - 1}) as t(i)
        ), shaped as (
            select *, md5('mode' || i) as id,
                   json_object('ip', '198.51.' || (i % 250) || '.7', 'user_agent', 'Mozilla/5.0',
                               'user_id', md5(name)[:12], 'username', name) as actor,
                   json_object('entity_type', 'report', 'entity_id', md5('r' || (i % 4000))[:12],
                               'entity_name', 'Report ' || (i % 4000)) as entity,
                   json_object('format', 'csv', 'row_count', i % 5000) as context
            from g
        )
        select
            'bench-workspace', id, action, replace(action, '_', ' '), event_time, 'bench-workspace',
            context, actor, entity,
            json_object('id', id, 'action', action, 'description', replace(action, '_', ' '),
                        'timestamp', strftime(event_time, '%Y-%m-%dT%H:%M:%S.%fZ'), 'workspace_username',
                        'bench-workspace', 'context', context, 'actor', actor, 'entity', entity),
            {loaded}
        from shaped
    """)


def windows(con: duckdb.DuckDBPyConnection, start: datetime, end: datetime, fetched_at: datetime | None) -> None:
    """One fetch window per hour per source (what the ingest writes as coverage evidence)."""
    fetched = "w + interval 61 minute" if fetched_at is None else f"timestamptz '{fetched_at.isoformat()}'"
    for schema, instance in (("raw_thoughtspot", "bench.thoughtspot.cloud"), ("raw_mode", "bench-workspace")):
        con.execute(f"""
            insert into {schema}.ingest_windows
            select '{instance}', w, w + interval 1 hour, 100, 98, 2, 0, {fetched}
            from generate_series(timestamptz '{start.isoformat()}', timestamptz '{end.isoformat()}' - interval 1 hour,
                                 interval 1 hour) as t(w)
        """)


def timed_build(warehouse: Path, workdir: Path) -> float:
    began = time.perf_counter()
    run_dbt(
        ["build", "--target-path", str(workdir / "target"), "--log-path", str(workdir / "logs"), "--quiet"],
        warehouse=warehouse,
    )
    return time.perf_counter() - began


def slowest_nodes(workdir: Path, count: int) -> list[tuple[float, str]]:
    """The `count` slowest models / tests of the last build, from dbt's run_results.json."""
    results = json.loads((workdir / "target" / "run_results.json").read_text())["results"]
    timed = [
        (r["execution_time"], r["unique_id"].split(".")[0] + " " + ".".join(r["unique_id"].split(".")[2:]))
        for r in results
    ]
    return sorted(timed, reverse=True)[:count]


def bench(history: int, new_events: int, now: datetime, days: int, keep: bool, profile: int) -> tuple[float, float]:
    workdir = Path(tempfile.mkdtemp(prefix=f"auditlake-bench-{history}-"))
    warehouse = workdir / "warehouse.duckdb"
    try:
        history_start, history_end = now - timedelta(days=days), now - timedelta(hours=2)
        began = time.perf_counter()
        with duckdb.connect(str(warehouse)) as con:
            create_raw_tables(con)
            synthesise(con, history, 0, history_start, history_end, loaded_at=None)
            windows(con, history_start, history_end, fetched_at=None)
        print(f"  {history:>11,} history events synthesised in {time.perf_counter() - began:6.1f} s", flush=True)
        first_build = timed_build(warehouse, workdir)
        print(f"  first (full) dbt build                 {first_build:6.1f} s", flush=True)
        with duckdb.connect(str(warehouse)) as con:
            synthesise(con, new_events, history, now - timedelta(hours=1), now, loaded_at=now)
            windows(con, now - timedelta(hours=2), now, fetched_at=now)
        second_build = timed_build(warehouse, workdir)
        with duckdb.connect(str(warehouse), read_only=True) as con:
            fact = con.execute("select count(*) from core.fct_audit_events").fetchone()[0]
        if fact != history + new_events:
            raise SystemExit(f"fct_audit_events has {fact:,} rows, expected {history + new_events:,}")
        print(f"  incremental dbt build (+{new_events:,} events)   {second_build:6.1f} s", flush=True)
        for seconds, node in slowest_nodes(workdir, profile):
            print(f"    {seconds:6.2f} s  {node}", flush=True)
        return first_build, second_build
    finally:
        if keep:
            print(f"  kept {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--small", type=int, default=100_000, help="events in the small history")
    parser.add_argument("--large", type=int, default=10_000_000, help="events in the large history")
    parser.add_argument("--new", type=int, default=10_000, help="new events added before the timed build")
    parser.add_argument("--days", type=int, default=365, help="days the history spans")
    parser.add_argument("--keep", action="store_true", help="keep the warehouses (printed paths)")
    parser.add_argument(
        "--profile", type=int, default=0, metavar="N", help="print the N slowest nodes of each incremental build"
    )
    args = parser.parse_args()
    now = datetime.now(timezone.utc).replace(microsecond=0)
    results = {}
    for size in (args.small, args.large):
        print(f"history of {size:,} events over {args.days} days", flush=True)
        results[size] = bench(size, args.new, now, args.days, args.keep, args.profile)
    small, large = results[args.small][1], results[args.large][1]
    print()
    print(f"incremental dbt build, +{args.new:,} events on {args.small:,} history: {small:6.1f} s")
    print(f"incremental dbt build, +{args.new:,} events on {args.large:,} history: {large:6.1f} s")
    print(f"ratio (large / small): {large / small:.2f}   target <= 1.5")
    return 0


if __name__ == "__main__":
    sys.exit(main())
