"""Window faults over real HTTP: long windows fail or stall every time, their halves succeed."""

from __future__ import annotations

import time
from datetime import datetime, timedelta, timezone

import pytest
import requests

from pipelines.simulators import FaultPlan, HistoryConfig, ModeSimulator, ThoughtSpotSimulator
from pipelines.simulators.thoughtspot_api import LOGS_PATH

from .conftest import mode_get, ms, ts_fetch, ts_logs, ts_token

END = datetime.now(timezone.utc).replace(minute=0, second=0, microsecond=0) - timedelta(hours=2)


def _split(start: datetime, end: datetime, parts: int) -> list[tuple[datetime, datetime]]:
    step = (end - start) / parts
    return [(start + i * step, start + (i + 1) * step) for i in range(parts)]


def test_thoughtspot_persistent_5xx_for_long_windows_only():
    plan = FaultPlan(fail_windows_longer_than=timedelta(hours=6))
    with ThoughtSpotSimulator(
        history=HistoryConfig(seed=4, days=2, events_per_day=400), late_minutes=0, faults=plan
    ) as sim:
        token = ts_token(sim, validity_time_in_sec=3600)
        start = END - timedelta(hours=24)
        for _ in range(3):  # retrying the same window never helps
            failed = ts_fetch(sim, token, start_epoch_time_in_millis=ms(start), end_epoch_time_in_millis=ms(END))
            assert failed.status_code == 503 and failed.headers["Retry-After"] == "1"
            assert failed.json()["error"]["message"]["code"] == 10000
        halves = [
            ts_fetch(sim, token, start_epoch_time_in_millis=ms(a), end_epoch_time_in_millis=ms(b) - 1)
            for a, b in _split(start, END, 2)
        ]
        assert [r.status_code for r in halves] == [503, 503]
        ids: set[str] = set()
        for a, b in _split(start, END, 4):  # 6 h windows: not longer than the threshold
            ids |= {
                e["id"]
                for e in ts_logs(
                    ts_fetch(sim, token, start_epoch_time_in_millis=ms(a), end_epoch_time_in_millis=ms(b) - 1)
                )
            }
        now_us = ms(sim.clock.now()) * 1000
        truth = sim.timeline.records_between(ms(start) * 1000, ms(END) * 1000 - 1, now_us)
        assert ids and ids == {r.event_id for r in truth if r.event_id}
        log = sim.request_log
    assert [e["fault"] for e in log if e["status"] == 503] == ["window 503"] * 5
    assert all(e["fault"] is None for e in log if e["status"] == 200)


def test_thoughtspot_slow_long_windows_time_out_and_halves_do_not():
    plan = FaultPlan(slow_windows_longer_than=timedelta(hours=12), window_slow_seconds=1.5)
    with ThoughtSpotSimulator(
        history=HistoryConfig(seed=4, days=2, events_per_day=100), late_minutes=0, faults=plan
    ) as sim:
        token = ts_token(sim, validity_time_in_sec=3600)
        start = END - timedelta(hours=24)
        with pytest.raises(requests.Timeout):
            requests.post(
                sim.base_url + LOGS_PATH,
                json={
                    "log_type": "SECURITY_AUDIT",
                    "start_epoch_time_in_millis": ms(start),
                    "end_epoch_time_in_millis": ms(END),
                },
                headers={"Authorization": f"Bearer {token}"},
                timeout=0.5,
            )
        started = time.perf_counter()
        for a, b in _split(start, END, 2):
            assert (
                ts_fetch(sim, token, start_epoch_time_in_millis=ms(a), end_epoch_time_in_millis=ms(b) - 1).status_code
                == 200
            )
        assert time.perf_counter() - started < 1.0
        time.sleep(1.2)  # let the stalled request finish so it is logged
        assert "window slow" in [e["fault"] for e in sim.request_log]


def test_mode_long_windows_fail_on_every_page_in_modes_error_shape():
    plan = FaultPlan(fail_windows_longer_than=timedelta(hours=1), window_fail_status=500)
    with ModeSimulator(history=HistoryConfig(seed=4, days=2, events_per_day=200), faults=plan, page_size=5) as sim:
        now = sim.clock.now()
        long = mode_get(sim, start_timestamp=(now - timedelta(hours=3)).isoformat(), end_timestamp=now.isoformat())
        assert long.status_code == 500 and long.json()["id"] == "internal_server_error"
        short = mode_get(sim, start_timestamp=(now - timedelta(hours=1)).isoformat(), end_timestamp=now.isoformat())
        assert short.status_code == 200


def test_window_fault_options_are_validated():
    with pytest.raises(ValueError, match="timedelta"):
        FaultPlan(slow_windows_longer_than=3600)
    with pytest.raises(ValueError, match="5xx"):
        FaultPlan(fail_windows_longer_than=timedelta(hours=1), window_fail_status=429)
