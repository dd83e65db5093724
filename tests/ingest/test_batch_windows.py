"""How many windows one load commits: the setting when given, else the engine's default."""

from __future__ import annotations

import pytest

from pipelines.ingest_batches import DEFAULT_BATCH_WINDOWS, DEFAULT_BATCH_WINDOWS_DUCKLAKE, batch_windows


@pytest.mark.parametrize(
    "warehouse, setting, expected",
    [
        ("warehouse/auditlake.duckdb", None, DEFAULT_BATCH_WINDOWS),
        ("ducklake:sqlite:lake/catalog.sqlite", None, DEFAULT_BATCH_WINDOWS_DUCKLAKE),
        (" DuckLake:sqlite:lake/catalog.sqlite", None, DEFAULT_BATCH_WINDOWS_DUCKLAKE),
        ("ducklake:sqlite:lake/catalog.sqlite", "4", 4),
        ("warehouse/auditlake.duckdb", "0", 0),
        ("", None, DEFAULT_BATCH_WINDOWS_DUCKLAKE),  # the default warehouse is DuckLake
        ("ducklake:nowhere:x", None, DEFAULT_BATCH_WINDOWS),  # refused later, naming the setting
    ],
)
def test_batch_windows_follows_the_setting_else_the_engine(monkeypatch, tmp_path, warehouse, setting, expected):
    monkeypatch.setenv("AUDITLAKE_HOME", str(tmp_path))
    monkeypatch.delenv("AUDITLAKE_DATA_PATH", raising=False)
    if warehouse:
        monkeypatch.setenv("AUDITLAKE_WAREHOUSE", warehouse)
    else:
        monkeypatch.delenv("AUDITLAKE_WAREHOUSE", raising=False)
    if setting is None:
        monkeypatch.delenv("AUDITLAKE_BATCH_WINDOWS", raising=False)
    else:
        monkeypatch.setenv("AUDITLAKE_BATCH_WINDOWS", setting)
    assert batch_windows() == expected


def test_a_batch_size_that_is_not_a_whole_number_is_refused(monkeypatch):
    monkeypatch.setenv("AUDITLAKE_BATCH_WINDOWS", "a week")
    with pytest.raises(ValueError, match="AUDITLAKE_BATCH_WINDOWS"):
        batch_windows()
