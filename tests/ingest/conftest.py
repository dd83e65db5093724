"""Helpers for the ingest tests (the `warehouse` fixture is shared, in tests/conftest.py)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

import duckdb
import pytest

from pipelines.simulators import HistoryConfig


def history(days: int = 29, per_day: int = 40, hours_ago: float = 2, **kwargs) -> HistoryConfig:
    """A history that ended `hours_ago`: every event is already revealed and inside the 30-day retention."""
    end = datetime.now(timezone.utc) - timedelta(hours=hours_ago)
    return HistoryConfig(seed=kwargs.pop("seed", 11), days=days, events_per_day=per_day, end=end, **kwargs)


def point_at_thoughtspot(monkeypatch: pytest.MonkeyPatch, sim, secret_key: str | None = None) -> None:
    monkeypatch.setenv("SOURCES__THOUGHTSPOT__BASE_URL", sim.base_url)
    monkeypatch.setenv("SOURCES__THOUGHTSPOT__USERNAME", sim.username)
    monkeypatch.setenv("SOURCES__THOUGHTSPOT__SECRET_KEY", secret_key or sim.secret_key)


def point_at_mode(monkeypatch: pytest.MonkeyPatch, sim, api_secret: str | None = None) -> None:
    monkeypatch.setenv("SOURCES__MODE__BASE_URL", sim.base_url)
    monkeypatch.setenv("SOURCES__MODE__WORKSPACE", sim.workspace)
    monkeypatch.setenv("SOURCES__MODE__API_TOKEN", sim.api_token)
    monkeypatch.setenv("SOURCES__MODE__API_SECRET", api_secret or sim.api_secret)


def rows(path: Path, sql: str, *params) -> list[tuple]:
    con = duckdb.connect(str(path), read_only=True)
    try:
        return con.execute(sql, list(params)).fetchall()
    finally:
        con.close()


def event_ids(path: Path, table: str) -> list[str]:
    """Every id in a raw event table, duplicates included (so callers can check there are none)."""
    return [r[0] for r in rows(path, f"select id from {table}")]


def table_exists(path: Path, schema: str, table: str) -> bool:
    if not path.exists():
        return False
    return bool(
        rows(
            path,
            "select count(*) from information_schema.tables where table_schema = ? and table_name = ?",
            schema,
            table,
        )[0][0]
    )


def only(summaries):
    assert len(summaries) == 1, summaries
    return summaries[0]
