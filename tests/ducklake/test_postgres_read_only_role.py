"""A read-only analyst on a PostgreSQL catalog: the role set up by docs/postgres/read_only_analyst.sql (the SQL the
README shows) reads the lake through `auditlake query` and a plain DuckDB `ATTACH ... READ_ONLY`, and any write with
it fails with one line saying the role may only read."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from pipelines import settings
from pipelines.settings import ConfigurationError
from pipelines.warehouse import catalog_guard, engine
from tests.conftest import clean_environment, isolate_home
from tests.postgres_cluster import PG_BIN, PostgresCluster

pytestmark = pytest.mark.slow

ROLE_SQL = settings.PROJECT_ROOT / "docs" / "postgres" / "read_only_analyst.sql"


def _apply_role_sql(cluster: PostgresCluster, dbname: str, role: str, password: str) -> None:
    """Run the documented file with psql as the writer role, as the README says."""
    done = subprocess.run(
        [str(PG_BIN / "psql"), "-X", "-q", "-v", "ON_ERROR_STOP=1", "-v", f"analyst={role}"]
        + ["-v", f"analyst_password={password}"]
        + ["-d", cluster.conninfo(dbname, with_password=False), "-f", str(ROLE_SQL)],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "PGPASSWORD": cluster.password},
    )
    assert done.returncode == 0, done.stderr


def _query(sql: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=str(settings.PROJECT_ROOT))
    return subprocess.run(
        [sys.executable, "-m", "pipelines.cli", "query", sql], env=env, capture_output=True, text=True, timeout=120
    )


@pytest.fixture
def analyst_lake(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, postgres_cluster: PostgresCluster) -> dict:
    """A lake written by the cluster's superuser (a small fact table), then the analyst role from the README's SQL."""
    clean_environment(monkeypatch)
    isolate_home(monkeypatch, tmp_path)
    writer = postgres_cluster.database()
    dbname = writer.split()[0].removeprefix("dbname=")
    data = tmp_path / "lake_data"
    monkeypatch.setenv("AUDITLAKE_DATA_PATH", str(data))
    monkeypatch.setenv("AUDITLAKE_WAREHOUSE", f"ducklake:postgres:{writer}")
    catalog_guard.prepare_for_writing()
    con = engine.connect()
    try:
        con.execute("create schema core")
        con.execute(
            "create table core.fct_audit_events as select i as event_id, 'thoughtspot' as source from range(250) t(i)"
        )
    finally:
        con.close()
    password, role = "analyst-pw-4711", f"analyst_{dbname}"  # roles are cluster-wide: one per test database
    _apply_role_sql(postgres_cluster, dbname, role, password)
    analyst = f"dbname={dbname} host=127.0.0.1 port={postgres_cluster.port} user={role} password={password}"
    monkeypatch.setenv("AUDITLAKE_WAREHOUSE", f"ducklake:postgres:{analyst}")
    return {"conninfo": analyst, "data": data, "password": password, "role": role}


def test_analyst_role_reads_through_auditlake_query(analyst_lake: dict) -> None:
    done = _query("select source, count(*) as n from core.fct_audit_events group by source")
    assert done.returncode == 0, done.stderr
    assert "thoughtspot" in done.stdout and "250" in done.stdout
    assert analyst_lake["password"] not in done.stdout + done.stderr


def test_analyst_role_reads_through_a_plain_duckdb_attach(analyst_lake: dict) -> None:
    """What an analyst's own DuckDB (a notebook, the CLI) does: ATTACH ... READ_ONLY with the role's conninfo."""
    wh = engine.warehouse()
    con = duckdb.connect(config=engine.offline_config())
    try:
        engine.load_extensions(con, wh)
        con.execute(
            f"ATTACH 'ducklake:postgres:{analyst_lake['conninfo']}' AS lake "
            f"(DATA_PATH '{analyst_lake['data']}/', METADATA_SCHEMA '{engine.POSTGRES_METADATA_SCHEMA}', READ_ONLY)"
        )
        assert con.execute("select count(*) from lake.core.fct_audit_events").fetchone() == (250,)
    finally:
        con.close()


def test_a_write_with_the_analyst_role_fails_naming_the_role(analyst_lake: dict) -> None:
    # The writer's preparation (what every ingest and dbt build does first) refuses, in one line.
    with pytest.raises(ConfigurationError) as refused:
        catalog_guard.prepare_for_writing()
    message = str(refused.value)
    print(message)
    assert "\n" not in message and analyst_lake["password"] not in message
    assert "read-only" in message and analyst_lake["role"] in message
    # And a write slipped past that check (an analyst's own DuckDB, attached for writing) changes nothing.
    con = engine.connect()
    try:
        with pytest.raises(duckdb.Error) as denied:
            con.execute("insert into core.fct_audit_events values (999, 'mode')")
            con.execute("commit")
        print(denied.value)
        assert "permission denied" in str(denied.value) or "read-only transaction" in str(denied.value)
    finally:
        con.close()
    con = engine.connect(read_only=True)
    try:
        assert con.execute("select count(*) from core.fct_audit_events").fetchone() == (250,)
    finally:
        con.close()
