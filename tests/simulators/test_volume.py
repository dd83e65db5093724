"""Benchmark-scale behaviour, kept small enough for the suite: 1M-events/30-days density, one day generated.

How fast the simulator generates and serves is measured by bench/bench_simulator.py, not asserted here.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from pipelines.simulators import HistoryConfig, ThoughtSpotSimulator
from pipelines.simulators.thoughtspot_history import ThoughtSpotTimeline

from .conftest import ms, ts_fetch, ts_token

BENCH_DENSITY = 33_334  # 1,000,000 events over 30 days


def test_a_day_at_benchmark_density_has_the_configured_volume():
    end = datetime.now(timezone.utc)
    timeline = ThoughtSpotTimeline(HistoryConfig(seed=1, days=30, events_per_day=BENCH_DENSITY, end=end), end, 30)
    records = timeline._day_records(timeline.first_day + 5)
    assert len(records) >= BENCH_DENSITY


def test_a_full_24h_window_at_benchmark_density_is_served_the_same_twice():
    with ThoughtSpotSimulator(
        history=HistoryConfig(seed=2, days=3, events_per_day=BENCH_DENSITY), late_minutes=0
    ) as sim:
        token = ts_token(sim)
        end = datetime.now(timezone.utc) - timedelta(hours=1)
        window = dict(start_epoch_time_in_millis=ms(end - timedelta(hours=24)), end_epoch_time_in_millis=ms(end))
        first = ts_fetch(sim, token, **window)  # generates the two days it touches
        second = ts_fetch(sim, token, **window)  # served from the generated days
    assert first.status_code == second.status_code == 200
    assert len(second.json()) > 30_000
    assert first.content == second.content
