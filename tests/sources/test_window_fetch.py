"""Splitting failing windows and fetching several at once, in order (no HTTP)."""

from __future__ import annotations

import threading
import time
from datetime import datetime, timedelta, timezone

import pytest

from pipelines.sources.common.errors import SourceError, WindowUnavailable
from pipelines.sources.common.window_fetch import check_fetch_settings, fetch_in_order, fetch_splitting
from pipelines.sources.common.windows import RunBounds, Window, plan_windows

T0 = datetime(2026, 11, 1, tzinfo=timezone.utc)
DAY = Window(T0, T0 + timedelta(hours=24))


def test_a_window_the_vendor_keeps_failing_on_is_halved_until_it_answers():
    asked: list[Window] = []

    def fetch(window: Window) -> list[Window]:
        asked.append(window)
        if window.end - window.start > timedelta(hours=6):
            raise WindowUnavailable("HTTP 504 after retries")
        return [window]

    parts = fetch_splitting(fetch, DAY, floor=timedelta(minutes=15))
    assert [p.end - p.start for p in parts] == [timedelta(hours=6)] * 4
    assert parts[0].start == DAY.start and parts[-1].end == DAY.end
    assert all(a.end == b.start for a, b in zip(parts, parts[1:]))  # nothing skipped
    assert len(asked) == 1 + 2 + 4


def test_at_the_floor_the_window_fails_and_is_never_skipped():
    def fetch(window: Window) -> list[Window]:
        raise WindowUnavailable("timed out")

    with pytest.raises(WindowUnavailable) as failed:
        fetch_splitting(fetch, Window(T0, T0 + timedelta(hours=1)), floor=timedelta(minutes=15))
    assert "15-minute floor" in str(failed.value) and "cursor did not move" in str(failed.value)


def test_other_errors_are_not_split():
    calls = []

    def fetch(window: Window) -> list[Window]:
        calls.append(window)
        raise SourceError("HTTP 403")

    with pytest.raises(SourceError, match="403"):
        fetch_splitting(fetch, DAY)
    assert len(calls) == 1


def test_windows_come_back_in_order_with_several_in_flight():
    windows = plan_windows(T0, T0 + timedelta(hours=8), timedelta(hours=1))
    running, peak = [0], [0]
    lock = threading.Lock()

    def fetch(window: Window) -> Window:
        with lock:
            running[0] += 1
            peak[0] = max(peak[0], running[0])
        time.sleep(0.05 if window is windows[0] else 0.01)  # the first is the slow one
        with lock:
            running[0] -= 1
        return window

    assert [w for w, _ in fetch_in_order(windows, fetch, concurrency=4)] == windows
    assert 2 <= peak[0] <= 4


def test_a_failure_yields_every_window_before_it_and_nothing_after():
    windows = plan_windows(T0, T0 + timedelta(hours=6), timedelta(hours=1))

    def fetch(window: Window) -> Window:
        if window is windows[2]:
            raise SourceError("window 3 failed")
        return window

    done = []
    with pytest.raises(SourceError, match="window 3"):
        for window, _ in fetch_in_order(windows, fetch, concurrency=3):
            done.append(window)
    assert done == windows[:2]


def test_settings_are_checked_naming_the_variable():
    assert check_fetch_settings("SOURCES__X__", 4, 15) == (4, timedelta(minutes=15))
    with pytest.raises(SourceError, match="SOURCES__X__CONCURRENT_WINDOWS"):
        check_fetch_settings("SOURCES__X__", 0, 15)
    with pytest.raises(SourceError, match="SOURCES__X__MIN_WINDOW_MINUTES"):
        check_fetch_settings("SOURCES__X__", 2, 0)
    bounds = RunBounds.parse("X", 0, "O", None, None, None, None, "6", "SOURCES__X__WINDOW_HOURS")
    assert bounds.window == timedelta(hours=6)
    with pytest.raises(SourceError, match="SOURCES__X__WINDOW_HOURS must be between"):
        RunBounds.parse("X", 0, "O", None, None, None, None, 25, "SOURCES__X__WINDOW_HOURS")
