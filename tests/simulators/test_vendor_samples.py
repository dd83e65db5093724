"""The vendor-published records are served verbatim (only their date moved into the history), over real HTTP."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from pathlib import Path

import requests

from pipelines.simulators import HistoryConfig, ModeSimulator, SimClock, ThoughtSpotSimulator
from pipelines.simulators.thoughtspot_api import LOGS_PATH

from .conftest import mode_walk, ts_token, ts_walk

SAMPLES = Path(__file__).resolve().parents[2] / "docs" / "vendor" / "samples"
TS_FILE = json.loads((SAMPLES / "thoughtspot-doc-records.json").read_text())
MODE_FILE = json.loads((SAMPLES / "mode-doc-record.json").read_text())


def _served_ts_elements(sim: ThoughtSpotSimulator) -> dict[str, dict]:
    """Every array element the simulator serves over its history, by the id inside `log`."""
    token = ts_token(sim, validity_time_in_sec=3600)
    now = sim.clock.now()
    elements: dict[str, dict] = {}
    for event in ts_walk(sim, token, now - timedelta(days=29), now):
        elements[event["id"]] = event
    return elements


def _without_times(log_text: str) -> dict:
    log = json.loads(log_text)
    log.pop("ts")
    return log


def test_thoughtspot_serves_all_39_published_records_verbatim_but_for_the_day():
    assert len(TS_FILE) == 39
    with ThoughtSpotSimulator(
        history=HistoryConfig(seed=3, days=6, events_per_day=50), late_minutes=0, include_vendor_samples=True
    ) as sim:
        served = _served_ts_elements(sim)
        expected = {s["id"]: s for s in sim.vendor_samples}
        assert len(expected) == 39 and sim.vendor_sample_ids() == set(expected)
        assert sim.vendor_sample_ids() <= sim.expected_event_ids()
    originals = {json.loads(i["record"]["log"])["id"]: i["record"] for i in TS_FILE}
    assert set(originals) == set(expected) <= set(served)
    for event_id, original in originals.items():
        sample = expected[event_id]
        got = served[event_id]
        assert got["_date"] == sample["date"]
        # every field but the times is as published, byte for byte in the log string
        assert _without_times(json.dumps({k: v for k, v in got.items() if k != "_date"})) == _without_times(
            original["log"]
        )
        moved = timedelta(days=sample["shifted_days"])
        assert (
            datetime.fromisoformat(sample["date"].replace("Z", "+00:00"))
            == datetime.fromisoformat(original["date"].replace("Z", "+00:00")) + moved
        )
        assert sample["date"][10:] == original["date"][10:] and got["ts"][10:] == json.loads(original["log"])["ts"][10:]
        assert sample["element"]["log"].replace(got["ts"], json.loads(original["log"])["ts"]) == original["log"]
    schema_10 = [s for s in expected.values() if s["version"] == "1.0"]
    assert schema_10 and all(s["orgId"] is None and "orgId" not in served[s["id"]] for s in schema_10)


def test_thoughtspot_samples_at_their_own_time_are_byte_identical():
    target = datetime(2024, 7, 4, 12, tzinfo=timezone.utc)
    clock = SimClock(target - datetime.now(timezone.utc))
    with ThoughtSpotSimulator(
        history=HistoryConfig(seed=3, days=6, events_per_day=20),
        clock=clock,
        late_minutes=0,
        include_vendor_samples=True,
    ) as sim:
        token = ts_token(sim, validity_time_in_sec=3600)
        unshifted = [s for s in sim.vendor_samples if s["shifted_days"] == 0]
        assert len(unshifted) == 33  # the security-events partial (July 2024); older documents are moved
        start = datetime(2024, 7, 1, tzinfo=timezone.utc)
        raw: list[dict] = []
        for day in range(3):
            lo = int((start + timedelta(days=day)).timestamp() * 1000)
            response = requests.post(
                sim.base_url + LOGS_PATH,
                json={
                    "log_type": "SECURITY_AUDIT",
                    "start_epoch_time_in_millis": lo,
                    "end_epoch_time_in_millis": lo + 86_400_000 - 1,
                },
                headers={"Authorization": f"Bearer {token}"},
                timeout=10,
            )
            raw.extend(response.json())
    published = [i["record"] for i in TS_FILE if i["record"]["date"].startswith("2024-07")]
    for record in published:
        assert record in raw, record["log"][:80]


def test_mode_serves_its_documented_record():
    with ModeSimulator(history=HistoryConfig(seed=3, days=4, events_per_day=30), include_vendor_samples=True) as sim:
        now = sim.clock.now()
        items = mode_walk(sim, now - timedelta(days=5), now)
        (sample,) = sim.vendor_samples
        assert sim.vendor_sample_ids() <= sim.expected_event_ids()
        by_action = mode_walk(
            sim, now - timedelta(days=5), now, action="connection_group_added_with_role", username="peter_parker"
        )
    served = next(i for i in items if i["id"] == sample["id"])
    original = dict(MODE_FILE["record"])
    assert served["timestamp"] == sample["timestamp"] and served["timestamp"][10:] == original["timestamp"][10:]
    assert {k: v for k, v in served.items() if k != "timestamp"} == {
        k: v for k, v in original.items() if k != "timestamp"
    }
    assert [i["id"] for i in by_action] == [sample["id"]]  # filters match the published record too


def test_mode_record_at_its_own_time_is_unchanged():
    clock = SimClock(datetime(2025, 2, 19, 12, tzinfo=timezone.utc) - datetime.now(timezone.utc))
    with ModeSimulator(
        history=HistoryConfig(seed=3, days=3, events_per_day=10), clock=clock, include_vendor_samples=True
    ) as sim:
        now = sim.clock.now()
        items = mode_walk(sim, now - timedelta(days=3), now)
    assert MODE_FILE["record"] in items


def test_samples_are_off_by_default():
    with ThoughtSpotSimulator(history=HistoryConfig(seed=3, days=3, events_per_day=10)) as sim:
        assert sim.vendor_samples == []
        ids = sim.expected_event_ids()
    assert not {json.loads(i["record"]["log"])["id"] for i in TS_FILE} & ids


# -- defaults follow the published records ------------------------------------------------------------------------


def test_descriptions_are_the_published_ones():
    from pipelines.simulators.event_vocabulary import THOUGHTSPOT_EVENT_DESCRIPTIONS, THOUGHTSPOT_SAMPLE_DESCRIPTIONS

    published = {}
    for item in TS_FILE:
        log = json.loads(item["record"]["log"])
        published.setdefault(log["type"], log["desc"])
    assert published == THOUGHTSPOT_SAMPLE_DESCRIPTIONS
    for event_type, desc in published.items():
        assert THOUGHTSPOT_EVENT_DESCRIPTIONS.get(event_type, desc) == desc
    assert sum(d.endswith(("attempted", "attempted.")) for d in published.values()) >= 10


def test_default_records_look_like_the_published_ones(ts_sim, ts_token_for):
    now = datetime.now(timezone.utc)
    events = ts_walk(ts_sim, ts_token_for, now - timedelta(days=2), now)
    assert len(events) > 500
    ips = [e["cIP"] for e in events]
    internal = [ip for ip in ips if ip in (None, "", "127.0.0.1") or (ip or "").startswith("10.")]
    assert len(internal) / len(ips) > 0.75, "cIP is mostly loopback, 10.x, null or empty"
    for value in (None, "", "127.0.0.1"):
        assert ips.count(value) / len(ips) > 0.03, value
    lags = [
        datetime.fromisoformat(e["_date"].replace("Z", "+00:00"))
        - datetime.fromisoformat(e["ts"].replace("Z", "+00:00"))
        for e in events
    ]
    assert all(timedelta(0) <= lag < timedelta(seconds=1.5) for lag in lags)
    assert any(lag >= timedelta(seconds=1) for lag in lags), "date is sometimes more than a second after ts"
    descs = {e["type"]: e["desc"] for e in events}
    assert (
        descs.get("USERS_MODIFIED", "User account detail modification attempted")
        == "User account detail modification attempted"
    )
    assert descs["UPDATE_PINBOARDS"] == "Existing pinboards modification attempted"
