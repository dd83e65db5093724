"""Running simulators and small HTTP helpers for the simulator tests (real sockets, real requests)."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
import requests

from pipelines.simulators import HistoryConfig, ModeSimulator, ThoughtSpotSimulator
from pipelines.simulators.thoughtspot_api import LOGS_PATH, TOKEN_PATH

HTTP_TIMEOUT = 10


def ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def parse_z(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def ts_token(sim: ThoughtSpotSimulator, **extra: Any) -> str:
    body = {"username": sim.username, "secret_key": sim.secret_key, **extra}
    response = requests.post(sim.base_url + TOKEN_PATH, json=body, timeout=HTTP_TIMEOUT)
    assert response.status_code == 200, response.text
    return response.json()["token"]


def ts_fetch(sim: ThoughtSpotSimulator, token: str | None, **body: Any) -> requests.Response:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return requests.post(
        sim.base_url + LOGS_PATH, json={"log_type": "SECURITY_AUDIT", **body}, headers=headers, timeout=HTTP_TIMEOUT
    )


def ts_logs(response: requests.Response) -> list[dict]:
    """The parsed inner `log` objects of a 200 response (asserting they are JSON strings)."""
    assert response.status_code == 200, response.text
    out = []
    for item in response.json():
        assert set(item) == {"date", "log"} and isinstance(item["log"], str)
        out.append({**json.loads(item["log"]), "_date": item["date"]})
    return out


def ts_walk(sim: ThoughtSpotSimulator, token: str, start: datetime, end: datetime) -> list[dict]:
    """Read [start, end] in 24 h windows; adjacent windows share no millisecond (inclusive bounds)."""
    events: list[dict] = []
    cursor = ms(start)
    while cursor <= ms(end):
        window_end = min(cursor + 86_400_000, ms(end))
        events.extend(
            ts_logs(ts_fetch(sim, token, start_epoch_time_in_millis=cursor, end_epoch_time_in_millis=window_end))
        )
        cursor = window_end + 1
    return events


def mode_get(
    sim: ModeSimulator,
    auth: tuple[str, str] | None = None,
    accept: str = "application/json",
    path: str | None = None,
    **params: Any,
) -> requests.Response:
    return requests.get(
        sim.base_url + (path or f"/api/{sim.workspace}/audit_logs"),
        params=params,
        auth=auth if auth is not None else (sim.api_token, sim.api_secret),
        headers={"Accept": accept},
        timeout=HTTP_TIMEOUT,
    )


def mode_items_and_token(body: dict) -> tuple[list[dict], str | None]:
    """Read any of the three envelopes, the way a robust client must."""
    items = body["_embedded"]["audit_logs"] if "_embedded" in body else body["audit_logs"]
    token = body.get("next_token")
    if token is None and isinstance(body.get("pagination"), dict):
        token = body["pagination"].get("next_token")
    return items, token


def mode_walk(sim: ModeSimulator, start: datetime, end: datetime, **filters: Any) -> list[dict]:
    params = {
        "start_timestamp": start.isoformat().replace("+00:00", "Z"),
        "end_timestamp": end.isoformat().replace("+00:00", "Z"),
        **filters,
    }
    items: list[dict] = []
    seen_tokens: set[str] = set()
    token = None
    while True:
        response = mode_get(sim, **params, **({"next_token": token} if token else {}))
        assert response.status_code == 200, response.text
        page, token = mode_items_and_token(response.json())
        assert len(page) <= sim.page_size
        items.extend(page)
        if not token:
            return items
        assert token not in seen_tokens, "a next_token repeated"
        seen_tokens.add(token)


# A fixed history end for determinism tests; relative to today so it always stays inside the 30-day retention.
END = datetime.now(timezone.utc).replace(minute=0, second=0, microsecond=0) - timedelta(days=1)


@pytest.fixture(scope="module")
def ts_sim():
    """Five days ending now, no late reveal, so exact-set assertions are stable."""
    with ThoughtSpotSimulator(history=HistoryConfig(seed=7, days=5, events_per_day=400), late_minutes=0) as sim:
        yield sim


@pytest.fixture(scope="module")
def ts_token_for(ts_sim):
    return ts_token(ts_sim, validity_time_in_sec=3600)


@pytest.fixture(scope="module")
def mode_sim():
    with ModeSimulator(history=HistoryConfig(seed=7, days=5, events_per_day=200), page_size=40) as sim:
        yield sim


def window_around(moment: datetime, minutes: int = 90) -> tuple[datetime, datetime]:
    return moment - timedelta(minutes=minutes), moment + timedelta(minutes=minutes)
