"""Body framing and record shapes of the push (no server): what every shipper may send, and what is refused."""

from __future__ import annotations

import gzip
import json
import zlib
from datetime import datetime, timezone

import pytest

from pipelines.receiver.push_drain import frames_to_tables
from pipelines.receiver.push_records import (
    BodyTooLarge,
    BodyUndecodable,
    decompress,
    split_values,
    to_log_record,
)
from pipelines.receiver.spool_segments import Frame

EVENT = {"version": "1.1", "id": "TS-a", "ts": "2026-11-30T10:00:00Z", "orgId": 0, "type": "LOGIN_FAILED"}
ARRIVED = "2026-11-30T10:00:05.000000Z"


@pytest.mark.parametrize(
    "body",
    [
        b'[{"a":1},{"a":2}]',  # JSON array (Fluent Bit json, Vector json)
        b'{"a":1}\n\n{"a":2}\n',  # NDJSON with a blank line (Fluentd, json_lines)
        b'{"a":1}{"a":2}',  # concatenated, no separator (HEC, json_stream)
        b'{"a":1} \r\n {"a":2}',  # concatenated with whitespace
        b'[{"a":1}]\n[{"a":2}]',  # several arrays, one per line
    ],
)
def test_every_framing_gives_the_same_values(body):
    assert split_values(body) == [{"a": 1}, {"a": 2}]


def test_a_single_object_and_an_empty_batch():
    assert split_values(b'  {"a": 1}  ') == [{"a": 1}]
    assert split_values(b"[]") == [] and split_values(b" \n") == []


@pytest.mark.parametrize("body", [b'{"a":1}{"a":', b"not json", b'\xff\xfe{"a":1}', b'{"a":1} trailing'])
def test_bodies_that_are_not_json_are_refused_with_the_reason(body):
    with pytest.raises(BodyUndecodable):
        split_values(body)


def test_gzip_and_zlib_are_inflated_with_a_limit():
    raw = b'{"a":1}' * 100
    assert decompress(gzip.compress(raw), "gzip", 10_000) == raw
    assert decompress(gzip.compress(raw), "", 10_000) == raw  # the magic bytes, without the header
    assert decompress(zlib.compress(raw), "deflate", 10_000) == raw
    with pytest.raises(BodyTooLarge):
        decompress(gzip.compress(b" " * 100_000), "gzip", 10_000)
    with pytest.raises(BodyUndecodable):
        decompress(gzip.compress(raw)[:-12], "gzip", 10_000)  # truncated
    with pytest.raises(BodyUndecodable):
        decompress(raw, "br", 10_000)


def test_record_shapes_become_the_logs_api_record():
    as_text = json.dumps(EVENT)
    api = to_log_record({"date": "2026-11-30T10:00:01.5Z", "log": as_text}, ARRIVED)
    assert api == {"date": "2026-11-30T10:00:01.5Z", "log": as_text}
    plain = to_log_record(EVENT, ARRIVED)
    assert plain["date"] == ARRIVED and json.loads(plain["log"]) == EVENT
    hec = to_log_record({"time": 1764496800.25, "host": "x", "event": {"log": as_text}}, ARRIVED)
    assert hec == {"date": "2025-11-30T10:00:00.250000Z", "log": as_text}
    hec_text = to_log_record({"event": as_text, "time": "1764496800"}, ARRIVED)
    assert hec_text["date"] == "2025-11-30T10:00:00.000000Z" and json.loads(hec_text["log"]) == EVENT
    datadog = to_log_record({"timestamp": 1764496800250, "message": as_text}, ARRIVED)
    assert datadog["date"] == "2025-11-30T10:00:00.250000Z"
    parsed_log = to_log_record({"@timestamp": 1764496800.0, "log": EVENT}, ARRIVED)
    assert json.loads(parsed_log["log"]) == EVENT


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ({"hello": "world"}, "not a ThoughtSpot record"),
        ({"event": ""}, "empty `event`"),
        ({"event": "plain text"}, "text value"),
        (42, "JSON int"),
        ({"log": 5}, "`log` is a JSON int"),
    ],
)
def test_anything_else_says_why(value, reason):
    with pytest.raises(ValueError, match=reason):
        to_log_record(value, ARRIVED)


def test_drain_parsing_keeps_first_copy_and_quarantines_with_reasons():
    header = {"instance": "acme.thoughtspot.cloud", "received_at": ARRIVED, "route": "hec_event"}
    frames = [
        Frame(header, json.dumps({"event": EVENT}).encode()),
        Frame(header, json.dumps([EVENT, {"log": "not json"}, {"nope": 1}]).encode()),  # a repeat and two bad
        Frame(dict(header, route="hec_raw"), b"free text line"),
    ]
    tables, quarantined = frames_to_tables(frames, datetime.now(timezone.utc))
    (table,) = tables
    assert table.column("id").to_pylist() == ["TS-a"]
    assert table.column("_auditlake_delivery").to_pylist() == ["push"]
    reasons = sorted(q.reason for q in quarantined["acme.thoughtspot.cloud"])
    assert len(reasons) == 3
    assert any("not valid JSON" in r for r in reasons) and any("not a ThoughtSpot record" in r for r in reasons)
    assert any(r.startswith("pushed body") for r in reasons)
