"""Alerts end to end: compliance.findings from a demo-like warehouse posted to a local HTTP receiver (free port).

Each planted finding is alerted exactly once over two runs with late events in between; a failing webhook is
retried and still delivers once; the webhook URL (a secret) appears in no error, log or table."""

from __future__ import annotations

import json
import logging
import random
import shutil
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path

import duckdb
import pytest

from pipelines.evidence.alert_config import AlertSettings, load_settings
from pipelines.evidence.alert_webhook import run_alerts
from pipelines.simulators.history_primitives import to_us
from tests.support.webhook_receiver import WebhookReceiver

pytestmark = pytest.mark.slow
SECRET_PATH = "/services/T0AUDIT/B0LAKE/s3cr3t-hook-token"


@pytest.fixture
def receiver() -> Iterator[WebhookReceiver]:
    receiver = WebhookReceiver(SECRET_PATH)
    yield receiver
    receiver.close()


def settings_for(receiver: WebhookReceiver, **overrides) -> AlertSettings:
    values = {"min_severity": "low", "max_attempts": 3, "backoff_seconds": 0.01, **overrides}
    return AlertSettings(webhook_url=receiver.url, **values)


def copy_of(demo_warehouse, tmp_path: Path) -> Path:
    copy = tmp_path / "warehouse" / "auditlake.duckdb"
    copy.parent.mkdir(parents=True)
    shutil.copy(demo_warehouse.path, copy)
    return copy


def _q(path: Path, sql: str, params: list | None = None) -> list[tuple]:
    con = duckdb.connect(str(path), read_only=True)
    try:
        return con.execute(sql, params or []).fetchall()
    finally:
        con.close()


def test_a_failing_webhook_is_retried_and_each_finding_still_sent_once(demo_warehouse, receiver, tmp_path) -> None:
    warehouse = copy_of(demo_warehouse, tmp_path)
    receiver.statuses = [500]
    report = run_alerts(warehouse, settings_for(receiver))
    assert report.failed == {} and report.sent and set(report.sent) == set(report.queued)
    delivered = receiver.delivered()
    assert len(delivered) == len(set(delivered)) == len(report.sent)
    first_status, headers, first_body, _ = receiver.requests[0]
    assert first_status == 500 and receiver.requests[1][2] == first_body  # the same payload, retried
    assert headers["Idempotency-Key"] == first_body["finding"]["key"]
    assert _q(warehouse, "select attempts from auditlake_alerts.outbox where finding_key = ?", [delivered[0]]) == [(2,)]
    assert _q(warehouse, "select count(*) from auditlake_alerts.outbox where status <> 'sent'") == [(0,)]
    # Slack-compatible: a human line, plus the structured finding
    assert first_body["text"].startswith("[") and first_body["finding"]["subject"] in first_body["text"]
    # a restart (new process, same warehouse) sends nothing again
    before = len(receiver.requests)
    assert run_alerts(warehouse, settings_for(receiver)).queued == []
    assert len(receiver.requests) == before


def test_a_webhook_that_stays_down_keeps_findings_pending_and_the_url_secret(
    demo_warehouse, receiver, tmp_path, caplog
) -> None:
    warehouse = copy_of(demo_warehouse, tmp_path)
    receiver.statuses = [503] * 1000
    with caplog.at_level(logging.WARNING):
        report = run_alerts(warehouse, settings_for(receiver, max_attempts=2))
    assert report.sent == [] and set(report.failed) == set(report.queued) and report.queued
    errors = _q(warehouse, "select distinct last_error from auditlake_alerts.outbox")
    assert errors and all("503" in e[0] and "s3cr3t" not in e[0] and "127.0.0.1/***" in e[0] for e in errors)
    assert "s3cr3t" not in caplog.text and "s3cr3t" not in json.dumps(report.failed)
    rows = _q(warehouse, "select payload from auditlake_alerts.outbox")
    assert all("s3cr3t" not in r[0] for r in rows)
    # back up: every pending finding goes out once
    receiver.statuses = []
    receiver.requests.clear()
    second = run_alerts(warehouse, settings_for(receiver))
    assert second.queued == [] and sorted(second.sent) == sorted(report.queued)
    assert sorted(receiver.delivered()) == sorted(report.queued)


