"""The storage and window queries both products' histories share; generated lazily one UTC day at a time.

Design (why it is shaped like this):
- Volume goes up to millions of events, so a day is generated only when a request touches it, kept
  pre-serialised (bytes, exactly as served) in arrays sorted by time, and cached in a bounded LRU.
  A request window is then a bisect and a join, not a scan.
- Each UTC day is seeded from (seed, product, day number) alone, so the same seed gives the same ids and
  payloads whatever `end` is, and two simulators with overlapping histories agree on the overlap.
- Planted scenarios (compliance findings with known ground truth) are generated once, merged into their days,
  and never made malformed. `HistoryConfig.malformed_every` only corrupts background events.

Every record has a filter time (ThoughtSpot `date`, Mode `timestamp`) and a reveal time (filter time plus a
deterministic delay up to `late_minutes`): it is served only once the simulator clock has reached its reveal time.
"""

from __future__ import annotations

import bisect
import gc
import random
import threading
from array import array
from collections import OrderedDict
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any, NamedTuple

from .event_vocabulary import BUSINESS_HOURS_UTC
from .history_primitives import DAY_US, HOUR_US, MINUTE_US, US, HistoryConfig, day_seed, iso_us, to_us


class Record(NamedTuple):
    time_us: int  # ThoughtSpot `date` / Mode `timestamp`, the field windows filter on
    reveal_us: int  # visible once clock >= reveal_us
    payload: bytes  # the array element exactly as served
    event_id: str | None  # None for malformed records (not expected from a perfect client)
    org: int  # ThoughtSpot orgId (0 for Mode)
    keys: tuple | None  # Mode filter values (mode.FILTERS order); None for ThoughtSpot
    seq: int  # insertion order for runtime-added events; -1 for generated history


class _Chunk:
    __slots__ = ("times", "records")

    def __init__(self, records: list[Record]) -> None:
        records.sort(key=lambda r: r.time_us)
        self.records = records
        self.times = array("q", (r.time_us for r in records))

    def between(self, start_us: int, end_us: int) -> list[Record]:
        lo = bisect.bisect_left(self.times, start_us)
        hi = bisect.bisect_right(self.times, end_us)
        return self.records[lo:hi]


# ---------------------------------------------------------------------------------------------------------------
# Timeline: day chunks (lazy, cached) + planted scenario records + events added at runtime
# ---------------------------------------------------------------------------------------------------------------


