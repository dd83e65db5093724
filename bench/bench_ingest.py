"""Benchmark `auditlake ingest` against DuckDB's own JSON reader on the same response bytes.

    .venv/bin/python bench/bench_ingest.py                      # 1M ThoughtSpot + 200k Mode events over 30 days
    .venv/bin/python bench/bench_ingest.py --ts-events 100000 --mode-events 20000   # quick run

The simulators run in a separate process (multiprocessing, spawn), so the serving work does not share this
process's interpreter. Steps:
  1. baseline: fetch every window's raw response bytes once (ThoughtSpot: 30 x logs/fetch; Mode: every page),
     write them to files, time `create table t as select * from read_json([...])` in a fresh DuckDB file;
  2. warm-up: one ingest of the last hour into a scratch warehouse, so the one-off cost of importing dlt,
     pyarrow, pandas... (seconds when Python may not cache bytecode, as on the shared dev machine) is not
     charged to throughput; it is printed separately as "cold start s";
  3. ingest: `run_ingest` per source into a fresh warehouse, timed end to end (HTTP, parsing, dlt extract,
     normalize, merge-load), with dlt's own step times (extract / normalize / load) from the pipeline trace;
  4. print events/s per source and the ratio ingest / baseline. Target: ThoughtSpot <= 3x.

Not a test: it asserts only that every served event landed.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

TS_SECRET = "bench-ts-secret-key-0123456789"
MODE_TOKEN = "benchtoken01"
MODE_SECRET = "bench-mode-secret-0123456789"


def _serve(conn, ts_events: int, mode_events: int, days: int, end_iso: str, mode_page_size: int) -> None:
    """Child process: run both simulators until the parent says stop."""
    from pipelines.simulators import HistoryConfig, ModeSimulator, ThoughtSpotSimulator

    end = datetime.fromisoformat(end_iso)
    ts_history = HistoryConfig(seed=7, days=days, events_per_day=max(1, ts_events // days), end=end)
    mode_history = HistoryConfig(seed=8, days=days, events_per_day=max(1, mode_events // days), end=end)
    ts = ThoughtSpotSimulator(history=ts_history, secret_key=TS_SECRET, late_minutes=0)
    mode = ModeSimulator(
        history=mode_history,
        api_token=MODE_TOKEN,
        api_secret=MODE_SECRET,
        page_size=mode_page_size,
        log_own_access=False,
    )
    # Keep every generated day in memory so the simulator generates each day once (during the baseline
    # fetch) and the timed ingest measures our side, not the simulator's generation.
    for sim in (ts, mode):
        if hasattr(sim.timeline, "_cache_days"):
            sim.timeline._cache_days = days + 2
    ts.start()
    mode.start()
    conn.send({"ts": ts.base_url, "ts_user": ts.username, "mode": mode.base_url, "workspace": mode.workspace})
    conn.recv()  # any message: stop
    ts.stop()
    mode.stop()


def _fetch_thoughtspot_bytes(base_url: str, username: str, start: datetime, end: datetime, folder: Path) -> list[Path]:
    from pipelines.sources.common.windows import plan_windows
    from pipelines.sources.thoughtspot import ThoughtSpotClient

    client = ThoughtSpotClient(base_url, username, secret_key=TS_SECRET)
    files = []
    for i, window in enumerate(plan_windows(start, end)):
        path = folder / f"ts_{i:03d}.json"
        path.write_bytes(client.fetch_window_bytes(window))
        files.append(path)
    return files


def _fetch_mode_bytes(base_url: str, workspace: str, start: datetime, end: datetime, folder: Path) -> list[Path]:
    from dlt.sources.helpers import requests

    from pipelines.sources.common.windows import iso_z, plan_windows
    from pipelines.sources.mode.mode_client import page_next_token

    files = []
    for i, window in enumerate(plan_windows(start, end)):
        params = {"start_timestamp": iso_z(window.start), "end_timestamp": iso_z(window.end)}
        page = 0
        while True:
            response = requests.get(
                f"{base_url}/api/{workspace}/audit_logs",
                params=params,
                auth=(MODE_TOKEN, MODE_SECRET),
                headers={"Accept": "application/json"},
            )
            path = folder / f"mode_{i:03d}_{page:05d}.json"
            path.write_bytes(response.content)
            files.append(path)
            token = page_next_token(response.json())
            if not token:
                break
            params["next_token"] = token
            page += 1
    return files


def _duckdb_baseline(files: list[Path], db_path: Path, select: str, key: str) -> tuple[float, int, int]:
    import duckdb

    con = duckdb.connect(str(db_path))
    try:
        listing = "[" + ",".join(f"'{f}'" for f in files) + "]"
        started = time.perf_counter()
        con.execute(f"create table t as {select.format(files=listing)}")
        elapsed = time.perf_counter() - started
        # Adjacent windows share their boundary millisecond, so a few events are served twice.
        rows, distinct = con.execute(f"select count(*), count(distinct {key}) from t").fetchone()
    finally:
        con.close()
    return elapsed, rows, distinct


def _ingest(source: str, warehouse: Path, start: datetime, end: datetime) -> tuple[float, int, dict[str, float]]:
    """Time one `run_ingest`; return (seconds, rows in the raw table, dlt step seconds)."""
    import duckdb

    from pipelines import ingest_runner as ingest
    from pipelines import settings

    os.environ[settings.ENV_WAREHOUSE] = str(warehouse)
    started = time.perf_counter()
    [summary] = ingest.run_ingest([source], progress=lambda line: None, start=start.isoformat(), until=end.isoformat())
    elapsed = time.perf_counter() - started
    if summary.error:
        raise SystemExit(f"{source} ingest failed: {summary.error}")
    trace = ingest.make_pipeline(source).last_trace
    steps = {step.step: (step.finished_at - step.started_at).total_seconds() for step in trace.steps} if trace else {}
    table = {"thoughtspot": "raw_thoughtspot.security_audit_events", "mode": "raw_mode.audit_logs"}[source]
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        rows = con.execute(f"select count(*) from {table}").fetchone()[0]
    finally:
        con.close()
    return elapsed, rows, steps


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ts-events", type=int, default=1_000_000, help="ThoughtSpot events in the history")
    parser.add_argument("--mode-events", type=int, default=200_000, help="Mode events in the history")
    parser.add_argument("--days", type=int, default=30, help="history length (one ThoughtSpot window per day)")
    parser.add_argument("--mode-page-size", type=int, default=1000, help="Mode entries per page")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder (prints its path)")
    args = parser.parse_args()

    os.environ.setdefault("RUNTIME__DLTHUB_TELEMETRY", "false")
    load_at_start = os.getloadavg()
    # History ends a minute ago and windows stop there: every event is visible. Windows start 30 minutes
    # into the history: ThoughtSpot's 30-day retention moves on while the bench runs, and baseline and
    # ingest must be offered the same events.
    end = datetime.now(timezone.utc).replace(microsecond=0) - timedelta(minutes=1)
    start = end - timedelta(days=args.days) + timedelta(minutes=30)

    ctx = mp.get_context("spawn")
    parent, child = ctx.Pipe()
    server = ctx.Process(
        target=_serve,
        args=(child, args.ts_events, args.mode_events, args.days, end.isoformat(), args.mode_page_size),
        daemon=True,
    )
    server.start()
    tmp = Path(tempfile.mkdtemp(prefix="auditlake-bench-"))
    try:
        info = parent.recv()
        os.environ.update(
            {
                "SOURCES__THOUGHTSPOT__BASE_URL": info["ts"],
                "SOURCES__THOUGHTSPOT__USERNAME": info["ts_user"],
                "SOURCES__THOUGHTSPOT__SECRET_KEY": TS_SECRET,
                "SOURCES__MODE__BASE_URL": info["mode"],
                "SOURCES__MODE__WORKSPACE": info["workspace"],
                "SOURCES__MODE__API_TOKEN": MODE_TOKEN,
                "SOURCES__MODE__API_SECRET": MODE_SECRET,
                "AUDITLAKE_PIPELINES_DIR": str(tmp / "dlt"),
            }
        )
        raw = tmp / "raw"
        raw.mkdir()
        results = []
        for source in ("thoughtspot", "mode"):
            t0 = time.perf_counter()
            if source == "thoughtspot":
                files = _fetch_thoughtspot_bytes(info["ts"], info["ts_user"], start, end, raw)
                select, key = "select * from read_json({files})", "log"
            else:
                files = _fetch_mode_bytes(info["mode"], info["workspace"], start, end, raw)
                select, key = (
                    "select unnest(entry) from (select unnest(audit_logs) as entry from read_json({files}))",
                    "id",
                )
            fetch_seconds = time.perf_counter() - t0
            size = sum(f.stat().st_size for f in files)
            base_seconds, base_rows, distinct = _duckdb_baseline(files, tmp / f"baseline_{source}.duckdb", select, key)
            t0 = time.perf_counter()
            _ingest(source, tmp / f"warmup_{source}" / "auditlake.duckdb", end - timedelta(hours=1), end)
            cold_start = time.perf_counter() - t0
            ingest_seconds, rows, steps = _ingest(source, tmp / "warehouse" / "auditlake.duckdb", start, end)
            if rows != distinct:
                print(
                    f"WARNING: {source}: {rows} rows loaded, the simulator served {distinct} distinct events",
                    file=sys.stderr,
                )
            results.append(
                (source, rows, size, fetch_seconds, base_seconds, base_rows, ingest_seconds, cold_start, steps)
            )
            print(f"{source}: done ({rows} events)", flush=True)
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

    print()
    header = (
        "source",
        "events",
        "MB",
        "http fetch s",
        "duckdb read_json s",
        "ingest s",
        "extract / normalize / load s",
        "ingest ev/s",
        "read_json ev/s",
        "ratio",
        "cold start s",
    )
    print("| " + " | ".join(header) + " |")
    print("|" + "---|" * len(header))
    for source, rows, size, fetch_s, base_s, base_rows, ingest_s, cold_s, steps in results:
        split = " / ".join(f"{steps.get(name, 0):.1f}" for name in ("extract", "normalize", "load"))
        print(
            f"| {source} | {rows:,} | {size / 1e6:.0f} | {fetch_s:.1f} | {base_s:.2f} | {ingest_s:.1f} | {split} | "
            f"{rows / ingest_s:,.0f} | {base_rows / base_s:,.0f} | {ingest_s / base_s:.1f}x | {cold_s:.1f} |"
        )
    ts = results[0]
    verdict = "meets" if ts[6] / ts[4] <= 3 else "misses"
    print(
        f"\nThoughtSpot ingest / DuckDB read_json = {ts[6] / ts[4]:.1f}x ({verdict} the <= 3x target). "
        "'http fetch s' is the same windows fetched once, without parsing: the simulator's serving cost. "
        "'cold start s' is a warm-up ingest of one hour (imports, first connections), not counted in 'ingest s'."
    )
    print(
        f"load average (1/5/15 min) at start: {', '.join(f'{x:.2f}' for x in load_at_start)}; at the end: "
        f"{', '.join(f'{x:.2f}' for x in os.getloadavg())} on {os.cpu_count()} CPUs"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
