"""ThoughtSpot source against the real simulator over HTTP, into real DuckDB files."""

from __future__ import annotations

from datetime import timedelta

import pytest

from pipelines.ingest_runner import run_ingest
from pipelines.simulators import FaultPlan, ThoughtSpotSimulator
from tests.ingest.conftest import event_ids, history, only, point_at_thoughtspot, rows, table_exists

EVENTS = "raw_thoughtspot.security_audit_events"


def test_backfill_equals_ground_truth_then_late_and_new_events_without_duplicates(warehouse, monkeypatch):
    with ThoughtSpotSimulator(history=history(), late_minutes=30) as sim:
        point_at_thoughtspot(monkeypatch, sim)
        first_run_at = sim.clock.now()
        lines: list[str] = []
        first = only(run_ingest(["thoughtspot"], progress=lines.append))
        assert first.error is None, first.error
        ids = event_ids(warehouse, EVENTS)
        assert len(ids) == len(set(ids))
        assert set(ids) == sim.expected_event_ids()
        assert first.new_events == len(ids) and first.source_instance == sim.host_id
        assert first.windows == 30 and len([line for line in lines if " window " in line]) == 30
        windows = rows(warehouse, "select count(*), sum(fetched), sum(new_events) from raw_thoughtspot.ingest_windows")
        assert windows == [(30, len(ids), len(ids))]

        # Late events land inside the overlap the next run re-reads; new ones after the cursor.
        late = sim.add_events(5, first_run_at - timedelta(minutes=50), first_run_at - timedelta(minutes=10))
        new = sim.add_events(10, first_run_at + timedelta(minutes=5), first_run_at + timedelta(minutes=25))
        sim.clock.advance(timedelta(hours=1))  # every added event is revealed by now (late_minutes=30)
        second = only(run_ingest(["thoughtspot"], progress=lines.append, until=sim.clock.now().isoformat()))
        assert second.error is None, second.error
        ids = event_ids(warehouse, EVENTS)
        assert len(ids) == len(set(ids))
        assert set(ids) == sim.expected_event_ids()
        assert set(late) | set(new) <= set(ids)
        assert second.new_events == 15 and second.duplicates == 0
        assert second.window_start <= first_run_at - timedelta(minutes=59)  # the overlap was re-read

        # A third run re-reads the 10 new events in its overlap: absorbed as duplicates, nothing new.
        third = only(run_ingest(["thoughtspot"], progress=lines.append, until=sim.clock.now().isoformat()))
        assert (third.error, third.new_events, third.duplicates) == (None, 0, 10)
        assert len(event_ids(warehouse, EVENTS)) == len(ids)


def test_token_expiry_in_the_middle_of_a_backfill_is_survived(warehouse, monkeypatch):
    with ThoughtSpotSimulator(history=history(days=10, per_day=20)) as sim:
        point_at_thoughtspot(monkeypatch, sim)
        seen_windows = []

        def expire_after_third_window(line: str) -> None:
            seen_windows.append(line)
            if len(seen_windows) == 3:
                sim.expire_tokens()

        summary = only(run_ingest(["thoughtspot"], progress=expire_after_third_window))
        assert summary.error is None, summary.error
        log = sim.request_log
        token_calls = [e for e in log if e["path"].endswith("/auth/token/full")]
        assert len(token_calls) == 2
        assert any(e["path"].endswith("/logs/fetch") and e["status"] == 401 for e in log)
        ids = event_ids(warehouse, EVENTS)
        assert len(ids) == len(set(ids)) and set(ids) == sim.expected_event_ids()


def test_short_lived_tokens_are_renewed_before_they_expire(warehouse, monkeypatch):
    with ThoughtSpotSimulator(history=history(days=3, per_day=20), max_token_validity_seconds=1) as sim:
        point_at_thoughtspot(monkeypatch, sim)
        slow = FaultPlan()
        sim.faults = slow
        slow.fail_next("slow", 4)  # 4 x 0.5 s: the run outlives the 1 s token
        summary = only(run_ingest(["thoughtspot"], progress=lambda _: None))
        assert summary.error is None, summary.error
        assert len([e for e in sim.request_log if e["path"].endswith("/auth/token/full")]) >= 2
        assert set(event_ids(warehouse, EVENTS)) == sim.expected_event_ids()


