"""What the ThoughtSpot and Mode sources share: windows, dedupe state, Arrow batches, safety.

Nothing here knows about dbt, Dagster or the CLI: the sources run the same from `python -c`.
"""

from __future__ import annotations

import base64
import contextlib
import gc
import hashlib
import ipaddress
import logging
import threading
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any, Iterable, Iterator, Sequence
from urllib.parse import urlsplit

import dlt
import orjson
import pyarrow as pa
import pyarrow.compute as pc

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


_gc_lock = threading.Lock()
_gc_pausers = 0
_gc_was_enabled = False


@contextlib.contextmanager
def gc_paused() -> Iterator[None]:
    """Pause Python's cyclic garbage collector while a window is decoded and parsed.

    A window builds tens of thousands of small dicts that all stay alive until its Arrow table is
    built; the collector would rescan them again and again (measured: a third of parse time) and
    finds nothing, since JSON values have no cycles. Counted (and locked), so nested or concurrent
    users are safe; the collector's previous setting comes back when the last one leaves.
    """
    global _gc_pausers, _gc_was_enabled
    with _gc_lock:
        if _gc_pausers == 0:
            _gc_was_enabled = gc.isenabled()
            gc.disable()
        _gc_pausers += 1
    try:
        yield
    finally:
        with _gc_lock:
            _gc_pausers -= 1
            if _gc_pausers == 0 and _gc_was_enabled:
                gc.enable()


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


class WindowRun:
    """One run of a source over one instance: which windows to read and what in them is new.

    Incremental (no `since`): from the saved cursor minus the overlap (first run: `first_start`) to
    `until`/now; the cursor and the overlap ids live in dlt resource state and move with each window.

    Re-read (`since`): every window of [since, until/now], for backfilling a gap or restoring deleted
    rows. Resource state is neither read nor written, so the cursor and its overlap ids stay exactly
    as they were. Duplicates are counted honestly by asking the warehouse, at each window, which of
    its events are already loaded (`WarehouseLookup`); those are not loaded again, the rest are, and
    the insert-only merge on (source_instance, id) would absorb any repeat anyway.

    Must be created inside the resource function (dlt's resource state exists only during extract).
    """

    def __init__(
        self,
        source_instance: str,
        overlap: timedelta,
        events_table: str,
        time_column: str,
        first_start: datetime | None,
        since: datetime | None,
        until: datetime | None,
    ):
        self.source_instance = source_instance
        self.overlap = overlap
        self.time_column = time_column
        self.first_start = first_start
        self.since = since
        self.until = until
        self.reread = since is not None
        self._state: InstanceState | None = None
        self._run_seen: dict[str, int] = {}
        self._lookup = WarehouseLookup(events_table, time_column, source_instance) if self.reread else None
        self._known_hashes: set[str] | None = None
        if not self.reread:
            self._state = InstanceState.for_instance(source_instance, overlap)

    @property
    def seen(self) -> dict[str, int]:
        return self._run_seen if self._state is None else self._state.seen

    def windows(self) -> list[Window]:
        end = self.until or utc_now()
        if self._state is None:
            begin = self.since
        else:
            begin = self._state.first_window_start(self.first_start or settings.backfill_start(end))
        return plan_windows(begin, end)

    def new_events(self, table: pa.Table, window: Window) -> tuple[pa.Table, int]:
        """`table` without events seen before; returns (new events, duplicates)."""
        known = self._lookup.event_ids(window) if self._lookup is not None else None
        keep_from = to_epoch_ms(window.end - self.overlap)
        return drop_repeated(table, self.time_column, self.seen, known, keep_from)

    def new_quarantined(self, items: Iterable[Quarantined], window: Window) -> list[Quarantined]:
        if self._lookup is not None and self._known_hashes is None:
            self._known_hashes = self._lookup.quarantined_hashes()
        return unseen_quarantined(items, self.seen, window, self._known_hashes)

    def window_done(self, window: Window) -> None:
        if self._state is not None:
            self._state.window_done(window)
        else:  # a re-read only needs the ids a following window may serve again
            horizon = to_epoch_ms(window.end - self.overlap)
            self._run_seen = {key: at for key, at in self._run_seen.items() if at >= horizon}


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


def verbatim(record: Any) -> str:
    """A record as text for the quarantine: strings unchanged, anything else re-serialised as JSON."""
    if isinstance(record, str):
        return record
    try:
        return orjson.dumps(record).decode()
    except TypeError:
        return repr(record)


@dataclass
class Quarantined:
    record: str
    reason: str

    @property
    def record_hash(self) -> str:
        return hashlib.sha256(self.record.encode()).hexdigest()


def unseen_quarantined(
    items: Iterable[Quarantined], seen: dict[str, int], window: Window, known_hashes: set[str] | None = None
) -> list[Quarantined]:
    """Drop quarantined records already counted in the overlap (keyed by hash; their own time is unknown)
    or, in a re-read, already in the warehouse (`known_hashes`)."""
    fresh = []
    at = to_epoch_ms(window.end)
    for item in items:
        key = "sha256:" + item.record_hash
        if key not in seen and not (known_hashes and item.record_hash in known_hashes):
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


