"""ThoughtSpot's SIEM push, simulated: batches of the simulator's events to a receiver every few seconds.

What ThoughtSpot documents: "push the security audit events to the configured destination SIEM server at an interval
of every 5 seconds" through an HTTP or Splunk output. The wire format is undocumented; this sends what a Fluent Bit
sender would with the logs API's records (reference/push-receiver.md 1.4):
  hec   POST /services/collector/event, `Authorization: Splunk <token>`, no Content-Type,
        concatenated {"time": <epoch double>, "event": {"date", "log"}} objects
  http  POST /ingest, Basic auth (token as password), `[{"date", "log"}, ...]`, application/json
Optionally gzip. Delivery is at-least-once: 503, 408, 429, 5xx, timeouts and connection errors are retried with
dlt's backoff (honouring Retry-After) until they succeed; any other 4xx drops the batch (as Fluent Bit >= 3.1.8
does) and is counted.
"""

from __future__ import annotations

import base64
import gzip
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime

import requests
import tenacity

from .history_primitives import to_us
from .thoughtspot_api import ThoughtSpotSimulator
from .timeline import Record

PUSH_FORMATS = ("hec", "http")
RETRIED_STATUSES = frozenset({408, 429, 500, 502, 503, 504})
# The receiver answers 503 with Retry-After: 5 (honoured); a larger hint is capped so a batch is never parked for long.
MAX_RETRY_DELAY_SECONDS = 5.0


@dataclass
class PushStats:
    batches: int = 0
    acknowledged_ids: set[str] = field(default_factory=set)
    acknowledged_records: int = 0
    retries: int = 0
    dropped_batches: int = 0
    dropped_ids: set[str] = field(default_factory=set)
    statuses: dict[int, int] = field(default_factory=dict)
    latencies: list[float] = field(default_factory=list)  # seconds, one per acknowledged request


