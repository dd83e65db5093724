"""How many windows one load commits: the setting when given, else the default (the same on every engine)."""

from __future__ import annotations

import pytest

from pipelines.ingest_batches import DEFAULT_BATCH_WINDOWS, batch_windows


@pytest.mark.parametrize(
    "warehouse, setting, expected",
    [
        ("warehouse/auditlake.duckdb", None, DEFAULT_BATCH_WINDOWS),
        ("ducklake:sqlite:lake/catalog.sqlite", None, DEFAULT_BATCH_WINDOWS),
        ("ducklake:sqlite:lake/catalog.sqlite", "4", 4),
        ("warehouse/auditlake.duckdb", "0", 0),
        ("warehouse/auditlake.duckdb", " 8 ", 8),
    ],
)
def test_batch_windows_follows_the_setting_else_the_default(monkeypatch, tmp_path, warehouse, setting, expected):
    monkeypatch.setenv("AUDITLAKE_HOME", str(tmp_path))
    monkeypatch.setenv("AUDITLAKE_WAREHOUSE", warehouse)
    if setting is None:
        monkeypatch.delenv("AUDITLAKE_BATCH_WINDOWS", raising=False)
    else:
        monkeypatch.setenv("AUDITLAKE_BATCH_WINDOWS", setting)
    assert batch_windows() == expected


def test_the_default_batch_is_a_month_of_windows():
    assert DEFAULT_BATCH_WINDOWS == 30  # ThoughtSpot's retention in one load (the figures in ingest_batches.py)


def test_a_batch_size_that_is_not_a_whole_number_is_refused(monkeypatch):
    monkeypatch.setenv("AUDITLAKE_BATCH_WINDOWS", "a week")
    with pytest.raises(ValueError, match="AUDITLAKE_BATCH_WINDOWS"):
        batch_windows()
