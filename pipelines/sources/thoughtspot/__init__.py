"""dlt source: ThoughtSpot Cloud security audit events -> raw_thoughtspot.

    import dlt
    from pipelines.sources.thoughtspot import thoughtspot_source
    dlt.pipeline("ts", destination="duckdb", dataset_name="raw_thoughtspot").run(thoughtspot_source())

Configuration (dlt style, env or .dlt/*.toml): SOURCES__THOUGHTSPOT__BASE_URL, __USERNAME, and
__SECRET_KEY or __PASSWORD. Optional: __ORG_IDS (default: every org the account may read),
__OVERLAP_MINUTES (60), __TOKEN_VALIDITY_SECONDS (3600), __REQUEST_TIMEOUT_SECONDS (300), __WINDOW_HOURS
(24, at most 24), __CONCURRENT_WINDOWS (4), __MIN_WINDOW_MINUTES (15: a failing window is halved down to this).
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
    text_column,
    timestamps,
    vectorised_timestamps,
)
from pipelines.sources.common.cursor_state import WindowRun
from pipelines.sources.common.errors import require_configuration
from pipelines.sources.common.http_session import DEFAULT_REQUEST_TIMEOUT_SECONDS, check_timeout
from pipelines.sources.common.json_decode import gc_paused
from pipelines.sources.common.quarantine import Quarantined
from pipelines.sources.common.table_hints import apply_table_hints
from pipelines.sources.common.url_safety import host_with_port, require_reachable, require_safe_url
from pipelines.sources.common.window_fetch import (
    DEFAULT_CONCURRENT_WINDOWS,
    DEFAULT_MIN_WINDOW,
    check_fetch_settings,
    fetch_in_order,
    fetch_splitting,
)
from pipelines.sources.common.windows import RunBounds, Window
from pipelines.sources.thoughtspot.log_columns import decode_logs
from pipelines.sources.thoughtspot.org_scopes import parse_org_ids, plan_org_reads
from pipelines.sources.thoughtspot.thoughtspot_client import (
    DEFAULT_TOKEN_VALIDITY_SECONDS,
    ENV_BASE_URL,
    ENV_PASSWORD,
    ENV_SECRET_KEY,
    ENV_USERNAME,
    ThoughtSpotClient,
)

__all__ = ["thoughtspot_source", "parse_records", "parse_each", "ThoughtSpotClient", "REQUIRED_VARIABLES"]

PREFIX = "SOURCES__THOUGHTSPOT__"
REQUIRED_VARIABLES = (ENV_BASE_URL, ENV_USERNAME, f"{ENV_SECRET_KEY} (or {ENV_PASSWORD})")

_dumps = orjson.dumps
_loads = orjson.loads


_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1


def _org_id(value: Any) -> int | None:
    if isinstance(value, str) and value.lstrip("-").isdigit():
        value = int(value)
    if value is None or (type(value) is int and _INT64_MIN <= value <= _INT64_MAX):
        return value
    raise ValueError(f"orgId is not a 64-bit integer: {str(value)[:100]!r}")


def parse_records(
    records: list[Any], source_instance: str, loaded_at: datetime, delivery: str = raw_tables.DELIVERY_PULL
) -> tuple[pa.Table, list[Quarantined]]:
    """Turn one window's `[{date, log}]` into an Arrow table of events (duplicates not removed here).

    delivery: which path brought them, 'pull' (logs API) or 'push' (the receiver's spool).

    Returns (events, quarantined). Anything unparseable is quarantined verbatim with the reason.
    A window whose every record is plain is decoded by DuckDB a column at a time (log_columns.py); any other
    window goes through the per-record loop, which only parses and validates and then builds whole columns.
    """
    plain = _parse_plain(records, source_instance, loaded_at, delivery)
    if plain is not None:
        return plain, []
    return parse_each(records, source_instance, loaded_at, delivery)


def parse_each(
    records: list[Any], source_instance: str, loaded_at: datetime, delivery: str = raw_tables.DELIVERY_PULL
) -> tuple[pa.Table, list[Quarantined]]:
    """parse_records one record at a time: what any window with an unusual record takes."""
    quarantined: list[Quarantined] = []
    events: list[dict[str, Any]] = []
    dates: list[str] = []
    logs: list[str] = []
    org_ids: list[int | None] = []
    kept: list[Any] = []  # the records behind `events`, for quarantining a bad timestamp verbatim

    for record in records:
        try:
            log = record["log"]
            date = record["date"]
            if type(log) is not str:
                raise ValueError("`log` is not a string")
            if type(date) is not str:
                raise ValueError("`date` is not a string")
            event = _loads(log)
            if type(event) is not dict:
                raise ValueError("`log` is JSON but not an object")
            event_id = event.get("id")
            if type(event_id) is not str or not event_id:
                raise ValueError("`log` has no string `id`")
            if type(event.get("ts")) is not str:
                raise ValueError("`log` has no string `ts`")
            org_id = event.get("orgId")
            if org_id is not None and (type(org_id) is not int or not _INT64_MIN <= org_id <= _INT64_MAX):
                org_id = _org_id(org_id)
        except orjson.JSONDecodeError as exc:
            quarantined.append(Quarantined.of(record, f"`log` is not valid JSON: {exc}"))
            continue
        except (KeyError, TypeError, ValueError) as exc:
            reason = f"missing field {exc}" if isinstance(exc, KeyError) else str(exc)
            if isinstance(exc, TypeError):
                reason = "record is not a JSON object with `date` and `log`"
            quarantined.append(Quarantined.of(record, reason))
            continue
        events.append(event)
        dates.append(date)
        logs.append(log)
        org_ids.append(org_id)
        kept.append(record)

    tss = [event["ts"] for event in events]
    date_array, bad_dates = timestamps(dates)
    ts_array, bad_ts = timestamps(tss)
    keep_valid = None
    if bad_dates or bad_ts:
        bad = set(bad_dates) | set(bad_ts)
        bad_date_set = set(bad_dates)
        for i in sorted(bad):
            field, value = ("date", dates[i]) if i in bad_date_set else ("ts", tss[i])
            reason = f"`{field}` is neither ISO-8601 with a zone nor yyyy/mm/dd:hh:mm:ss (UTC): {value!r}"
            quarantined.append(Quarantined.of(kept[i], reason))
        keep_valid = [i not in bad for i in range(len(events))]

    n = len(events)
    table = pa.Table.from_arrays(
        [
            constant_text(source_instance, n),
            pa.array([event["id"] for event in events], pa.string()),
            date_array,
            ts_array,
            text_column([event.get("version") for event in events]),
            pa.array(org_ids, pa.int64()),
            text_column([event.get("userGUID") for event in events]),
            text_column([event.get("userName") for event in events]),
            text_column([event.get("cIP") for event in events]),
            text_column([event.get("type") for event in events]),
            text_column([event.get("desc") for event in events]),
            # `data` is re-serialised compactly: the JSON column holds it, `log` keeps the original text.
            pa.array(
                [None if (data := event.get("data")) is None else _dumps(data).decode() for event in events],
                pa.string(),
            ),
            pa.array(logs, pa.string()),
            constant_timestamp(loaded_at, n),
            constant_text(delivery, n),
        ],
        schema=raw_tables.THOUGHTSPOT_EVENTS_SCHEMA,
    )
    if keep_valid is not None:
        table = table.filter(pa.array(keep_valid))
    return table, quarantined


def _parse_plain(
    records: list[Any], source_instance: str, loaded_at: datetime, delivery: str = raw_tables.DELIVERY_PULL
) -> pa.Table | None:
    """The events of a window in which nothing is quarantined, or None: then the per-record path decides."""
    try:
        dates = pa.array([record["date"] for record in records], pa.string())
        logs = pa.array([record["log"] for record in records], pa.string())
    except (KeyError, TypeError, IndexError, pa.ArrowTypeError, pa.ArrowInvalid):
        return None
    if dates.null_count or logs.null_count:
        return None
    columns = decode_logs(logs)
    if columns is None:
        return None
    date_array = vectorised_timestamps(dates)
    ts_array = vectorised_timestamps(columns.column("ts").combine_chunks())
    if date_array is None or ts_array is None:
        return None
    n = len(records)
    text = {name: columns.column(name).combine_chunks() for name in columns.column_names}
    return pa.Table.from_arrays(
        [
            constant_text(source_instance, n),
            text["id"],
            date_array,
            ts_array,
            text["version"],
            text["org_id"],
            text["user_guid"],
            text["user_name"],
            text["c_ip"],
            text["type"],
            text["desc"],
            text["data"],
            logs,
            constant_timestamp(loaded_at, n),
            constant_text(delivery, n),
        ],
        schema=raw_tables.THOUGHTSPOT_EVENTS_SCHEMA,
    )


@dlt.source(name="thoughtspot")
def thoughtspot_source(
    base_url: str | None = dlt.config.value,
    username: str | None = dlt.config.value,
    secret_key: str | None = dlt.secrets.value,
    password: str | None = dlt.secrets.value,
    org_ids: Any | None = None,
    overlap_minutes: int = settings.DEFAULT_OVERLAP_MINUTES,
    token_validity_seconds: int = DEFAULT_TOKEN_VALIDITY_SECONDS,
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
    """ThoughtSpot security audit events, incremental in windows of at most 24 h with an overlap re-read.

    org_ids: the orgs to read (default: every org the account may read), see org_scopes.py.
    start / until / since / max_windows / resume: the run's range, see `RunBounds` in common/windows.py;
    since is refused when older than ThoughtSpot's 30-day retention.
    """
    require_configuration("thoughtspot", dict(zip(REQUIRED_VARIABLES, (base_url, username, secret_key or password))))
    assert base_url and username  # require_configuration skipped the source otherwise
    base_url = require_safe_url(base_url, ENV_BASE_URL)
    require_reachable(base_url, ENV_BASE_URL)
    bounds = RunBounds.parse(
        "ThoughtSpot",
        overlap_minutes,
        f"{PREFIX}OVERLAP_MINUTES",
        start,
        until,
        since,
        settings.VENDOR_RETENTION,
        window_hours,
        f"{PREFIX}WINDOW_HOURS",
        max_windows,
        resume,
    )
    concurrency, floor = check_fetch_settings(PREFIX, concurrent_windows, min_window_minutes)
    wanted_orgs = parse_org_ids(org_ids)
    # Org 0 first: it discovers the other orgs; `get_all_logs` true only matters to its all-orgs read.
    org_zero = ThoughtSpotClient(
        base_url,
        username,
        secret_key=secret_key,
        password=password,
        token_validity_seconds=token_validity_seconds,
        org_id=0,
        get_all_logs=True,
        request_timeout_seconds=check_timeout(request_timeout_seconds, f"{PREFIX}REQUEST_TIMEOUT_SECONDS"),
    )
    source_instance = host_with_port(base_url)

    def security_audit_events() -> Iterator[Any]:
        for read in plan_org_reads(org_zero, wanted_orgs):
            # Windows are on the records' `date` (when ThoughtSpot stored the event), the field logs/fetch
            # filters on; `ts` (when it happened) may fall just before the window it is returned in.
            run = WindowRun(
                "thoughtspot",
                source_instance,
                raw_tables.THOUGHTSPOT_EVENTS_TABLE,
                "date",
                bounds,
                state_key=read.state_key(source_instance),
                org_id=read.org_id,
            )

            def fetch(window: Window, client: ThoughtSpotClient = read.client) -> list[Any]:
                return fetch_splitting(client.fetch_window, window, floor)

            for window, records in fetch_in_order(run.windows(), fetch, concurrency):
                loaded_at = settings.utc_now()
                fetched = len(records)
                with gc_paused():
                    events, quarantined = parse_records(records, source_instance, loaded_at)
                del records  # the decoded response is the largest object alive; free it before dlt writes
                yield from run.settle(window, events, quarantined, fetched, loaded_at)

    resource = dlt.resource(security_audit_events, name=raw_tables.THOUGHTSPOT_EVENTS_TABLE, write_disposition="merge")
    return apply_table_hints(resource, raw_tables.THOUGHTSPOT_EVENTS_TABLE)
