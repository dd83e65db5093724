"""The simulators' entitlement state agrees with their own audit histories (what the drift report relies on)."""

from __future__ import annotations

import json
from datetime import timedelta

import requests

from pipelines.simulators import HistoryConfig, ModeSimulator, ThoughtSpotSimulator
from pipelines.simulators.history_primitives import DAY_US, from_us


def _ts_logs(sim: ThoughtSpotSimulator) -> list[tuple[int, dict]]:
    far = sim.timeline.end_us + DAY_US
    out = []
    for record in sim.timeline.all_records(far):
        if record.event_id is not None:
            out.append((record.time_us, json.loads(json.loads(record.payload)["log"])))
    return out


def test_thoughtspot_accounts_follow_creations_deletions_and_the_planted_findings() -> None:
    sim = ThoughtSpotSimulator(history=HistoryConfig(days=12, events_per_day=200, seed=5))
    logs = _ts_logs(sim)
    created = [(t, log["data"]["userNames"]) for t, log in logs if log["type"] == "USERS_CREATED"]
    assert created
    for time_us, name in created:
        after = sim.directory.state_at(from_us(time_us))
        assert name in {u.name for u in after.users.values()}
        before = sim.directory.state_at(from_us(time_us - 1))
        assert name not in {u.name for u in before.users.values()}
    leaver = sim.scenarios["deleted_user_activity"]
    deleted_at = next(t for t, log in logs if log["id"] == leaver["deletion_event_id"])
    assert leaver["user_guid"] in sim.directory.state_at(from_us(deleted_at - 1)).users
    assert leaver["user_guid"] not in sim.directory.state_at(from_us(deleted_at)).users
    grant = sim.scenarios["self_grant"]
    granted_at = next(t for t, log in logs if log["id"] == grant["privilege_event_id"])
    state = sim.directory.state_at(from_us(granted_at))
    assert "ADMINISTRATION" in state.privileges(state.users[grant["user_guid"]])
    state = sim.directory.state_at(from_us(granted_at - 1))
    assert "ADMINISTRATION" not in state.privileges(state.users[grant["user_guid"]])


def test_mode_members_follow_role_changes_and_the_planted_findings() -> None:
    sim = ModeSimulator(history=HistoryConfig(days=12, events_per_day=60, seed=6))
    directory = sim.directory
    climber = sim.scenarios["self_grant"]
    entries = {
        json.loads(r.payload)["id"]: r.time_us
        for r in sim.timeline.all_records(sim.timeline.end_us + DAY_US)
        if r.event_id is not None
    }
    at = entries[climber["event_id"]]
    assert not directory.state_at(at - 1).members[climber["user_id"]].admin
    assert directory.state_at(at).members[climber["user_id"]].admin
    leaver = sim.scenarios["leaver_activity"]
    removed = entries[leaver["removal_event_id"]]
    assert leaver["user_id"] in directory.state_at(removed - 1).members
    assert leaver["user_id"] not in directory.state_at(removed).members
    ignored = directory.scenarios["removal_not_applied"]
    later = directory.state_at(sim.timeline.end_us)
    assert ignored["group_token"] in later.members[ignored["member_token"]].groups
    unlogged = directory.scenarios["unlogged_admin_grant"]
    planted = next(c for c in directory.changes() if c[1] == -1 and c[3][0] == unlogged["member_token"])
    assert directory.state_at(planted[0]).members[unlogged["member_token"]].admin


def test_state_is_served_as_of_the_clock() -> None:
    with ModeSimulator(history=HistoryConfig(days=12, events_per_day=60, seed=6)) as sim:
        leaver = sim.scenarios["leaver_activity"]["user_id"]
        sim.clock.advance(timedelta(days=-11))
        auth = (sim.api_token, sim.api_secret)
        url = f"{sim.base_url}/api/{sim.workspace}/memberships/lite"
        early = {m["member_token"] for m in requests.get(url, auth=auth, timeout=10).json()["_embedded"]["memberships"]}
        sim.clock.advance(timedelta(days=11))
        late = {m["member_token"] for m in requests.get(url, auth=auth, timeout=10).json()["_embedded"]["memberships"]}
    assert leaver in early and leaver not in late
