"""The ThoughtSpot simulator over real HTTP: auth, windows, retention, late reveal, record format, malformed records."""

from __future__ import annotations

import json
import re
from collections import Counter
from datetime import datetime, timedelta, timezone

import requests

from pipelines.simulators import THOUGHTSPOT_EVENT_TYPES, HistoryConfig, SimClock, ThoughtSpotSimulator
from pipelines.simulators.thoughtspot_api import LOGS_PATH, TOKEN_PATH

from .conftest import END, ms, parse_z, ts_fetch, ts_logs, ts_token, ts_walk

DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$")
TS_RE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$")
LOG_KEYS = ["version", "id", "ts", "orgId", "userGUID", "userName", "cIP", "type", "desc", "data"]


def assert_error(response: requests.Response, status: int, code: int, debug_contains: str = "") -> None:
    assert response.status_code == status, response.text
    message = response.json()["error"]["message"]
    assert set(message) == {"code", "incident_id_guid", "trace_id_guid", "debug"}
    assert message["code"] == code
    assert debug_contains in message["debug"]


# -- auth ---------------------------------------------------------------------------------------------------------


def test_token_success_returns_the_documented_token_object(ts_sim):
    response = requests.post(
        ts_sim.base_url + TOKEN_PATH, json={"username": ts_sim.username, "secret_key": ts_sim.secret_key}, timeout=5
    )
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {
        "token",
        "creation_time_in_millis",
        "expiration_time_in_millis",
        "scope",
        "valid_for_user_id",
        "valid_for_username",
    }
    assert body["expiration_time_in_millis"] - body["creation_time_in_millis"] == 300_000  # documented default
    assert body["scope"] == {"access_type": "FULL", "org_id": 0, "metadata_id": None}
    assert body["valid_for_username"] == ts_sim.username
    assert re.fullmatch(r"[0-9a-f-]{36}", body["valid_for_user_id"])


def test_token_failures_use_documented_codes(ts_sim):
    url = ts_sim.base_url + TOKEN_PATH
    assert_error(requests.post(url, json={"secret_key": ts_sim.secret_key}, timeout=5), 400, 10002, "username")
    assert_error(
        requests.post(url, json={"username": ts_sim.username}, timeout=5),
        400,
        10002,
        "Either secret_key or password must be provided.",
    )
    assert_error(
        requests.post(url, json={"username": ts_sim.username, "secret_key": "wrong"}, timeout=5),
        401,
        10097,
        "Invalid credentials",
    )
    assert_error(
        requests.post(url, json={"username": "someone-else", "secret_key": ts_sim.secret_key}, timeout=5), 401, 10097
    )
    assert_error(requests.post(url, data="username=x", headers={"Content-Type": "text/plain"}, timeout=5), 415, 10002)
    assert_error(
        requests.post(
            url,
            json={"username": ts_sim.username, "secret_key": ts_sim.secret_key, "validity_time_in_sec": "soon"},
            timeout=5,
        ),
        400,
        10002,
    )
    # The secret never leaks into an error or the request log.
    assert ts_sim.secret_key not in json.dumps(ts_sim.request_log)


def test_password_login_and_viewer_gets_403():
    with ThoughtSpotSimulator(history=HistoryConfig(days=1, events_per_day=10), password="pw-123") as sim:
        url = sim.base_url + TOKEN_PATH
        ok = requests.post(url, json={"username": sim.username, "password": "pw-123"}, timeout=5)
        assert ok.status_code == 200
        viewer = requests.post(url, json={"username": sim.viewer_username, "secret_key": sim.secret_key}, timeout=5)
        assert_error(ts_fetch(sim, viewer.json()["token"]), 403, 10023, "ADMINISTRATION")


def test_missing_unknown_and_expired_tokens_get_401():
    clock = SimClock()
    with ThoughtSpotSimulator(
        history=HistoryConfig(days=1, events_per_day=10), clock=clock, max_token_validity_seconds=60
    ) as sim:
        assert_error(ts_fetch(sim, None), 401, 10097)
        assert_error(ts_fetch(sim, "not-a-token"), 401, 10097)
        token = ts_token(sim, validity_time_in_sec=3600)  # capped to 60 s by the simulator
        assert ts_fetch(sim, token).status_code == 200
        clock.advance(timedelta(seconds=61))
        assert_error(ts_fetch(sim, token), 401, 10097, "expired")
        fresh = ts_token(sim)
        assert ts_fetch(sim, fresh).status_code == 200
        sim.expire_tokens()
        assert_error(ts_fetch(sim, fresh), 401, 10097, "expired")
        assert ts_fetch(sim, ts_token(sim)).status_code == 200


