"""Benchmark `auditlake ingest` (ThoughtSpot) against the physical limit of the same job, measured in the same run.

    .venv/bin/python bench/bench_ingest.py                              # 1M ThoughtSpot events over 30 days
    .venv/bin/python bench/bench_ingest.py --events 100000              # quick run
    .venv/bin/python bench/bench_ingest.py --warehouse ducklake:sqlite  # on the DuckLake engine (SQLite catalog)

The simulator runs in its own process (multiprocessing, spawn), faults off. Steps:
  1. warm-up: every window is fetched once, so the simulator has generated (and caches) each day before
     anything is timed; what follows measures the client side, not the simulator's generation;
  2. limit = fetch + duckdb:
     fetch  - a plain sequential fetch of the same windows, bytes only (one `logs/fetch` per window), to files;
     duckdb - DuckDB doing the same job on those bytes: parse the double-encoded `log`, the typed columns of
              raw_thoughtspot.security_audit_events, distinct on id, into a table in a DuckDB file on disk;
  3. ingest: the whole `auditlake ingest --source thoughtspot` process (Python start-up, imports, HTTP, parsing,
     dlt extract / normalize / load) into a fresh warehouse, timed from spawn to exit, with its peak RSS;
  4. steps 2-3 run --repeat times (default 3), alternating, each on fresh files and a fresh warehouse; the best
     of each side is compared (noise only adds time), and every round's ratio is printed too;
  5. print the figures and the ratio ingest / limit. Targets: <= 2x, peak RSS <= 1.5 GB (the highest round).

Not a test: it asserts only that every served event landed.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

TS_SECRET = "bench-ts-secret-key-0123456789"
SOURCE_INSTANCE = "bench"

# The same job DuckDB-side: typed columns as raw_thoughtspot.security_audit_events holds them, one row per id.
_LIMIT_SQL = """
create table security_audit_events as
with raw as (
    select date, log, json_transform(log, '{{"id": "VARCHAR", "ts": "VARCHAR", "version": "VARCHAR",
        "orgId": "BIGINT", "userGUID": "VARCHAR", "userName": "VARCHAR", "cIP": "VARCHAR", "type": "VARCHAR",
        "desc": "VARCHAR", "data": "JSON"}}') as e
    from read_json({files}, format = 'array', columns = {{date: 'VARCHAR', log: 'VARCHAR'}})
)
select distinct on (e.id)
    '{instance}' as source_instance,
    e.id as id,
    coalesce(try_cast(date as timestamptz), try_strptime(date, '%Y/%m/%d:%H:%M:%S')::timestamptz) as date,
    coalesce(try_cast(e.ts as timestamptz), try_strptime(e.ts, '%Y/%m/%d:%H:%M:%S')::timestamptz) as ts,
    e.version as version,
    e.orgId as org_id,
    e.userGUID as user_guid,
    e.userName as user_name,
    e.cIP as c_ip,
    e.type as type,
    e."desc" as "desc",
    e.data as data,
    log,
    now() as _loaded_at
from raw
"""


def _serve(conn, events: int, days: int, end_iso: str) -> None:
    """Child process: run the ThoughtSpot simulator until the parent says stop."""
    from pipelines.simulators import HistoryConfig, ThoughtSpotSimulator

    end = datetime.fromisoformat(end_iso)
    history = HistoryConfig(seed=7, days=days, events_per_day=max(1, events // days), end=end)
    ts = ThoughtSpotSimulator(history=history, secret_key=TS_SECRET, late_minutes=0)
    # Keep every generated day in memory so each day is generated once (during the warm-up fetch).
    if hasattr(ts.timeline, "_cache_days"):
        ts.timeline._cache_days = days + 2
    ts.start()
    conn.send({"url": ts.base_url, "user": ts.username})
    conn.recv()  # any message: stop
    ts.stop()


def _fetch_windows(base_url: str, username: str, start: datetime, end: datetime, folder: Path | None) -> list[Path]:
    """Every window's response body, one sequential request each; written to `folder` when given."""
    from pipelines.sources.common.windows import plan_windows
    from pipelines.sources.thoughtspot import ThoughtSpotClient

    client = ThoughtSpotClient(base_url, username, secret_key=TS_SECRET)
    files = []
    for i, window in enumerate(plan_windows(start, end)):
        body = client.fetch_window_bytes(window)
        if folder is not None:
            path = folder / f"ts_{i:03d}.json"
            path.write_bytes(body)
            files.append(path)
    return files