def test_threshold_and_per_kind_severity(demo_warehouse, receiver, tmp_path, monkeypatch) -> None:
    warehouse = copy_of(demo_warehouse, tmp_path)
    monkeypatch.setenv("AUDITLAKE_ALERT_WEBHOOK_URL", receiver.url)
    monkeypatch.setenv("AUDITLAKE_ALERT_MIN_SEVERITY", "critical")
    monkeypatch.setenv("AUDITLAKE_ALERT_SEVERITY__BRUTE_FORCE_BY_USER", "critical")
    settings = load_settings()
    assert settings.min_severity == "critical" and settings.severity_of("brute_force_by_user", "high") == "critical"
    run_alerts(warehouse, settings)
    kinds = {body["finding"]["kind"] for _, _, body, _ in receiver.requests}
    assert kinds == {"self_grant", "activity_after_deletion", "brute_force_by_user"}
    assert {body["finding"]["severity"] for _, _, body, _ in receiver.requests} == {"critical"}
    monkeypatch.setenv("AUDITLAKE_ALERT_MIN_SEVERITY", "urgent")
    with pytest.raises(Exception, match="not a severity"):
        load_settings()


def test_without_a_webhook_nothing_is_queued(demo_warehouse, tmp_path, monkeypatch) -> None:
    warehouse = copy_of(demo_warehouse, tmp_path)
    monkeypatch.delenv("AUDITLAKE_ALERT_WEBHOOK_URL", raising=False)
    report = run_alerts(warehouse, load_settings())
    assert not report.enabled and "off" in report.line()
    assert _q(warehouse, "select count(*) from information_schema.tables where table_schema = 'auditlake_alerts'") == [
        (0,)
    ]


def _add_failures(
    sim, user: str, ip: str, start: datetime, count: int, spacing: timedelta, etype: str = "LOGIN_FAILED"
):
    timeline = sim.timeline
    rng = random.Random(f"{user}{start.isoformat()}")
    for i in range(count):
        moment = start + i * spacing
        record = timeline._render(rng, to_us(moment), etype, None, {"userName": user}, ip=ip, seq=timeline.next_seq())
        # visible from now on (the simulator would otherwise reveal it up to its late_minutes later): being added
        # after a run that covered its time is what makes it late
        timeline.add_record(record._replace(reveal_us=record.time_us))


LATE_FINDING = (
    "select finding_key, occurrences from compliance.findings where kind = 'brute_force_by_user' and subject = ?"
)
# every failure of the user, and those in the hours flagged as brute force (the finding's occurrences)
VICTIM_FAILURES = (
    "select sum(failed_logins), sum(failed_logins) filter (where is_brute_force_by_user)"
    " from compliance.rpt_authentication_failures where user_name = ?"
)


