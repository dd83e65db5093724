"""From a pushed brute-force burst to its webhook alert: the fast path's latency.

    .venv/bin/python bench/bench_push_alert.py [--warehouse file|ducklake]

Steps: a ThoughtSpot simulator (small history) and a first `auditlake run` build the warehouse (its own planted
findings are alerted then and not counted); `auditlake receive` runs in its own process; a burst of failed logins
against one new account is POSTed as Splunk HEC (gzip); then what the `push_spool_sensor` launches on its next tick
runs (the `drain_push` job: drain the spool, build staging -> findings, post new findings). Printed: push to
acknowledged, ack to sealed segment, the drain job's time, and push to alert; the sensor's interval
(SENSOR_INTERVAL_SECONDS) is the most a burst waits for the tick. Goal: push to alert <= 60 s on 2 cores.
Not a test: it asserts only that the burst's finding reached the webhook.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.support.webhook_receiver import WebhookReceiver  # noqa: E402 (needs ROOT on sys.path)

TOKEN = "bench-push-token-0123456789abcdef"
BURST = 40  # failed logins in a few minutes: twice the brute-force threshold (dbt var brute_force_threshold, 20)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def burst_body(user: str, ip: str, now: datetime) -> bytes:
    lines = []
    for i in range(BURST):
        ts = now - timedelta(seconds=(BURST - i) * 3)
        record = {
            "version": "v1",
            "id": str(uuid.uuid4()),
            "ts": ts.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
            "orgId": 0,
            "userGUID": None,
            "userName": user,
            "cIP": ip,
            "type": "LOGIN_FAILED",
            "desc": "User login failed",
            "data": {"userName": user},
        }
        lines.append(json.dumps({"time": ts.timestamp(), "host": "thoughtspot", "event": record}))
    return gzip.compress("".join(lines).encode())


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--warehouse", choices=["file", "ducklake"], default="ducklake")
    args = parser.parse_args()
    from pipelines.simulators import HistoryConfig, ThoughtSpotSimulator

    home = Path(tempfile.mkdtemp(prefix="bench-push-alert-"))
    webhook = WebhookReceiver()
    env = {
        "AUDITLAKE_HOME": str(home),
        "DAGSTER_HOME": str(home / "dagster_home"),
        "AUDITLAKE_WAREHOUSE": str(home / "warehouse" / "auditlake.duckdb")
        if args.warehouse == "file"
        else f"ducklake:sqlite:{home / 'warehouse' / 'catalog.sqlite'}",
        "AUDITLAKE_ALERT_WEBHOOK_URL": webhook.url,
        "SOURCES__THOUGHTSPOT__PUSH_TOKEN": TOKEN,
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
        "DAGSTER_DISABLE_TELEMETRY": "1",
        "RUNTIME__DLTHUB_TELEMETRY": "false",
    }
    with ThoughtSpotSimulator(history=HistoryConfig(seed=5, days=2, events_per_day=150), late_minutes=0) as ts:
        from pipelines.sources import registry

        env.update(registry.get("thoughtspot").environment_for(ts))
        os.environ.update(env)
        exe = Path(sys.executable).with_name("auditlake")
        started = time.monotonic()
        first = subprocess.run([str(exe), "run", "--quiet"], env=os.environ, capture_output=True, text=True)
        print(
            f"setup: first `auditlake run` {time.monotonic() - started:.1f} s (exit {first.returncode}), "
            f"{len(webhook.requests)} alerts of the simulator's planted findings"
        )
        webhook.requests.clear()
        port = free_port()
        receiver = subprocess.Popen(
            [str(exe), "receive", "--port", str(port)],
            env=os.environ,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            health = f"http://127.0.0.1:{port}/services/collector/health"
            for _ in range(200):
                try:
                    if requests.get(health, timeout=1).status_code == 200:
                        break
                except requests.RequestException:
                    time.sleep(0.1)
            user, ip = f"bench.target.{uuid.uuid4().hex[:6]}", "203.0.113.77"
            t0 = time.monotonic()
            response = requests.post(
                f"http://127.0.0.1:{port}/services/collector/event",
                data=burst_body(user, ip, datetime.now(timezone.utc)),
                headers={"Authorization": f"Splunk {TOKEN}", "Content-Encoding": "gzip"},
                timeout=30,
            )
            acked = time.monotonic()
            assert response.status_code == 200, response.text
            from pipelines.receiver.push_drain import spool_pending

            while not spool_pending():
                time.sleep(0.1)
            sealed = time.monotonic()
            import dagster as dg

            from pipelines.orchestration.push_drain_job import SENSOR_INTERVAL_SECONDS, drain_push_job

            run = drain_push_job.execute_in_process(instance=dg.DagsterInstance.ephemeral())
            done = time.monotonic()
        finally:
            receiver.terminate()
            receiver.wait(timeout=30)
    ours = [(hit.at, hit.body) for hit in webhook.requests if user in hit.body.get("text", "")]
    assert run.success and ours, f"no alert for {user}: {[hit.body.get('text') for hit in webhook.requests]}"
    alert_at = min(at for at, _ in ours)
    print(f"engine: {args.warehouse}; burst: {BURST} failed logins of {user} from {ip}")
    print(f"push -> acknowledged     {acked - t0:6.2f} s")
    print(f"ack -> segment sealed    {sealed - acked:6.2f} s")
    print(f"drain_push job           {done - sealed:6.2f} s (drain + dbt run staging -> findings + webhook)")
    print(
        f"push -> alert            {alert_at - t0:6.2f} s, plus at most {SENSOR_INTERVAL_SECONDS} s waiting for "
        f"the sensor's tick: worst case {alert_at - t0 + SENSOR_INTERVAL_SECONDS:.1f} s (goal <= 60 s)"
    )
    print(f"alerts for the burst: {len(ours)} ({', '.join(sorted({b['finding']['kind'] for _, b in ours}))})")


if __name__ == "__main__":
    main()