def _duckdb_limit(files: list[Path], db_path: Path) -> tuple[float, int]:
    import duckdb

    con = duckdb.connect(str(db_path))
    try:
        listing = "[" + ",".join(f"'{f}'" for f in files) + "]"
        started = time.perf_counter()
        con.execute(_LIMIT_SQL.format(files=listing, instance=SOURCE_INSTANCE))
        con.execute("checkpoint")
        elapsed = time.perf_counter() - started
        rows = con.execute("select count(*) from security_audit_events").fetchone()[0]
    finally:
        con.close()
    return elapsed, rows


def _run_ingest(env: dict[str, str], until: datetime, log: Path) -> tuple[float, int, int]:
    """(seconds, peak RSS bytes, exit code) of one `auditlake ingest` process."""
    command = [str(ROOT / ".venv" / "bin" / "auditlake"), "ingest", "--source", "thoughtspot", "--quiet"]
    command += ["--until", until.strftime("%Y-%m-%dT%H:%M:%SZ")]
    with log.open("wb") as out:
        started = time.perf_counter()
        process = subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.STDOUT)
        _, status, usage = os.wait4(process.pid, 0)
        elapsed = time.perf_counter() - started
    process.returncode = os.waitstatus_to_exitcode(status)
    return elapsed, usage.ru_maxrss * 1024, process.returncode


def _bytecode_note() -> str:
    """Whether the installed packages have compiled bytecode: without it every start compiles dlt & co. again."""
    import importlib.util

    spec = importlib.util.find_spec("dlt")
    folder = Path(spec.origin).parent / "__pycache__" if spec and spec.origin else None
    if folder is not None and folder.is_dir() and any(folder.iterdir()):
        return "installed packages have compiled bytecode"
    return (
        "WARNING: the installed packages have no compiled bytecode, so start-up compiles them (seconds): "
        "`.venv/bin/python -m compileall -q .venv/lib pipelines` (make setup does it with uv --compile-bytecode)"
    )


def _engine_setting(engine: str, folder: Path) -> dict[str, str]:
    """AUDITLAKE_WAREHOUSE (and the DuckLake data path) for a fresh warehouse of the engine under `folder`."""
    if engine == "file":
        return {"AUDITLAKE_WAREHOUSE": str(folder / "auditlake.duckdb")}
    if engine == "ducklake:sqlite":
        return {
            "AUDITLAKE_WAREHOUSE": f"ducklake:sqlite:{folder / 'catalog.sqlite'}",
            "AUDITLAKE_DATA_PATH": str(folder / "data"),
        }
    if engine.startswith("ducklake:postgres:"):
        return {"AUDITLAKE_WAREHOUSE": engine, "AUDITLAKE_DATA_PATH": str(folder / "data")}
    raise SystemExit(f"--warehouse {engine!r}: use file, ducklake:sqlite or ducklake:postgres:<conninfo>")


