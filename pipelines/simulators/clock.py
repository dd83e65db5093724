"""A simulator clock: real UTC time plus an adjustable offset, so tests can move time forward."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta, timezone


class SimClock:
    """`now()` is the real UTC time shifted by `offset`; `advance()` moves it on (thread-safe)."""

    def __init__(self, offset: timedelta | None = None) -> None:
        self._offset = offset if offset is not None else timedelta(0)
        self._lock = threading.Lock()

    @property
    def offset(self) -> timedelta:
        with self._lock:
            return self._offset

    def now(self) -> datetime:
        with self._lock:
            offset = self._offset
        return datetime.now(timezone.utc) + offset

    def advance(self, delta: timedelta) -> datetime:
        """Move the clock forward by `delta` (negative moves it back) and return the new now."""
        with self._lock:
            self._offset += delta
        return self.now()

    def __repr__(self) -> str:
        return f"SimClock(offset={self.offset!r})"