# -- request validation -------------------------------------------------------------------------------------------


def test_window_rules(ts_sim, ts_token_for):
    now = datetime.now(timezone.utc)
    start = now - timedelta(days=2)
    assert_error(
        ts_fetch(
            ts_sim, ts_token_for, start_epoch_time_in_millis=ms(start), end_epoch_time_in_millis=ms(start) + 86_400_001
        ),
        400,
        10002,
        "24 hours",
    )
    assert (
        ts_fetch(
            ts_sim, ts_token_for, start_epoch_time_in_millis=ms(start), end_epoch_time_in_millis=ms(start) + 86_400_000
        ).status_code
        == 200
    )
    assert_error(ts_fetch(ts_sim, ts_token_for, start_epoch_time_in_millis="yesterday"), 400, 10002)
    assert_error(
        ts_fetch(ts_sim, ts_token_for, end_epoch_time_in_millis=ms(start), start_epoch_time_in_millis=ms(start) + 1),
        400,
        10002,
    )
    assert_error(ts_fetch(ts_sim, ts_token_for, log_type="AUDIT"), 400, 10002, "SECURITY_AUDIT")
    # Numeric strings (what Postman collections send) are accepted and mean the same as numbers.
    as_numbers = ts_fetch(
        ts_sim, ts_token_for, start_epoch_time_in_millis=ms(start), end_epoch_time_in_millis=ms(start) + 3_600_000
    )
    as_strings = ts_fetch(
        ts_sim,
        ts_token_for,
        start_epoch_time_in_millis=str(ms(start)),
        end_epoch_time_in_millis=f"{ms(start) + 3_600_000}.0",
    )
    assert as_numbers.content == as_strings.content
    wrong_type = requests.post(
        ts_sim.base_url + LOGS_PATH,
        data=b'{"log_type":"SECURITY_AUDIT"}',
        headers={"Authorization": f"Bearer {ts_token_for}", "Content-Type": "text/plain"},
        timeout=5,
    )
    assert_error(wrong_type, 415, 10002)


def test_bounds_are_inclusive_at_millisecond_resolution(ts_sim, ts_token_for):
    now = datetime.now(timezone.utc)
    sample = ts_logs(
        ts_fetch(
            ts_sim,
            ts_token_for,
            start_epoch_time_in_millis=ms(now - timedelta(days=2)),
            end_epoch_time_in_millis=ms(now - timedelta(days=1)),
        )
    )[0]
    date_ms = ms(parse_z(sample["_date"]))
    exact = ts_logs(
        ts_fetch(ts_sim, ts_token_for, start_epoch_time_in_millis=date_ms, end_epoch_time_in_millis=date_ms)
    )
    assert sample["id"] in {e["id"] for e in exact}
    before = ts_logs(
        ts_fetch(
            ts_sim, ts_token_for, start_epoch_time_in_millis=date_ms - 60_000, end_epoch_time_in_millis=date_ms - 1
        )
    )
    after = ts_logs(
        ts_fetch(
            ts_sim, ts_token_for, start_epoch_time_in_millis=date_ms + 1, end_epoch_time_in_millis=date_ms + 60_000
        )
    )
    assert sample["id"] not in {e["id"] for e in before + after}


