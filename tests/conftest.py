"""Fixtures every test folder shares: a fresh warehouse with no source configured, simulator environments."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from pipelines.sources import registry
from tests.postgres_cluster import PostgresCluster, running_cluster

# Variables that would point a test at a real tenant or another warehouse if inherited from the shell.
_INHERITED = ("AUDITLAKE_START", "AUDITLAKE_PIPELINES_DIR", "AUDITLAKE_PUBLISHED")


def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    # Every auditlake and source setting the shell (or an earlier test in this worker) left behind: a leftover
    # AUDITLAKE_DATA_PATH or AUDITLAKE_ALERT_WEBHOOK_URL would change what the test exercises.
    for name in list(os.environ):
        if name.startswith(("SOURCES__", "AUDITLAKE_")) or name in _INHERITED:
            monkeypatch.delenv(name)
    monkeypatch.setenv("RUNTIME__DLTHUB_TELEMETRY", "false")
    # Short retry backoff so injected faults cost little.
    monkeypatch.setenv("RUNTIME__REQUEST_BACKOFF_FACTOR", "0.05")
    monkeypatch.setenv("RUNTIME__REQUEST_MAX_ATTEMPTS", "6")


@pytest.fixture
def warehouse(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh DuckDB path for this test; no source configured; cwd in tmp_path (no repository .dlt/*.toml)."""
    clean_environment(monkeypatch)
    path = tmp_path / "warehouse" / "auditlake.duckdb"
    monkeypatch.setenv("AUDITLAKE_WAREHOUSE", str(path))
    isolate_home(monkeypatch, tmp_path)
    return path


def isolate_home(monkeypatch: pytest.MonkeyPatch, home: Path) -> None:
    """The project home (`.dlt/`, `dagster_home/`) is `home`: no repository secrets, no shared Dagster history."""
    monkeypatch.setenv("AUDITLAKE_HOME", str(home))
    monkeypatch.setenv("DLT_PROJECT_DIR", str(home))
    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    monkeypatch.chdir(home)


def point_at(monkeypatch: pytest.MonkeyPatch, simulator: object, source: str) -> None:
    """Configure `source` for a running simulator, through the registry (as the demo does)."""
    for key, value in registry.get(source).environment_for(simulator).items():
        monkeypatch.setenv(key, value)


@pytest.fixture(scope="session")
def postgres_cluster() -> Iterator[PostgresCluster]:
    """A throwaway PostgreSQL 15 cluster, started on first use; one per xdist worker (a worker is a session)."""
    with running_cluster() as cluster:
        yield cluster


@pytest.fixture
def postgres_conninfo(postgres_cluster: PostgresCluster) -> str:
    """A fresh, empty database in the test cluster: its libpq conninfo, password included."""
    return postgres_cluster.database()
