"""Mode source against the real simulator over HTTP, into real DuckDB files."""

from __future__ import annotations

import pytest

from pipelines.ingest_runner import run_ingest
from pipelines.simulators import FaultPlan, ModeSimulator
from pipelines.simulators.mode_api import ENVELOPES
from tests.ingest.conftest import event_ids, history, only, point_at_mode, rows, table_exists

EVENTS = "raw_mode.audit_logs"


@pytest.mark.parametrize("envelope", ENVELOPES)
def test_every_envelope_variant_loads_every_page(warehouse, monkeypatch, envelope):
    with ModeSimulator(
        history=history(days=4, per_day=40), page_size=7, envelope=envelope, log_own_access=False
    ) as sim:
        point_at_mode(monkeypatch, sim)
        summary = only(run_ingest(["mode"], progress=lambda _: None))
        assert summary.error is None, summary.error
        ids = event_ids(warehouse, EVENTS)
        assert len(ids) == len(set(ids))
        assert set(ids) == sim.expected_event_ids()
        assert summary.new_events == len(ids) and summary.source_instance == sim.workspace
        data_requests = [e for e in sim.request_log if e["path"].endswith("/audit_logs")]
        assert len(data_requests) > summary.windows  # next_token pages were followed


def test_own_access_entries_arrive_on_the_next_run(warehouse, monkeypatch):
    with ModeSimulator(history=history(days=2, per_day=30), log_own_access=True) as sim:
        point_at_mode(monkeypatch, sim)
        first_until = sim.clock.now()
        first = only(run_ingest(["mode"], progress=lambda _: None, until=first_until.isoformat()))
        assert first.error is None, first.error
        assert set(event_ids(warehouse, EVENTS)) == sim.expected_event_ids(as_of=first_until)
        # Each window read left an audit_log_accessed entry after `first_until`: the overlap picks them up.
        second_until = sim.clock.now()
        second = only(run_ingest(["mode"], progress=lambda _: None, until=second_until.isoformat()))
        assert second.error is None, second.error
        ids = event_ids(warehouse, EVENTS)
        assert len(ids) == len(set(ids))
        assert set(ids) == sim.expected_event_ids(as_of=second_until)
        assert second.new_events == first.windows
        accessed = rows(
            warehouse,
            f"select count(*) from {EVENTS} where action = 'audit_log_accessed' and timestamp > ?",
            first_until,
        )
        assert accessed == [(first.windows,)]


def test_faults_are_retried_and_malformed_entries_quarantined(warehouse, monkeypatch):
    faults = FaultPlan(seed=2)
    with ModeSimulator(
        history=history(days=3, per_day=50, malformed_every=15), faults=faults, page_size=20, log_own_access=False
    ) as sim:
        for kind in (429, "drop", 503, 500):
            faults.fail_next(kind)
        point_at_mode(monkeypatch, sim)
        summary = only(run_ingest(["mode"], progress=lambda _: None))
        assert summary.error is None, summary.error
        assert {429, 503, 500, "drop"} <= {e["fault"] for e in sim.request_log if e["fault"] is not None}
        ids = event_ids(warehouse, EVENTS)
        assert len(ids) == len(set(ids)) and set(ids) == sim.expected_event_ids()
        malformed = sim.malformed_records()
        assert malformed
        quarantined = rows(warehouse, "select record, reason from raw_mode.quarantined_records")
        assert sorted(r[0] for r in quarantined) == sorted(malformed)
        assert summary.quarantined == len(malformed)
        assert {r[1].split(":")[0] for r in quarantined} == {
            "entry has no string `id`",
            "`timestamp` is not an ISO-8601 UTC timestamp",
        }


def test_json_columns_and_verbatim_record(warehouse, monkeypatch):
    with ModeSimulator(history=history(days=2, per_day=30), log_own_access=False) as sim:
        point_at_mode(monkeypatch, sim)
        assert only(run_ingest(["mode"], progress=lambda _: None)).error is None
        types = dict(
            rows(
                warehouse,
                "select column_name, data_type from information_schema.columns "
                "where table_schema = 'raw_mode' and table_name = 'audit_logs'",
            )
        )
        assert {types[c] for c in ("context", "actor", "entity", "record")} == {"JSON"}
        assert types["timestamp"] == "TIMESTAMP WITH TIME ZONE"
        mismatches = rows(
            warehouse,
            f"""
            select count(*) from {EVENTS}
            where id <> json_extract_string(record, '$.id') or action <> json_extract_string(record, '$.action')
               or entity::varchar <> json_extract(record, '$.entity')::varchar
               or timestamp <> cast(json_extract_string(record, '$.timestamp') as timestamptz)""",
        )
        assert mismatches == [(0,)]


def test_wrong_secret_fails_naming_the_variables_not_the_values(warehouse, monkeypatch):
    wrong = "wrong-mode-secret-77aa01"
    with ModeSimulator(history=history(days=2, per_day=10)) as sim:
        point_at_mode(monkeypatch, sim, api_secret=wrong)
        summary = only(run_ingest(["mode"], progress=lambda _: None))
    assert summary.error is not None and "401" in summary.error
    assert "SOURCES__MODE__API_TOKEN" in summary.error and "SOURCES__MODE__API_SECRET" in summary.error
    assert wrong not in summary.error and sim.api_token not in summary.error
    assert not table_exists(warehouse, "raw_mode", "audit_logs")


def test_unknown_workspace_names_the_variable(warehouse, monkeypatch):
    with ModeSimulator(history=history(days=1, per_day=5)) as sim:
        point_at_mode(monkeypatch, sim)
        # Mode checks credentials first: a token of this workspace used against another one.
        monkeypatch.setenv("SOURCES__MODE__WORKSPACE", "not-acme")
        summary = only(run_ingest(["mode"], progress=lambda _: None))
    assert summary.error is not None and "SOURCES__MODE__WORKSPACE" in summary.error


def test_plain_http_to_a_remote_mode_is_refused(warehouse, monkeypatch):
    monkeypatch.setenv("SOURCES__MODE__BASE_URL", "http://app.mode.com")
    monkeypatch.setenv("SOURCES__MODE__WORKSPACE", "acme")
    monkeypatch.setenv("SOURCES__MODE__API_TOKEN", "tok-abcdef")
    monkeypatch.setenv("SOURCES__MODE__API_SECRET", "secret-abcdef")
    summary = only(run_ingest(["mode"], progress=lambda _: None))
    assert summary.error is not None and "SOURCES__MODE__BASE_URL" in summary.error and "https://" in summary.error
