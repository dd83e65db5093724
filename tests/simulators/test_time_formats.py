"""ThoughtSpot time formats (ISO, the documented yyyy/mm/dd:hh:mm:ss, offsets, 0-9 digits) and date/ts boundaries."""

from __future__ import annotations

import re
from collections import Counter
from datetime import datetime, timedelta, timezone

import pytest

from pipelines.simulators import HistoryConfig, ThoughtSpotSimulator

from .conftest import ms, ts_fetch, ts_logs, ts_token, ts_walk

DOCUMENTED = re.compile(r"^(\d{4})/(\d{2})/(\d{2}):(\d{2}):(\d{2}):(\d{2})$")
ISO = re.compile(r"^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(?:\.(\d{1,9}))?(Z|[+-]\d{2}:\d{2})$")


def parse_any(text: str) -> datetime:
    """A reference reader of every form the simulator writes."""
    documented = DOCUMENTED.match(text)
    if documented:
        return datetime(*map(int, documented.groups()), tzinfo=timezone.utc)
    iso = ISO.match(text)
    assert iso, text
    base, digits, zone = iso.groups()
    micro = int((digits or "0")[:6].ljust(6, "0"))
    moment = datetime.fromisoformat(base + ("+00:00" if zone == "Z" else zone)).replace(microsecond=micro)
    return moment.astimezone(timezone.utc)


def form_of(text: str) -> str:
    if DOCUMENTED.match(text):
        return "documented"
    base, digits, zone = ISO.match(text).groups()
    if zone not in ("Z", "+00:00"):
        return "offset"
    return f"digits{len(digits or '')}"


END = datetime.now(timezone.utc).replace(minute=0, second=0, microsecond=0) - timedelta(hours=1)


def _walk(time_format: str) -> list[dict]:
    # A fixed end: planted findings are anchored to it, so two simulators agree on every record.
    with ThoughtSpotSimulator(
        history=HistoryConfig(seed=9, days=3, events_per_day=400, end=END), late_minutes=0, time_format=time_format
    ) as sim:
        now = datetime.now(timezone.utc)
        events = ts_walk(sim, ts_token(sim, validity_time_in_sec=3600), END - timedelta(days=3), now)
        assert {e["id"] for e in events} == sim.expected_event_ids()
    return events


def test_mixed_formats_cover_every_form_and_keep_the_instant():
    mixed = _walk("mixed")
    iso = {e["id"]: e for e in _walk("iso")}
    assert set(iso) == {e["id"] for e in mixed}, "the format changes text only, never which events exist"
    ts_forms = Counter(form_of(e["ts"]) for e in mixed)
    date_forms = Counter(form_of(e["_date"]) for e in mixed)
    assert {"documented", "offset", "digits0"} <= set(ts_forms)
    assert {"documented", "offset"} | {f"digits{n}" for n in range(10)} <= set(date_forms), date_forms
    assert any(e["ts"].endswith("+02:00") for e in mixed) and any(e["_date"].endswith("-05:30") for e in mixed)
    for event in mixed:
        reference = iso[event["id"]]
        assert parse_any(event["ts"]) == parse_any(reference["ts"])
        true_date = parse_any(reference["_date"])
        assert timedelta(0) <= true_date - parse_any(event["_date"]) < timedelta(seconds=1)  # digits may be cut
        assert {k: v for k, v in event.items() if k not in ("ts", "_date")} == {
            k: v for k, v in reference.items() if k not in ("ts", "_date")
        }


def test_documented_format_everywhere():
    events = _walk("documented")
    assert events and all(DOCUMENTED.match(e["ts"]) and DOCUMENTED.match(e["_date"]) for e in events)


def test_time_format_is_validated():
    with pytest.raises(ValueError, match="time_format"):
        ThoughtSpotSimulator(time_format="epoch")


def test_some_events_have_ts_and_date_on_either_side_of_a_boundary():
    with ThoughtSpotSimulator(history=HistoryConfig(seed=9, days=3, events_per_day=200), late_minutes=0) as sim:
        token = ts_token(sim, validity_time_in_sec=3600)
        straddlers = sim.straddling_events()
        assert len(straddlers) >= 4
        midnight = [s for s in straddlers if s["date"][:10] != s["ts"][:10]]
        assert midnight, "a ts on one UTC day and its date on the next"
        for event in straddlers:
            ts, date = parse_any(event["ts"]), parse_any(event["date"])
            boundary = date.replace(minute=0, second=0, microsecond=0)
            assert ts < boundary <= date and date - ts < timedelta(seconds=1.5)
            before = ts_logs(
                ts_fetch(
                    sim,
                    token,
                    start_epoch_time_in_millis=ms(boundary - timedelta(hours=1)),
                    end_epoch_time_in_millis=ms(boundary) - 1,
                )
            )
            after = ts_logs(
                ts_fetch(
                    sim,
                    token,
                    start_epoch_time_in_millis=ms(boundary),
                    end_epoch_time_in_millis=ms(boundary + timedelta(hours=1)),
                )
            )
            # logs/fetch filters on `date`: the window holding the event's ts does not return it, the next does
            assert event["id"] not in {e["id"] for e in before}
            assert event["id"] in {e["id"] for e in after}
