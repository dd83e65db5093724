"""Several writers through Dagster: two runs, one ingesting ThoughtSpot and one Mode, started together on one Dagster
instance with auditlake's settings (dagster_home/dagster.yaml: run tag limit, op pools).

On a DuckLake PostgreSQL catalog the two ingest steps run side by side (their intervals in the event log overlap)
and the jobs carry no run-queueing tag; on a SQLite catalog the jobs carry it and the second ingest step waits for the
first (both runs were started before either ingest ended, yet the steps never overlap).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import yaml

from pipelines import settings
from pipelines.simulators import ModeSimulator, ThoughtSpotSimulator
from pipelines.warehouse import catalog_guard, engine
from tests.conftest import clean_environment, isolate_home
from tests.ingest.conftest import history, point_at_mode, point_at_thoughtspot
from tests.postgres_cluster import PostgresCluster

pytestmark = pytest.mark.slow

TABLES = {"thoughtspot": "raw_thoughtspot.security_audit_events", "mode": "raw_mode.audit_logs"}

# One run of the refresh job limited to one source's ingest asset, executed as `auditlake run` executes jobs
# (job_runner.run_job, recorded in DAGSTER_HOME); prints the run id, the job's tags and the ingest op's pool.
_RUN_ONE_SOURCE = textwrap.dedent(
    """
    import json, sys
    from pipelines import settings
    settings.apply_project_environment()
    from pipelines.definitions import defs
    from pipelines.orchestration.job_runner import run_job
    from pipelines.orchestration.translators import raw_asset_specs
    from pipelines.sources import registry

    source = sys.argv[1]
    job = defs.resolve_job_def("refresh")
    keys = [spec.key for spec in raw_asset_specs(registry.get(source))]
    pool = defs.resolve_assets_def(keys[0]).op.pool
    outcome = run_job("refresh", {}, asset_selection=keys)
    print(json.dumps({"run_id": outcome.run_id, "ok": outcome.ok, "tags": dict(job.tags), "pool": pool,
                      "errors": outcome.step_errors}))
    """
)


def _start(source: str) -> subprocess.Popen:
    env = dict(os.environ, PYTHONPATH=str(settings.PROJECT_ROOT), PYTHONUNBUFFERED="1")
    return subprocess.Popen(
        [sys.executable, "-c", _RUN_ONE_SOURCE, source],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _run_two(monkeypatch: pytest.MonkeyPatch) -> dict[str, dict]:
    """Both runs started together against simulators; per source: the run's printout, its ingest step's interval
    and its run start, from the Dagster event log."""
    import dagster as dg

    with (
        ThoughtSpotSimulator(history=history(days=8, per_day=500, seed=41)) as ts,
        ModeSimulator(history=history(days=8, per_day=400, seed=42), log_own_access=False) as mode,
    ):
        point_at_thoughtspot(monkeypatch, ts)
        point_at_mode(monkeypatch, mode)
        catalog_guard.prepare_for_writing()
        procs = {"thoughtspot": _start("thoughtspot"), "mode": _start("mode")}
        results: dict[str, dict] = {}
        for source, proc in procs.items():
            out, err = proc.communicate(timeout=600)
            assert proc.returncode == 0, f"{source}: {err[-3000:]}"
            results[source] = json.loads(out.strip().splitlines()[-1])
            assert results[source]["ok"], f"{source}: {results[source]['errors']}"
        expected = {"thoughtspot": ts.expected_event_ids(), "mode": mode.expected_event_ids()}
    instance = dg.DagsterInstance.from_config(str(settings.dagster_home()))
    try:
        for source, result in results.items():
            times = {
                record.dagster_event_type.value: record.timestamp
                for record in instance.all_logs(result["run_id"])
                if record.dagster_event_type is not None
                and (record.step_key == f"ingest_{source}" or record.dagster_event_type.value == "PIPELINE_START")
            }
            result["start"], result["end"] = times["STEP_START"], times["STEP_SUCCESS"]
            result["run_start"] = times["PIPELINE_START"]
    finally:
        instance.dispose()
    for source, table in TABLES.items():
        con = engine.connect(read_only=True)
        try:
            ids = [row[0] for row in con.execute(f"SELECT id FROM {table}").fetchall()]
        finally:
            con.close()
        assert len(ids) == len(set(ids)) and set(ids) == expected[source], source
    return results


def _overlap(results: dict[str, dict]) -> float:
    ts, mode = results["thoughtspot"], results["mode"]
    return min(ts["end"], mode["end"]) - max(ts["start"], mode["start"])


def _run_limited(tags: dict[str, str]) -> bool:
    """Whether dagster_home/dagster.yaml's run tag limits queue runs carrying `tags` (what the daemon applies)."""
    config = yaml.safe_load((settings.PROJECT_ROOT / "dagster_home" / "dagster.yaml").read_text())
    limits = config["concurrency"]["runs"]["tag_concurrency_limits"]
    return any(tags.get(limit["key"]) == limit.get("value", tags.get(limit["key"])) for limit in limits)


@pytest.fixture
def lake_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    clean_environment(monkeypatch)
    isolate_home(monkeypatch, tmp_path)
    monkeypatch.setenv("AUDITLAKE_DATA_PATH", str(tmp_path / "lake_data"))
    monkeypatch.setenv("AUDITLAKE_BATCH_WINDOWS", "2")  # several commits each: ingests long enough to overlap
    return tmp_path


def test_dagster_runs_ingest_two_sources_side_by_side_on_postgres(
    lake_home: Path, postgres_cluster: PostgresCluster, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AUDITLAKE_WAREHOUSE", f"ducklake:postgres:{postgres_cluster.database()}")
    results = _run_two(monkeypatch)

    print({s: (round(r["end"] - r["start"], 1), r["pool"]) for s, r in results.items()}, _overlap(results))
    assert {r["pool"] for r in results.values()} == {"warehouse_ingest_thoughtspot", "warehouse_ingest_mode"}
    assert not any(_run_limited(r["tags"]) for r in results.values()), "the daemon would queue the runs whole"
    assert _overlap(results) > 0, f"the two ingest steps ran one after the other: {results}"


def test_dagster_runs_queue_their_ingests_on_sqlite(lake_home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AUDITLAKE_WAREHOUSE", f"ducklake:sqlite:{lake_home / 'catalog.sqlite'}")
    results = _run_two(monkeypatch)

    assert {r["pool"] for r in results.values()} == {"duckdb_warehouse"}
    assert all(_run_limited(r["tags"]) for r in results.values())
    first_end = min(r["end"] for r in results.values())
    assert all(r["run_start"] < first_end for r in results.values()), "the second run started too late to compete"
    assert _overlap(results) <= 0, f"the two ingest steps overlapped on a one-writer catalog: {results}"
