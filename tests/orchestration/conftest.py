"""The whole product wired together: simulators on loopback, a tmp warehouse, the real Dagster definitions."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from pipelines.simulators import HistoryConfig, ModeSimulator, ThoughtSpotSimulator
from pipelines.simulators.serve import environment
from pipelines.warehouse import engine
from tests.conftest import isolate_home

REPO = Path(__file__).resolve().parents[2]


def small_history(seed: int, days: int = 3, per_day: int = 120, minutes_ago: float = 5) -> HistoryConfig:
    # Ended minutes ago (so a rerun's overlap re-reads real events), well inside the 30-day retention.
    end = datetime.now(timezone.utc) - timedelta(minutes=minutes_ago)
    return HistoryConfig(seed=seed, days=days, events_per_day=per_day, end=end)


@pytest.fixture
def product(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest):
    """Both simulators serving, the sources configured for them, a fresh warehouse in tmp_path.

    A DuckDB file unless the test parametrizes it (indirect) with "ducklake": then a DuckLake with a SQLite catalog
    in tmp_path/warehouse, and product["warehouse"] is the AUDITLAKE_WAREHOUSE setting."""
    engine_name = getattr(request, "param", "file")
    for name in list(os.environ):
        if name.startswith("SOURCES__") or name in (
            "AUDITLAKE_START",
            "AUDITLAKE_PIPELINES_DIR",
            "AUDITLAKE_PUBLISHED",
        ):
            monkeypatch.delenv(name)
    isolate_home(monkeypatch, tmp_path)  # in-process runs: ephemeral Dagster; CLI runs: tmp_path/dagster_home
    monkeypatch.delenv("AUDITLAKE_DATA_PATH", raising=False)
    warehouse: Path | str = tmp_path / "warehouse" / "auditlake.duckdb"
    if engine_name == "ducklake":
        warehouse = f"ducklake:sqlite:{tmp_path / 'warehouse' / 'catalog.sqlite'}"
    monkeypatch.setenv("AUDITLAKE_WAREHOUSE", str(warehouse))
    monkeypatch.setenv("AUDITLAKE_START", (datetime.now(timezone.utc) - timedelta(days=4)).isoformat())
    monkeypatch.setenv("RUNTIME__REQUEST_BACKOFF_FACTOR", "0.05")
    with (
        ThoughtSpotSimulator(history=small_history(21), late_minutes=0) as ts,
        ModeSimulator(history=small_history(22, per_day=40, minutes_ago=120)) as mode,
    ):
        for key, value in {**environment(ts), **environment(mode)}.items():
            monkeypatch.setenv(key, value)
        yield {"thoughtspot": ts, "mode": mode, "warehouse": warehouse, "tmp": tmp_path}


def query(path: Path | str, sql: str, *params) -> list[tuple]:
    """Rows of `sql` on a DuckDB file or a ducklake:... warehouse, read-only."""
    with engine.connect(path, read_only=True) as con:
        return con.execute(sql, list(params)).fetchall()


def auditlake(*args: str, cwd: Path, env: dict | None = None, timeout: float = 600) -> subprocess.CompletedProcess:
    """Run the installed CLI in a child process, as cron or a user would."""
    exe = Path(sys.executable).with_name("auditlake")
    return subprocess.run(
        [str(exe), *args], cwd=cwd, env={**os.environ, **(env or {})}, capture_output=True, text=True, timeout=timeout
    )
