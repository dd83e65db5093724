"""parse_records' two paths give the same events: DuckDB's column-at-a-time decoding of plain windows, and the
per-record loop that any window with an unusual record takes (and that quarantines)."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pyarrow as pa
import pytest

from pipelines.simulators import HistoryConfig, ThoughtSpotSimulator
from pipelines.sources.common.windows import Window
from pipelines.sources.thoughtspot import ThoughtSpotClient, _parse_plain, parse_each, parse_records

LOADED_AT = datetime(2026, 11, 30, 12, 0, tzinfo=timezone.utc)


def _record(**log: object) -> dict[str, object]:
    event = {"id": "TS-1", "ts": "2026-11-30T10:00:00Z", "orgId": 0, "type": "LOGIN_SUCCESSFUL"} | log
    return {"date": "2026-11-30T10:00:01.123456Z", "log": json.dumps(event)}


def _same_events(records: list[object]) -> pa.Table:
    fast, quarantined = parse_records(records, "tenant.example", LOADED_AT)
    slow, slow_quarantined = parse_each(records, "tenant.example", LOADED_AT)
    assert fast.to_pylist() == slow.to_pylist()
    assert [(q.record, q.reason) for q in quarantined] == [(q.record, q.reason) for q in slow_quarantined]
    return fast


def test_a_simulator_window_decodes_alike_on_both_paths():
    end = datetime.now(timezone.utc) - timedelta(hours=2)
    history = HistoryConfig(seed=5, days=3, events_per_day=800, end=end)
    with ThoughtSpotSimulator(history=history) as sim:
        client = ThoughtSpotClient(sim.base_url, sim.username, secret_key=sim.secret_key)
        records = client.fetch_window(Window(end - timedelta(days=1), end))
    assert len(records) > 500
    assert _parse_plain(records, "tenant.example", LOADED_AT) is not None, "a clean window takes the fast path"
    table = _same_events(records)
    assert table.num_rows == len(records)
    assert table.column("data").null_count < table.num_rows  # `data` is carried, not dropped


def test_plain_records_with_escapes_open_typed_fields_and_nested_data_take_the_fast_path():
    records = [
        _record(id='TS-\u00e9\\"quoted"', desc='line\nbreak "quoted" \u2603', cIP=None),
        _record(id="TS-2", orgId=-1, userGUID="g", userName="n", version="1.1", data={"a": [1, {"b": None}], "c": "x"}),
        _record(id="TS-3", orgId=9223372036854775807, type=12, version=1.5, desc={"k": "v"}, data='{"s": 1}'),
        _record(id="TS-4", orgId=None, data=None),
        {"date": "2026/11/30:10:00:02", "log": '{"id": "TS-5", "ts": "2026/11/30:10:00:00", "extra": true}'},
        {"date": "2026-11-30T10:00:03.123456789Z", "log": '{"id":"TS-6","ts":"2026-11-30T11:00:00+01:00"}'},
    ]
    assert _parse_plain(records, "tenant.example", LOADED_AT) is not None
    table = _same_events(records)
    assert table.column("id").to_pylist()[0] == 'TS-\u00e9\\"quoted"'
    assert table.column("type").to_pylist()[2] == "12"  # a non-string text value is kept as its JSON text


@pytest.mark.parametrize(
    "odd",
    [
        _record(id=7),
        _record(id=""),
        {"date": "2026-11-30T10:00:00Z", "log": '{"ts": "2026-11-30T10:00:00Z"}'},
        {"date": "2026-11-30T10:00:00Z", "log": '{"id": "TS-9"}'},
        _record(ts=1764496800),
        _record(orgId="7"),
        _record(orgId=5.5),
        _record(orgId=2**63),
        _record(orgId=2**70),
        {"date": "2026-11-30T10:00:00Z", "log": "{not json"},
        {"date": "2026-11-30T10:00:00Z", "log": "[1, 2]"},
        {"date": "2026-11-30T10:00:00Z", "log": "null"},
        {"date": "2026-11-30T10:00:00Z", "log": {"id": "TS-9"}},
        {"log": '{"id": "TS-9", "ts": "2026-11-30T10:00:00Z"}'},
        {"date": 5, "log": '{"id": "TS-9", "ts": "2026-11-30T10:00:00Z"}'},
        {"date": "2026-11-30 10:00:00", "log": '{"id": "TS-9", "ts": "2026-11-30T10:00:00Z"}'},
        _record(ts="yesterday"),
        "not an object",
    ],
    ids=lambda odd: str(odd)[:60],
)
def test_a_window_with_one_unusual_record_goes_record_by_record(odd):
    records = [_record(id="TS-a"), odd, _record(id="TS-b")]
    assert _parse_plain(records, "tenant.example", LOADED_AT) is None
    table = _same_events(records)
    assert {"TS-a", "TS-b"} <= set(table.column("id").to_pylist())


def test_an_empty_window_has_no_events():
    table, quarantined = parse_records([], "tenant.example", LOADED_AT)
    assert table.num_rows == 0 and quarantined == []
