"""A simulator clock: real UTC time plus an adjustable offset, so tests can move time forward."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta


class SimClock:
    """`now()` is the real UTC time shifted by `offset`; `advance()` moves it on (thread-safe)."""

    def __init__(self, offset: timedelta | float | None = None) -> None:
        if offset is None:
            offset = timedelta(0)
        elif not isinstance(offset, timedelta):
            offset = timedelta(seconds=offset)  # plain numbers are seconds
        self._offset = offset
        self._lock = threading.Lock()

    @property
    def offset(self) -> timedelta:
        with self._lock:
            return self._offset

    def now(self) -> datetime:
        with self._lock:
            offset = self._offset
        return datetime.now(UTC) + offset

    def advance(self, delta: timedelta) -> datetime:
        """Move the clock forward by `delta` (negative moves it back) and return the new now."""
        if not isinstance(delta, timedelta):
            delta = timedelta(seconds=delta)
        with self._lock:
            self._offset += delta
        return self.now()

    def __repr__(self) -> str:
        return f"SimClock(offset={self.offset!r})"
