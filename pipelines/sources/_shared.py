"""What the ThoughtSpot and Mode sources share: windows, dedupe state, Arrow batches, safety.

Nothing here knows about dbt, Dagster or the CLI: the sources run the same from `python -c`.
"""

from __future__ import annotations

import base64
import hashlib
import ipaddress
import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any, Iterable, Sequence
from urllib.parse import urlsplit

import dlt
import pyarrow as pa

from pipelines import settings
from pipelines.sources import raw_tables

# Per-window progress goes here; `pipelines.ingest` listens to it, a plain script can too.
progress_logger = logging.getLogger("auditlake.ingest")

_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


# --------------------------------------------------------------------------- errors


class SourceNotConfigured(Exception):
    """Credentials are absent: the source is skipped, not failed."""

    def __init__(self, source: str, variables: Sequence[str]):
        self.source = source
        self.variables = tuple(variables)
        super().__init__(f"{source}: not configured, skipped (set {', '.join(self.variables)})")


class SourceError(Exception):
    """A failure the operator can act on; the message names the problem and the fix, never a secret."""


# --------------------------------------------------------------------------- secrets


_secrets: set[str] = set()


def register_secret(*values: str | None) -> None:
    """Remember secret values so `scrub` can remove them from any text we show or log."""
    for value in values:
        if value and len(value) >= 4:
            _secrets.add(value)


def register_basic_auth(user: str | None, password: str | None) -> None:
    """A Basic header carries base64(user:password): scrub that form too."""
    if user and password:
        register_secret(user, password, base64.b64encode(f"{user}:{password}".encode()).decode())


def scrub(text: str) -> str:
    """Replace every registered secret in `text` with ***."""
    # Longest first so a secret that contains another is removed whole.
    for secret in sorted(_secrets, key=len, reverse=True):
        if secret in text:
            text = text.replace(secret, "***")
    return text


class _ScrubFilter(logging.Filter):
    """Removes secrets from log records (dlt logs request headers at DEBUG level)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if _secrets:
            message = record.getMessage()
            cleaned = scrub(message)
            if cleaned != message:
                record.msg, record.args = cleaned, None
        return True


class _ExpectedArrowHintFilter(logging.Filter):
    """Drops dlt's warning that our JSON column hints differ from the Arrow string type: that is by design."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        return not (
            "when merging arrow schema with dlt schema" in message
            and any(f"resource: {name}," in message for name in OUR_RESOURCES)
        )


OUR_RESOURCES = (raw_tables.THOUGHTSPOT_EVENTS_TABLE, raw_tables.MODE_EVENTS_TABLE)

for _logger_name in ("dlt", "auditlake"):
    logging.getLogger(_logger_name).addFilter(_ScrubFilter())
logging.getLogger("dlt").addFilter(_ExpectedArrowHintFilter())


# --------------------------------------------------------------------------- configuration checks


def require_safe_url(url: str, variable: str) -> str:
    """Refuse plain http:// except to loopback: credentials must not cross a network unencrypted."""
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise SourceError(f"{variable} must be an https:// URL (got a value without scheme or host)")
    if parts.username or parts.password:
        raise SourceError(f"{variable} must not contain credentials: put them in the secret variables")
    if parts.scheme == "http" and not is_loopback(parts.hostname):
        raise SourceError(
            f"{variable} uses plain http:// to {parts.hostname}: credentials would travel unencrypted; "
            "use https:// (plain http is allowed only for localhost / 127.0.0.1 / ::1)"
        )
    return url.strip().rstrip("/")


def is_loopback(host: str) -> bool:
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def host_with_port(url: str) -> str:
    """host[:port] of a URL, lower-cased: the ThoughtSpot source_instance."""
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    return f"{host}:{parts.port}" if parts.port else host


# --------------------------------------------------------------------------- time


def as_utc(value: datetime | str | None) -> datetime | None:
    if value is None:
        return None
    if isinstance(value, str):
        return settings.parse_utc(value)
    if value.tzinfo is None:
        return value.replace(tzinfo=timezone.utc)
    return value.astimezone(timezone.utc)


def to_epoch_ms(moment: datetime) -> int:
    return (moment - _EPOCH) // timedelta(milliseconds=1)


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
    windows = []
    cursor = start
    while cursor < end:
        window_end = min(cursor + max_length, end)
        windows.append(Window(cursor, window_end))
        cursor = window_end
    return windows


# --------------------------------------------------------------------------- incremental state


@dataclass
class InstanceState:
    """The per-instance cursor and the ids seen inside the overlap horizon, kept in dlt resource state.

    dlt commits resource state in the same load package as the rows, so the cursor only
    moves when the data it covers is loaded.
    """

    raw: dict[str, Any]
    overlap: timedelta
    seen: dict[str, int] = field(init=False)  # event id -> event time (epoch ms)

    def __post_init__(self) -> None:
        self.seen = dict(self.raw.get("seen") or {})

    @classmethod
    def for_instance(cls, source_instance: str, overlap: timedelta) -> "InstanceState":
        state = dlt.current.resource_state()
        instances = state.setdefault("instances", {})
        return cls(instances.setdefault(source_instance, {}), overlap)

    @property
    def cursor(self) -> datetime | None:
        value = self.raw.get("cursor")
        return settings.parse_utc(value) if value else None

    def first_window_start(self, backfill_start: datetime) -> datetime:
        cursor = self.cursor
        return backfill_start if cursor is None else cursor - self.overlap

    def window_done(self, window: Window) -> None:
        """Advance the cursor past a fully fetched window and forget ids older than the next overlap."""
        horizon = to_epoch_ms(window.end - self.overlap)
        self.seen = {event_id: at for event_id, at in self.seen.items() if at >= horizon}
        self.raw["cursor"] = iso_z(window.end)
        self.raw["seen"] = self.seen


