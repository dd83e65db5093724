"""Weekly maintenance: small files merged, old snapshots expired, unneeded files deleted; current data and every
as-of read inside the retention survive it. A logged no-op on the DuckDB-file engine."""

from __future__ import annotations

import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from pipelines.settings import ConfigurationError
from pipelines.warehouse import engine
from pipelines.warehouse.lake_maintenance import run_maintenance, snapshot_retention
from tests.conftest import clean_environment, isolate_home
from tests.postgres_cluster import PostgresCluster

BATCHES = 6


def _parquet_files(folder: Path) -> set[Path]:
    return set(folder.rglob("*.parquet"))


def _fill(batches: int) -> list[datetime]:
    """`batches` separate commits of 100 rows each; the moment after each commit (what an as-of read names)."""
    con = engine.connect()
    try:
        con.execute("CREATE SCHEMA IF NOT EXISTS core; CREATE TABLE core.events (id INTEGER, batch INTEGER)")
        moments = []
        for batch in range(batches):
            con.execute(
                "INSERT INTO core.events SELECT range, ? FROM range(?, ?)", [batch, batch * 100, batch * 100 + 100]
            )
            time.sleep(0.25)
            moments.append(datetime.now(timezone.utc))
            time.sleep(0.25)
    finally:
        con.close()
    return moments


def _rows_as_of(moment: datetime | None) -> tuple[int, int]:
    con = engine.connect(read_only=moment is None, as_of=moment)
    try:
        row = con.execute("SELECT count(*), coalesce(sum(id), 0) FROM core.events").fetchone()
    finally:
        con.close()
    assert row is not None
    return int(row[0]), int(row[1])


@pytest.fixture(params=["sqlite", "postgres"])
def lake(request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    clean_environment(monkeypatch)
    isolate_home(monkeypatch, tmp_path)
    data = tmp_path / "lake_data"
    if request.param == "sqlite":
        monkeypatch.setenv("AUDITLAKE_WAREHOUSE", f"ducklake:sqlite:{tmp_path / 'catalog.sqlite'}")
    else:
        cluster: PostgresCluster = request.getfixturevalue("postgres_cluster")
        monkeypatch.setenv("AUDITLAKE_WAREHOUSE", f"ducklake:postgres:{cluster.database()}")
    monkeypatch.setenv("AUDITLAKE_DATA_PATH", str(data))
    return data


def test_maintenance_keeps_current_data_and_reads_inside_retention(lake: Path) -> None:
    moments = _fill(BATCHES)
    files_before = _parquet_files(lake)
    assert len(files_before) == BATCHES, "each 100-row commit writes its own Parquet file"
    expected_now = (BATCHES * 100, sum(range(BATCHES * 100)))
    inside = moments[2:]  # the retention below reaches back to moments[2]
    expected_inside = [_rows_as_of(m) for m in inside]

    lines: list[str] = []
    report = run_maintenance(
        retention=timedelta(days=1), now=moments[2] + timedelta(days=1), log=lines.append, cleanup_grace=timedelta(0)
    )

    assert _rows_as_of(None) == expected_now
    assert (
        [_rows_as_of(m) for m in inside]
        == expected_inside
        == [((i + 1) * 100, sum(range((i + 1) * 100))) for i in range(2, BATCHES)]
    )
    # Past the retention the state is gone (that is the point), with an error naming the moment.
    with pytest.raises(ConfigurationError, match="no snapshot"):
        _rows_as_of(moments[0])
    assert report.files_before == BATCHES and report.files_after == 1
    files_after = _parquet_files(lake)
    assert len(files_after) == 1 and not files_after & files_before, "merged into one file; the small ones deleted"
    assert report.snapshots_after < report.snapshots_before
    assert any(line.startswith("maintenance on DuckLake") for line in lines)


def test_maintenance_is_a_logged_no_op_on_the_file_engine(warehouse: Path) -> None:
    lines: list[str] = []
    report = run_maintenance(log=lines.append)
    assert report.skipped and not warehouse.exists()
    assert lines == [report.line()] and "nothing to do on DuckDB file" in lines[0]


def test_retention_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AUDITLAKE_SNAPSHOT_RETENTION_DAYS", raising=False)
    assert snapshot_retention() == timedelta(days=400)
    monkeypatch.setenv("AUDITLAKE_SNAPSHOT_RETENTION_DAYS", "90")
    assert snapshot_retention() == timedelta(days=90)
    for bad in ("soon", "0.5"):
        monkeypatch.setenv("AUDITLAKE_SNAPSHOT_RETENTION_DAYS", bad)
        with pytest.raises(ConfigurationError, match="AUDITLAKE_SNAPSHOT_RETENTION_DAYS"):
            snapshot_retention()


def test_maintenance_job_runs_weekly(lake: Path) -> None:
    from pipelines.orchestration.maintenance_job import maintenance_job, maintenance_schedule

    _fill(3)
    result = maintenance_job.execute_in_process()
    assert result.success
    assert result.output_for_node("lake_maintenance").startswith("maintenance on DuckLake")
    assert maintenance_schedule.cron_schedule == "0 3 * * 0"
    assert maintenance_job.tags.get("auditlake/warehouse") == "write"
    assert _rows_as_of(None) == (300, sum(range(300)))
