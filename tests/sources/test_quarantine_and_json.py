"""Quarantined records and JSON decoding with the collector paused (pure)."""

from __future__ import annotations

import gc
import hashlib
from datetime import datetime, timedelta, timezone

import orjson
import pytest

from pipelines.sources import raw_tables
from pipelines.sources.common import json_decode
from pipelines.sources.common.quarantine import Quarantined, quarantine_table, unseen_quarantined, verbatim
from pipelines.sources.common.windows import Window

T0 = datetime(2026, 11, 1, tzinfo=timezone.utc)
WINDOW = Window(T0, T0 + timedelta(hours=1))


def test_verbatim_and_hash():
    assert verbatim("raw text") == "raw text"
    assert verbatim({"a": [1, None]}) == '{"a":[1,null]}'
    assert verbatim({1j}).startswith("{")  # not JSON-serialisable: repr, never an exception
    item = Quarantined.of({"x": 1}, "why " * 200)
    assert len(item.reason) == 300
    assert item.record_hash == hashlib.sha256(b'{"x":1}').hexdigest()


def test_unseen_quarantined_counts_a_record_once():
    seen: dict[str, int] = {}
    first = unseen_quarantined(
        [Quarantined("r1", "bad"), Quarantined("r1", "bad"), Quarantined("r2", "bad")], seen, WINDOW
    )
    assert [q.record for q in first] == ["r1", "r2"]
    assert unseen_quarantined([Quarantined("r2", "bad")], seen, WINDOW) == []


def test_quarantine_table_matches_the_contract():
    table = quarantine_table("host", [Quarantined("r1", "bad")], WINDOW, T0)
    assert table.schema == raw_tables.QUARANTINE_SCHEMA
    assert table.to_pylist()[0]["window_end"] == WINDOW.end


def test_gc_paused_nests_and_restores():
    assert gc.isenabled()
    with json_decode.gc_paused():
        with json_decode.gc_paused():
            assert not gc.isenabled()
        assert not gc.isenabled()
    assert gc.isenabled()
    assert json_decode.loads(b'[{"a":1}]') == [{"a": 1}]
    with pytest.raises(orjson.JSONDecodeError):
        json_decode.loads(b"<html>")
    assert gc.isenabled()
