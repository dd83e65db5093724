"""The Mode simulator over real HTTP: negotiation, auth, validation, paging with each envelope, filters, format."""

from __future__ import annotations

import json
import re
from collections import Counter
from datetime import datetime, timedelta, timezone

import pytest

from pipelines.simulators import MODE_ACTIONS, HistoryConfig, ModeSimulator

from .conftest import END, mode_get, mode_items_and_token, mode_walk

UUID_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")
HEX12_RE = re.compile(r"^[0-9a-f]{12}$")
STAMP_RE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$")


def z(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def test_hal_accept_gets_406_before_authentication(mode_sim):
    for auth in (("nobody", "nothing"), (mode_sim.api_token, mode_sim.api_secret)):
        response = mode_get(mode_sim, auth=auth, accept="application/hal+json", start_timestamp="2026-01-01")
        assert response.status_code == 406 and response.content == b""


def test_bad_credentials_get_401_with_empty_body(mode_sim):
    for auth in (("nobody", "nothing"), (mode_sim.api_token, "wrong-secret")):
        response = mode_get(mode_sim, auth=auth, start_timestamp="2026-01-01", end_timestamp="2026-01-02")
        assert response.status_code == 401 and response.content == b""
        assert response.headers["WWW-Authenticate"] == 'Basic realm="Application"'
    assert mode_sim.api_secret not in json.dumps(mode_sim.request_log)


def test_unknown_workspace_and_route_404(mode_sim):
    assert (
        mode_get(
            mode_sim, path="/api/other-ws/audit_logs", start_timestamp="2026-01-01", end_timestamp="2026-01-02"
        ).status_code
        == 404
    )
    assert mode_get(mode_sim, path=f"/api/{mode_sim.workspace}/reports").status_code == 404


def test_parameter_errors_are_400_with_errors_list(mode_sim):
    missing = mode_get(mode_sim, end_timestamp="2026-01-02T00:00:00Z")
    assert missing.status_code == 400 and missing.json() == {"errors": ["start_timestamp is required"]}
    both = mode_get(mode_sim)
    assert both.json() == {"errors": ["start_timestamp is required", "end_timestamp is required"]}
    reversed_range = mode_get(mode_sim, start_timestamp="2026-01-02T00:00:00Z", end_timestamp="2026-01-01T00:00:00Z")
    assert reversed_range.status_code == 400 and "end_timestamp" in reversed_range.json()["errors"][0]
    garbage = mode_get(mode_sim, start_timestamp="last tuesday", end_timestamp="2026-01-01T00:00:00Z")
    assert garbage.status_code == 400 and "start_timestamp" in garbage.json()["errors"][0]
    bad_cursor = mode_get(mode_sim, start_timestamp="2026-01-01", end_timestamp="2026-01-02", next_token="xyz")
    assert bad_cursor.status_code == 400 and "next_token" in bad_cursor.json()["errors"][0]


def test_timestamp_forms_are_equivalent_and_unknown_params_ignored(mode_sim):
    now = datetime.now(timezone.utc).replace(microsecond=0)
    start, end = now - timedelta(days=2), now - timedelta(days=1)
    forms = [
        (z(start), z(end)),
        (start.isoformat(), end.isoformat()),
        (start.replace(tzinfo=None).isoformat(), end.replace(tzinfo=None).isoformat()),
    ]
    bodies = [
        mode_get(mode_sim, start_timestamp=s, end_timestamp=e, per_page=5, colour="blue").json() for s, e in forms
    ]
    first_ids = [[i["id"] for i in mode_items_and_token(b)[0]] for b in bodies]
    assert first_ids[0] and first_ids[0] == first_ids[1] == first_ids[2]


@pytest.mark.parametrize("envelope", ["top_level", "pagination", "embedded"])
def test_next_token_walk_returns_exactly_the_expected_ids(envelope):
    with ModeSimulator(
        history=HistoryConfig(seed=5, days=3, events_per_day=150), page_size=37, envelope=envelope, log_own_access=False
    ) as sim:
        as_of = datetime.now(timezone.utc)
        items = mode_walk(sim, as_of - timedelta(days=4), as_of)
        last = mode_get(sim, start_timestamp=z(as_of - timedelta(minutes=1)), end_timestamp=z(as_of)).json()
    ids = [i["id"] for i in items]
    assert len(ids) == len(set(ids)) > 37 * 3
    assert set(ids) == sim.expected_event_ids(as_of)
    if envelope == "top_level":
        assert last["next_token"] is None
    elif envelope == "pagination":
        assert last["pagination"] == {"next_token": None}
    else:
        assert "next_token" not in last and "audit_logs" not in last


def _own_access(items: list[dict]) -> list[dict]:
    return [
        i
        for i in items
        if i["action"] == "audit_log_accessed" and i["actor"] and i["actor"]["username"].startswith("api-token-")
    ]


def test_own_access_is_logged_but_not_slipped_into_the_running_walk():
    with ModeSimulator(history=HistoryConfig(seed=5, days=1, events_per_day=120), page_size=25) as sim:
        start, end = datetime.now(timezone.utc) - timedelta(days=2), datetime.now(timezone.utc) + timedelta(hours=1)
        first = mode_walk(sim, start, end)
        second = mode_walk(sim, start, end)
        expected_after = sim.expected_event_ids()
    assert _own_access(first) == []
    access = _own_access(second)
    assert len(access) == 1, "the first walk's read is logged once (first page only), and shows up next time"
    actor = access[0]["actor"]
    assert HEX12_RE.match(actor["user_id"]) and actor["username"] == f"api-token-{actor['user_id']}"
    assert access[0]["context"]["event_source"] == "api"
    assert sim.api_token not in json.dumps(access) and sim.api_secret not in json.dumps(access)
    # The second walk's own entry was appended after its first page, so it is expected but was not in that walk.
    assert {i["id"] for i in second} < expected_after and len(expected_after) == len(second) + 1


def test_filters_match_nested_fields(mode_sim):
    now = datetime.now(timezone.utc)
    everything = mode_walk(mode_sim, now - timedelta(days=6), now - timedelta(hours=1))
    sample = next(i for i in everything if i["actor"] and i["entity"]["entity_type"] == "report")
    for name, value, pick in [
        ("action", sample["action"], lambda i: i["action"]),
        ("username", sample["actor"]["username"], lambda i: (i["actor"] or {}).get("username")),
        ("entity_type", "report", lambda i: i["entity"]["entity_type"]),
        ("entity_id", sample["entity"]["entity_id"], lambda i: i["entity"]["entity_id"]),
    ]:
        filtered = mode_walk(mode_sim, now - timedelta(days=6), now - timedelta(hours=1), **{name: value})
        assert filtered and {i["id"] for i in filtered} == {i["id"] for i in everything if pick(i) == value}


def test_entries_have_the_documented_shape(mode_sim):
    now = datetime.now(timezone.utc)
    items = mode_walk(mode_sim, now - timedelta(days=6), now - timedelta(hours=1))
    for item in items:
        assert list(item) == [
            "id",
            "action",
            "description",
            "timestamp",
            "workspace_username",
            "context",
            "actor",
            "entity",
        ]
        assert UUID_RE.match(item["id"]) and STAMP_RE.match(item["timestamp"])
        assert item["workspace_username"] == mode_sim.workspace and item["action"] in MODE_ACTIONS
        assert set(item["entity"]) == {"entity_name", "entity_type", "entity_id"}
        assert HEX12_RE.match(item["entity"]["entity_id"])
        if item["actor"] is not None:
            assert set(item["actor"]) == {"ip", "user_agent", "user_id", "username"}
            assert HEX12_RE.match(item["actor"]["user_id"])
    assert any(i["actor"] is None for i in items), "system events have a null actor"


def test_every_action_appears_in_a_default_history():
    with ModeSimulator(log_own_access=False, page_size=5000) as sim:
        now = datetime.now(timezone.utc)
        items = mode_walk(sim, now - timedelta(days=31), now)
    counts = Counter(i["action"] for i in items)
    assert set(MODE_ACTIONS) == set(counts), set(MODE_ACTIONS) - set(counts)


def test_malformed_entries_are_served_verbatim():
    with ModeSimulator(
        history=HistoryConfig(seed=9, days=2, events_per_day=200, malformed_every=20),
        log_own_access=False,
        page_size=1000,
    ) as sim:
        now = datetime.now(timezone.utc)
        items = mode_walk(sim, now - timedelta(days=3), now)
        malformed = sim.malformed_records(now)
    served = {json.dumps(i, separators=(",", ":"), ensure_ascii=False) for i in items}
    assert len(malformed) >= 15 and set(malformed) <= served
    parsed = [json.loads(m) for m in malformed]
    assert any("id" not in p for p in parsed) and any("id" in p and not STAMP_RE.match(p["timestamp"]) for p in parsed)
    valid = {i["id"] for i in items if "id" in i and STAMP_RE.match(i["timestamp"])}
    assert valid == sim.expected_event_ids(now)


def test_same_seed_same_entries():
    def first_page(seed: int) -> list[dict]:
        with ModeSimulator(
            history=HistoryConfig(seed=seed, days=3, events_per_day=100, end=END),
            log_own_access=False,
            api_token="t",
            api_secret="s",
        ) as sim:
            return mode_walk(sim, END - timedelta(days=2), END - timedelta(days=1))

    assert first_page(4) == first_page(4) != first_page(5)