class Timeline:
    """Storage and window queries shared by both products. Subclasses generate one UTC day of records."""

    product = "abstract"

    def __init__(self, history: HistoryConfig, end: datetime, late_minutes: float) -> None:
        self.history = history
        self.late_minutes = late_minutes
        self.end_us = to_us(end)
        self.start_us = self.end_us - history.days * DAY_US
        self.first_day = self.start_us // DAY_US
        self.last_day = self.end_us // DAY_US
        self._cache: OrderedDict[int, _Chunk] = OrderedDict()
        # Keep about 200k records in memory whatever the daily volume (at least 3 days: a window spans 2).
        self._cache_days = max(3, 200_000 // max(1, history.events_per_day))
        self._lock = threading.RLock()
        self._added: list[Record] = []  # sorted by time
        self._added_times: list[int] = []
        self._added_seq = 0
        self._add_calls = 0
        self._scenario_by_day: dict[int, list[Record]] = {}
        self.scenarios: dict[str, Any] = {}

    # -- generation hooks ---------------------------------------------------------------------------------------
    def _generate_day(self, day: int) -> list[Record]:
        raise NotImplementedError

    def _random_record(self, rng: random.Random, time_us: int, seq: int) -> Record:
        raise NotImplementedError

    # -- storage ------------------------------------------------------------------------------------------------
    def plant(self, records: Iterable[Record]) -> None:
        for record in records:
            if not (self.start_us <= record.time_us <= self.end_us):
                raise AssertionError(f"planted {self.product} event outside the history: {iso_us(record.time_us)}")
            self._scenario_by_day.setdefault(record.time_us // DAY_US, []).append(record)

    def _day_chunk(self, day: int) -> _Chunk:
        with self._lock:
            chunk = self._cache.get(day)
            if chunk is not None:
                self._cache.move_to_end(day)
                return chunk
            records = self._day_records(day)
            chunk = _Chunk(records)
            self._cache[day] = chunk
            while len(self._cache) > self._cache_days:
                self._cache.popitem(last=False)
            return chunk

    def _day_records(self, day: int) -> list[Record]:
        # Generated records hold no reference cycles: pausing the cyclic GC saves it scanning 10^5 new tuples.
        was_enabled = gc.isenabled()
        gc.disable()
        try:
            records = [r for r in self._generate_day(day) if self.start_us <= r.time_us <= self.end_us]
        finally:
            if was_enabled:
                gc.enable()
        records.extend(self._scenario_by_day.get(day, ()))
        return records

    def records_between(self, start_us: int, end_us: int, as_of_us: int, max_seq: int | None = None) -> list[Record]:
        """Records with start <= time <= end (both inclusive) revealed at `as_of_us`.

        `max_seq` excludes runtime-added records added after a paging snapshot was taken.
        """
        start_us = max(start_us, self.start_us)
        out: list[Record] = []
        if start_us <= end_us:
            for day in range(max(start_us // DAY_US, self.first_day), min(end_us // DAY_US, self.last_day) + 1):
                out.extend(r for r in self._day_chunk(day).between(start_us, end_us) if r.reveal_us <= as_of_us)
        with self._lock:
            lo = bisect.bisect_left(self._added_times, start_us)
            hi = bisect.bisect_right(self._added_times, end_us)
            added = self._added[lo:hi]
        out.extend(r for r in added if r.reveal_us <= as_of_us and (max_seq is None or r.seq < max_seq))
        return out

    def all_records(self, as_of_us: int) -> Iterable[Record]:
        """Every record (generated, planted, added) revealed at `as_of_us`, day by day without filling the cache."""
        for day in range(self.first_day, self.last_day + 1):
            with self._lock:
                chunk = self._cache.get(day)
            records = chunk.records if chunk is not None else self._day_records(day)
            yield from (r for r in records if r.reveal_us <= as_of_us)
        with self._lock:
            added = list(self._added)
        yield from (r for r in added if r.reveal_us <= as_of_us)

    def add_record(self, record: Record) -> None:
        with self._lock:
            index = bisect.bisect_right(self._added_times, record.time_us)
            self._added_times.insert(index, record.time_us)
            self._added.insert(index, record)

    def next_seq(self) -> int:
        with self._lock:
            self._added_seq += 1
            return self._added_seq

    @property
    def current_seq(self) -> int:
        with self._lock:
            return self._added_seq

    def add_events(self, count: int, start: datetime, end: datetime) -> list[str]:
        """Append `count` new valid background-like events with times spread over [start, end]."""
        start_us, end_us = to_us(start), to_us(end)
        if count < 0 or end_us < start_us:
            raise ValueError(f"add_events(count={count}, start={start}, end={end}): need count >= 0 and start <= end")
        with self._lock:
            self._add_calls += 1
            rng = random.Random(day_seed(self.history.seed, f"{self.product}:added", self._add_calls))
        ids: list[str] = []
        for time_us in sorted(rng.randint(start_us, end_us) for _ in range(count)):
            record = self._random_record(rng, time_us, self.next_seq())
            self.add_record(record)
            if record.event_id is not None:  # added events are never malformed
                ids.append(record.event_id)
        return ids

    # -- per-day framing ------------------------------------------------------------------------------------------
    def _day_times(self, rng: random.Random, day: int, kinds: list[str], office_hours: frozenset) -> list[int]:
        """One time per event in the UTC day; administrative work (`office_hours` kinds) inside business hours."""
        day_us = day * DAY_US
        open_us, close_us = BUSINESS_HOURS_UTC[0] * HOUR_US, BUSINESS_HOURS_UTC[1] * HOUR_US
        rand = rng.random
        office_us = close_us - open_us
        return [
            day_us + (open_us + int(rand() * office_us) if kind in office_hours else int(rand() * DAY_US))
            for kind in kinds
        ]

    @staticmethod
    def _weekday_work(
        rng: random.Random, day: int, kinds: list[str], office: frozenset, draw: Callable[[], str]
    ) -> list[str]:
        """On Saturdays and Sundays (UTC) nobody does administrative work in the background: those draws are
        redrawn from the rest of the vocabulary (the planted off-hours findings are added separately)."""
        if (day + 3) % 7 < 5:  # 1970-01-01, day 0, was a Thursday (isoweekday 4)
            return kinds
        out = []
        for kind in kinds:
            while kind in office:
                kind = draw()
            out.append(kind)
        return out

    def _is_malformed(self, day: int, index: int) -> int:
        """0 if valid, else 1 + the malformation variant number."""
        every = self.history.malformed_every
        if not every:
            return 0
        ordinal = day * self.history.events_per_day + index
        if (ordinal + 1) % every:
            return 0
        return 1 + (ordinal // every)

    def _clamp(self, moment_us: int) -> int:
        """Keep a planted event inside the history and visible from the start (matters for 1-2 day histories,
        where the scenarios still exist but their relative order is not guaranteed)."""
        latest = self.end_us - 2 * US - int(self.late_minutes * MINUTE_US)
        return max(self.start_us + 1, min(moment_us, latest))

    def _anchor(self, fraction: float, hour: int | None = None, minute: int = 0) -> int:
        """A moment `fraction` of the way back through the history (capped to the 30-day horizon), at least
        two hours plus the late-reveal maximum before the end so planted events are visible from the start."""
        span = min(self.end_us - self.start_us, 29 * DAY_US)
        latest = self.end_us - 2 * HOUR_US - int(self.late_minutes * MINUTE_US)
        moment = min(self.end_us - int(span * fraction), latest)
        if hour is not None:
            candidate = (moment // DAY_US) * DAY_US + hour * HOUR_US + minute * MINUTE_US
            if candidate > latest:
                candidate -= DAY_US
            moment = max(candidate, self.start_us + HOUR_US)
        return max(moment, self.start_us + 1)
