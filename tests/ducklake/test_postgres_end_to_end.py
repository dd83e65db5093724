"""The whole pipeline on `ducklake:postgres:` against a real PostgreSQL 15: ingest with injected faults, dbt build,
every check, then queries; the fact holds the same rows as the default DuckDB-file engine built from the same
simulators, and a reader querying the fact throughout the run never sees an error."""

from __future__ import annotations

import threading
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from pipelines.orchestration.job_runner import run_pipeline
from pipelines.simulators import FaultPlan, HistoryConfig, ModeSimulator, ThoughtSpotSimulator
from pipelines.simulators.serve import environment
from pipelines.warehouse import engine
from tests.conftest import clean_environment, isolate_home
from tests.postgres_cluster import PostgresCluster

pytestmark = pytest.mark.slow

# Every column of the fact that says what happened (not when auditlake happened to load it).
FACT_COLUMNS = (
    "event_key, source_system, source_instance, source_event_id, event_time, event_type, event_category, "
    "event_action, outcome, is_privileged, actor_id, actor_name, target_type, target_id, ocsf_class_uid, type_uid"
)


def _fact_rows() -> list[tuple]:
    con = engine.connect(read_only=True)
    try:
        return con.execute(f"SELECT {FACT_COLUMNS} FROM core.fct_audit_events ORDER BY event_key").fetchall()
    finally:
        con.close()


class FactReader(threading.Thread):
    """An analyst polling the fact on its own read-only connection while the run writes."""

    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.stop = threading.Event()
        self.errors: list[str] = []
        self.counts: list[int] = []

    def run(self) -> None:
        while not self.stop.is_set():
            try:
                con = engine.connect(read_only=True)
                try:
                    row = con.execute("SELECT count(*) FROM core.fct_audit_events").fetchone()
                    self.counts.append(int(row[0]) if row else -1)
                except Exception as exc:
                    if "does not exist" not in str(exc):  # before dbt's first build the fact is not there yet
                        raise
                finally:
                    con.close()
            except Exception as exc:
                self.errors.append(f"{type(exc).__name__}: {exc}")
            time.sleep(0.5)


def _run_everything() -> None:
    outcome = run_pipeline()
    assert outcome.success, outcome.failed_steps
    failing = [(c.asset, c.name, c.metadata) for c in outcome.checks if not c.passed]
    assert not failing
    assert len(outcome.checks) > 50


def test_postgres_lake_matches_the_file_engine(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, postgres_cluster: PostgresCluster
) -> None:
    clean_environment(monkeypatch)
    isolate_home(monkeypatch, tmp_path)
    monkeypatch.setenv("AUDITLAKE_START", (datetime.now(timezone.utc) - timedelta(days=4)).isoformat())
    end = datetime.now(timezone.utc) - timedelta(minutes=10)
    with (
        ThoughtSpotSimulator(
            history=HistoryConfig(seed=51, days=3, events_per_day=150, end=end),
            faults=FaultPlan(error_rate=0.15, seed=5),
            late_minutes=0,
        ) as ts,
        ModeSimulator(
            history=HistoryConfig(seed=52, days=3, events_per_day=50, end=end - timedelta(hours=2)),
            faults=FaultPlan(error_rate=0.15, seed=6),
            log_own_access=False,  # our own reads would make the second run's Mode history differ from the first's
        ) as mode,
    ):
        for key, value in {**environment(ts), **environment(mode)}.items():
            monkeypatch.setenv(key, value)

        monkeypatch.setenv("AUDITLAKE_WAREHOUSE", str(tmp_path / "file" / "auditlake.duckdb"))
        _run_everything()
        file_rows = _fact_rows()

        # The same simulators into a DuckLake on PostgreSQL; the password reaches libpq from the environment.
        dbname = postgres_cluster.database().split()[0].split("=", 1)[1]
        monkeypatch.setenv("AUDITLAKE_WAREHOUSE", f"ducklake:postgres:{postgres_cluster.conninfo(dbname, False)}")
        monkeypatch.setenv("PGPASSWORD", postgres_cluster.password)
        monkeypatch.setenv("AUDITLAKE_DATA_PATH", str(tmp_path / "lake_data"))
        monkeypatch.setenv("AUDITLAKE_PIPELINES_DIR", str(tmp_path / "lake_pipelines"))
        from pipelines.warehouse import catalog_guard

        catalog_guard.prepare_for_writing()
        reader = FactReader()
        reader.start()
        try:
            _run_everything()
        finally:
            reader.stop.set()
            reader.join(timeout=60)
        lake_rows = _fact_rows()

    assert len(file_rows) == len(ts.expected_event_ids()) + len(mode.expected_event_ids())
    assert lake_rows == file_rows
    assert reader.errors == []
    assert reader.counts and reader.counts == sorted(reader.counts)
    assert list((tmp_path / "lake_data").rglob("*.parquet")), "the lake's data is Parquet under AUDITLAKE_DATA_PATH"
