"""`auditlake migrate --to ducklake:...`: a DuckDB-file warehouse moved into an empty DuckLake, dlt's state included,
so the next ingest continues from the saved cursor; row counts verified; a non-empty target refused."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

import duckdb
import pytest

from pipelines import settings
from pipelines.ingest_runner import run_ingest
from pipelines.simulators import ThoughtSpotSimulator
from pipelines.warehouse import engine
from tests.ingest.conftest import history, only, point_at_thoughtspot
from tests.postgres_cluster import PostgresCluster

pytestmark = pytest.mark.slow

EVENTS = "raw_thoughtspot.security_audit_events"


def _migrate(*args: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=str(settings.PROJECT_ROOT))
    return subprocess.run(
        [sys.executable, "-m", "pipelines.cli", "migrate", *args], env=env, capture_output=True, text=True, timeout=300
    )


def _file_tables(path: Path) -> dict[str, int]:
    con = duckdb.connect(str(path), read_only=True)
    try:
        names = con.execute("SELECT schema_name, table_name FROM duckdb_tables() ORDER BY 1, 2").fetchall()
        return {f"{s}.{t}": con.execute(f'SELECT count(*) FROM "{s}"."{t}"').fetchone()[0] for s, t in names}
    finally:
        con.close()


def _lake_tables() -> dict[str, int]:
    con = engine.connect(read_only=True)
    try:
        names = con.execute(
            "SELECT schema_name, table_name FROM duckdb_tables() WHERE database_name = ? "
            "AND schema_name <> 'auditlake_meta' ORDER BY 1, 2",
            [engine.LAKE_ALIAS],
        ).fetchall()
        return {f"{s}.{t}": con.execute(f'SELECT count(*) FROM "{s}"."{t}"').fetchone()[0] for s, t in names}
    finally:
        con.close()


def test_migrate_file_to_postgres_keeps_rows_and_cursor(
    warehouse: Path, monkeypatch: pytest.MonkeyPatch, postgres_cluster: PostgresCluster, tmp_path: Path
) -> None:
    with ThoughtSpotSimulator(history=history(days=6, per_day=60, seed=41), late_minutes=0) as sim:
        point_at_thoughtspot(monkeypatch, sim)
        first = only(run_ingest(["thoughtspot"], progress=lambda _: None))
        assert first.error is None and first.new_events > 300
        before = _file_tables(warehouse)
        assert before[EVENTS] == first.new_events and "raw_thoughtspot._dlt_pipeline_state" in before

        target = f"ducklake:postgres:{postgres_cluster.database()}"
        monkeypatch.setenv("AUDITLAKE_DATA_PATH", str(tmp_path / "lake_data"))
        result = _migrate("--to", target)
        assert result.returncode == 0, result.stderr
        assert postgres_cluster.password not in result.stdout + result.stderr
        assert f"{EVENTS}: {before[EVENTS]} rows" in result.stdout

        monkeypatch.setenv("AUDITLAKE_WAREHOUSE", target)
        assert _lake_tables() == before, "every table, dlt's included, with the same row counts"

        # The next ingest on the lake, from a fresh dlt working folder (a new host): the cursor comes from the
        # migrated _dlt_pipeline_state, so only the overlap is re-read, not the vendor's 30 days.
        monkeypatch.setenv("AUDITLAKE_PIPELINES_DIR", str(tmp_path / "new_host_pipelines"))
        now = datetime.now(timezone.utc)
        added = sim.add_events(25, start=now - timedelta(minutes=20), end=now - timedelta(minutes=5))
        second = only(run_ingest(["thoughtspot"], progress=lambda _: None))
        assert second.error is None, second.error
        assert second.windows <= 2 and second.window_start is not None
        assert second.window_start >= first.window_end - timedelta(hours=3)
        con = engine.connect(read_only=True)
        try:
            ids = [row[0] for row in con.execute(f"SELECT id FROM {EVENTS}").fetchall()]
        finally:
            con.close()
        assert len(ids) == len(set(ids)) and set(ids) == sim.expected_event_ids()
        assert set(added) <= set(ids) and second.new_events == len(ids) - before[EVENTS] == len(added)


def test_migrate_refuses_a_non_empty_target_and_a_file_target(warehouse: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with ThoughtSpotSimulator(history=history(days=2, per_day=30, seed=42), late_minutes=0) as sim:
        point_at_thoughtspot(monkeypatch, sim)
        assert only(run_ingest(["thoughtspot"], progress=lambda _: None)).error is None
    target = f"ducklake:sqlite:{warehouse.parent / 'lake' / 'catalog.sqlite'}"
    first = _migrate("--to", target)
    assert first.returncode == 0, first.stderr
    again = _migrate("--to", target)
    assert again.returncode == 2
    assert "is not empty" in again.stderr and "raw_thoughtspot." in again.stderr
    to_file = _migrate("--to", str(warehouse.parent / "other.duckdb"))
    assert to_file.returncode == 2 and "is a DuckDB file" in to_file.stderr
    monkeypatch.setenv("AUDITLAKE_WAREHOUSE", target)
    from_lake = _migrate("--to", target)
    assert from_lake.returncode == 2 and "--from" in from_lake.stderr
