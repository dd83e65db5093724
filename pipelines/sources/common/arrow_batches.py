"""Arrow columns for one window's events: vendor timestamps, open-typed text, and which rows are new.

Columns are built a whole column at a time; per-value Python runs only where a vectorised cast fails.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

import orjson
import pyarrow as pa
import pyarrow.compute as pc

from pipelines.sources import raw_tables
from pipelines.sources.common.windows import EPOCH

_dumps = orjson.dumps


# ThoughtSpot documents event time as `yyyy/mm/dd:hh:mm:ss` (UTC) while its examples show ISO-8601; both are read.
_SLASH_FORM = r"^(\d{4})/(\d{2})/(\d{2}):(\d{2}):(\d{2}):(\d{2})$"
_SLASH_AS_ISO = r"\1-\2-\3T\4:\5:\6Z"
# Arrow parses at most 6 fractional digits; 7-9 (nanoseconds) are cut to the column's microseconds.
_NANO_FRACTION = r"(\.\d{6})\d{1,3}(\D|$)"


def timestamps(values: Sequence[str | None]) -> tuple[pa.Array, list[int]]:
    """Parse vendor time strings to UTC microsecond timestamps; return the array and the bad positions.

    Accepted: ISO-8601 with `Z` or a numeric offset and 0-9 fractional digits (beyond 6 truncated), and
    ThoughtSpot's documented `yyyy/mm/dd:hh:mm:ss`, which is UTC. A value without a zone is refused
    rather than guessed. Fast path: one vectorised Arrow cast; then a vectorised rewrite of the other
    forms and a second cast; only if that fails too is each value looked at, to find the bad ones.
    """
    strings = pa.array(values, type=pa.string())
    parsed = vectorised_timestamps(strings)
    if parsed is not None:
        return parsed, [i for i, v in enumerate(values) if v is None]
    strings = _as_iso(strings)
    good: list[Any] = []
    bad = []
    for i, value in enumerate(strings.to_pylist()):
        try:
            good.append(pa.scalar(value, pa.string()).cast(raw_tables.TS_UTC).value if value is not None else None)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            good.append(None)
            bad.append(i)
        else:
            if value is None:
                bad.append(i)
    return pa.array(good, type=pa.int64()).cast(raw_tables.TS_UTC), bad


def _as_iso(strings: pa.Array) -> pa.Array:
    strings = pc.replace_substring_regex(strings, _SLASH_FORM, _SLASH_AS_ISO)
    return pc.replace_substring_regex(strings, _NANO_FRACTION, r"\1\2")


def vectorised_timestamps(strings: pa.Array) -> pa.Array | None:
    """`timestamps` without looking at single values: the parsed array, or None when some value needs that."""
    try:
        return strings.cast(raw_tables.TS_UTC)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        pass
    try:
        return _as_iso(strings).cast(raw_tables.TS_UTC)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return None


def constant_timestamp(moment: datetime, length: int) -> pa.Array:
    micros = (moment - EPOCH) // timedelta(microseconds=1)
    return pa.array([micros] * length, type=pa.int64()).cast(raw_tables.TS_UTC)


def constant_text(value: str, length: int) -> pa.Array:
    return pa.array([value] * length, pa.string())


def text_or_json(value: Any) -> str | None:
    """Strings stay; anything else that is not null is kept as its JSON text (vendor fields are open-typed)."""
    if value is None or type(value) is str:
        return value
    return _dumps(value).decode()


def json_or_none(value: Any) -> str | None:
    """A nested value as compact JSON text for a JSON column; absent stays null."""
    return None if value is None else _dumps(value).decode()


def text_column(values: list[Any]) -> pa.Array:
    """A string column; the rare non-string value is kept as its JSON text."""
    try:
        return pa.array(values, pa.string())
    except (pa.ArrowTypeError, pa.ArrowInvalid):
        return pa.array([text_or_json(v) for v in values], pa.string())


def new_event_mask(
    ids: pa.Array, event_ms: pa.Array, seen: dict[str, int], known: pa.Array | None, keep_from_ms: int
) -> tuple[pa.Array | None, int]:
    """Which rows are new events: not in `seen` (overlap horizon), not in `known` (ids the caller already
    holds, if any), not an earlier row of this batch. Returns (mask or None if all new, duplicates).

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
        in_known = pc.is_in(ids, value_set=known)
        repeated = in_known if repeated is None else pc.or_(repeated, in_known)
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


def drop_repeated(table: pa.Table, time_column: str, seen: dict[str, int], keep_from_ms: int) -> tuple[pa.Table, int]:
    """`table` without rows that are not new events (see `new_event_mask`); returns (table, duplicates)."""
    if table.num_rows == 0:
        return table, 0
    ids = table.column("id").combine_chunks()
    mask, duplicates = new_event_mask(ids, epoch_ms_of(table.column(time_column)), seen, None, keep_from_ms)
    if mask is not None:
        table = table.filter(mask)
    return table, duplicates
