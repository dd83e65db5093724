"""Pushed bodies -> the logs API's `{date, log}` records that the ThoughtSpot source's parse_records reads.

Nothing public says which shipper ThoughtSpot runs nor the exact pushed shape (docs/vendor notes in the README), so
every framing the usual senders use is read, and every record shape that carries a ThoughtSpot event:
  framing  a JSON array, NDJSON, concatenated objects (Splunk HEC, Fluent Bit json_stream), one object; gzip/zlib
  records  the record object (version, id, ts, orgId, userGUID, userName, cIP, type, desc, data);
           the logs API's {"date", "log": "<JSON string>"} (also `log` already parsed, or Datadog's `message`);
           a HEC envelope {"time", "host", "source", "sourcetype", "index", "event": <either of the above>}
Anything else is quarantined with its reason by the drain, never dropped.
"""

from __future__ import annotations

import json
import zlib
from datetime import datetime, timezone
from typing import Any

import orjson

GZIP_MAGIC = b"\x1f\x8b"
_decoder = json.JSONDecoder()
_WHITESPACE = " \t\r\n"


class BodyTooLarge(Exception):
    """The decompressed body is over the receiver's limit."""


class BodyUndecodable(Exception):
    """The body can never be read (bad gzip, not UTF-8, not JSON): resending it cannot help."""


def decompress(body: bytes, content_encoding: str, limit: int) -> bytes:
    """gunzip (or inflate) when the header says so or the gzip magic is there; refuse more than `limit` bytes."""
    encoding = content_encoding.strip().lower()
    if encoding in ("gzip", "x-gzip", "deflate") or body[:2] == GZIP_MAGIC:
        # wbits 47: gzip or zlib header, detected; a zip bomb stops at limit + 1 bytes.
        inflater = zlib.decompressobj(wbits=47)
        try:
            out = inflater.decompress(body, limit + 1)
        except zlib.error as exc:
            raise BodyUndecodable(f"body is not valid {encoding or 'gzip'} data ({exc})") from None
        if len(out) > limit or inflater.unconsumed_tail:
            raise BodyTooLarge(f"body is over {limit} bytes once decompressed")
        if not inflater.eof:
            raise BodyUndecodable("compressed body is truncated")
        return out
    if encoding not in ("", "identity"):
        raise BodyUndecodable(f"Content-Encoding {encoding!r} is not supported: send gzip or no encoding")
    return body


def split_values(body: bytes) -> list[Any]:
    """Every top-level JSON value of a body, arrays flattened one level (a batch). Raises BodyUndecodable."""
    text = body.strip()
    if not text:
        return []
    try:
        whole = orjson.loads(text)
    except orjson.JSONDecodeError:
        pass
    else:
        return list(whole) if isinstance(whole, list) else [whole]
    try:
        values = [orjson.loads(line) for line in text.splitlines() if line.strip()]
    except orjson.JSONDecodeError:
        values = _concatenated(text)
    flat: list[Any] = []
    for value in values:
        flat.extend(value if isinstance(value, list) else [value])
    return flat


def _concatenated(text: bytes) -> list[Any]:
    """Objects back to back with or without whitespace (HEC, json_stream): json's raw_decode in a loop."""
    try:
        decoded = text.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise BodyUndecodable(f"body is not UTF-8 text (byte {exc.start})") from None
    values = []
    position = 0
    while position < len(decoded):
        try:
            value, position = _decoder.raw_decode(decoded, position)
        except json.JSONDecodeError as exc:
            raise BodyUndecodable(f"body is not JSON at character {exc.pos}: {exc.msg}") from None
        values.append(value)
        while position < len(decoded) and decoded[position] in _WHITESPACE:
            position += 1
    return values


def iso_from_epoch(value: float) -> str:
    """Shippers send epoch seconds as a double (Fluent Bit `date`, HEC `time`); Datadog sends milliseconds."""
    seconds = value / 1000 if value > 1e11 else value
    return datetime.fromtimestamp(seconds, timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _date_text(value: Any) -> str | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        try:
            return iso_from_epoch(float(value))
        except (OverflowError, OSError, ValueError):
            return None
    if isinstance(value, str) and value.strip():
        text = value.strip()
        try:
            return iso_from_epoch(float(text))  # HEC allows "time" as a numeric string
        except ValueError:
            return text
    return None


def _json_object_text(value: str) -> Any:
    stripped = value.lstrip()
    if stripped.startswith("{"):
        try:
            return orjson.loads(stripped)
        except orjson.JSONDecodeError:
            return value
    return value


def to_log_record(value: Any, arrived: str, outer_date: str | None = None) -> dict[str, str]:
    """One pushed value as `{date, log}`; ValueError(reason) when it carries no ThoughtSpot record.

    `date` is the value's own date (`date`, `@timestamp`, `timestamp`, HEC `time`), else the arrival time: the push
    comes within seconds of ThoughtSpot storing the event, which is what `date` means in the logs API.
    """
    if isinstance(value, str):
        value = _json_object_text(value)
        if isinstance(value, str):
            raise ValueError("a text value, not a ThoughtSpot record (expected a JSON object)")
    if not isinstance(value, dict):
        raise ValueError(f"a JSON {type(value).__name__}, not a ThoughtSpot record (expected an object)")
    own_date = None
    for key in ("date", "@timestamp", "timestamp", "time"):
        if key in value:
            own_date = _date_text(value[key])
            if own_date:
                break
    date = own_date or outer_date or arrived
    if "event" in value and "log" not in value and "id" not in value:
        # A HEC envelope: time/host/source/sourcetype/index are Splunk metadata; the event is the record.
        inner = value["event"]
        if inner is None or inner == "" or inner == {}:
            raise ValueError("HEC envelope with an empty `event`")
        return to_log_record(inner, arrived, date)
    for key in ("log", "message"):
        if key in value:
            log = value[key]
            if isinstance(log, dict):
                return {"date": date, "log": orjson.dumps(log).decode()}
            if isinstance(log, str):
                return {"date": date, "log": log}
            raise ValueError(f"`{key}` is a JSON {type(log).__name__}, not the event's JSON text or object")
    if "id" in value and "ts" in value:
        return {"date": date, "log": orjson.dumps(value).decode()}
    raise ValueError(
        "not a ThoughtSpot record: expected the record object (id, ts, type ...), {date, log} "
        "or a HEC envelope whose `event` is either"
    )
