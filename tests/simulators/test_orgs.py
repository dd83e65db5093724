"""ThoughtSpot orgs over real HTTP: token org, scoping of logs/fetch, get_all_logs, default org, orgs/search."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
import requests

from pipelines.simulators import HistoryConfig, ThoughtSpotSimulator
from pipelines.simulators.thoughtspot_api import ORGS_PATH, SESSION_PATH, TOKEN_PATH

from .conftest import HTTP_TIMEOUT, ms, ts_fetch, ts_logs

BIG_ORGS = [0, 583464508, 1587528480]


def mint(sim: ThoughtSpotSimulator, username: str | None = None, **extra) -> requests.Response:
    body = {"username": username or sim.username, "secret_key": sim.secret_key, "validity_time_in_sec": 3600, **extra}
    return requests.post(sim.base_url + TOKEN_PATH, json=body, timeout=HTTP_TIMEOUT)


def token_in(sim: ThoughtSpotSimulator, **extra) -> tuple[str, int]:
    response = mint(sim, **extra)
    assert response.status_code == 200, response.text
    body = response.json()
    return body["token"], body["scope"]["org_id"]


def read_all(sim: ThoughtSpotSimulator, token: str, **body) -> list[dict]:
    now = datetime.now(timezone.utc)
    events: list[dict] = []
    cursor = ms(now - timedelta(days=4))
    while cursor <= ms(now):
        end = min(cursor + 86_400_000, ms(now))
        events.extend(
            ts_logs(ts_fetch(sim, token, start_epoch_time_in_millis=cursor, end_epoch_time_in_millis=end, **body))
        )
        cursor = end + 1
    return events


def orgs_search(sim: ThoughtSpotSimulator, token: str, **body) -> requests.Response:
    return requests.post(
        sim.base_url + ORGS_PATH, json=body, headers={"Authorization": f"Bearer {token}"}, timeout=HTTP_TIMEOUT
    )


@pytest.fixture(scope="module")
def cluster():
    with ThoughtSpotSimulator(
        history=HistoryConfig(seed=11, days=4, events_per_day=300), late_minutes=0, orgs=BIG_ORGS
    ) as sim:
        yield sim


def test_events_spread_over_every_org_and_cluster_level(cluster):
    by_org = cluster.expected_event_ids_by_org()
    assert set(by_org) == {-1, *BIG_ORGS}
    assert all(len(by_org[o]) >= 20 for o in BIG_ORGS)


def test_token_scope_and_get_all_logs(cluster):
    by_org = cluster.expected_event_ids_by_org()
    everything = set().union(*by_org.values())
    zero, org = token_in(cluster, org_id=0)
    assert org == 0
    assert {e["id"] for e in read_all(cluster, zero)} == everything  # get_all_logs defaults to true
    assert {e["id"] for e in read_all(cluster, zero, get_all_logs=True)} == everything
    assert {e["id"] for e in read_all(cluster, zero, get_all_logs=False)} == by_org[0] | by_org[-1]
    union = by_org[0] | by_org[-1]
    for org_id in BIG_ORGS[1:]:
        token, org = token_in(cluster, org_id=org_id)
        assert org == org_id
        for get_all in (True, False, None):
            events = read_all(cluster, token, get_all_logs=get_all)
            assert {e["orgId"] for e in events} == {org_id}, "an Org N token never sees another org"
            assert {e["id"] for e in events} == by_org[org_id]
        union |= by_org[org_id]
    assert union == everything, "one token per org (Org 0 included) reads everything"


def test_orgs_search_lists_orgs_in_the_documented_shape(cluster):
    zero, _ = token_in(cluster, org_id=0)
    response = orgs_search(cluster, zero)
    assert response.status_code == 200
    rows = response.json()
    assert [r["id"] for r in rows] == BIG_ORGS
    assert rows[0] == {
        "id": 0,
        "name": "Primary",
        "status": "ACTIVE",
        "description": "Primary Org",
        "visibility": "SHOW",
    }
    assert all(set(r) == {"id", "name", "status", "description", "visibility"} for r in rows)
    assert [r["id"] for r in orgs_search(cluster, zero, org_identifier=str(BIG_ORGS[1])).json()] == [BIG_ORGS[1]]
    other, _ = token_in(cluster, org_id=BIG_ORGS[2])
    assert [r["id"] for r in orgs_search(cluster, other).json()] == [BIG_ORGS[2]]  # only the current org
    viewer = mint(cluster, cluster.viewer_username, org_id=0).json()["token"]
    assert orgs_search(cluster, viewer).status_code == 403
    assert orgs_search(cluster, "not-a-token").status_code == 401


def test_session_user_names_the_current_org(cluster):
    token, _ = token_in(cluster, org_id=BIG_ORGS[1])
    response = requests.get(
        cluster.base_url + SESSION_PATH, headers={"Authorization": f"Bearer {token}"}, timeout=HTTP_TIMEOUT
    )
    assert response.status_code == 200
    assert response.json()["current_org"] == {"id": BIG_ORGS[1], "name": f"org-{BIG_ORGS[1]}"}
    assert [o["id"] for o in response.json()["orgs"]] == BIG_ORGS


def test_unknown_org_and_bad_org_id_are_refused(cluster):
    unknown = mint(cluster, org_id=42)
    assert unknown.status_code == 400 and unknown.json()["error"]["message"]["code"] == 10002
    assert "orgs/search" in unknown.json()["error"]["message"]["debug"]
    assert mint(cluster, org_id="1").status_code == 400


@pytest.mark.parametrize("mode, expected_first", [("zero", 0), ("last", 1)])
def test_default_org_when_org_id_is_not_sent(mode, expected_first):
    with ThoughtSpotSimulator(history=HistoryConfig(seed=1, days=1, events_per_day=5), default_org=mode) as sim:
        first = token_in(sim)[1]
        assert first == expected_first
        assert token_in(sim, org_id=2)[1] == 2
        # "last": the previous session's org; "zero": always Org 0
        assert token_in(sim)[1] == (2 if mode == "last" else 0)
        assert token_in(sim, org_id=0)[1] == 0
        assert token_in(sim)[1] == 0


def test_last_mode_key_org_is_configurable_and_never_zero_by_surprise():
    with ThoughtSpotSimulator(
        history=HistoryConfig(seed=1, days=1, events_per_day=50), late_minutes=0, default_org="last", key_org=2
    ) as sim:
        token, org = token_in(sim)
        assert org == 2
        events = read_all(sim, token, get_all_logs=True)
        assert events and {e["orgId"] for e in events} == {2}, "a client that omits org_id reads one org only"


def test_an_org_admin_who_is_not_an_org_0_admin():
    with ThoughtSpotSimulator(
        history=HistoryConfig(seed=5, days=2, events_per_day=200), late_minutes=0, admin_orgs=[1, 2], member_orgs=[0]
    ) as sim:
        zero, _ = token_in(sim, org_id=0)
        denied = ts_fetch(sim, zero)
        assert denied.status_code == 403 and "Org 0" in denied.json()["error"]["message"]["debug"]
        assert orgs_search(sim, zero).status_code == 403  # no cluster administration
        one, _ = token_in(sim, org_id=1)
        events = read_all(sim, one)
        assert {e["id"] for e in events} == sim.expected_event_ids(orgs=[1])
        assert orgs_search(sim, one).status_code == 403


def test_a_user_outside_org_0_cannot_rely_on_the_default():
    with ThoughtSpotSimulator(history=HistoryConfig(seed=5, days=1, events_per_day=5), admin_orgs=[1]) as sim:
        refused = mint(sim)
        assert refused.status_code == 403 and "Send org_id" in refused.json()["error"]["message"]["debug"]
        assert mint(sim, org_id=2).status_code == 403
        assert token_in(sim, org_id=1)[1] == 1


def test_a_cluster_without_orgs():
    with ThoughtSpotSimulator(
        history=HistoryConfig(seed=5, days=2, events_per_day=300), late_minutes=0, orgs=[0]
    ) as sim:
        token, org = token_in(sim)
        assert org == 0
        assert orgs_search(sim, token).status_code == 400
        assert set(sim.expected_event_ids_by_org()) == {0}
        assert {e["orgId"] for e in read_all(sim, token)} == {0}


def test_org_options_are_validated():
    with pytest.raises(ValueError, match="Primary Org 0"):
        ThoughtSpotSimulator(orgs=[1, 2])
    with pytest.raises(ValueError, match="default_org"):
        ThoughtSpotSimulator(default_org="first")
    with pytest.raises(ValueError, match="not in orgs"):
        ThoughtSpotSimulator(orgs=[0, 1], admin_orgs=[5])
