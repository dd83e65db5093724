"""Ingest from the simulators (real HTTP, real dlt), `dbt build`, and check the fact against ground truth.

Then re-run with the ingest's overlap (re-read events) plus late and new events: still one row per
vendor event, still equal to what the simulators hold. The planted compliance findings must surface.
"""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path

import duckdb
import pytest

from pipelines.ingest_runner import run_ingest
from pipelines.simulators import ModeSimulator, ThoughtSpotSimulator
from pipelines.warehouse.dbt_runner import run_dbt
from tests.ingest.conftest import history, point_at_mode, point_at_thoughtspot

pytestmark = pytest.mark.slow


@pytest.fixture
def warehouse(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for name in list(os.environ):
        if name.startswith("SOURCES__"):
            monkeypatch.delenv(name)
    for name in ("AUDITLAKE_START", "AUDITLAKE_PIPELINES_DIR"):
        monkeypatch.delenv(name, raising=False)
    path = tmp_path / "warehouse" / "auditlake.duckdb"
    monkeypatch.setenv("AUDITLAKE_WAREHOUSE", str(path))
    monkeypatch.setenv("RUNTIME__DLTHUB_TELEMETRY", "false")
    monkeypatch.chdir(tmp_path)  # keep the repository's .dlt/*.toml out of the picture
    return path


def _build(warehouse: Path) -> None:
    tmp = warehouse.parent
    # 8 days of history put the planted export burst on about day 4: ask for 3 active days of history before an
    # export day can be anomalous (the project default, 7, would rightly call it too early to judge)
    run_dbt(
        [
            "build",
            "--vars",
            "{export_min_history_days: 3}",
            "--target-path",
            str(tmp / "target"),
            "--log-path",
            str(tmp / "logs"),
        ],
        warehouse=warehouse,
    )


def _q(path: Path, sql: str, *params) -> list[tuple]:
    con = duckdb.connect(str(path), read_only=True)
    try:
        return con.execute(sql, list(params)).fetchall()
    finally:
        con.close()


def _fact_ids(path: Path, system: str) -> list[str]:
    return [r[0] for r in _q(path, "select source_event_id from core.fct_audit_events where source_system = ?", system)]


def test_fact_equals_simulator_ground_truth_and_reruns_never_duplicate(warehouse: Path, monkeypatch) -> None:
    with (
        ThoughtSpotSimulator(history=history(days=8, per_day=40), late_minutes=30) as ts,
        ModeSimulator(history=history(days=8, per_day=40)) as mode,
    ):
        point_at_thoughtspot(monkeypatch, ts)
        point_at_mode(monkeypatch, mode)
        first_until = ts.clock.now()
        for summary in run_ingest(["thoughtspot", "mode"], progress=lambda _: None, until=first_until.isoformat()):
            assert summary.error is None, (summary.source, summary.error)
        _build(warehouse)

        ts_ids, mode_ids = _fact_ids(warehouse, "thoughtspot"), _fact_ids(warehouse, "mode")
        assert len(ts_ids) == len(set(ts_ids)) and set(ts_ids) == ts.expected_event_ids(as_of=first_until)
        assert len(mode_ids) == len(set(mode_ids)) and set(mode_ids) == mode.expected_event_ids(as_of=first_until)
        assert _q(warehouse, "select count(*) from core.fct_audit_events where event_category = 'unknown'") == [(0,)]

        # Late events inside the overlap, new ones after it; the rerun also re-reads the overlap.
        late = ts.add_events(5, first_until - timedelta(minutes=50), first_until - timedelta(minutes=10))
        new = ts.add_events(10, first_until + timedelta(minutes=5), first_until + timedelta(minutes=25))
        mode.add_events(6, first_until + timedelta(minutes=5), first_until + timedelta(minutes=25))
        ts.clock.advance(timedelta(hours=1))
        mode.clock.advance(timedelta(hours=1))
        second_until = ts.clock.now()
        for summary in run_ingest(["thoughtspot", "mode"], progress=lambda _: None, until=second_until.isoformat()):
            assert summary.error is None, (summary.source, summary.error)
        _build(warehouse)

        ts_ids, mode_ids = _fact_ids(warehouse, "thoughtspot"), _fact_ids(warehouse, "mode")
        assert len(ts_ids) == len(set(ts_ids)) and set(ts_ids) == ts.expected_event_ids(as_of=second_until)
        assert set(late) | set(new) <= set(ts_ids)
        assert len(mode_ids) == len(set(mode_ids)) and set(mode_ids) == mode.expected_event_ids(as_of=second_until)
        evidence = _q(
            warehouse,
            "select sum(events_loaded), sum(duplicate_event_ids_in_fact) from compliance.rpt_pipeline_evidence",
        )
        assert evidence == [(len(ts_ids) + len(mode_ids), 0)]

        # The planted findings surface in the marts.
        brute = ts.scenarios["brute_force"]
        assert _q(
            warehouse,
            "select bool_or(is_brute_force), bool_or(is_followed_by_success)"
            " from compliance.rpt_authentication_failures where user_name = ?",
            brute["user_name"],
        ) == [(True, True)]
        self_grants = {
            r[0]
            for r in _q(
                warehouse,
                "select source_event_id from core.fct_audit_events f"
                " join compliance.rpt_privileged_changes p using (event_key)"
                " where p.is_self_grant",
            )
        }
        assert ts.scenarios["self_grant"]["membership_event_id"] in self_grants
        assert ts.scenarios["self_grant"]["privilege_event_id"] in self_grants
        assert mode.scenarios["self_grant"]["event_id"] in self_grants
        leavers = dict(
            _q(
                warehouse,
                "select user_name, activity_after_deletion from compliance.rpt_user_lifecycle"
                " where lifecycle_stage = 'leaver' and activity_after_deletion",
            )
        )
        assert leavers.get(ts.scenarios["deleted_user_activity"]["user_name"]) is True
        assert leavers.get(mode.scenarios["leaver_activity"]["username"]) is True
        burst = mode.scenarios["export_burst"]
        assert _q(
            warehouse,
            "select distinct user_name, cast(export_date as varchar) from compliance.rpt_data_exports"
            " where is_anomalous",
        ) == [(burst["username"], burst["burst_day"])]
        orphan = mode.scenarios["api_token_never_revoked"]
        assert _q(warehouse, "select token_id from compliance.rpt_api_tokens where is_never_revoked") == [
            (orphan["entity_id"],)
        ]
        off_hours = {
            r[0]
            for r in _q(
                warehouse,
                "select f.source_event_id from compliance.rpt_connection_changes c"
                " join core.fct_audit_events f using (event_key) where c.is_off_hours",
            )
        }
        assert set(mode.scenarios["off_hours_connection_changes"]["event_ids"]) <= off_hours
        assert set(ts.scenarios["off_hours_connection_changes"]["event_ids"]) <= off_hours
        own_reads = _q(
            warehouse,
            "select count(*) from compliance.rpt_audit_log_access"
            " where evidence_source = 'vendor_audit_log' and is_auditlake",
        )
        assert own_reads[0][0] >= 1
