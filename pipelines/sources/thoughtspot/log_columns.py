"""The fast path of parse_records: DuckDB decodes a window's double-encoded `log` strings, a whole column at once.

Decoding every `log` in Python (orjson per record, then a dict lookup per field per record) was the largest cost of
a backfill. Here DuckDB parses each `log` once (json_transform, vectorised and on every core) and returns the typed
columns as Arrow. It only takes windows whose every record is plain: `log` a JSON object with a non-empty string `id`
and a string `ts`, and an integer `orgId` that fits 64 bits (or none). A window with any other record returns None
and parse_records does it record by record, as before, quarantining what it must: one rule for the unusual,
whichever path reads the usual.

`data` (and a non-string text field) is the vendor's value as compact JSON text; the per-record path writes the same
value (orjson), which may spell an exotic number (`1e300` / `1e+300`) or a control-character escape differently.
An object with a repeated key is ambiguous JSON (RFC 8259 leaves it to the reader): DuckDB keeps the first, orjson the
last.
"""

from __future__ import annotations

import threading
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

# `id` and `ts` as JSON text, to tell a string from anything else; `orgId` likewise, to refuse a fraction or a number
# beyond 64 bits rather than round it. The text fields as VARCHAR: DuckDB keeps a non-string value as its JSON text,
# as the per-record path does.
_TEXT = {"version": "version", "userGUID": "user_guid", "userName": "user_name", "cIP": "c_ip", "type": "type"}
_SHAPE = (
    '{"id": "JSON", "ts": "JSON", "orgId": "JSON", "data": "JSON", "desc": "VARCHAR", '
    + ", ".join(f'"{field}": "VARCHAR"' for field in _TEXT)
    + "}"
)


def _unquoted(field: str) -> str:
    # DuckDB writes JSON strings with the fewest escapes: without a backslash, the text between the quotes is the value.
    return f"case when contains(e.{field}, '\\') then e.{field} ->> '$' else e.{field}[2:-2] end"


_QUERY = f"""
select
    coalesce(
        starts_with(e.id, '"') and e.id <> '""' and starts_with(e.ts, '"')
        and (e.orgId is null
            or (regexp_full_match(e.orgId, '-?[0-9]{{1,19}}') and try_cast(e.orgId as bigint) is not null)),
        false
    ) as plain,
    {_unquoted("id")} as id,
    {_unquoted("ts")} as ts,
    {", ".join(f"e.{field} as {column}" for field, column in _TEXT.items())},
    e."desc" as "desc",
    try_cast(e.orgId as bigint) as org_id,
    e.data::varchar as data
from (select json_transform(log, '{_SHAPE}') as e from window_logs)
"""

_local = threading.local()


def _connection() -> Any:
    """One in-memory DuckDB per thread (dlt may extract on a worker thread); nothing is written to disk."""
    con = getattr(_local, "con", None)
    if con is None:
        import duckdb

        con = duckdb.connect(":memory:")
        _local.con = con
    return con


def decode_logs(logs: pa.Array) -> pa.Table | None:
    """Columns id, ts, version, user_guid, user_name, c_ip, type, desc (strings), org_id (int64), data (JSON text)
    for every `log` of a plain window, in order (DuckDB keeps a projection's insertion order); None when any record
    is not plain or DuckDB cannot parse one."""
    import duckdb

    con = _connection()
    try:
        con.register("window_logs", pa.table({"log": logs}))
        result = con.execute(_QUERY).fetch_arrow_table()
    except (duckdb.InvalidInputException, duckdb.ConversionException):
        return None  # malformed JSON somewhere: the per-record path says which record and why
    finally:
        con.unregister("window_logs")
    if result.num_rows != len(logs):
        return None
    if result.num_rows and not pc.all(result.column("plain")).as_py():
        return None
    return result.drop_columns(["plain"])