def test_429_5xx_and_dropped_connections_are_retried(warehouse, monkeypatch):
    faults = FaultPlan(error_rate=0.15, statuses=(500, 502), drop_rate=0.1, seed=5)
    with ThoughtSpotSimulator(history=history(days=12, per_day=20), faults=faults) as sim:
        for kind in (429, 503, "drop", 500):
            faults.fail_next(kind)
        point_at_thoughtspot(monkeypatch, sim)
        summary = only(run_ingest(["thoughtspot"], progress=lambda _: None))
        assert summary.error is None, summary.error
        injected = {e["fault"] for e in sim.request_log if e["fault"] is not None}
        assert {429, 503, 500, "drop"} <= injected
        ids = event_ids(warehouse, EVENTS)
        assert len(ids) == len(set(ids)) and set(ids) == sim.expected_event_ids()


def test_persistent_server_errors_fail_the_source_and_move_no_cursor(warehouse, monkeypatch):
    faults = FaultPlan(error_rate=1.0, statuses=(500,))
    with ThoughtSpotSimulator(history=history(days=2, per_day=10), faults=faults) as sim:
        point_at_thoughtspot(monkeypatch, sim)
        monkeypatch.setenv("RUNTIME__REQUEST_MAX_ATTEMPTS", "2")
        summary = only(run_ingest(["thoughtspot"], progress=lambda _: None))
        assert summary.error is not None and "HTTP 500" in summary.error
        assert not table_exists(warehouse, "raw_thoughtspot", "security_audit_events")
        # Once the vendor recovers, the next run starts from the beginning and loads everything.
        faults.error_rate = 0.0
        monkeypatch.setenv("RUNTIME__REQUEST_MAX_ATTEMPTS", "6")
        again = only(run_ingest(["thoughtspot"], progress=lambda _: None))
        assert again.error is None, again.error
        assert set(event_ids(warehouse, EVENTS)) == sim.expected_event_ids()


def test_malformed_records_are_quarantined_and_counted_while_valid_ones_load(warehouse, monkeypatch):
    with ThoughtSpotSimulator(history=history(days=5, per_day=60, malformed_every=20)) as sim:
        point_at_thoughtspot(monkeypatch, sim)
        summary = only(run_ingest(["thoughtspot"], progress=lambda _: None))
        assert summary.error is None, summary.error
        malformed = sim.malformed_records()
        assert malformed, "the simulator should have served malformed records"
        quarantined = rows(warehouse, "select record, reason, source_instance from raw_thoughtspot.quarantined_records")
        assert sorted(r[0] for r in quarantined) == sorted(malformed)  # verbatim
        assert all(r[1] and r[2] == sim.host_id for r in quarantined)
        assert summary.quarantined == len(malformed)
        assert rows(warehouse, "select sum(quarantined) from raw_thoughtspot.ingest_windows") == [(len(malformed),)]
        assert set(event_ids(warehouse, EVENTS)) == sim.expected_event_ids()
        reasons = {r[1].split(":")[0] for r in quarantined}
        assert {"`log` is not valid JSON", "`log` has no string `id`", "`log` is not a string"} <= reasons


