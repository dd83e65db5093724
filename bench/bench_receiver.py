"""Benchmark `auditlake receive`: 4 concurrent pushers, sustained events/s and acknowledgement latency.

    .venv/bin/python bench/bench_receiver.py                          # 4 pushers x 20 s, 100 events per batch
    .venv/bin/python bench/bench_receiver.py --seconds 10 --batch 10  # smaller batches: more fsyncs per event

The receiver runs as its own process (`auditlake receive` on a free loopback port, spool in a temporary home), as
in production; the pushers are threads here, each sending HEC gzip batches back to back (a closed loop: the next
batch leaves when the previous one is acknowledged, i.e. fsync'd). Then the spool is drained into a fresh DuckDB
warehouse and every acknowledged event is checked to be there once (drain time printed too).
Goals (issue 13): >= 2,000 events/s sustained on 2 cores, p99 acknowledgement latency <= 250 ms.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
TOKEN = "bench-push-token-0123456789abcdef"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def hec_batch(size: int) -> tuple[bytes, list[str]]:
    """`size` events as Fluent Bit's Splunk output sends them (concatenated envelopes, logs API records)."""
    ids, parts = [], []
    now = time.time()
    for _ in range(size):
        event_id = f"TS-{uuid.uuid4()}"
        ids.append(event_id)
        log = {
            "version": "1.1",
            "id": event_id,
            "ts": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now)),
            "orgId": 0,
            "userGUID": str(uuid.uuid4()),
            "userName": "bench.user",
            "cIP": "10.0.0.1",
            "type": "PINBOARD_VIEW",
            "desc": "Liveboard viewed",
            "data": {"pinboardId": str(uuid.uuid4()), "pinboardName": "Revenue"},
        }
        record = {"date": time.strftime("%Y-%m-%dT%H:%M:%S.000000Z", time.gmtime(now)), "log": json.dumps(log)}
        parts.append(json.dumps({"time": now, "host": "thoughtspot", "event": record}))
    return gzip.compress("".join(parts).encode(), compresslevel=1), ids


def pusher(url: str, batch: int, stop_at: float, latencies: list[float], acknowledged: list[str], errors: list[int]):
    session = requests.Session()
    headers = {"Authorization": f"Splunk {TOKEN}", "Content-Encoding": "gzip"}
    pending: tuple[bytes, list[str]] | None = None
    while time.monotonic() < stop_at:
        body, ids = pending or hec_batch(batch)
        started = time.monotonic()
        try:
            status = session.post(url, data=body, headers=headers, timeout=30).status_code
        except requests.RequestException:
            status = 0
        if status == 200:
            latencies.append(time.monotonic() - started)
            acknowledged.extend(ids)
            pending = None
        else:
            errors.append(status)
            pending = (body, ids)  # at-least-once: the same batch again


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pushers", type=int, default=4)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--batch", type=int, default=100, help="events per request")
    parser.add_argument("--no-drain", action="store_true", help="skip loading the spool afterwards")
    args = parser.parse_args()

    home = Path(tempfile.mkdtemp(prefix="auditlake-bench-receiver-"))
    port = free_port()
    env = dict(
        os.environ,
        AUDITLAKE_HOME=str(home),
        SOURCES__THOUGHTSPOT__PUSH_TOKEN=TOKEN,
        SOURCES__THOUGHTSPOT__BASE_URL="https://bench.thoughtspot.cloud",
        DAGSTER_DISABLE_TELEMETRY="1",
        RUNTIME__DLTHUB_TELEMETRY="false",
    )
    command = [sys.executable, "-m", "pipelines.cli", "receive", "--port", str(port), "--rate-limit", "100000"]
    server = subprocess.Popen(command, env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        base = f"http://127.0.0.1:{port}"
        for _ in range(300):
            try:
                if requests.get(base + "/services/collector/health", timeout=1).ok:
                    break
            except requests.RequestException:
                time.sleep(0.2)
        latencies: list[float] = []
        acknowledged: list[str] = []
        errors: list[int] = []
        hec_batch(args.batch)  # warm the generator
        started = time.monotonic()
        stop_at = started + args.seconds
        threads = [
            threading.Thread(
                target=pusher,
                args=(base + "/services/collector/event", args.batch, stop_at, latencies, acknowledged, errors),
            )
            for _ in range(args.pushers)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        elapsed = time.monotonic() - started
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)

    rate = len(acknowledged) / elapsed
    print(f"pushers: {args.pushers} x {args.seconds:.0f} s, {args.batch} events per HEC gzip request")
    print(f"acknowledged: {len(acknowledged)} events in {len(latencies)} requests ({len(errors)} answered otherwise)")
    print(f"sustained:    {rate:,.0f} events/s   (goal >= 2,000)")
    print(
        f"ack latency:  p50 {percentile(latencies, 0.5) * 1000:.1f} ms  p99 {percentile(latencies, 0.99) * 1000:.1f} ms"
        f"  max {max(latencies) * 1000:.1f} ms   (goal p99 <= 250 ms)"
    )
    if args.no_drain:
        return 0
    os.environ.update(env)
    os.environ["AUDITLAKE_WAREHOUSE"] = str(home / "warehouse" / "bench.duckdb")
    from pipelines import settings
    from pipelines.receiver.push_drain import drain_push_spool

    settings.apply_project_environment()
    drain_started = time.monotonic()
    summary = drain_push_spool(progress=lambda _: None)
    drain_seconds = time.monotonic() - drain_started
    print(f"drain:        {summary.line()} in {drain_seconds:.1f} s ({summary.events / drain_seconds:,.0f} events/s)")
    import duckdb

    con = duckdb.connect(os.environ["AUDITLAKE_WAREHOUSE"], read_only=True)
    stored, unique = con.execute(
        "select count(*), count(distinct id) from raw_thoughtspot.security_audit_events"
    ).fetchone()
    con.close()
    missing = len(set(acknowledged)) - unique
    print(f"warehouse:    {stored} rows, {unique} distinct ids; acknowledged but missing: {max(missing, 0)}")
    return 0 if stored == unique and unique >= len(set(acknowledged)) and summary.error is None else 1


if __name__ == "__main__":
    sys.exit(main())