def test_default_and_half_open_windows(ts_sim, ts_token_for):
    before = datetime.now(timezone.utc)
    default = ts_logs(ts_fetch(ts_sim, ts_token_for))
    after = datetime.now(timezone.utc)
    dates = [parse_z(e["_date"]) for e in default]
    assert default and all(before - timedelta(hours=24, seconds=1) <= d <= after for d in dates)
    explicit = ts_logs(
        ts_fetch(
            ts_sim,
            ts_token_for,
            start_epoch_time_in_millis=ms(after - timedelta(hours=24)),
            end_epoch_time_in_millis=ms(before),
        )
    )
    assert {e["id"] for e in explicit} <= {e["id"] for e in default}
    # only start: [start, min(start + 24 h, now)]
    start = before - timedelta(hours=30)
    only_start = ts_logs(ts_fetch(ts_sim, ts_token_for, start_epoch_time_in_millis=ms(start)))
    assert only_start and all(
        start <= parse_z(e["_date"]) <= start + timedelta(hours=24, milliseconds=1) for e in only_start
    )
    # only end: [end - 24 h, end]
    end = before - timedelta(hours=10)
    only_end = ts_logs(ts_fetch(ts_sim, ts_token_for, end_epoch_time_in_millis=ms(end)))
    assert only_end and all(
        end - timedelta(hours=24) <= parse_z(e["_date"]) <= end + timedelta(milliseconds=1) for e in only_end
    )


def test_walk_returns_exactly_the_expected_ids(ts_sim, ts_token_for):
    as_of = datetime.now(timezone.utc)
    events = ts_walk(ts_sim, ts_token_for, as_of - timedelta(days=6), as_of)
    ids = [e["id"] for e in events]
    assert len(ids) == len(set(ids)), "inclusive bounds must not duplicate across adjacent ms-disjoint windows"
    assert set(ids) == ts_sim.expected_event_ids(as_of)


# -- record format --------------------------------------------------------------------------------------------------


def test_records_look_like_the_documented_ones(ts_sim, ts_token_for):
    response = ts_fetch(ts_sim, ts_token_for, start_epoch_time_in_millis=ms(datetime.now(timezone.utc)) - 86_400_000)
    raw = response.json()
    assert isinstance(raw, list) and raw
    for item in raw:
        assert DATE_RE.match(item["date"])
        log = json.loads(item["log"])
        assert list(log) == LOG_KEYS
        assert item["log"] == json.dumps(log, separators=(",", ":"), ensure_ascii=False)  # compact, in key order
        assert TS_RE.match(log["ts"]) and log["version"] == "1.1" and log["id"].startswith("TS-")
        jitter = parse_z(item["date"]) - parse_z(log["ts"])
        assert timedelta(0) <= jitter < timedelta(seconds=1.5)
        assert log["orgId"] in (-1, 0, 1, 2) and log["type"] in THOUGHTSPOT_EVENT_TYPES
        if log["type"] in ("LOGIN_FAILED", "ACCOUNT_LOCKED"):
            assert log["userGUID"] is None and log["userName"] is None and log["data"]["userName"]
    dates = [item["date"] for item in raw]
    assert dates != sorted(dates), "ThoughtSpot promises no order; the simulator must not hand out sorted arrays"
    assert {None, ""} & {json.loads(i["log"])["cIP"] for i in raw}, "cIP is sometimes null or empty"


def test_every_event_type_appears_in_a_default_history():
    with ThoughtSpotSimulator(late_minutes=0) as sim:  # HistoryConfig(): 30 days x 300 events
        token = ts_token(sim, validity_time_in_sec=3600)
        now = datetime.now(timezone.utc)
        events = ts_walk(sim, token, now - timedelta(days=30) + timedelta(seconds=5), now)
    counts = Counter(e["type"] for e in events)
    assert set(THOUGHTSPOT_EVENT_TYPES) <= set(counts), set(THOUGHTSPOT_EVENT_TYPES) - set(counts)
    assert counts.most_common(1)[0][0] == "LOGIN_SUCCESSFUL"
    assert {-1, 0, 1} <= {e["orgId"] for e in events}
    assert all(e["orgId"] == -1 for e in events if e["type"].startswith("ORG_CREATION"))
    share = next(e for e in events if e["type"] == "SHARE_OBJECTS")
    assert isinstance(json.loads(share["data"]["objIds"]), list)  # stringified JSON inside data


# -- retention, late reveal, added events ----------------------------------------------------------------------


