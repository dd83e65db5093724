"""How fast the ThoughtSpot simulator generates and serves history at the ingest benchmark's density.

    .venv/bin/python bench/bench_simulator.py

Prints events generated per second for one day at 1M-events/30-days density (target >= 100k/s on an idle core) and
the time to serve a full 24 h window a second time (target well under a second), so the ingest benchmark measures
auditlake, not the simulator. Not a test: it asserts nothing.
"""

from __future__ import annotations

import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from pipelines.simulators import HistoryConfig, ThoughtSpotSimulator  # noqa: E402
from pipelines.simulators.thoughtspot_history import ThoughtSpotTimeline  # noqa: E402

DENSITY = 33_334  # 1,000,000 events over 30 days
SECRET = "bench-ts-secret-key-0123456789"


def generation_rate() -> float:
    end = datetime.now(timezone.utc)
    timeline = ThoughtSpotTimeline(HistoryConfig(seed=1, days=30, events_per_day=DENSITY, end=end), end, 30)
    started = time.perf_counter()
    records = timeline._day_records(timeline.first_day + 5)
    return len(records) / (time.perf_counter() - started)


def serve_seconds() -> tuple[float, int]:
    with ThoughtSpotSimulator(
        history=HistoryConfig(seed=2, days=3, events_per_day=DENSITY), secret_key=SECRET, late_minutes=0
    ) as sim:
        token = requests.post(
            f"{sim.base_url}/api/rest/2.0/auth/token/full",
            json={"username": sim.username, "secret_key": sim.secret_key, "validity_time_in_sec": 3600},
            timeout=30,
        ).json()["token"]
        end = datetime.now(timezone.utc) - timedelta(hours=1)
        body = {
            "log_type": "SECURITY_AUDIT",
            "start_epoch_time_in_millis": int((end - timedelta(hours=24)).timestamp() * 1000),
            "end_epoch_time_in_millis": int(end.timestamp() * 1000),
        }
        headers = {"Authorization": f"Bearer {token}"}
        url = f"{sim.base_url}/api/rest/2.0/logs/fetch"
        requests.post(url, json=body, headers=headers, timeout=60)  # generates the days the window touches
        started = time.perf_counter()
        response = requests.post(url, json=body, headers=headers, timeout=60)
        return time.perf_counter() - started, len(response.content)


def main() -> None:
    rate = generation_rate()
    seconds, size = serve_seconds()
    print(f"generation: {rate:,.0f} events/s (target >= 100,000/s on an idle core)")
    print(f"serve 24 h window again: {seconds:.2f} s for {size / 1e6:.1f} MB (target < 1 s)")


if __name__ == "__main__":
    main()
