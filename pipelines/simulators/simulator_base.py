"""What both product simulators share above the HTTP plumbing: the history, its ground truth, and the fault answers.

A product simulator sets `timeline` (its history) in its constructor and implements `error(status, message,
headers)` in its vendor's error shape; the rest (expected ids, malformed records, added events, 429/5xx faults) is
the same for both and lives here.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from typing import Any

from .clock import SimClock
from .faults import Fault, FaultPlan
from .history_primitives import HistoryConfig, to_us
from .http_server import Response, SimulatorBase
from .timeline import Record, Timeline


class AuditLogSimulator(SimulatorBase):
    """A simulator that serves one product's `Timeline`. Subclasses set `timeline` and implement `error`."""

    timeline: Timeline
    # How far back the vendor keeps events at a given moment (None = forever); ground truth honours it.
    retention_us: int | None = None
    rate_limit_message = "Too many requests. Retry later."

    def __init__(
        self,
        history: HistoryConfig | None,
        faults: FaultPlan | None,
        clock: SimClock | None,
        host: str,
        port: int,
        late_minutes: float,
    ) -> None:
        super().__init__(faults, clock, host, port)
        if late_minutes < 0:
            raise ValueError(f"late_minutes={late_minutes} must be 0 (no late reveal) or more")
        self.history = history if history is not None else HistoryConfig()
        self.late_minutes = late_minutes
        # What a client must land for each vendor-published record served (empty unless include_vendor_samples).
        self.vendor_samples: list[dict[str, Any]] = []

    def history_end(self) -> datetime:
        """Where the history ends: `HistoryConfig.end`, else the clock's now at construction."""
        return self.history.end if self.history.end is not None else self.clock.now()

    def _plant_vendor_samples(self, build: Callable[[int, int, float], tuple[list[Record], list[dict]]]) -> None:
        records, self.vendor_samples = build(self.timeline.start_us, self.timeline.end_us, self.late_minutes)
        self.timeline.plant(records)

    def vendor_sample_ids(self) -> set[str]:
        return {sample["id"] for sample in self.vendor_samples}

    # -- ground truth -----------------------------------------------------------------------------------------------
    @property
    def scenarios(self) -> dict[str, Any]:
        return self.timeline.scenarios

    def _as_of_us(self, as_of: datetime | None) -> int:
        return to_us(as_of if as_of is not None else self.clock.now())

    def _visible(self, as_of: datetime | None, orgs: Iterable[int] | None = None) -> list[Record]:
        as_of_us = self._as_of_us(as_of)
        horizon = as_of_us - self.retention_us if self.retention_us is not None else None
        wanted = None if orgs is None else frozenset(orgs)
        return [
            r
            for r in self.timeline.all_records(as_of_us)
            if r.time_us <= as_of_us
            and (horizon is None or horizon <= r.time_us)
            and (wanted is None or r.org in wanted)
        ]

    def expected_event_ids(self, as_of: datetime | None = None, orgs: Iterable[int] | None = None) -> set[str]:
        """Ids of every valid event a perfect client could read at `as_of` (revealed, inside any retention),
        optionally only those of `orgs` (ThoughtSpot `orgId`, -1 = cluster-level; Mode records are all org 0)."""
        return {r.event_id for r in self._visible(as_of, orgs) if r.event_id is not None}

    def expected_event_ids_by_org(self, as_of: datetime | None = None) -> dict[int, set[str]]:
        out: dict[int, set[str]] = {}
        for record in self._visible(as_of):
            if record.event_id is not None:
                out.setdefault(record.org, set()).add(record.event_id)
        return out

    def malformed_records(self, as_of: datetime | None = None) -> list[str]:
        """The malformed items visible at `as_of`, verbatim as served (compact JSON of the array element/entry)."""
        return [r.payload.decode() for r in self._visible(as_of) if r.event_id is None]

    def add_events(self, count: int, start: datetime, end: datetime) -> list[str]:
        """Append `count` events with times in [start, end]; they obey late reveal like the rest."""
        return self.timeline.add_events(count, start, end)

    # -- vendor-shaped answers --------------------------------------------------------------------------------------
    def error(self, status: int, message: str, headers: dict[str, str] | None = None) -> Response:
        raise NotImplementedError

    def window_fault(self, window: timedelta) -> tuple[Response | None, str | None]:
        """Apply the FaultPlan's window faults to a data request over `window`: (a Response to send instead, i.e. a
        persistent 5xx, or None to serve it) and the fault name for the request log. A window to slow down sleeps
        here, then is served."""
        fault = self.faults.window_fault(window)
        if fault is None:
            return None, None
        if fault.kind == "slow":
            time.sleep(fault.slow_seconds)
            return None, "window slow"
        response = self.fault_response(fault)
        response.fault = f"window {fault.kind}"
        return response, response.fault

    def fault_response(self, fault: Fault) -> Response:
        retry_after = {"Retry-After": str(fault.retry_after_seconds)}
        if fault.kind == 429:
            return self.error(429, self.rate_limit_message, retry_after)
        status = fault.status or 500
        return self.error(
            status, f"Simulated server error {status}. Retry the request.", retry_after if status == 503 else None
        )