def test_thirty_day_horizon():
    with ThoughtSpotSimulator(history=HistoryConfig(days=35, events_per_day=20), late_minutes=0) as sim:
        token = ts_token(sim)
        now = datetime.now(timezone.utc)
        old = ts_logs(
            ts_fetch(
                sim,
                token,
                start_epoch_time_in_millis=ms(now - timedelta(days=33)),
                end_epoch_time_in_millis=ms(now - timedelta(days=32)),
            )
        )
        assert old == []
        assert sim.timeline.records_between(
            ms(now - timedelta(days=33)) * 1000, ms(now - timedelta(days=32)) * 1000, ms(now) * 1000
        ), "the events exist, they are just past retention"
        horizon = now - timedelta(days=30)
        edge = ts_logs(
            ts_fetch(
                sim,
                token,
                start_epoch_time_in_millis=ms(horizon - timedelta(hours=12)),
                end_epoch_time_in_millis=ms(horizon + timedelta(hours=12)),
            )
        )
        assert edge and all(parse_z(e["_date"]) >= horizon - timedelta(seconds=5) for e in edge)
        expected = sim.expected_event_ids(now)
        oldest_expected = min(r.time_us for r in sim.timeline.all_records(ms(now) * 1000) if r.event_id in expected)
        assert oldest_expected >= ms(horizon) * 1000


def test_late_reveal_with_clock_advance():
    clock = SimClock()
    with ThoughtSpotSimulator(history=HistoryConfig(days=2, events_per_day=2000), clock=clock, late_minutes=30) as sim:
        token = ts_token(sim, validity_time_in_sec=7200)
        now = clock.now()
        visible_now = sim.expected_event_ids()
        eventually = sim.expected_event_ids(now + timedelta(minutes=31))
        assert visible_now < eventually, "some of the last 30 minutes' events are not visible yet"
        added = sim.add_events(50, now - timedelta(seconds=1), now)
        window = dict(
            start_epoch_time_in_millis=ms(now - timedelta(hours=1)),
            end_epoch_time_in_millis=ms(now + timedelta(minutes=40)),
        )
        first = {e["id"] for e in ts_logs(ts_fetch(sim, token, **window))}
        assert first <= visible_now | set(added) and not set(added) <= first
        clock.advance(timedelta(minutes=31))
        later = {e["id"] for e in ts_logs(ts_fetch(sim, token, **window))}
        assert set(added) <= later and first < later
        assert set(added) <= sim.expected_event_ids()


# -- malformed records, determinism ----------------------------------------------------------------------------


def test_malformed_records_are_served_verbatim():
    history = HistoryConfig(seed=3, days=2, events_per_day=300, malformed_every=25)
    with ThoughtSpotSimulator(history=history, late_minutes=0) as sim:
        token = ts_token(sim)
        now = datetime.now(timezone.utc)
        raw = []
        for days_back in (2, 1):
            response = ts_fetch(
                sim,
                token,
                start_epoch_time_in_millis=ms(now - timedelta(days=days_back)) + 1,
                end_epoch_time_in_millis=ms(now - timedelta(days=days_back - 1)),
            )
            raw.extend(response.json())
        served = {json.dumps(item, separators=(",", ":"), ensure_ascii=False) for item in raw}
        malformed = sim.malformed_records()
        assert len(malformed) >= 15 and set(malformed) <= served
        kinds = Counter()
        for text in malformed:
            log = json.loads(text)["log"]
            if not isinstance(log, str):
                kinds["not a string"] += 1
                continue
            try:
                kinds["no id" if "id" not in json.loads(log) else "??"] += 1
            except ValueError:
                kinds["not JSON"] += 1
        assert set(kinds) == {"not a string", "no id", "not JSON"}
        good = [json.loads(i["log"]) for i in raw if isinstance(i["log"], str) and _parses_with_id(i["log"])]
        assert {g["id"] for g in good} == sim.expected_event_ids()


def _parses_with_id(text: str) -> bool:
    try:
        return "id" in json.loads(text)
    except ValueError:
        return False


def test_same_seed_same_history_different_seed_different():
    def body(seed: int) -> bytes:
        with ThoughtSpotSimulator(
            history=HistoryConfig(seed=seed, days=3, events_per_day=200, end=END), late_minutes=30, secret_key="s"
        ) as sim:
            token = ts_token(sim)
            return ts_fetch(
                sim,
                token,
                start_epoch_time_in_millis=ms(END - timedelta(days=1)),
                end_epoch_time_in_millis=ms(END - timedelta(hours=2)),
            ).content

    first, second, other = body(11), body(11), body(12)
    assert first == second and first != other and len(json.loads(first)) > 100
