"""The planted compliance findings are really in the served data, where `sim.scenarios` says they are."""

from __future__ import annotations

import json
from collections import defaultdict
from datetime import datetime, timedelta, timezone

import pytest

from pipelines.simulators import HistoryConfig, ModeSimulator, ThoughtSpotSimulator
from pipelines.simulators.event_vocabulary import BUSINESS_HOURS_UTC

from .conftest import mode_walk, parse_z, ts_token, ts_walk


@pytest.fixture(scope="module")
def ts_events():
    with ThoughtSpotSimulator(history=HistoryConfig(seed=21, days=30, events_per_day=150), late_minutes=0) as sim:
        now = datetime.now(timezone.utc)
        events = ts_walk(sim, ts_token(sim), now - timedelta(days=30) + timedelta(seconds=5), now)
        yield sim.scenarios, {e["id"]: e for e in events}


@pytest.fixture(scope="module")
def mode_events():
    with ModeSimulator(
        history=HistoryConfig(seed=21, days=30, events_per_day=150), page_size=2000, log_own_access=False
    ) as sim:
        now = datetime.now(timezone.utc)
        yield sim.scenarios, mode_walk(sim, now - timedelta(days=31), now)


def test_thoughtspot_brute_force_then_success(ts_events):
    scenarios, events = ts_events
    truth = scenarios["brute_force"]
    failures = sorted(
        parse_z(e["ts"])
        for e in events.values()
        if e["type"] == "LOGIN_FAILED" and e["data"].get("userName") == truth["user_name"] and e["cIP"] == truth["ip"]
    )
    assert any(sum(1 for f in failures if start <= f < start + timedelta(minutes=60)) >= 25 for start in failures)
    success = events[truth["success_event_id"]]
    assert success["type"] == "LOGIN_SUCCESSFUL" and success["userName"] == truth["user_name"]
    assert parse_z(success["ts"]) > failures[-1]
    # No background user comes close to the threshold.
    per_user_hour = defaultdict(int)
    for e in events.values():
        if e["type"] == "LOGIN_FAILED" and e["cIP"] != truth["ip"]:
            per_user_hour[(e["data"]["userName"], e["ts"][:13])] += 1
    assert max(per_user_hour.values()) < 10


def test_thoughtspot_lockout_self_grant_leaver_off_hours(ts_events):
    scenarios, events = ts_events
    lock = events[scenarios["account_locked"]["event_id"]]
    assert lock["type"] == "ACCOUNT_LOCKED" and lock["userGUID"] is None
    assert lock["data"]["userName"] == scenarios["account_locked"]["user_name"]

    grant = scenarios["self_grant"]
    join, change = events[grant["membership_event_id"]], events[grant["privilege_event_id"]]
    assert {"id": join["userGUID"]} in join["data"]["requestedUsersInGroup"]
    assert change["data"]["groupIdentity"]["id"]["id"] == join["data"]["groupID"]
    assert change["userGUID"] == join["userGUID"] and "ADMINISTRATION" in change["data"]["modifiedPrivileges"]
    background_self_adds = [
        e
        for e in events.values()
        if e["type"] == "PRINCIPALS_IN_GROUP_UPDATE" and {"id": e["userGUID"]} in e["data"]["requestedUsersInGroup"]
    ]
    assert [e["id"] for e in background_self_adds] == [grant["membership_event_id"]]

    leaver = scenarios["deleted_user_activity"]
    deletion = events[leaver["deletion_event_id"]]
    assert deletion["type"] == "USERS_DELETED" and {"id": leaver["user_guid"]} in deletion["data"]["userGUIDs"]
    after = [events[i] for i in leaver["activity_after_event_ids"]]
    assert after and all(e["userGUID"] == leaver["user_guid"] and e["ts"] > deletion["ts"] for e in after)
    deleted_guids = {d["id"] for e in events.values() if e["type"] == "USERS_DELETED" for d in e["data"]["userGUIDs"]}
    active_after = {e["userGUID"] for e in events.values() if e["userGUID"] in deleted_guids}
    assert active_after == {leaver["user_guid"]}, "only the planted leaver acts after deletion"

    off_hours = {
        e["id"]
        for e in events.values()
        if ("CONNECTION" in e["type"] or "CONFIGURATION" in e["type"])
        and not BUSINESS_HOURS_UTC[0] <= int(e["ts"][11:13]) < BUSINESS_HOURS_UTC[1]
    }
    assert off_hours == set(scenarios["off_hours_connection_changes"]["event_ids"])