class ThoughtSpotPusher:
    """Pushes every record whose `date` falls in each new interval (and an optional backlog first)."""

    def __init__(
        self,
        simulator: ThoughtSpotSimulator,
        url: str,
        token: str,
        push_format: str = "hec",
        compress: bool = True,
        interval_seconds: float = 5.0,
        max_batch_records: int = 1000,
        timeout_seconds: float = 10.0,
        max_attempts: int | None = None,
        live_events_per_batch: int = 0,
    ) -> None:
        if push_format not in PUSH_FORMATS:
            raise ValueError(f"push_format={push_format!r}: use one of {PUSH_FORMATS}")
        self.simulator = simulator
        self.url = url.rstrip("/")
        self.token = token
        self.push_format = push_format
        self.compress = compress
        self.interval_seconds = interval_seconds
        self.max_batch_records = max_batch_records
        self.timeout_seconds = timeout_seconds
        self.max_attempts = max_attempts
        self.live_events_per_batch = live_events_per_batch
        self.stats = PushStats()
        self._session = requests.Session()
        self._pushed_until_us = to_us(simulator.clock.now())
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # -- what is sent ---------------------------------------------------------------------------------------------
    def body_for(self, records: list[Record]) -> tuple[bytes, dict[str, str]]:
        if self.push_format == "hec":
            body = b"".join(
                b'{"time":' + f"{r.time_us / 1e6:.6f}".encode() + b',"host":"thoughtspot","event":' + r.payload + b"}"
                for r in records
            )
            headers = {"Authorization": f"Splunk {self.token}", "User-Agent": "Fluent-Bit"}
            path = "/services/collector/event"
        else:
            body = b"[" + b",".join(r.payload for r in records) + b"]"
            basic = base64.b64encode(f"thoughtspot:{self.token}".encode()).decode()
            headers = {"Authorization": f"Basic {basic}", "Content-Type": "application/json"}
            path = "/ingest"
        if self.compress:
            body = gzip.compress(body, compresslevel=1)
            headers["Content-Encoding"] = "gzip"
        headers["X-Path"] = path
        return body, headers

    def send(self, records: list[Record]) -> bool:
        """One batch, retried until acknowledged (True) or dropped on a final 4xx / max_attempts / stop (False)."""
        if not records:
            return True
        body, headers = self.body_for(records)
        path = headers.pop("X-Path")
        try:
            response = self._retrying(records).wraps(self._attempt)(self.url + path, body, headers)
        except requests.RequestException:
            response = None  # the last attempt failed to connect, and no more are allowed
        if response is not None and response.status_code == 200:
            self.stats.batches += 1
            self.stats.acknowledged_records += len(records)
            self.stats.acknowledged_ids.update(r.event_id for r in records if r.event_id)
            return True
        self.stats.dropped_batches += 1
        self.stats.dropped_ids.update(r.event_id for r in records if r.event_id)
        return False

    def _attempt(self, url: str, body: bytes, headers: dict[str, str]) -> requests.Response:
        started = time.monotonic()
        try:
            response = self._session.post(url, data=body, headers=headers, timeout=self.timeout_seconds)
        except requests.RequestException:
            self.stats.statuses[0] = self.stats.statuses.get(0, 0) + 1  # the receiver may or may not have it
            raise
        status = response.status_code
        self.stats.statuses[status] = self.stats.statuses.get(status, 0) + 1
        if status == 200:
            self.stats.latencies.append(time.monotonic() - started)
        return response

    def _retrying(self, records: list[Record]) -> tenacity.Retrying:
        """dlt's retry policy (the one the sources' sessions use): exponential backoff that honours Retry-After;
        here with no attempt limit unless max_attempts is set, and cut short when the pusher is stopped."""
        from dlt.sources.helpers.requests.retry import retry_if_status, wait_exponential_retry_after

        stop: tenacity.stop.stop_base = tenacity.stop_any(tenacity.stop_when_event_set(self._stop))
        if self.max_attempts is not None:
            stop = tenacity.stop_any(stop, tenacity.stop_after_attempt(self.max_attempts))

        def count_retry(_: tenacity.RetryCallState) -> None:
            self.stats.retries += 1

        def pause(seconds: float) -> None:
            self._stop.wait(seconds)  # stop() interrupts a backoff at once

        return tenacity.Retrying(
            retry=tenacity.retry_any(
                retry_if_status(sorted(RETRIED_STATUSES)), tenacity.retry_if_exception_type(requests.RequestException)
            ),
            wait=wait_exponential_retry_after(multiplier=0.2, max=MAX_RETRY_DELAY_SECONDS),
            stop=stop,
            sleep=pause,
            before_sleep=count_retry,
            reraise=True,
            retry_error_callback=lambda state: state.outcome.result() if state.outcome else None,
        )

    # -- when it is sent ------------------------------------------------------------------------------------------
    def push_range(self, start: datetime, end: datetime) -> int:
        """Every record stored in [start, end] (ThoughtSpot's own 30-minute API latency does not apply to the push)."""
        start_us, end_us = to_us(start), to_us(end)
        records = sorted(self.simulator.timeline.records_between(start_us, end_us, 2**62), key=lambda r: r.time_us)
        for offset in range(0, len(records), self.max_batch_records):
            self.send(records[offset : offset + self.max_batch_records])
        return len(records)

    def push_new(self) -> int:
        """Records stored since the last call (plus `live_events_per_batch` new events made up now)."""
        now = self.simulator.clock.now()
        now_us = to_us(now)
        if now_us <= self._pushed_until_us:
            return 0  # the simulator's clock was moved back (the demo's past snapshots): nothing new yet
        if self.live_events_per_batch:
            start = datetime.fromtimestamp((self._pushed_until_us + 1) / 1e6, now.tzinfo)
            self.simulator.add_events(self.live_events_per_batch, start, now)
        start_us, self._pushed_until_us = self._pushed_until_us + 1, now_us
        return self.push_range(
            datetime.fromtimestamp(start_us / 1e6, now.tzinfo), datetime.fromtimestamp(now_us / 1e6, now.tzinfo)
        )

    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, name="thoughtspot-pusher", daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        while not self._stop.wait(self.interval_seconds):
            self.push_new()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=self.timeout_seconds * 2)
