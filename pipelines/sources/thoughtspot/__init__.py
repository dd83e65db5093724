"""dlt source: ThoughtSpot Cloud security audit events -> raw_thoughtspot.

    import dlt
    from pipelines.sources.thoughtspot import thoughtspot_source
    dlt.pipeline("ts", destination="duckdb", dataset_name="raw_thoughtspot").run(thoughtspot_source())

Configuration (dlt style, env or .dlt/*.toml): SOURCES__THOUGHTSPOT__BASE_URL, __USERNAME, and
__SECRET_KEY or __PASSWORD. Optional: __OVERLAP_MINUTES (default 60), __TOKEN_VALIDITY_SECONDS.
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
    WindowRun,
    WindowStats,
    apply_table_hints,
    check_reread_range,
    constant_timestamp,
    emit,
    gc_paused,
    host_with_port,
    parse_bound,
    quarantine_table,
    require_safe_url,
    timestamps,
    utc_now,
)
from pipelines.sources.thoughtspot.client import (
    DEFAULT_TOKEN_VALIDITY_SECONDS,
    ENV_BASE_URL,
    ENV_PASSWORD,
    ENV_SECRET_KEY,
    ENV_USERNAME,
    ThoughtSpotClient,
)

__all__ = ["thoughtspot_source", "parse_records", "ThoughtSpotClient", "REQUIRED_VARIABLES"]

REQUIRED_VARIABLES = (ENV_BASE_URL, ENV_USERNAME, f"{ENV_SECRET_KEY} (or {ENV_PASSWORD})")

_dumps = orjson.dumps
_loads = orjson.loads


def _text(value: Any) -> Optional[str]:
    """Strings stay; anything else that is not null is kept as its JSON text (the field is open-typed)."""
    if value is None or type(value) is str:
        return value
    return _dumps(value).decode()


_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1


def _org_id(value: Any) -> Optional[int]:
    if isinstance(value, str) and value.lstrip("-").isdigit():
        value = int(value)
    if value is None or (type(value) is int and _INT64_MIN <= value <= _INT64_MAX):
        return value
    raise ValueError(f"orgId is not a 64-bit integer: {str(value)[:100]!r}")


def _text_column(values: list[Any]) -> pa.Array:
    """A string column; the rare non-string value (the fields are open-typed) is kept as its JSON text."""
    try:
        return pa.array(values, pa.string())
    except (pa.ArrowTypeError, pa.ArrowInvalid):
        return pa.array([_text(v) for v in values], pa.string())


def parse_records(records: list[Any], source_instance: str, loaded_at: datetime) -> tuple[pa.Table, list[Quarantined]]:
    """Turn one window's `[{date, log}]` into an Arrow table of events (duplicates not removed here).

    Returns (events, quarantined). Anything unparseable is quarantined verbatim with the reason.
    The per-record loop only parses and validates; columns are then built a whole column at a time.
    """
    quarantined: list[Quarantined] = []
    events: list[dict[str, Any]] = []
    dates: list[str] = []
    logs: list[str] = []
    org_ids: list[Optional[int]] = []
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
            quarantined.append(Quarantined(verbatim(record), f"`log` is not valid JSON: {exc}"[:300]))
            continue
        except (KeyError, TypeError, ValueError) as exc:
            reason = f"missing field {exc}" if isinstance(exc, KeyError) else str(exc)
            if isinstance(exc, TypeError):
                reason = "record is not a JSON object with `date` and `log`"
            quarantined.append(Quarantined(verbatim(record), reason))
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
            reason = f"`date` is not an ISO-8601 UTC timestamp: {dates[i]!r}" if i in bad_date_set else \
                f"`ts` is not an ISO-8601 UTC timestamp: {tss[i]!r}"
            quarantined.append(Quarantined(verbatim(kept[i]), reason[:300]))
        keep_valid = [i not in bad for i in range(len(events))]

    n = len(events)
    table = pa.Table.from_arrays(
        [
            pa.array([source_instance] * n, pa.string()),
            pa.array([event["id"] for event in events], pa.string()),
            date_array,
            ts_array,
            _text_column([event.get("version") for event in events]),
            pa.array(org_ids, pa.int64()),
            _text_column([event.get("userGUID") for event in events]),
            _text_column([event.get("userName") for event in events]),
            _text_column([event.get("cIP") for event in events]),
            _text_column([event.get("type") for event in events]),
            _text_column([event.get("desc") for event in events]),
            # `data` is re-serialised compactly: the JSON column holds it, `log` keeps the original text.
            pa.array([None if (data := event.get("data")) is None else _dumps(data).decode() for event in events],
                     pa.string()),
            pa.array(logs, pa.string()),
            constant_timestamp(loaded_at, n),
        ],
        schema=raw_tables.THOUGHTSPOT_EVENTS_SCHEMA,
    )
    if keep_valid is not None:
        table = table.filter(pa.array(keep_valid))
    return table, quarantined


@dlt.source(name="thoughtspot")
def thoughtspot_source(
    base_url: Optional[str] = dlt.config.value,
    username: Optional[str] = dlt.config.value,
    secret_key: Optional[str] = dlt.secrets.value,
    password: Optional[str] = dlt.secrets.value,
    overlap_minutes: int = settings.DEFAULT_OVERLAP_MINUTES,
    token_validity_seconds: int = DEFAULT_TOKEN_VALIDITY_SECONDS,
    start: Optional[str] = None,
    until: Optional[str] = None,
    since: Optional[str] = None,
) -> DltResource:
    """ThoughtSpot security audit events, incremental in <= 24 h windows with an overlap re-read.

    start: first-run backfill start (default AUDITLAKE_START, else 30 days ago).
    until: end of the last window (default now, UTC); tests pin it to a simulator's clock.
    since: re-read [since, until or now] instead of continuing from the cursor (a backfill): the
        cursor and overlap state are left untouched, already-loaded events are counted as duplicates
        (looked up in the warehouse) and not loaded again, and each window read gets its
        ingest_windows row. Refused when older than ThoughtSpot's 30-day retention or after until.
    """
    if not base_url or not username or not (secret_key or password):
        raise SourceNotConfigured("thoughtspot", REQUIRED_VARIABLES)
    base_url = require_safe_url(base_url, ENV_BASE_URL)
    if overlap_minutes < 0:
        raise SourceError("SOURCES__THOUGHTSPOT__OVERLAP_MINUTES must be zero or positive")
    client = ThoughtSpotClient(base_url, username, secret_key=secret_key, password=password,
                               token_validity_seconds=token_validity_seconds)
    source_instance = host_with_port(base_url)
    overlap = timedelta(minutes=overlap_minutes)
    first_start = parse_bound(start, "start")
    end_at = parse_bound(until, "until")
    reread_from = parse_bound(since, "since")
    if reread_from is not None:
        check_reread_range("ThoughtSpot", reread_from, end_at, utc_now(), settings.VENDOR_RETENTION)

    def security_audit_events() -> Iterator[Any]:
        # Windows are on the vendor's `date`, the field logs/fetch filters on.
        run = WindowRun(source_instance, overlap, raw_tables.THOUGHTSPOT_EVENTS_TABLE, "date",
                        first_start, reread_from, end_at)
        for window in run.windows():
            records = client.fetch_window(window)
            loaded_at = utc_now()
            fetched = len(records)
            with gc_paused():
                events, quarantined = parse_records(records, source_instance, loaded_at)
            del records  # the decoded response is the largest object alive; free it before dlt writes
            events, duplicates = run.new_events(events, window)
            quarantined = run.new_quarantined(quarantined, window)
            stats = WindowStats("thoughtspot", source_instance, window, fetched=fetched,
                                new_events=events.num_rows, duplicates=duplicates, quarantined=len(quarantined))
            if events.num_rows:
                yield emit(events, raw_tables.THOUGHTSPOT_EVENTS_TABLE)
            if quarantined:
                yield emit(quarantine_table(source_instance, quarantined, window, loaded_at),
                           raw_tables.QUARANTINE_TABLE)
            yield emit(stats.table(loaded_at), raw_tables.WINDOWS_TABLE)
            run.window_done(window)
            stats.report()

    resource = dlt.resource(security_audit_events, name=raw_tables.THOUGHTSPOT_EVENTS_TABLE,
                            write_disposition="merge")
    return apply_table_hints(resource, raw_tables.THOUGHTSPOT_EVENTS_TABLE)
