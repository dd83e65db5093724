"""The warehouse engines: the same pipeline on a DuckDB file and on DuckLake (SQLite catalog), readers beside a
writer, time travel, and bad settings refused before anything is fetched."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import pytest

from pipelines import settings
from pipelines.orchestration.job_runner import run_pipeline
from pipelines.settings import ConfigurationError
from pipelines.warehouse import catalog_guard, engine
from tests.orchestration.conftest import auditlake, query

pytestmark = pytest.mark.slow

FACT_ROWS = "select * exclude (loaded_at) from core.fct_audit_events where source_system = ? order by event_key"


def _lake(tmp_path: Path) -> str:
    return f"ducklake:sqlite:{tmp_path / 'lake' / 'catalog.sqlite'}"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _add_recent_events(sim, count: int) -> None:
    now = sim.clock.now()
    sim.add_events(count, now - timedelta(minutes=20), now - timedelta(minutes=5))


def test_same_fact_rows_on_the_file_and_on_ducklake(product, monkeypatch):
    """The same simulators loaded into a DuckDB file and into a DuckLake give the same fact, column for column."""
    file_warehouse = product["warehouse"]
    assert run_pipeline().success
    lake = _lake(product["tmp"])
    monkeypatch.setenv(settings.ENV_WAREHOUSE, lake)
    settings_before = {name: value for name, value in os.environ.items() if name.startswith("AUDITLAKE_")}
    outcome = run_pipeline()
    # dbt was handed the lake's settings (with its data path) for its own invocation only: none stays behind in
    # this process to change what a later run in it would open.
    assert {name: value for name, value in os.environ.items() if name.startswith("AUDITLAKE_")} == settings_before
    assert outcome.success and outcome.ok, (outcome.failed_steps, [c.name for c in outcome.checks if not c.passed])
    assert (product["tmp"] / "lake" / "data").is_dir()  # Parquet beside the catalog by default
    assert any((product["tmp"] / "lake" / "data").rglob("*.parquet"))

    ts_file, ts_lake = query(file_warehouse, FACT_ROWS, "thoughtspot"), query(lake, FACT_ROWS, "thoughtspot")
    assert len(ts_file) == len(product["thoughtspot"].expected_event_ids()) > 100
    assert ts_lake == ts_file
    # Mode logs each of our reads as a new event, so the second load sees a few more: the shared ones are equal.
    mode_file = {row[0]: row for row in query(file_warehouse, FACT_ROWS, "mode")}
    mode_lake = {row[0]: row for row in query(lake, FACT_ROWS, "mode")}
    assert len(mode_file) > 50 and set(mode_file) <= set(mode_lake)
    assert all(mode_lake[key] == row for key, row in mode_file.items())
    # The marts agree too.
    marts = "select count(*), count(*) filter (where is_brute_force) from compliance.rpt_authentication_failures"
    assert query(lake, marts) == query(file_warehouse, marts)

    # Publishing on DuckLake copies nothing: it records the snapshot analysts now read.
    from pipelines.warehouse.publish import publish_for_analysts

    published = publish_for_analysts()
    assert published["engine"] == "ducklake" and published["bytes_copied"] == 0
    with engine.connect(lake, read_only=True) as con:
        assert published["snapshot_id"] == engine.current_snapshot(con)


@pytest.mark.parametrize("product", ["ducklake"], indirect=True)
def test_as_of_reads_the_lake_as_it_stood_and_the_file_engine_says_it_cannot(product, monkeypatch):
    lake, ts = product["warehouse"], product["thoughtspot"]
    assert run_pipeline().success
    first = query(lake, "select count(*) from core.fct_audit_events")[0][0]
    with engine.connect(lake, read_only=True) as con:
        committed_at = con.execute(f"select max(snapshot_time) from {engine.LAKE_ALIAS}.snapshots()").fetchone()[0]
    time.sleep(1.1)
    _add_recent_events(ts, 40)  # new vendor events, loaded by the second run
    assert run_pipeline().success
    later = query(lake, "select count(*) from core.fct_audit_events")[0][0]
    assert later > first

    moment = (committed_at + timedelta(milliseconds=500)).isoformat()
    result = auditlake(
        "query", "--as-of", moment, "--csv", "select count(*) as n from core.fct_audit_events", cwd=product["tmp"]
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["n", str(first)]
    now = auditlake("query", "--csv", "select count(*) as n from core.fct_audit_events", cwd=product["tmp"])
    assert now.stdout.split() == ["n", str(later)]

    before_anything = auditlake("query", "--as-of", "2001-01-01", "select 1", cwd=product["tmp"])
    assert before_anything.returncode == 2 and "2001-01-01" in before_anything.stderr

    file_engine = auditlake(
        "query",
        "--as-of",
        moment,
        "select 1",
        cwd=product["tmp"],
        env={settings.ENV_WAREHOUSE: str(product["tmp"] / "other" / "auditlake.duckdb")},
    )
    assert file_engine.returncode == 2
    assert "--as-of needs snapshots" in file_engine.stderr and "ducklake:sqlite:" in file_engine.stderr


@pytest.mark.parametrize("product", ["ducklake"], indirect=True)
def test_a_reader_process_reads_while_a_writer_process_loads(product):
    """`auditlake run` (a writer process) and repeated `auditlake query` (reader processes) at the same time."""
    assert run_pipeline().success
    _add_recent_events(product["thoughtspot"], 400)
    exe = Path(sys.executable).with_name("auditlake")
    writer = subprocess.Popen(
        [str(exe), "run"],
        cwd=product["tmp"],
        env=dict(os.environ),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    counts, failures = [], []
    deadline = time.monotonic() + 600
    while writer.poll() is None and time.monotonic() < deadline:
        read = auditlake(
            "query",
            "--csv",
            "select count(*) as n from raw_thoughtspot.security_audit_events",
            cwd=product["tmp"],
            timeout=120,
        )
        if read.returncode == 0:
            counts.append(int(read.stdout.split()[1]))
        else:
            failures.append(read.stderr.strip())
        time.sleep(2)  # each read is a whole process; back to back they would take the writer's CPU
    out = writer.communicate(timeout=60)[0]
    assert writer.returncode == 0, out[-3000:]
    assert not failures, failures[:3]
    assert len(counts) >= 2
    assert counts == sorted(counts)  # snapshots only move forward
    final = query(product["warehouse"], "select count(*) from raw_thoughtspot.security_audit_events")[0][0]
    assert counts[0] < final  # the first reads came before the new events were committed


def test_unreachable_catalog_fails_before_any_fetch_naming_the_setting_without_the_password(product):
    port = _free_port()  # nothing listens there
    bad = f"ducklake:postgres:host=127.0.0.1 port={port} dbname=lake user=al password=hunter2secret connect_timeout=3"
    result = auditlake(
        "ingest",
        cwd=product["tmp"],
        env={settings.ENV_WAREHOUSE: bad, engine.ENV_DATA_PATH: str(product["tmp"] / "lakedata")},
    )
    assert result.returncode == 2, result.stdout + result.stderr
    errors = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(errors) == 1 and "AUDITLAKE_WAREHOUSE" in errors[0], result.stderr
    assert "hunter2secret" not in result.stdout + result.stderr
    assert product["thoughtspot"].request_log == [] and product["mode"].request_log == []


def test_unwritable_data_path_fails_before_any_fetch_naming_the_setting(product, tmp_path):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the data folder should be")
    result = auditlake(
        "ingest",
        cwd=product["tmp"],
        env={settings.ENV_WAREHOUSE: _lake(tmp_path), engine.ENV_DATA_PATH: str(blocker / "data")},
    )
    assert result.returncode == 2, result.stdout + result.stderr
    errors = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(errors) == 1 and "AUDITLAKE_DATA_PATH" in errors[0] and str(blocker) in errors[0]
    assert product["thoughtspot"].request_log == []


def test_a_catalog_from_another_auditlake_format_is_refused_and_left_unchanged(tmp_path, monkeypatch):
    lake = _lake(tmp_path)
    monkeypatch.delenv(engine.ENV_DATA_PATH, raising=False)
    catalog_guard.prepare_for_writing(lake)  # a new lake gets the marker
    with engine.connect(lake) as con:
        assert catalog_guard.read_marker(con) == (catalog_guard.CATALOG_FORMAT, catalog_guard.__version__)
        con.execute(f"update {catalog_guard.MARKER_TABLE} set format = format + 1, written_by = '9.9.9'")
        before = engine.current_snapshot(con)
    with pytest.raises(ConfigurationError) as refused:
        catalog_guard.prepare_for_writing(lake)
    message = str(refused.value)
    assert "auditlake 9.9.9" in message and "newer" in message and "nothing was changed" in message
    with engine.connect(lake, read_only=True) as con:
        assert engine.current_snapshot(con) == before
    # The CLI refuses the same way, before fetching.
    result = auditlake("ingest", cwd=tmp_path, env={settings.ENV_WAREHOUSE: lake, "AUDITLAKE_HOME": str(tmp_path)})
    assert result.returncode == 2 and "9.9.9" in result.stderr


def test_a_missing_extension_package_is_named_with_the_fix(monkeypatch):
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "duckdb_extension_sqlite_scanner" else real(name)
    )
    with pytest.raises(ConfigurationError) as missing:
        engine.connect("ducklake:sqlite:/nonexistent/catalog.sqlite")
    assert "duckdb-extension-sqlite-scanner" in str(missing.value) and "make setup" in str(missing.value)


def test_setting_forms_and_redaction(tmp_path, monkeypatch):
    monkeypatch.setenv(settings.ENV_HOME, str(tmp_path))
    monkeypatch.delenv(engine.ENV_DATA_PATH, raising=False)
    lake = engine.parse_warehouse("ducklake:sqlite:wh/catalog.sqlite")
    assert lake.location == str(tmp_path / "wh" / "catalog.sqlite") and lake.data_path == f"{tmp_path}/wh/data/"
    assert engine.parse_warehouse("wh/a.duckdb").location == str(tmp_path / "wh" / "a.duckdb")
    pg = engine.parse_warehouse("ducklake:postgres:dbname=lake host=db password='p w'", "s3://bucket/lake")
    assert pg.data_path == "s3://bucket/lake/" and "p w" not in pg.describe() and "password=***" in pg.describe()
    assert engine.postgres_url("dbname=lake host=db port=5433 user=al password=x y=z") == (
        "postgresql://al:x@db:5433/lake?y=z"
    )
    with pytest.raises(ConfigurationError, match="AUDITLAKE_DATA_PATH is not set"):
        engine.parse_warehouse("ducklake:postgres:dbname=lake")
    with pytest.raises(ConfigurationError, match="is not a warehouse") as bad:
        engine.parse_warehouse("ducklake:mysql:password=topsecret")
    assert "topsecret" not in str(bad.value)
    assert engine.redact("postgresql://al:pw@db/lake") == "postgresql://al:***@db/lake"
    # An install from before the DuckLake default keeps its DuckDB file.
    monkeypatch.delenv(settings.ENV_WAREHOUSE, raising=False)
    assert engine.warehouse().is_ducklake
    legacy = tmp_path / settings.LEGACY_DEFAULT_WAREHOUSE
    legacy.parent.mkdir(parents=True, exist_ok=True)
    legacy.write_bytes(b"")
    assert engine.warehouse() == engine.Warehouse("file", str(legacy))