def test_columns_follow_the_raw_table_contract(warehouse, monkeypatch):
    from pipelines.sources import raw_tables

    with ThoughtSpotSimulator(history=history(days=2, per_day=30)) as sim:
        point_at_thoughtspot(monkeypatch, sim)
        assert only(run_ingest(["thoughtspot"], progress=lambda _: None)).error is None
        columns = dict(
            rows(
                warehouse,
                "select column_name, data_type from information_schema.columns "
                "where table_schema = 'raw_thoughtspot' and table_name = ?",
                EVENTS.split(".")[1],
            )
        )
        assert set(raw_tables.THOUGHTSPOT_EVENTS_SCHEMA.names) <= set(columns)
        assert columns["data"] == "JSON" and columns["date"] == "TIMESTAMP WITH TIME ZONE"
        assert columns["org_id"] == "BIGINT" and columns["log"] == "VARCHAR"
        # `log` is the vendor's string verbatim and the parsed columns agree with it.
        mismatches = rows(
            warehouse,
            f"""
            select count(*) from {EVENTS}
            where id <> json_extract_string(log, '$.id') or type <> json_extract_string(log, '$.type')
               or data::varchar <> json_extract(log, '$.data')::varchar
               or ts <> cast(json_extract_string(log, '$.ts') as timestamptz)""",
        )
        assert mismatches == [(0,)]


def test_password_authentication_works(warehouse, monkeypatch):
    with ThoughtSpotSimulator(history=history(days=2, per_day=10), password="pw-for-the-svc-account") as sim:
        monkeypatch.setenv("SOURCES__THOUGHTSPOT__BASE_URL", sim.base_url)
        monkeypatch.setenv("SOURCES__THOUGHTSPOT__USERNAME", sim.username)
        monkeypatch.setenv("SOURCES__THOUGHTSPOT__PASSWORD", "pw-for-the-svc-account")
        summary = only(run_ingest(["thoughtspot"], progress=lambda _: None))
        assert summary.error is None, summary.error
        assert set(event_ids(warehouse, EVENTS)) == sim.expected_event_ids()


def test_wrong_credentials_fail_with_the_variable_to_fix_and_no_secret(warehouse, monkeypatch):
    wrong = "not-the-right-key-8d1f2c"
    with ThoughtSpotSimulator(history=history(days=2, per_day=10)) as sim:
        point_at_thoughtspot(monkeypatch, sim, secret_key=wrong)
        summary = only(run_ingest(["thoughtspot"], progress=lambda _: None))
    assert summary.error is not None
    assert "SOURCES__THOUGHTSPOT__SECRET_KEY" in summary.error and "401" in summary.error
    assert wrong not in summary.error and sim.secret_key not in summary.error
    assert not table_exists(warehouse, "raw_thoughtspot", "security_audit_events")


@pytest.mark.parametrize("url", ["http://thoughtspot.example.com", "http://10.1.2.3:8080"])
def test_plain_http_to_a_remote_host_is_refused(warehouse, monkeypatch, url):
    monkeypatch.setenv("SOURCES__THOUGHTSPOT__BASE_URL", url)
    monkeypatch.setenv("SOURCES__THOUGHTSPOT__USERNAME", "svc")
    monkeypatch.setenv("SOURCES__THOUGHTSPOT__SECRET_KEY", "some-secret-value")
    summary = only(run_ingest(["thoughtspot"], progress=lambda _: None))
    assert summary.error is not None
    assert "SOURCES__THOUGHTSPOT__BASE_URL" in summary.error and "https://" in summary.error
    assert "some-secret-value" not in summary.error


def test_missing_credentials_skip_the_source_with_a_notice(warehouse, monkeypatch):
    monkeypatch.setenv("SOURCES__THOUGHTSPOT__BASE_URL", "https://acme.thoughtspot.cloud")
    lines: list[str] = []
    summaries = run_ingest(["thoughtspot", "mode"], progress=lines.append)
    assert [(s.source, s.skipped, s.error) for s in summaries] == [("thoughtspot", True, None), ("mode", True, None)]
    assert len(lines) == 2
    assert "SOURCES__THOUGHTSPOT__SECRET_KEY" in lines[0] and "SOURCES__THOUGHTSPOT__USERNAME" in lines[0]
    assert "SOURCES__MODE__API_TOKEN" in lines[1] and "SOURCES__MODE__API_SECRET" in lines[1]
    assert not warehouse.exists()
