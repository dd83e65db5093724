"""Fault injection over real HTTP: 429 with Retry-After, 5xx in each product's error shape, drops, slow responses."""

from __future__ import annotations

import time

import pytest
import requests

from pipelines.simulators import FaultPlan, HistoryConfig, ModeSimulator, ThoughtSpotSimulator

from .conftest import mode_get, ts_fetch, ts_token

SMALL = HistoryConfig(days=1, events_per_day=20)
RANGE = {"start_timestamp": "2020-01-01T00:00:00Z", "end_timestamp": "2030-01-01T00:00:00Z"}


def test_thoughtspot_scripted_faults_then_recovery():
    faults = FaultPlan(retry_after_seconds=7, slow_seconds=0.3)
    with ThoughtSpotSimulator(history=SMALL, faults=faults) as sim:
        faults.fail_next(429)
        token = ts_token(sim)  # the token endpoint is exempt: the 429 waits for the data request
        limited = ts_fetch(sim, token)
        assert limited.status_code == 429 and limited.headers["Retry-After"] == "7"
        assert "code" in limited.json()["error"]["message"]
        faults.fail_next(500)
        faults.fail_next(503)
        assert ts_fetch(sim, token).json()["error"]["message"]["code"] == 10038
        unavailable = ts_fetch(sim, token)
        assert unavailable.status_code == 503 and unavailable.headers["Retry-After"] == "7"
        faults.fail_next("drop")
        with pytest.raises(requests.ConnectionError):
            ts_fetch(sim, token)
        faults.fail_next("slow")
        started = time.perf_counter()
        assert ts_fetch(sim, token).status_code == 200
        assert time.perf_counter() - started >= 0.3
        assert ts_fetch(sim, token).status_code == 200 and faults.pending() == 0
        log = [(e["status"], e["fault"]) for e in sim.request_log if e["path"].endswith("/logs/fetch")]
        assert log == [(429, 429), (500, 500), (503, 503), (None, "drop"), (200, "slow"), (200, None)]


def test_mode_scripted_faults_use_mode_shapes():
    faults = FaultPlan(retry_after_seconds=3)
    with ModeSimulator(history=SMALL, faults=faults) as sim:
        faults.fail_next(429)
        limited = mode_get(sim, **RANGE)
        assert limited.status_code == 429 and limited.headers["Retry-After"] == "3"
        assert limited.json() == {"id": "too_many_requests", "message": "Too many API requests"}
        faults.fail_next("drop", count=2)
        for _ in range(2):
            with pytest.raises(requests.ConnectionError):
                mode_get(sim, **RANGE)
        assert mode_get(sim, **RANGE).status_code == 200


def test_random_faults_are_seeded_and_can_include_the_token_endpoint():
    def statuses(seed: int) -> list[int | None]:
        plan = FaultPlan(error_rate=0.5, drop_rate=0.1, seed=seed, include_token_endpoint=True)
        out = []
        with ThoughtSpotSimulator(history=SMALL, faults=plan, secret_key="k") as sim:
            for _ in range(30):
                try:
                    out.append(
                        requests.post(
                            sim.base_url + "/api/rest/2.0/auth/token/full",
                            timeout=5,
                            json={"username": sim.username, "secret_key": "k"},
                        ).status_code
                    )
                except requests.ConnectionError:
                    out.append(None)
        return out

    first = statuses(1)
    assert first == statuses(1) != statuses(2)
    assert {200, None} <= set(first) and set(first) & {429, 500, 503}


def test_fault_plan_rejects_nonsense():
    with pytest.raises(ValueError, match="probability"):
        FaultPlan(error_rate=2)
    with pytest.raises(ValueError, match="unknown"):
        FaultPlan().fail_next("explode")


def test_a_client_that_resets_its_connection_leaves_no_traceback(capfd):
    """A client that goes away mid-request (a Ctrl-C'd ingest) is not a simulator error: nothing on the console,
    and the simulator keeps serving."""
    import socket
    import struct

    with ThoughtSpotSimulator(history=SMALL) as sim:
        for _ in range(3):
            client = socket.create_connection((sim.host, sim.port))
            client.sendall(b"GET /api/rest/2.0/auth/session/user HTTP/1.1\r\nHost: x")  # never finished
            client.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))  # close = reset
            client.close()
        time.sleep(0.5)  # the server's threads meet the resets
        assert ts_token(sim)
    err = capfd.readouterr().err
    assert "Traceback" not in err and "ConnectionResetError" not in err, err
