"""Arrow columns and the per-window duplicate filter (pure Arrow)."""

from __future__ import annotations

from datetime import datetime, timezone

import pyarrow as pa

from pipelines.sources.common.arrow_batches import (
    constant_timestamp,
    drop_repeated,
    epoch_ms_of,
    json_or_none,
    text_column,
    text_or_json,
    timestamps,
)


def test_timestamps_fast_path_and_bad_positions():
    parsed, bad = timestamps(["2026-11-01T00:00:00Z", None, "2026-11-01T01:00:00.5+01:00"])
    assert bad == [1]
    assert parsed.to_pylist()[0] == datetime(2026, 11, 1, tzinfo=timezone.utc)
    assert parsed.to_pylist()[2] == datetime(2026, 11, 1, 0, 0, 0, 500000, tzinfo=timezone.utc)


def test_timestamps_slow_path_keeps_good_values():
    parsed, bad = timestamps(["2026-11-01T00:00:00Z", "not a time", "2026-11-01T00:00:00"])
    assert bad == [1, 2]  # a value without a zone is refused rather than guessed
    assert parsed.to_pylist() == [datetime(2026, 11, 1, tzinfo=timezone.utc), None, None]


def test_text_columns_keep_open_typed_values_as_json():
    assert text_or_json("x") == "x" and text_or_json(None) is None and text_or_json(12) == "12"
    assert json_or_none({"a": 1}) == '{"a":1}' and json_or_none(None) is None
    assert text_column(["a", 1, None, {"b": True}]).to_pylist() == ["a", "1", None, '{"b":true}']


def test_drop_repeated_removes_seen_and_in_batch_repeats():
    moment = datetime(2026, 11, 1, tzinfo=timezone.utc)
    table = pa.table({"id": ["a", "b", "b", "c"], "t": constant_timestamp(moment, 4)})
    seen = {"a": 0}
    kept, duplicates = drop_repeated(table, "t", seen, keep_from_ms=0)
    assert kept.column("id").to_pylist() == ["b", "c"] and duplicates == 2
    assert set(seen) == {"a", "b", "c"}
    assert epoch_ms_of(table.column("t")).to_pylist()[0] == int(moment.timestamp() * 1000)
    empty, none = drop_repeated(table.slice(0, 0), "t", {}, 0)
    assert empty.num_rows == 0 and none == 0


UTC = timezone.utc


def test_every_documented_time_form_parses_to_the_same_instant_or_its_fraction():
    parsed, bad = timestamps(
        [
            "2026-11-01T13:02:03Z",
            "2026/11/01:13:02:03",  # ThoughtSpot's documented form, UTC
            "2026-11-01T14:02:03+01:00",
            "2026-11-01T08:32:03.5-04:30",
            "2026-11-01T13:02:03.123456789Z",  # nanoseconds: cut to microseconds
            "2026-11-01T13:02:03.1234567+00:00",
            "2026-11-01T13:02:03.000000Z",
        ]
    )
    assert bad == []
    base = datetime(2026, 11, 1, 13, 2, 3, tzinfo=UTC)
    assert parsed.to_pylist() == [
        base,
        base,
        base,
        base.replace(microsecond=500000),
        base.replace(microsecond=123456),
        base.replace(microsecond=123456),
        base,
    ]


def test_mixed_good_and_bad_forms_mark_only_the_bad():
    parsed, bad = timestamps(
        [
            "2026/11/01:13:02:03",
            "2026/11/01 13:02:03",
            "2026-11-01T13:02:03",
            None,
            "2026-13-01T00:00:00Z",
            "2026-11-01T13:02:03.123456789Z",
        ]
    )
    assert bad == [1, 2, 3, 4]  # no zone, a wrong separator, null and a month 13 are refused, not guessed
    values = parsed.to_pylist()
    assert values[0] == datetime(2026, 11, 1, 13, 2, 3, tzinfo=UTC)
    assert values[5] == datetime(2026, 11, 1, 13, 2, 3, 123456, tzinfo=UTC)