def new_event_mask(
    ids: pa.Array, event_ms: pa.Array, seen: dict[str, int], known: pa.Array | None, keep_from_ms: int
) -> tuple[pa.Array | None, int]:
    """Which rows are new events: not in `seen` (overlap horizon), not in `known` (already in the
    warehouse, re-read mode), not an earlier row of this batch. Returns (mask or None if all new, duplicates).

    New ids whose event time is at or after `keep_from_ms` are added to `seen`: only those can be
    served again by a later window of this run or the next run's overlap.
    """
    n = len(ids)
    if n == 0:
        return None, 0
    repeated: pa.Array | None = None
    if seen:
        repeated = pc.is_in(ids, value_set=pa.array(list(seen), pa.string()))
    if known is not None and len(known):
        in_warehouse = pc.is_in(ids, value_set=known)
        repeated = in_warehouse if repeated is None else pc.or_(repeated, in_warehouse)
    if pc.count_distinct(ids).as_py() < n:
        # Rare (a vendor repeating an id inside one response): mark every later occurrence, row by row.
        first: set[str] = set()
        later = []
        for event_id in ids.to_pylist():
            later.append(event_id in first)
            first.add(event_id)
        within = pa.array(later, pa.bool_())
        repeated = within if repeated is None else pc.or_(repeated, within)
    duplicates = 0 if repeated is None else pc.sum(repeated).as_py() or 0
    mask = None if not duplicates else pc.invert(repeated)
    recent = pc.greater_equal(event_ms, keep_from_ms)
    remember = recent if mask is None else pc.and_(recent, mask)
    if pc.any(remember).as_py():
        picked_ids = ids.filter(remember).to_pylist()
        picked_ms = event_ms.filter(remember).to_pylist()
        seen.update(zip(picked_ids, picked_ms))
    return mask, duplicates


def epoch_ms_of(array: pa.Array | pa.ChunkedArray) -> pa.Array:
    """Epoch milliseconds of a UTC microsecond timestamp array (nulls -> 0)."""
    if isinstance(array, pa.ChunkedArray):
        array = array.combine_chunks()
    micros = array.cast(pa.int64()).fill_null(0)
    return pc.divide(micros, 1000)


def drop_repeated(
    table: pa.Table, time_column: str, seen: dict[str, int], known: pa.Array | None, keep_from_ms: int
) -> tuple[pa.Table, int]:
    """`table` without rows that are not new events (see `new_event_mask`); returns (table, duplicates)."""
    if table.num_rows == 0:
        return table, 0
    ids = table.column("id").combine_chunks()
    mask, duplicates = new_event_mask(ids, epoch_ms_of(table.column(time_column)), seen, known, keep_from_ms)
    if mask is not None:
        table = table.filter(mask)
    return table, duplicates


class WarehouseLookup:
    """What the warehouse already holds, read through the running dlt pipeline's destination.

    Used only by re-reads (`since`), to count already-loaded events as duplicates and not load them
    again. Without a running pipeline or a readable destination it knows nothing (returns None),
    and the insert-only merge still absorbs the repeats.
    """

    def __init__(self, events_table: str, time_column: str, source_instance: str):
        self.events_table = events_table
        self.time_column = time_column
        self.source_instance = source_instance

    def _query(self, table: str, sql: str, params: list[Any]) -> pa.Table | None:
        """Run `sql` ({table} = the qualified table) on the pipeline's DuckDB destination, as Arrow."""
        import duckdb

        pipeline = dlt.current.pipeline()
        if pipeline is None:
            return None
        empty = pa.table({"value": pa.array([], pa.string())})
        try:
            with pipeline.sql_client() as client:
                native = client.native_connection
                if not isinstance(native, duckdb.DuckDBPyConnection):
                    return None  # only DuckDB warehouses are looked up; the merge covers the rest
                query = sql.format(table=client.make_qualified_table_name(table))
                return native.sql(query, params=params).to_arrow_table()
        except duckdb.CatalogException:  # nothing loaded yet
            return empty
        except Exception as exc:  # noqa: BLE001 - an unreadable warehouse only costs the duplicate count
            progress_logger.warning("could not read %s to count re-read duplicates (%s): the merge absorbs them",
                                    table, type(exc).__name__)
            return None

    def event_ids(self, window: Window) -> pa.Array | None:
        """Ids of events of this source instance already loaded with a time inside `window`."""
        found = self._query(
            self.events_table,
            f'select id as value from {{table}} where source_instance = ? and "{self.time_column}" between ? and ?',
            [self.source_instance, window.start, window.end],
        )
        return None if found is None else found.column("value").combine_chunks().cast(pa.string())

    def quarantined_hashes(self) -> set[str]:
        found = self._query(raw_tables.QUARANTINE_TABLE,
                            "select record_hash as value from {table} where source_instance = ?",
                            [self.source_instance])
        return set() if found is None else set(found.column("value").to_pylist())


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