def test_mode_findings(mode_events):
    scenarios, items = mode_events
    by_id = {i["id"]: i for i in items}
    grant = by_id[scenarios["self_grant"]["event_id"]]
    assert grant["action"] == "org_user_role_changed" and grant["actor"]["user_id"] == grant["entity"]["entity_id"]
    self_grants = [
        i
        for i in items
        if i["action"] == "org_user_role_changed" and i["actor"] and i["actor"]["user_id"] == i["entity"]["entity_id"]
    ]
    assert len(self_grants) == 1

    leaver = scenarios["leaver_activity"]
    removal = by_id[leaver["removal_event_id"]]
    assert removal["context"]["new_role"] == "removed" and removal["entity"]["entity_id"] == leaver["user_id"]
    assert all(
        by_id[i]["actor"]["user_id"] == leaver["user_id"] and by_id[i]["timestamp"] > removal["timestamp"]
        for i in leaver["activity_after_event_ids"]
    )

    burst = scenarios["export_burst"]
    exports = defaultdict(int)
    for i in items:
        if i["action"].startswith("export_data_") and i["actor"] and i["actor"]["user_id"] == burst["user_id"]:
            exports[i["timestamp"][:10]] += 1
    assert exports[burst["burst_day"]] >= 40
    assert max(n for day, n in exports.items() if day != burst["burst_day"]) <= 6

    token = scenarios["api_token_never_revoked"]
    created = {i["entity"]["entity_id"] for i in items if i["action"] == "api_token_workspace_created"}
    revoked = {i["entity"]["entity_id"] for i in items if i["action"].endswith("_revoked")}
    assert created - revoked == {token["entity_id"]}

    off_hours = {
        i["id"]
        for i in items
        if i["action"].startswith("connection_")
        and not BUSINESS_HOURS_UTC[0] <= int(i["timestamp"][11:13]) < BUSINESS_HOURS_UTC[1]
    }
    assert off_hours == set(scenarios["off_hours_connection_changes"]["event_ids"])


def test_scenarios_are_deterministic_and_survive_tiny_histories():
    end = datetime(2026, 6, 1, tzinfo=timezone.utc)
    a = ThoughtSpotSimulator(history=HistoryConfig(seed=3, end=end)).scenarios
    assert a == ThoughtSpotSimulator(history=HistoryConfig(seed=3, end=end)).scenarios
    for days in (1, 2):
        assert set(ModeSimulator(history=HistoryConfig(days=days, events_per_day=5)).scenarios) == {
            "self_grant",
            "leaver_activity",
            "export_burst",
            "api_token_never_revoked",
            "off_hours_connection_changes",
        }


@pytest.mark.parametrize("minute_of_day", range(0, 24 * 60, 20))
def test_each_mode_control_token_is_revoked_after_it_was_issued_whatever_the_hour(minute_of_day):
    # The control pairs sit a fraction of the history apart; at some hours both fell on the same hour of one day and
    # the sub-second jitter put the revocation first, so rpt_api_tokens rightly called the control never revoked.
    end = datetime(2026, 6, 1, tzinfo=timezone.utc) + timedelta(minutes=minute_of_day)
    timeline = ModeSimulator(history=HistoryConfig(seed=5, days=8, events_per_day=5, end=end)).timeline
    issued, revoked = {}, {}
    for record in timeline.all_records(as_of_us=int(end.timestamp() * 1_000_000)):
        item = json.loads(record.payload) if record.event_id else {}
        action = item.get("action", "")
        if action in ("api_token_workspace_created", "api_token_member_key_generated"):
            issued[item["entity"]["entity_id"]] = record.time_us
        elif action.endswith("_revoked"):
            revoked[item["entity"]["entity_id"]] = record.time_us
    assert revoked and all(at > issued[token] for token, at in revoked.items())
