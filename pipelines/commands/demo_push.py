"""The demo's push path: a real `auditlake receive` process and the simulator's pusher, beside the pull.

The pusher sends the last two hours of history first (events the pull reads as well: stored once, marked with the
path that came first) and then a few live events every second (too recent for the pull, which waits out
ThoughtSpot's 30-minute API latency: they reach the warehouse by the push alone).
"""

from __future__ import annotations

import os
import secrets
import socket
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

from pipelines.receiver.spool_segments import ENV_SPOOL_DIR
from pipelines.receiver.tokens import ENV_PUSH_TOKEN

BACKLOG = timedelta(hours=2)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class DemoPush:
    def __init__(self, simulator: Any, folder: Path) -> None:
        from pipelines.simulators.thoughtspot_pusher import ThoughtSpotPusher

        self.simulator = simulator
        self.port = _free_port()
        token = secrets.token_urlsafe(24)
        os.environ[ENV_PUSH_TOKEN] = token
        os.environ[ENV_SPOOL_DIR] = str(folder / "spool")
        self.log_path = folder / "receiver.log"
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "pipelines.cli", "receive", "--port", str(self.port)],
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        url = f"http://127.0.0.1:{self.port}"
        self._wait_until_healthy(url)
        self.pusher = ThoughtSpotPusher(simulator, url, token, "hec", interval_seconds=1.0, live_events_per_batch=3)

    def _wait_until_healthy(self, url: str) -> None:
        import requests

        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"the demo receiver exited: see {self.log_path}")
            try:
                if requests.get(url + "/services/collector/health", timeout=1).ok:
                    return
            except requests.RequestException:
                time.sleep(0.2)
        raise RuntimeError(f"the demo receiver did not start within 60 s: see {self.log_path}")

    def start(self) -> str:
        now = self.simulator.clock.now()
        backlog = self.pusher.push_range(now - BACKLOG, now)
        self.pusher.start()
        return (
            f"push: receiver on 127.0.0.1:{self.port} (Splunk HEC), {backlog} events of the last 2 h pushed, "
            "live ones every second"
        )

    def stop(self) -> None:
        """Stop pushing, then the receiver (SIGTERM: it seals its segment, so the refresh drains everything)."""
        self.pusher.stop()
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()

    def report_lines(self, con: Any) -> list[str]:
        stats = self.pusher.stats
        by_path = dict(
            con.execute(
                "select coalesce(_auditlake_delivery, 'pull'), count(*) from raw_thoughtspot.security_audit_events "
                "group by 1"
            ).fetchall()
        )
        return [
            "\npush (auditlake receive, Splunk HEC, gzip):",
            f"  {stats.acknowledged_records} records acknowledged in {stats.batches} batches "
            f"({stats.retries} retries); raw_thoughtspot first arrivals: {by_path.get('push', 0)} by push, "
            f"{by_path.get('pull', 0)} by pull (an event both pushed and pulled is stored once)",
        ]
