"""Fetching windows: split a window the vendor keeps failing on, and fetch several at once, in order.

A window that times out or answers 5xx after dlt's retries is split in halves (down to a floor) and
never skipped: at the floor the run fails, nothing of that window is marked done, and the cursor stays
before it. Windows are fetched concurrently up to a bound so one slow window or a Retry-After does not
stall the run, but they are handed back strictly in order: the cursor only moves over a contiguous run
of finished windows, and a failure at window k leaves windows k, k+1, ... unclaimed.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import timedelta
from typing import TypeVar

from pipelines.sources.common.errors import SourceError, WindowUnavailable
from pipelines.sources.common.window_report import progress_logger
from pipelines.sources.common.windows import Window, iso_z

T = TypeVar("T")

DEFAULT_MIN_WINDOW = timedelta(minutes=15)
DEFAULT_CONCURRENT_WINDOWS = 4


def fetch_splitting(
    fetch: Callable[[Window], list[T]], window: Window, floor: timedelta = DEFAULT_MIN_WINDOW
) -> list[T]:
    """`fetch(window)`, or, when the vendor keeps failing on it, the concatenation of its halves' fetches.

    Halves share their middle instant (the vendors' bounds are inclusive): a record on it comes twice
    and the id dedupe keeps one.
    """
    try:
        return fetch(window)
    except WindowUnavailable as exc:
        half = (window.end - window.start) / 2
        if half < floor:
            raise WindowUnavailable(
                f"{exc}; the window {iso_z(window.start)} .. {iso_z(window.end)} already is at the "
                f"{int(floor.total_seconds() // 60)}-minute floor, so it was not split further. Nothing of it "
                "was loaded and the cursor did not move: retry later, or raise the REQUEST_TIMEOUT_SECONDS setting"
            ) from None
        middle = window.start + timedelta(seconds=int(half.total_seconds()))
        progress_logger.warning(
            "window %s .. %s failed (%s): fetching it in two halves",
            iso_z(window.start),
            iso_z(window.end),
            str(exc)[:200],
        )
        return fetch_splitting(fetch, Window(window.start, middle), floor) + fetch_splitting(
            fetch, Window(middle, window.end), floor
        )


def fetch_in_order(
    windows: Sequence[Window], fetch: Callable[[Window], T], concurrency: int = DEFAULT_CONCURRENT_WINDOWS
) -> Iterator[tuple[Window, T]]:
    """(window, fetch(window)) for each window in order, at most `concurrency` fetches in flight.

    On a failure the windows before it have been yielded and the error is raised; later fetches are
    cancelled or their results dropped.
    """
    if concurrency < 1:
        raise SourceError(f"concurrent windows must be at least 1 (got {concurrency})")
    if concurrency == 1 or len(windows) <= 1:
        for window in windows:
            yield window, fetch(window)
        return
    pool = ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="auditlake-window")
    pending: list[tuple[Window, Future[T]]] = []
    upcoming = iter(windows)
    try:
        for window in upcoming:
            pending.append((window, pool.submit(fetch, window)))
            if len(pending) >= concurrency:
                break
        while pending:
            window, future = pending.pop(0)
            result = future.result()
            following = next(upcoming, None)
            if following is not None:
                pending.append((following, pool.submit(fetch, following)))
            yield window, result
    finally:
        pool.shutdown(wait=False, cancel_futures=True)


def check_fetch_settings(prefix: str, concurrent_windows: int, min_window_minutes: float) -> tuple[int, timedelta]:
    """The concurrency bound and split floor as given, or a SourceError naming the variable to fix."""
    try:
        concurrency = int(concurrent_windows)
        floor = timedelta(minutes=float(min_window_minutes))
    except (TypeError, ValueError):
        raise SourceError(
            f"{prefix}CONCURRENT_WINDOWS must be a whole number and {prefix}MIN_WINDOW_MINUTES a "
            f"number (got {concurrent_windows!r}, {min_window_minutes!r})"
        ) from None
    if not 1 <= concurrency <= 16:
        raise SourceError(f"{prefix}CONCURRENT_WINDOWS must be between 1 and 16 (got {concurrent_windows!r})")
    if not timedelta(minutes=1) <= floor <= timedelta(hours=24):
        raise SourceError(f"{prefix}MIN_WINDOW_MINUTES must be between 1 and 1440 (got {min_window_minutes!r})")
    return concurrency, floor
