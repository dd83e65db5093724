"""dlt source: Mode workspace audit logs -> raw_mode.

    import dlt
    from pipelines.sources.mode import mode_source
    dlt.pipeline("mode", destination="duckdb", dataset_name="raw_mode").run(mode_source())

Configuration (dlt style, env or .dlt/*.toml): SOURCES__MODE__WORKSPACE, __API_TOKEN, __API_SECRET,
optional __BASE_URL (default https://app.mode.com) and __OVERLAP_MINUTES (default 60).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, Iterator, Optional

import dlt
import orjson
import pyarrow as pa
from dlt.sources import DltResource

from pipelines import settings
from pipelines.sources import raw_tables
from pipelines.sources._shared import (
    verbatim,
    Quarantined,
    SourceError,
    SourceNotConfigured,
    Window,
    WindowRun,
    WindowStats,
    apply_table_hints,
    check_reread_range,
    constant_timestamp,
    emit,
    gc_paused,
    parse_bound,
    quarantine_table,
    require_safe_url,
    timestamps,
    utc_now,
)
from pipelines.sources.mode.client import (
    DEFAULT_BASE_URL,
    ENV_API_SECRET,
    ENV_API_TOKEN,
    ENV_BASE_URL,
    ENV_WORKSPACE,
    ModeClient,
)

__all__ = ["mode_source", "parse_entries", "ModeClient", "REQUIRED_VARIABLES"]

REQUIRED_VARIABLES = (ENV_WORKSPACE, ENV_API_TOKEN, ENV_API_SECRET)

_dumps = orjson.dumps


def _json_or_none(value: Any) -> Optional[str]:
    return None if value is None else _dumps(value).decode()


def _text(value: Any) -> Optional[str]:
    if value is None or type(value) is str:
        return value
    return _dumps(value).decode()


def parse_entries(entries: list[Any], source_instance: str, loaded_at: datetime) -> tuple[pa.Table, list[Quarantined]]:
    """One page of Mode entries -> (Arrow table of events, quarantined); duplicates are not removed here."""
    quarantined: list[Quarantined] = []
    rows: list[tuple[Any, ...]] = []
    stamps: list[str] = []
    for entry in entries:
        try:
            if type(entry) is not dict:
                raise ValueError("entry is not a JSON object")
            event_id = entry.get("id")
            if type(event_id) is not str or not event_id:
                raise ValueError("entry has no string `id`")
            stamp = entry.get("timestamp")
            if type(stamp) is not str:
                raise ValueError("entry has no string `timestamp`")
            rows.append(
                (
                    event_id,
                    _text(entry.get("action")),
                    _text(entry.get("description")),
                    _text(entry.get("workspace_username")),
                    _json_or_none(entry.get("context")),
                    _json_or_none(entry.get("actor")),
                    _json_or_none(entry.get("entity")),
                    _dumps(entry).decode(),
                )
            )
            stamps.append(stamp)
        except ValueError as exc:
            quarantined.append(Quarantined(verbatim(entry), str(exc)))

    stamp_array, bad = timestamps(stamps)
    if bad:
        bad_set = set(bad)
        for i in bad:
            quarantined.append(Quarantined(rows[i][-1], f"`timestamp` is not an ISO-8601 UTC timestamp: {stamps[i]!r}"[:300]))
        keep = [i not in bad_set for i in range(len(rows))]
    columns = list(zip(*rows)) if rows else [()] * 8
    n = len(rows)
    table = pa.Table.from_arrays(
        [
            pa.array([source_instance] * n, pa.string()),
            pa.array(columns[0], pa.string()),
            pa.array(columns[1], pa.string()),
            pa.array(columns[2], pa.string()),
            stamp_array,
            pa.array(columns[3], pa.string()),
            pa.array(columns[4], pa.string()),
            pa.array(columns[5], pa.string()),
            pa.array(columns[6], pa.string()),
            pa.array(columns[7], pa.string()),
            constant_timestamp(loaded_at, n),
        ],
        schema=raw_tables.MODE_EVENTS_SCHEMA,
    )
    if bad:
        table = table.filter(pa.array(keep))
    return table, quarantined


@dlt.source(name="mode")
def mode_source(
    workspace: Optional[str] = dlt.config.value,
    api_token: Optional[str] = dlt.secrets.value,
    api_secret: Optional[str] = dlt.secrets.value,
    base_url: str = DEFAULT_BASE_URL,
    overlap_minutes: int = settings.DEFAULT_OVERLAP_MINUTES,
    start: Optional[str] = None,
    until: Optional[str] = None,
    since: Optional[str] = None,
) -> DltResource:
    """Mode audit logs, incremental in <= 24 h windows with an overlap re-read.

    start: first-run backfill start (default AUDITLAKE_START, else 30 days ago).
    until: end of the last window (default now, UTC); tests pin it to a simulator's clock.
    since: re-read [since, until or now] instead of continuing from the cursor (a backfill): the
        cursor and overlap state are left untouched, already-loaded entries are counted as duplicates
        (looked up in the warehouse) and not loaded again, and each window read gets its
        ingest_windows row. Refused when after until.
    """
    if not workspace or not api_token or not api_secret:
        raise SourceNotConfigured("mode", REQUIRED_VARIABLES)
    base_url = require_safe_url(base_url or DEFAULT_BASE_URL, ENV_BASE_URL)
    if overlap_minutes < 0:
        raise SourceError("SOURCES__MODE__OVERLAP_MINUTES must be zero or positive")
    client = ModeClient(base_url, workspace, api_token, api_secret)
    source_instance = workspace
    overlap = timedelta(minutes=overlap_minutes)
    first_start = parse_bound(start, "start")
    end_at = parse_bound(until, "until")
    reread_from = parse_bound(since, "since")
    if reread_from is not None:
        check_reread_range("Mode", reread_from, end_at, utc_now(), retention=None)

    def audit_logs() -> Iterator[Any]:
        run = WindowRun(source_instance, overlap, raw_tables.MODE_EVENTS_TABLE, "timestamp",
                        first_start, reread_from, end_at)
        for window in run.windows():
            # A window's pages are gathered first, so a failure mid-window yields nothing of it.
            yield from _window(window, list(client.fetch_window(window)), run)

    def _window(window: Window, pages: list[list[Any]], run: WindowRun) -> Iterator[Any]:
        stats = WindowStats("mode", source_instance, window)
        tables: list[pa.Table] = []
        quarantined: list[Quarantined] = []
        # Duplicates are removed once per window: an id may repeat across pages.
        for entries in pages:
            with gc_paused():
                events, bad = parse_entries(entries, source_instance, utc_now())
            stats.fetched += len(entries)
            quarantined.extend(bad)
            tables.append(events)
        events, stats.duplicates = run.new_events(pa.concat_tables(tables) if tables else
                                                  parse_entries([], source_instance, utc_now())[0], window)
        quarantined = run.new_quarantined(quarantined, window)
        stats.new_events = events.num_rows
        stats.quarantined = len(quarantined)
        done_at = utc_now()
        if events.num_rows:
            yield emit(events, raw_tables.MODE_EVENTS_TABLE)
        if quarantined:
            yield emit(quarantine_table(source_instance, quarantined, window, done_at), raw_tables.QUARANTINE_TABLE)
        yield emit(stats.table(done_at), raw_tables.WINDOWS_TABLE)
        run.window_done(window)
        stats.report()

    resource = dlt.resource(audit_logs, name=raw_tables.MODE_EVENTS_TABLE, write_disposition="merge")
    return apply_table_hints(resource, raw_tables.MODE_EVENTS_TABLE)
