"""The throwaway PostgreSQL cluster works, and DuckDB 1.5.5 keeps a DuckLake catalog in it (extensions by path)."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from pipelines.warehouse import engine
from tests.postgres_cluster import PostgresCluster


def test_cluster_is_loopback_only_with_a_password(postgres_cluster: PostgresCluster) -> None:
    listen = postgres_cluster.psql("SHOW listen_addresses").strip()
    assert listen == "127.0.0.1"
    assert postgres_cluster.psql("SHOW password_encryption").strip() == "scram-sha-256"
    assert (postgres_cluster.data_dir / "postmaster.pid").exists()


def test_ducklake_catalog_in_postgres_round_trips(postgres_conninfo: str, tmp_path: Path) -> None:
    data = tmp_path / "lake_data"
    # Extensions by path from the packaged, signed binaries; no download, no autoload.
    con = duckdb.connect(config=engine.offline_config())
    for name in ("postgres_scanner", "ducklake"):
        con.execute(f"LOAD '{engine.extension_path(name)}'")
    con.execute(f"ATTACH 'ducklake:postgres:{postgres_conninfo}' AS lake (DATA_PATH '{data}')")
    con.execute("CREATE TABLE lake.events AS SELECT range AS id FROM range(5000)")
    con.close()
    # A second process-like session sees the committed rows through the catalog alone.
    reader = duckdb.connect(config=engine.offline_config())
    for name in ("postgres_scanner", "ducklake"):
        reader.execute(f"LOAD '{engine.extension_path(name)}'")
    reader.execute(f"ATTACH 'ducklake:postgres:{postgres_conninfo}' AS lake (READ_ONLY)")
    assert reader.sql("SELECT count(*), sum(id) FROM lake.events").fetchone() == (5000, sum(range(5000)))
    assert list(data.rglob("*.parquet")), "rows beyond the inlining limit are written as Parquet under DATA_PATH"


def test_missing_binaries_fail_naming_the_package(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import tests.postgres_cluster as postgres_cluster

    monkeypatch.setattr(postgres_cluster, "PG_BIN", tmp_path / "no-such-bin")
    with (
        pytest.raises(postgres_cluster.PostgresUnavailable, match=r"apt-get install postgresql-15"),
        postgres_cluster.running_cluster(),
    ):
        pass