def _count_rows(env: dict[str, str]) -> int:
    """Rows in raw_thoughtspot.security_audit_events, read through the engine's own connection."""
    code = (
        "from pipelines.warehouse import engine\n"
        "con = engine.connect(read_only=True)\n"
        "print(con.execute('select count(*) from raw_thoughtspot.security_audit_events').fetchone()[0])\n"
    )
    out = subprocess.run(
        [str(ROOT / ".venv" / "bin" / "python"), "-c", code], env=env, cwd=ROOT, check=True, capture_output=True
    )
    return int(out.stdout.decode().split()[-1])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1_000_000, help="ThoughtSpot events in the history")
    parser.add_argument("--days", type=int, default=30, help="history length (one ThoughtSpot window per day)")
    parser.add_argument("--warehouse", default="file", help="engine: file | ducklake:sqlite | ducklake:postgres:<dsn>")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder (prints its path)")
    parser.add_argument("--repeat", type=int, default=3, help="rounds of limit + ingest; the best of each is compared")
    args = parser.parse_args()

    load_at_start = os.getloadavg()
    # History ends a minute ago and windows stop there: every event is visible. Windows start 30 minutes
    # into the history: ThoughtSpot's 30-day retention moves on while the bench runs, and limit and
    # ingest must be offered the same events.
    end = datetime.now(timezone.utc).replace(microsecond=0) - timedelta(minutes=1)
    start = end - timedelta(days=args.days) + timedelta(minutes=30)

    ctx = mp.get_context("spawn")
    parent, child = ctx.Pipe()
    server = ctx.Process(target=_serve, args=(child, args.events, args.days, end.isoformat()), daemon=True)
    server.start()
    tmp = Path(tempfile.mkdtemp(prefix="auditlake-bench-"))
    try:
        info = parent.recv()
        _fetch_windows(info["url"], info["user"], start, end, None)  # warm-up: the simulator generates every day
        fetches, ducks, ingests, rss = [], [], [], []
        for round_no in range(args.repeat):
            # Limit and ingest alternate, each on fresh files, so a change in the machine's load hits both.
            raw = tmp / f"raw{round_no}"
            raw.mkdir()
            t0 = time.perf_counter()
            files = _fetch_windows(info["url"], info["user"], start, end, raw)
            fetches.append(time.perf_counter() - t0)
            size = sum(f.stat().st_size for f in files)
            duck_seconds, distinct = _duckdb_limit(files, tmp / f"limit{round_no}.duckdb")
            ducks.append(duck_seconds)
            for f in files:
                f.unlink()  # the ingest should not share the page cache with 300 MB it does not read
            (tmp / f"limit{round_no}.duckdb").unlink()

            warehouse = tmp / f"warehouse{round_no}"
            warehouse.mkdir()
            env = dict(os.environ)
            env.update(
                {
                    "SOURCES__THOUGHTSPOT__BASE_URL": info["url"],
                    "SOURCES__THOUGHTSPOT__USERNAME": info["user"],
                    "SOURCES__THOUGHTSPOT__SECRET_KEY": TS_SECRET,
                    "AUDITLAKE_PIPELINES_DIR": str(tmp / f"dlt{round_no}"),
                    "AUDITLAKE_HOME": str(tmp),
                    "AUDITLAKE_START": start.strftime("%Y-%m-%dT%H:%M:%SZ"),
                    "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
                    "DAGSTER_DISABLE_TELEMETRY": "1",
                    "RUNTIME__DLTHUB_TELEMETRY": "false",
                    **_engine_setting(args.warehouse, warehouse),
                }
            )
            log = tmp / "ingest.log"
            ingest_seconds, peak_rss, code = _run_ingest(env, end, log)
            if code != 0:
                print(log.read_text(), file=sys.stderr)
                raise SystemExit(f"auditlake ingest exited {code}")
            ingests.append(ingest_seconds)
            rss.append(peak_rss)
            rows = _count_rows(env)
            if rows != distinct:
                print(f"WARNING: {rows} rows loaded, the simulator served {distinct} distinct events", file=sys.stderr)
            if not args.keep and round_no + 1 < args.repeat:
                import shutil

                shutil.rmtree(warehouse, ignore_errors=True)  # a round's warehouse is not needed by the next
    finally:
        parent.send("stop")
        server.join(timeout=30)
        if server.is_alive():
            server.terminate()
        if args.keep:
            print(f"kept {tmp}")
        else:
            import shutil

            shutil.rmtree(tmp, ignore_errors=True)

    # Best of the rounds for each side (the usual estimate of a cost under noise: noise only adds time).
    fetch_seconds, duck_seconds, ingest_seconds = min(fetches), min(ducks), min(ingests)
    limit = min(f + d for f, d in zip(fetches, ducks, strict=True))
    ratio = ingest_seconds / limit
    peak_rss = max(rss)
    header = ("engine", "events", "MB", "fetch s", "duckdb s", "limit s", "ingest s", "ratio", "ingest peak RSS MB")
    print("| " + " | ".join(header) + " |")
    print("|" + "---|" * len(header))
    print(
        f"| {args.warehouse} | {rows:,} | {size / 1e6:.0f} | {fetch_seconds:.2f} | {duck_seconds:.2f} | {limit:.2f} | "
        f"{ingest_seconds:.2f} | {ratio:.2f}x | {peak_rss / 2**20:,.0f} |"
    )
    if args.repeat > 1:
        rounds = ", ".join(
            f"{i / (f + d):.2f}x ({i:.1f} / {f + d:.1f} s)" for f, d, i in zip(fetches, ducks, ingests, strict=True)
        )
        print(f"\nbest of {args.repeat} rounds for each side; round by round: {rounds}")
    print(
        f"\ningest / limit = {ratio:.2f}x ({'meets' if ratio <= 2 else 'misses'} the <= 2x target); peak RSS "
        f"{peak_rss / 2**30:.2f} GB ({'meets' if peak_rss <= 1.5 * 2**30 else 'misses'} the <= 1.5 GB goal). "
        "'ingest s' is the whole `auditlake ingest` process, Python start-up included."
    )
    print(_bytecode_note())
    print(
        f"load average (1/5/15 min) at start: {', '.join(f'{x:.2f}' for x in load_at_start)}; at the end: "
        f"{', '.join(f'{x:.2f}' for x in os.getloadavg())} on {os.cpu_count()} CPUs"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
