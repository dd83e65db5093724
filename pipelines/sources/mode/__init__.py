"""dlt source: Mode workspace audit logs -> raw_mode.

    import dlt
    from pipelines.sources.mode import mode_source
    dlt.pipeline("mode", destination="duckdb", dataset_name="raw_mode").run(mode_source())

Configuration (dlt style, env or .dlt/*.toml): SOURCES__MODE__WORKSPACE, __API_TOKEN, __API_SECRET,
optional __BASE_URL (default https://app.mode.com), __OVERLAP_MINUTES (60), __REQUEST_TIMEOUT_SECONDS (300),
__WINDOW_HOURS (24), __CONCURRENT_WINDOWS (4), __MIN_WINDOW_MINUTES (15: a failing window is halved down to this).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any

import dlt
import orjson
import pyarrow as pa
from dlt.sources import DltResource

from pipelines import settings
from pipelines.sources import raw_tables
from pipelines.sources.common.arrow_batches import (
    constant_text,
    constant_timestamp,
    json_or_none,
    text_or_json,
    timestamps,
)
from pipelines.sources.common.cursor_state import WindowRun
from pipelines.sources.common.errors import require_configuration
from pipelines.sources.common.http_session import DEFAULT_REQUEST_TIMEOUT_SECONDS, check_timeout
from pipelines.sources.common.json_decode import gc_paused
from pipelines.sources.common.quarantine import Quarantined
from pipelines.sources.common.table_hints import apply_table_hints
from pipelines.sources.common.url_safety import require_reachable, require_safe_url
from pipelines.sources.common.window_fetch import (
    DEFAULT_CONCURRENT_WINDOWS,
    DEFAULT_MIN_WINDOW,
    check_fetch_settings,
    fetch_in_order,
    fetch_splitting,
)
from pipelines.sources.common.windows import RunBounds, Window
from pipelines.sources.mode.mode_client import (
    DEFAULT_BASE_URL,
    ENV_API_SECRET,
    ENV_API_TOKEN,
    ENV_BASE_URL,
    ENV_WORKSPACE,
    ModeClient,
)

__all__ = ["mode_source", "parse_entries", "ModeClient", "REQUIRED_VARIABLES"]

PREFIX = "SOURCES__MODE__"
REQUIRED_VARIABLES = (ENV_WORKSPACE, ENV_API_TOKEN, ENV_API_SECRET)

_dumps = orjson.dumps


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
                    text_or_json(entry.get("action")),
                    text_or_json(entry.get("description")),
                    text_or_json(entry.get("workspace_username")),
                    json_or_none(entry.get("context")),
                    json_or_none(entry.get("actor")),
                    json_or_none(entry.get("entity")),
                    _dumps(entry).decode(),
                )
            )
            stamps.append(stamp)
        except ValueError as exc:
            quarantined.append(Quarantined.of(entry, str(exc)))

    stamp_array, bad = timestamps(stamps)
    if bad:
        bad_set = set(bad)
        for i in bad:
            reason = f"`timestamp` is not an ISO-8601 UTC timestamp: {stamps[i]!r}"
            quarantined.append(Quarantined.of(rows[i][-1], reason))
        keep = [i not in bad_set for i in range(len(rows))]
    columns = list(zip(*rows)) if rows else [()] * 8
    n = len(rows)
    table = pa.Table.from_arrays(
        [
            constant_text(source_instance, n),
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
    workspace: str | None = dlt.config.value,
    api_token: str | None = dlt.secrets.value,
    api_secret: str | None = dlt.secrets.value,
    base_url: str = DEFAULT_BASE_URL,
    overlap_minutes: int = settings.DEFAULT_OVERLAP_MINUTES,
    request_timeout_seconds: float = DEFAULT_REQUEST_TIMEOUT_SECONDS,
    window_hours: float = 24,
    concurrent_windows: int = DEFAULT_CONCURRENT_WINDOWS,
    min_window_minutes: float = DEFAULT_MIN_WINDOW.total_seconds() / 60,
    start: str | None = None,
    until: str | None = None,
    since: str | None = None,
    max_windows: int | None = None,
    resume: bool = False,
) -> DltResource:
    """Mode audit logs, incremental in windows of at most 24 h with an overlap re-read.

    start / until / since / max_windows / resume: the run's range, see `RunBounds` in common/windows.py;
    Mode documents no retention, so any since before until is accepted.
    """
    require_configuration("mode", dict(zip(REQUIRED_VARIABLES, (workspace, api_token, api_secret))))
    assert workspace and api_token and api_secret  # require_configuration skipped the source otherwise
    base_url = require_safe_url(base_url or DEFAULT_BASE_URL, ENV_BASE_URL)
    require_reachable(base_url, ENV_BASE_URL)
    # Mode documents no retention limit for audit logs, so a re-read may reach any date.
    bounds = RunBounds.parse(
        "Mode",
        overlap_minutes,
        f"{PREFIX}OVERLAP_MINUTES",
        start,
        until,
        since,
        None,
        window_hours,
        f"{PREFIX}WINDOW_HOURS",
        max_windows,
        resume,
    )
    concurrency, floor = check_fetch_settings(PREFIX, concurrent_windows, min_window_minutes)
    client = ModeClient(
        base_url,
        workspace,
        api_token,
        api_secret,
        check_timeout(request_timeout_seconds, f"{PREFIX}REQUEST_TIMEOUT_SECONDS"),
    )
    source_instance = workspace

    def fetch(window: Window) -> list[list[Any]]:
        # A window's pages are gathered whole, so a failure mid-window yields nothing of it.
        return fetch_splitting(lambda part: list(client.fetch_window(part)), window, floor)

    def audit_logs() -> Iterator[Any]:
        # Windows are on the entries' `timestamp`, the field start_timestamp / end_timestamp filter on.
        run = WindowRun("mode", source_instance, raw_tables.MODE_EVENTS_TABLE, "timestamp", bounds)
        for window, pages in fetch_in_order(run.windows(), fetch, concurrency):
            tables: list[pa.Table] = []
            quarantined: list[Quarantined] = []
            for entries in pages:
                with gc_paused():
                    events, bad = parse_entries(entries, source_instance, settings.utc_now())
                quarantined.extend(bad)
                tables.append(events)
            # Duplicates are removed once per window: an id may repeat across pages.
            events = pa.concat_tables(tables) if tables else parse_entries([], source_instance, settings.utc_now())[0]
            fetched = sum(len(entries) for entries in pages)
            yield from run.settle(window, events, quarantined, fetched, settings.utc_now())

    resource = dlt.resource(audit_logs, name=raw_tables.MODE_EVENTS_TABLE, write_disposition="merge")
    return apply_table_hints(resource, raw_tables.MODE_EVENTS_TABLE)
