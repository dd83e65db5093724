"""The daily `entitlements` Dagster job end to end (snapshot assets, their checks, the dbt models that read them,
publish), and what `auditlake status` says about snapshots."""

from __future__ import annotations

import duckdb

from pipelines import cli
from pipelines.orchestration.job_runner import run_job
from pipelines.simulators import HistoryConfig, ModeSimulator, ThoughtSpotSimulator
from tests.conftest import point_at


def test_entitlements_job_snapshots_checks_and_builds_the_review(warehouse, monkeypatch, capsys, tmp_path):
    with (
        ThoughtSpotSimulator(history=HistoryConfig(days=5, events_per_day=80, seed=31)) as ts,
        ModeSimulator(history=HistoryConfig(days=5, events_per_day=30, seed=32)) as mode,
    ):
        point_at(monkeypatch, ts, "thoughtspot")
        point_at(monkeypatch, mode, "mode")
        outcome = run_job("entitlements", {}, log_path=tmp_path / "run.log")
        host = ts.host_id
    assert outcome.success, outcome.step_errors
    checks = {(c.asset, c.name): c for c in outcome.checks}
    for dataset in ("raw_thoughtspot_entitlements", "raw_mode_entitlements"):
        assert checks[(f"{dataset}/snapshot_runs", "ingest")].passed
        assert checks[(f"{dataset}/snapshot_runs", "snapshot_freshness")].passed
    # The audit sources are not part of this job: no audit event was read, so no login is known yet.
    assert not any(name == "coverage" for _, name in checks)
    with duckdb.connect(str(warehouse), read_only=True) as con:
        per_product = dict(
            con.execute("select source_system, count(*) from compliance.rpt_access_review group by 1").fetchall()
        )
        admins = con.execute(
            "select count(*) from compliance.rpt_access_review where source_system = 'mode' and is_privileged"
        ).fetchone()[0]
    state = mode.directory.state_at(mode.clock.now())
    assert per_product["mode"] == len(state.members)
    assert admins == sum(m.admin for m in state.members.values())
    assert per_product["thoughtspot"] == len(ts.directory.state_at(ts.clock.now()).users)

    capsys.readouterr()
    cli.main(["status"])
    out = capsys.readouterr().out
    assert f"thoughtspot_entitlements {host}: last complete snapshot" in out and "fresh" in out
    assert f"mode_entitlements {mode.workspace}: last complete snapshot" in out
