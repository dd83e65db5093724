"""Body shapes a client must read (Mode HAL, recognised empty list) or refuse (unknown envelopes, non-array 200s)."""

from __future__ import annotations

import json
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from pipelines.simulators import HistoryConfig, ModeSimulator, ThoughtSpotSimulator
from pipelines.simulators.mode_api import ALL_ENVELOPES, ENVELOPES, HAL_ENVELOPE, UNKNOWN_ENVELOPES

from .conftest import HTTP_TIMEOUT, mode_get, ts_fetch, ts_token


def _window(sim: ModeSimulator) -> dict[str, str]:
    now = sim.clock.now()
    return {"start_timestamp": (now - timedelta(days=3)).isoformat(), "end_timestamp": now.isoformat()}


def test_hal_envelope_walks_by_links_next():
    with ModeSimulator(
        history=HistoryConfig(seed=5, days=2, events_per_day=120),
        page_size=33,
        envelope=HAL_ENVELOPE,
        log_own_access=False,
    ) as sim:
        expected = sim.expected_event_ids()
        response = mode_get(sim, **_window(sim))
        ids: list[str] = []
        pages = 0
        while True:
            assert response.status_code == 200
            body = response.json()
            assert set(body) == {"_embedded", "_links"} and "next_token" not in body
            ids.extend(entry["id"] for entry in body["_embedded"]["audit_logs"])
            pages += 1
            assert body["_links"]["self"]["href"].startswith(f"/api/{sim.workspace}/audit_logs?")
            nxt = body["_links"].get("next")
            if nxt is None:
                break
            href = nxt["href"]
            assert href.startswith("/") and "next_token=" in href  # relative, with every original parameter
            query = parse_qs(urlsplit(href).query)
            assert set(query) == {"start_timestamp", "end_timestamp", "next_token"}
            response = requests.get(
                sim.base_url + href,
                auth=(sim.api_token, sim.api_secret),
                headers={"Accept": "application/json"},
                timeout=HTTP_TIMEOUT,
            )
    assert pages > 3 and len(ids) == len(set(ids)) and set(ids) == expected


@pytest.mark.parametrize("envelope", UNKNOWN_ENVELOPES)
def test_unknown_envelopes_hold_the_entries_where_no_recognised_key_is(envelope):
    with ModeSimulator(history=HistoryConfig(seed=5, days=2, events_per_day=60), envelope=envelope) as sim:
        body = mode_get(sim, **_window(sim)).json()
    assert not {"audit_logs", "_embedded"} & set(body)
    entries = body["data"]["items"] if envelope == "unknown_data_items" else body["results"]
    assert entries and all("id" in e for e in entries)


def test_empty_envelope_is_a_recognised_empty_list_and_expects_nothing():
    with ModeSimulator(history=HistoryConfig(seed=5, days=2, events_per_day=60), envelope="empty") as sim:
        response = mode_get(sim, **_window(sim))
        assert response.status_code == 200 and response.json() == {"audit_logs": [], "next_token": None}
        assert sim.expected_event_ids() == set()


def test_envelope_can_change_between_pages():
    with ModeSimulator(history=HistoryConfig(seed=5, days=2, events_per_day=120), page_size=20) as sim:
        window = _window(sim)
        first = mode_get(sim, **window).json()
        assert first["next_token"]
        sim.envelope = "unknown_results"
        second = mode_get(sim, **window, next_token=first["next_token"]).json()
    assert "results" in second and "audit_logs" not in second


def test_every_envelope_is_accepted_and_others_refused():
    assert set(ENVELOPES) < set(ALL_ENVELOPES)
    for envelope in ALL_ENVELOPES:
        ModeSimulator(history=HistoryConfig(days=1, events_per_day=1), envelope=envelope)
    with pytest.raises(ValueError, match="envelope"):
        ModeSimulator(envelope="xml")


@pytest.mark.parametrize("shape", ["logs_object", "html"])
def test_thoughtspot_non_array_bodies_come_with_status_200(shape):
    with ThoughtSpotSimulator(
        history=HistoryConfig(seed=5, days=2, events_per_day=100), late_minutes=0, response_shape=shape
    ) as sim:
        response = ts_fetch(sim, ts_token(sim))
    assert response.status_code == 200
    if shape == "html":
        assert response.headers["Content-Type"].startswith("text/html")
        with pytest.raises(ValueError):
            json.loads(response.text)
    else:
        body = response.json()
        assert isinstance(body, dict) and set(body) == {"logs"} and body["logs"]
        assert {"date", "log"} == set(body["logs"][0])


def test_thoughtspot_shape_switches_per_request():
    with ThoughtSpotSimulator(history=HistoryConfig(seed=5, days=2, events_per_day=100), late_minutes=0) as sim:
        token = ts_token(sim)
        assert isinstance(ts_fetch(sim, token).json(), list)
        sim.response_shape = "logs_object"
        assert isinstance(ts_fetch(sim, token).json(), dict)
    with pytest.raises(ValueError, match="response_shape"):
        ThoughtSpotSimulator(response_shape="xml")
