"""Fault injection shared by both simulators.

Two ways to get a fault:
- random: `error_rate`, `drop_rate` and `slow_rate` are per-request probabilities (seeded, so a run repeats);
- scripted: `fail_next(kind, count)` queues faults for the next `count` data requests.

Window faults (`slow_windows_longer_than`, `fail_windows_longer_than`) depend on the request's time window instead:
every data request whose window is longer than the threshold is slowed (by `window_slow_seconds`, meant to exceed the
client's timeout) or answered with `window_fail_status`, every time, while shorter windows are served normally. A
client that splits a failing window in halves gets through; one that retries the same window never does.

All apply to the data endpoints only (ThoughtSpot `logs/fetch`, Mode `audit_logs`), never to the ThoughtSpot
token endpoint, unless `include_token_endpoint=True`: a client's retry logic is exercised where it matters and a
test can still obtain a token deterministically.
"""

from __future__ import annotations

import random
import threading
from collections import deque
from dataclasses import dataclass, field
from datetime import timedelta

FAULT_KINDS = (429, 500, 503, "drop", "slow")


@dataclass(frozen=True)
class Fault:
    """One fault to apply to one request. `kind` is an HTTP status (int) or "drop" / "slow"."""

    kind: int | str
    retry_after_seconds: int = 1
    slow_seconds: float = 0.5

    @property
    def status(self) -> int | None:
        return self.kind if isinstance(self.kind, int) else None


@dataclass
class FaultPlan:
    error_rate: float = 0.0
    statuses: tuple[int, ...] = (429, 500, 503)
    retry_after_seconds: int = 1
    drop_rate: float = 0.0
    slow_rate: float = 0.0
    slow_seconds: float = 0.5
    seed: int = 0
    include_token_endpoint: bool = False
    slow_windows_longer_than: timedelta | None = None
    window_slow_seconds: float = 5.0
    fail_windows_longer_than: timedelta | None = None
    window_fail_status: int = 503
    _queue: deque = field(default_factory=deque, init=False, repr=False, compare=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False, compare=False)
    _rng: random.Random = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        for name in ("error_rate", "drop_rate", "slow_rate"):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"FaultPlan.{name}={value!r} is not a probability: use a value between 0 and 1")
        bad = [s for s in self.statuses if not (isinstance(s, int) and 400 <= s <= 599)]
        if bad or not self.statuses:
            raise ValueError(f"FaultPlan.statuses={self.statuses!r}: give one or more HTTP error statuses (400-599)")
        for name in ("slow_windows_longer_than", "fail_windows_longer_than"):
            value = getattr(self, name)
            if value is not None and (not isinstance(value, timedelta) or value < timedelta(0)):
                raise ValueError(f"FaultPlan.{name}={value!r}: give a timedelta of 0 or more, or None (off)")
        if not 500 <= self.window_fail_status <= 599:
            raise ValueError(f"FaultPlan.window_fail_status={self.window_fail_status}: use a 5xx status")
        if self.window_slow_seconds < 0:
            raise ValueError(f"FaultPlan.window_slow_seconds={self.window_slow_seconds} must be 0 or more")
        self._rng = random.Random(self.seed)

    def fail_next(self, kind: int | str, count: int = 1) -> None:
        """Queue `kind` (429 | 500 | 503 | any 4xx/5xx | "drop" | "slow") for the next `count` data requests."""
        if not (kind in ("drop", "slow") or (isinstance(kind, int) and 400 <= kind <= 599)):
            raise ValueError(f"fault kind {kind!r} is unknown: use one of {FAULT_KINDS} or another HTTP error status")
        if count < 1:
            raise ValueError(f"fail_next count={count} must be at least 1")
        with self._lock:
            self._queue.extend([kind] * count)

    def pending(self) -> int:
        """How many scripted faults are still queued."""
        with self._lock:
            return len(self._queue)

    def clear(self) -> None:
        with self._lock:
            self._queue.clear()

    def next_fault(self, token_endpoint: bool = False) -> Fault | None:
        """The fault for the request being served now, or None. Called once per request by the servers."""
        if token_endpoint and not self.include_token_endpoint:
            return None
        with self._lock:
            if self._queue:
                kind = self._queue.popleft()
            else:
                kind = self._draw_random()
        if kind is None:
            return None
        return Fault(kind, self.retry_after_seconds, self.slow_seconds)

    def window_fault(self, window: timedelta) -> Fault | None:
        """The fault for a data request over a window this long (a failure wins over slowness), or None."""
        if self.fail_windows_longer_than is not None and window > self.fail_windows_longer_than:
            return Fault(self.window_fail_status, self.retry_after_seconds)
        if self.slow_windows_longer_than is not None and window > self.slow_windows_longer_than:
            return Fault("slow", self.retry_after_seconds, self.window_slow_seconds)
        return None

    def _draw_random(self) -> int | str | None:
        # Always consume the same draws so one fault kind's rate does not shift another's sequence.
        drop, error, slow, pick = (self._rng.random() for _ in range(4))
        if drop < self.drop_rate:
            return "drop"
        if error < self.error_rate:
            return self.statuses[int(pick * len(self.statuses)) % len(self.statuses)]
        if slow < self.slow_rate:
            return "slow"
        return None
