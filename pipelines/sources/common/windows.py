"""UTC instants and request windows: what a run reads, and in which pieces.

Both vendors filter on an inclusive [start, end] range; a window never exceeds the vendor's limit
(24 h for ThoughtSpot's logs/fetch).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

from pipelines import settings
from pipelines.sources.common.errors import SourceError

EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


def as_utc(value: datetime | str | None) -> datetime | None:
    """A datetime or ISO-8601 text as an aware UTC datetime; naive values are read as UTC."""
    if value is None:
        return None
    if isinstance(value, str):
        return settings.parse_utc(value)
    if value.tzinfo is None:
        return value.replace(tzinfo=timezone.utc)
    return value.astimezone(timezone.utc)


def to_epoch_ms(moment: datetime) -> int:
    return (moment - EPOCH) // timedelta(milliseconds=1)


def iso_z(moment: datetime) -> str:
    """UTC ISO-8601 with a Z suffix and microseconds, e.g. 2026-11-01T00:00:00.000000Z."""
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


@dataclass(frozen=True)
class Window:
    start: datetime  # inclusive
    end: datetime  # inclusive


def plan_windows(start: datetime, end: datetime, max_length: timedelta = settings.MAX_WINDOW) -> list[Window]:
    """Consecutive windows of at most `max_length` covering [start, end].

    Adjacent windows share their boundary instant (both bounds are inclusive at the vendor):
    an event exactly on it is read twice and absorbed by the id dedupe, never lost.
    """
    if max_length <= timedelta(0):
        raise ValueError("max_length must be positive")
    windows = []
    cursor = start
    while cursor < end:
        window_end = min(cursor + max_length, end)
        windows.append(Window(cursor, window_end))
        cursor = window_end
    return windows


def parse_bound(value: datetime | str | None, name: str) -> datetime | None:
    """A `since`/`until`/`start` argument as UTC; a bad value is a SourceError naming the argument."""
    try:
        return as_utc(value)
    except ValueError as exc:
        raise SourceError(f"{name}: {exc}") from None


def check_reread_range(
    product: str, since: datetime, until: datetime | None, now: datetime, retention: timedelta | None
) -> None:
    """Refuse a re-read the vendor cannot serve: reversed bounds, or older than its retention."""
    end = until or now
    if since > end:
        what = f"until ({iso_z(until)})" if until else f"now ({iso_z(now)})"
        raise SourceError(f"since ({iso_z(since)}) is after {what}: pass a since earlier than until")
    if retention is not None and since < now - retention:
        earliest = now - retention
        raise SourceError(
            f"since ({iso_z(since)}) is older than {product}'s {retention.days}-day retention: events before "
            f"{iso_z(earliest)} can no longer be read; pass a since on or after that"
        )


@dataclass(frozen=True)
class RunBounds:
    """A source run's arguments, checked.

    overlap: how far before the saved cursor an incremental run starts again (late events).
    first_start: first-run backfill start (default AUDITLAKE_START, else the vendor retention ago).
    until: end of the last window (default now, UTC); tests pin it to a simulator's clock.
    retention: reads never start before fetch time minus this (the vendor no longer holds older events,
        so claiming coverage of them would be false).
    since: re-read [since, until or now] instead of continuing from the cursor (a backfill): the cursor
        and overlap state are left untouched, every event read is emitted (the merge keeps loaded rows
        as they are; the runner counts them after the load), and each window read gets its
        ingest_windows row. Refused when after until or older than the vendor's retention.
    """

    overlap: timedelta
    first_start: datetime | None
    until: datetime | None
    since: datetime | None
    retention: timedelta | None = None  # how long the vendor keeps events; None: not documented
    window: timedelta = settings.MAX_WINDOW  # the longest request window
    # When the run was asked for: retention is judged once, so every org of a run gets the same windows.
    asked_at: datetime = field(default_factory=settings.utc_now, compare=False)
    # Batching by the runner (commit every N windows): read at most this many windows per instance and org...
    max_windows: int | None = None
    # ...and continue exactly at the saved cursor, without the overlap re-read the batch before already did.
    resume: bool = False

    @classmethod
    def parse(
        cls,
        product: str,
        overlap_minutes: int,
        overlap_variable: str,
        start: datetime | str | None,
        until: datetime | str | None,
        since: datetime | str | None,
        retention: timedelta | None,
        window_hours: float = 24,
        window_variable: str = "window_hours",
        max_windows: int | None = None,
        resume: bool = False,
    ) -> RunBounds:
        try:
            window = timedelta(hours=float(window_hours))
        except (TypeError, ValueError):
            raise SourceError(f"{window_variable} must be a number of hours (got {window_hours!r})") from None
        if not timedelta(minutes=1) <= window <= settings.MAX_WINDOW:
            raise SourceError(
                f"{window_variable} must be between 1/60 and 24 hours: the vendor serves at most "
                f"24 hours per request (got {window_hours!r})"
            )
        if overlap_minutes < 0:
            raise SourceError(f"{overlap_variable} must be zero or positive (got {overlap_minutes})")
        bounds = cls(
            overlap=timedelta(minutes=overlap_minutes),
            first_start=parse_bound(start, "start"),
            until=parse_bound(until, "until"),
            since=parse_bound(since, "since"),
            retention=retention,
            window=window,
            max_windows=None if max_windows is None else max(1, int(max_windows)),
            resume=bool(resume),
        )
        if bounds.since is not None:
            check_reread_range(product, bounds.since, bounds.until, settings.utc_now(), retention)
        return bounds


def within_retention(begin: datetime, retention: timedelta | None, now: datetime) -> tuple[datetime, datetime | None]:
    """(where reading can start, the horizon if `begin` had to move): never before now - retention."""
    if retention is None or begin >= now - retention:
        return begin, None
    return now - retention, now - retention