def test_two_runs_with_late_events_alert_each_planted_finding_exactly_once(demo_warehouse, receiver) -> None:
    """Last in the file: it changes the module's warehouse (new events, two more builds)."""
    ts = demo_warehouse.thoughtspot
    now = ts.clock.now()
    base = now - timedelta(minutes=50)
    # a burst the first run sees part of: 22 failures over 22 minutes
    _add_failures(ts, "late.victim", "203.0.113.66", base, 22, timedelta(minutes=1))
    demo_warehouse.ingest_and_build()
    first = run_alerts(demo_warehouse.path, settings_for(receiver))
    assert first.failed == {}
    posted = {(body["finding"]["kind"], body["finding"]["subject"]) for _, _, body, _ in receiver.requests}
    scenarios = ts.scenarios
    for planted in (
        ("brute_force_by_user", scenarios["brute_force"]["user_name"]),
        ("brute_force_by_ip", scenarios["brute_force"]["ip"]),
        ("success_after_failures", scenarios["brute_force"]["user_name"]),
        ("account_lockout", scenarios["account_locked"]["user_name"]),
        ("self_grant", scenarios["self_grant"]["user_name"]),
        ("activity_after_deletion", scenarios["deleted_user_activity"]["user_name"]),
        ("self_grant", demo_warehouse.mode.scenarios["self_grant"]["username"]),
        ("brute_force_by_user", "late.victim"),
    ):
        assert planted in posted, planted
    late_key = _q(demo_warehouse.path, LATE_FINDING, ["late.victim"])
    assert _q(demo_warehouse.path, VICTIM_FAILURES, ["late.victim"])[0] == (22, late_key[0][1])

    # Late events between the runs: 6 more failures of the same burst (before the first run's cut-off, revealed
    # only now) and a lockout nobody had seen; a second run alerts the lockout only.
    _add_failures(ts, "late.victim", "203.0.113.66", base + timedelta(minutes=23), 6, timedelta(minutes=1))
    _add_failures(ts, "late.locked", "10.1.2.3", base + timedelta(minutes=30), 1, timedelta(0), "ACCOUNT_LOCKED")
    before = len(receiver.requests)
    demo_warehouse.ingest_and_build()
    second = run_alerts(demo_warehouse.path, settings_for(receiver))
    new = [(body["finding"]["kind"], body["finding"]["subject"]) for _, _, body, _ in receiver.requests[before:]]
    assert ("account_lockout", "late.locked") in new
    assert not set(new) & posted
    delivered = receiver.delivered()
    assert len(delivered) == len(set(delivered))
    # the burst's finding grew (same key, later last_seen), and was not alerted again
    grown = _q(demo_warehouse.path, LATE_FINDING, ["late.victim"])
    assert _q(demo_warehouse.path, VICTIM_FAILURES, ["late.victim"])[0] == (28, grown[0][1])
    assert grown[0][0] == late_key[0][0] and grown[0][1] > late_key[0][1]
    assert delivered.count(late_key[0][0]) == 1
    assert second.failed == {}


def test_a_pushed_brute_force_is_alerted_by_the_drain_job_once(demo_warehouse, receiver, tmp_path, monkeypatch) -> None:
    """The fast path (bench/bench_push_alert.py times it): the minute drain also builds the findings from what was
    pushed and alerts them, without waiting for the refresh; a second tick with nothing new sends nothing."""
    import dagster as dg

    from pipelines.orchestration.push_drain_job import drain_push_job
    from pipelines.receiver.spool_segments import SpoolWriter, spool_dir
    from pipelines.sources.common.url_safety import host_with_port

    copy = copy_of(demo_warehouse, tmp_path)
    monkeypatch.setenv("AUDITLAKE_WAREHOUSE", str(copy))
    monkeypatch.setenv("AUDITLAKE_HOME", str(tmp_path))
    monkeypatch.setenv("AUDITLAKE_ALERT_WEBHOOK_URL", receiver.url)
    now = datetime.now(timezone.utc) - timedelta(minutes=5)
    user = "pushed.target"
    records = [
        {
            "id": f"TS-push-bf-{i}",
            "ts": (now + timedelta(seconds=5 * i)).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
            "type": "LOGIN_FAILED",
            "desc": "User login failed",
            "userName": user,
            "cIP": "203.0.113.99",
            "orgId": 0,
            "data": {"userName": user},
        }
        for i in range(30)
    ]
    writer = SpoolWriter(spool_dir(), max_bytes=10**9)
    header = {
        "instance": host_with_port(demo_warehouse.thoughtspot.base_url),
        "received_at": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        "route": "plain",
    }
    writer.submit(header, json.dumps(records).encode()).result(timeout=10)
    writer.close()

    run = drain_push_job.execute_in_process(instance=dg.DagsterInstance.ephemeral())
    assert run.success and run.output_for_node("drain_push_spool") == 30
    ours = [body for status, _, body, _ in receiver.requests if status == 200 and user in body["text"]]
    assert [body["finding"]["kind"] for body in ours] == ["brute_force_by_user"]
    sent = len(receiver.requests)
    again = drain_push_job.execute_in_process(instance=dg.DagsterInstance.ephemeral())
    assert again.success and again.output_for_node("drain_push_spool") == 0
    assert len(receiver.requests) == sent
