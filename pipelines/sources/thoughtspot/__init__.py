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
    InstanceState,
    Quarantined,
    SourceError,
    SourceNotConfigured,
    Window,
    WindowStats,
    apply_table_hints,
    as_utc,
    constant_timestamp,
    dedupe,
    emit,
    epoch_ms_of,
    host_with_port,
    plan_windows,
    quarantine_table,
    require_safe_url,
    timestamps,
    unseen_quarantined,
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


def _org_id(value: Any) -> Optional[int]:
    if value is None or (type(value) is int):
        return value
    if isinstance(value, str) and value.lstrip("-").isdigit():
        return int(value)
    raise ValueError(f"orgId is not an integer: {value!r}")


def parse_records(
    records: list[Any], source_instance: str, window: Window, seen: dict[str, int], loaded_at: datetime
) -> tuple[pa.Table, list[Quarantined], int]:
    """Turn one window's `[{date, log}]` into an Arrow table of new events.

    Returns (events, quarantined, duplicates). Records already in `seen` are duplicates and
    left out; new ids are added to `seen`. Anything unparseable is quarantined verbatim with the reason.
    """
    quarantined: list[Quarantined] = []
    ids: list[str] = []
    dates: list[str] = []
    tss: list[str] = []
    versions: list[Optional[str]] = []
    org_ids: list[Optional[int]] = []
    user_guids: list[Optional[str]] = []
    user_names: list[Optional[str]] = []
    c_ips: list[Optional[str]] = []
    types: list[Optional[str]] = []
    descs: list[Optional[str]] = []
    datas: list[Optional[str]] = []
    logs: list[str] = []

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
            ts = event.get("ts")
            if type(ts) is not str:
                raise ValueError("`log` has no string `ts`")
            org_id = _org_id(event.get("orgId"))
            data = event.get("data")
            row = (
                _text(event.get("version")),
                _text(event.get("userGUID")),
                _text(event.get("userName")),
                _text(event.get("cIP")),
                _text(event.get("type")),
                _text(event.get("desc")),
                None if data is None else _dumps(data).decode(),
            )
        except orjson.JSONDecodeError as exc:
            quarantined.append(Quarantined(_verbatim(record), f"`log` is not valid JSON: {exc}"[:300]))
            continue
        except (KeyError, TypeError, ValueError) as exc:
            reason = f"missing field {exc}" if isinstance(exc, KeyError) else str(exc)
            if isinstance(exc, TypeError):
                reason = "record is not a JSON object with `date` and `log`"
            quarantined.append(Quarantined(_verbatim(record), reason))
            continue
        ids.append(event_id)
        dates.append(date)
        tss.append(ts)
        org_ids.append(org_id)
        logs.append(log)
        versions.append(row[0])
        user_guids.append(row[1])
        user_names.append(row[2])
        c_ips.append(row[3])
        types.append(row[4])
        descs.append(row[5])
        datas.append(row[6])

    date_array, bad_dates = timestamps(dates)
    ts_array, bad_ts = timestamps(tss)
    keep_valid = None
    if bad_dates or bad_ts:
        bad = set(bad_dates) | set(bad_ts)
        for i in sorted(bad):
            reason = f"`date` is not an ISO-8601 UTC timestamp: {dates[i]!r}" if i in bad_dates else \
                f"`ts` is not an ISO-8601 UTC timestamp: {tss[i]!r}"
            quarantined.append(Quarantined(_dumps({"date": dates[i], "log": logs[i]}).decode(), reason[:300]))
        keep_valid = [i not in bad for i in range(len(ids))]

    n = len(ids)
    table = pa.Table.from_arrays(
        [
            pa.array([source_instance] * n, pa.string()),
            pa.array(ids, pa.string()),
            date_array,
            ts_array,
            pa.array(versions, pa.string()),
            pa.array(org_ids, pa.int64()),
            pa.array(user_guids, pa.string()),
            pa.array(user_names, pa.string()),
            pa.array(c_ips, pa.string()),
            pa.array(types, pa.string()),
            pa.array(descs, pa.string()),
            pa.array(datas, pa.string()),
            pa.array(logs, pa.string()),
            constant_timestamp(loaded_at, n),
        ],
        schema=raw_tables.THOUGHTSPOT_EVENTS_SCHEMA,
    )
    if keep_valid is not None:
        table = table.filter(pa.array(keep_valid))
    # Dedupe on the vendor's `date`, the field the API filters windows on.
    keep_new = dedupe(table.column("id").to_pylist(), epoch_ms_of(table.column("date").combine_chunks()), seen)
    duplicates = keep_new.count(False)
    if duplicates:
        table = table.filter(pa.array(keep_new))
    return table, quarantined, duplicates


def _verbatim(record: Any) -> str:
    """The record as text: strings unchanged, anything else re-serialised as JSON."""
    if isinstance(record, str):
        return record
    try:
        return _dumps(record).decode()
    except TypeError:
        return repr(record)


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
) -> DltResource:
    """ThoughtSpot security audit events, incremental in <= 24 h windows with an overlap re-read.

    start: first-run backfill start (default AUDITLAKE_START, else 30 days ago).
    until: end of the last window (default now, UTC); tests pin it to a simulator's clock.
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
    first_start = as_utc(start)
    end_at = as_utc(until)

    def security_audit_events() -> Iterator[Any]:
        state = InstanceState.for_instance(source_instance, overlap)
        end = end_at or utc_now()
        begin = state.first_window_start(first_start or settings.backfill_start(end))
        for window in plan_windows(begin, end):
            records = client.fetch_window(window)
            loaded_at = utc_now()
            events, quarantined, duplicates = parse_records(records, source_instance, window, state.seen, loaded_at)
            quarantined = unseen_quarantined(quarantined, state.seen, window)
            stats = WindowStats("thoughtspot", source_instance, window, fetched=len(records),
                                new_events=events.num_rows, duplicates=duplicates, quarantined=len(quarantined))
            if events.num_rows:
                yield emit(events, raw_tables.THOUGHTSPOT_EVENTS_TABLE)
            if quarantined:
                yield emit(quarantine_table(source_instance, quarantined, window, loaded_at),
                           raw_tables.QUARANTINE_TABLE)
            yield emit(stats.table(loaded_at), raw_tables.WINDOWS_TABLE)
            state.window_done(window)
            stats.report()

    resource = dlt.resource(security_audit_events, name=raw_tables.THOUGHTSPOT_EVENTS_TABLE,
                            write_disposition="merge")
    return apply_table_hints(resource, raw_tables.THOUGHTSPOT_EVENTS_TABLE)
