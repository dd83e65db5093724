"""Which writers queue, by engine: everything on a DuckDB file or SQLite catalog; on a PostgreSQL catalog only an
ingest of the same source (and dbt builds / maintenance, on the global lock)."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from pipelines.orchestration.dlt_assets import WAREHOUSE_POOL, ingest_pool
from pipelines.warehouse.locks import concurrent_ingests, ingest_lock, warehouse_write_lock
from tests.conftest import clean_environment, isolate_home

POSTGRES = "ducklake:postgres:dbname=lake host=127.0.0.1 port=1 user=nobody password=not-used"


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    clean_environment(monkeypatch)
    isolate_home(monkeypatch, tmp_path)
    return tmp_path


def _blocked(hold: object, then: object) -> bool:
    """Whether `then` (a lock context) waits while another thread holds `hold`."""
    held, release = threading.Event(), threading.Event()

    def holder() -> None:
        with hold:  # type: ignore[attr-defined]
            held.set()
            release.wait(10)

    thread = threading.Thread(target=holder)
    thread.start()
    held.wait(10)
    try:
        with then:  # type: ignore[attr-defined]
            return False
    except TimeoutError:
        return True
    finally:
        release.set()
        thread.join()


@pytest.mark.parametrize(
    "setting", ["{home}/warehouse/auditlake.duckdb", "ducklake:sqlite:{home}/warehouse/catalog.sqlite"]
)
def test_one_writer_on_a_file_or_sqlite_catalog(home: Path, monkeypatch: pytest.MonkeyPatch, setting: str) -> None:
    monkeypatch.setenv("AUDITLAKE_WAREHOUSE", setting.format(home=home))
    assert not concurrent_ingests()
    assert ingest_pool("thoughtspot") == ingest_pool("mode") == WAREHOUSE_POOL
    assert _blocked(ingest_lock(["thoughtspot"]), ingest_lock(["mode"], timeout_seconds=0.5))
    assert _blocked(ingest_lock(["thoughtspot"]), warehouse_write_lock(timeout_seconds=0.5))


def test_postgres_catalog_lets_different_sources_ingest_at_once(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AUDITLAKE_WAREHOUSE", POSTGRES)
    monkeypatch.setenv("AUDITLAKE_DATA_PATH", str(home / "lake"))
    assert concurrent_ingests()
    assert ingest_pool("thoughtspot") == "warehouse_ingest_thoughtspot" != ingest_pool("mode")
    assert not _blocked(ingest_lock(["thoughtspot"]), ingest_lock(["mode"], timeout_seconds=0.5))
    assert _blocked(ingest_lock(["thoughtspot"]), ingest_lock(["thoughtspot"], timeout_seconds=0.5))
    assert _blocked(ingest_lock(["mode", "thoughtspot"]), ingest_lock(["thoughtspot"], timeout_seconds=0.5))
    # dbt builds and maintenance still queue on the global lock, which an ingest does not hold.
    assert not _blocked(ingest_lock(["thoughtspot"]), warehouse_write_lock(timeout_seconds=0.5))
    assert _blocked(warehouse_write_lock(), warehouse_write_lock(timeout_seconds=0.5))


def test_a_bad_setting_keeps_the_one_writer_pool(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AUDITLAKE_WAREHOUSE", "ducklake:postgres:dbname=lake")  # no AUDITLAKE_DATA_PATH
    assert ingest_pool("thoughtspot") == WAREHOUSE_POOL