# --------------------------------------------------------------------------- Arrow batches


def timestamps(values: Sequence[str | None]) -> tuple[pa.Array, list[int]]:
    """Parse ISO-8601 strings to UTC microsecond timestamps; return the array and the bad positions.

    The vectorised Arrow cast is the fast path; only when it fails do we look per value.
    Values without a zone offset are refused rather than guessed.
    """
    strings = pa.array(values, type=pa.string())
    try:
        parsed = strings.cast(raw_tables.TS_UTC)
        bad = [i for i, v in enumerate(values) if v is None]
        return parsed, bad
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        pass
    good: list[Any] = []
    bad = []
    for i, value in enumerate(values):
        try:
            good.append(pa.scalar(value, pa.string()).cast(raw_tables.TS_UTC).value if value is not None else None)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            good.append(None)
            bad.append(i)
        else:
            if value is None:
                bad.append(i)
    return pa.array(good, type=pa.int64()).cast(raw_tables.TS_UTC), bad


def constant_timestamp(moment: datetime, length: int) -> pa.Array:
    micros = (moment - _EPOCH) // timedelta(microseconds=1)
    return pa.array([micros] * length, type=pa.int64()).cast(raw_tables.TS_UTC)


@dataclass
class Quarantined:
    record: str
    reason: str

    @property
    def record_hash(self) -> str:
        return hashlib.sha256(self.record.encode()).hexdigest()


def unseen_quarantined(items: Iterable[Quarantined], seen: dict[str, int], window: Window) -> list[Quarantined]:
    """Drop quarantined records already counted in the overlap (keyed by hash; their own time is unknown)."""
    fresh = []
    at = to_epoch_ms(window.end)
    for item in items:
        key = "sha256:" + item.record_hash
        if key not in seen:
            seen[key] = at
            fresh.append(item)
    return fresh


def quarantine_table(source_instance: str, items: Iterable[Quarantined], window: Window, now: datetime) -> pa.Table:
    items = list(items)
    n = len(items)
    return pa.Table.from_arrays(
        [
            pa.array([source_instance] * n, pa.string()),
            pa.array([q.record_hash for q in items], pa.string()),
            pa.array([q.record for q in items], pa.string()),
            pa.array([q.reason for q in items], pa.string()),
            constant_timestamp(window.start, n),
            constant_timestamp(window.end, n),
            constant_timestamp(now, n),
        ],
        schema=raw_tables.QUARANTINE_SCHEMA,
    )


@dataclass
class WindowStats:
    source: str
    source_instance: str
    window: Window
    fetched: int = 0
    new_events: int = 0
    duplicates: int = 0
    quarantined: int = 0

    def table(self, now: datetime) -> pa.Table:
        return pa.Table.from_pylist(
            [
                {
                    "source_instance": self.source_instance,
                    "window_start": self.window.start,
                    "window_end": self.window.end,
                    "fetched": self.fetched,
                    "new_events": self.new_events,
                    "duplicates": self.duplicates,
                    "quarantined": self.quarantined,
                    "fetched_at": now,
                }
            ],
            schema=raw_tables.WINDOWS_SCHEMA,
        )

    def report(self) -> None:
        progress_logger.info(
            "%s %s window %s .. %s: fetched %d, new %d, duplicates %d, quarantined %d",
            self.source,
            self.source_instance,
            self.window.start.strftime("%Y-%m-%dT%H:%M:%SZ"),
            self.window.end.strftime("%Y-%m-%dT%H:%M:%SZ"),
            self.fetched,
            self.new_events,
            self.duplicates,
            self.quarantined,
            extra={"window_stats": self},
        )


def dedupe(ids: Sequence[str], event_ms: Sequence[int], seen: dict[str, int]) -> list[bool]:
    """Mark rows whose id is new (not seen in the overlap horizon nor earlier in this batch); record them."""
    keep = []
    for event_id, at in zip(ids, event_ms):
        if event_id in seen:
            keep.append(False)
        else:
            seen[event_id] = at
            keep.append(True)
    return keep


def epoch_ms_of(array: pa.Array) -> list[int]:
    """Epoch milliseconds of a UTC microsecond timestamp array (nulls -> 0)."""
    micros = array.cast(pa.int64()).fill_null(0).to_pylist()
    return [m // 1000 for m in micros]


def emit(table: pa.Table, table_name: str) -> Any:
    return dlt.mark.with_table_name(table, table_name)


INSERT_ONLY_MERGE = {"disposition": "merge", "strategy": "insert-only"}


def apply_table_hints(resource: Any, events_table: str) -> Any:
    """One resource feeds three tables; each table gets its own keys and write disposition."""
    # Audit records never change once written: "insert-only" merge adds rows whose key is new and leaves
    # loaded rows (and their _loaded_at) untouched; it also loads faster than delete-insert on DuckDB.
    resource.apply_hints(
        table_name=events_table,
        write_disposition=INSERT_ONLY_MERGE,
        primary_key=list(raw_tables.EVENT_KEY),
        columns={name: {"data_type": "json"} for name in raw_tables.JSON_COLUMNS[events_table]},
        create_table_variant=True,
    )
    resource.apply_hints(
        table_name=raw_tables.QUARANTINE_TABLE,
        write_disposition=INSERT_ONLY_MERGE,
        primary_key=list(raw_tables.QUARANTINE_KEY),
        create_table_variant=True,
    )
    resource.apply_hints(
        table_name=raw_tables.WINDOWS_TABLE,
        write_disposition="append",
        create_table_variant=True,
    )
    return resource


def utc_now() -> datetime:
    return datetime.now(timezone.utc)
