"""dlt's DuckLake loads reuse one DuckDB instance per process (extensions loaded once), and a second connection
borrowed while one is out gets its own instance, so closing either never detaches the lake under the other."""

from __future__ import annotations

from pathlib import Path

import dlt
import pytest

from pipelines.warehouse import dlt_lake_connections, engine
from tests.conftest import clean_environment, isolate_home


@pytest.fixture
def sqlite_lake(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    clean_environment(monkeypatch)
    isolate_home(monkeypatch, tmp_path)
    monkeypatch.setenv("AUDITLAKE_WAREHOUSE", f"ducklake:sqlite:{tmp_path / 'catalog.sqlite'}")
    monkeypatch.setattr(dlt_lake_connections, "_INSTANCES", {})
    return tmp_path


def _loaded_extensions(con: object) -> int:
    rows = con.execute(
        "select count(*) from duckdb_extensions() where loaded and extension_name in ?",
        [["ducklake", "sqlite_scanner"]],
    ).fetchone()  # type: ignore[attr-defined]
    return int(rows[0])


def test_two_loads_share_one_instance_and_land_every_row(sqlite_lake: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fresh: list[int] = []
    original = dlt_lake_connections.DuckDbConnectionPool.borrow_conn

    def counting(self, *args, **kwargs):  # dlt's own path: a fresh instance that loads the extensions again
        fresh.append(1)
        return original(self, *args, **kwargs)

    monkeypatch.setattr(dlt_lake_connections.DuckDbConnectionPool, "borrow_conn", counting)
    pipeline = dlt.pipeline(
        "shared_pool",
        destination=engine.dlt_destination(),
        dataset_name="raw_probe",
        pipelines_dir=str(sqlite_lake / "dlt"),
    )
    pipeline.run([{"id": i, "batch": "a"} for i in range(300)], table_name="events")
    pipeline.run([{"id": i, "batch": "b"} for i in range(200)], table_name="events")

    assert fresh == [], "every borrow of a sequential load reuses the shared instance"
    assert len(dlt_lake_connections._INSTANCES) == 1
    (instance,) = dlt_lake_connections._INSTANCES.values()
    assert _loaded_extensions(instance) == 2
    assert instance.execute(
        "select count(*) from duckdb_databases() where database_name = ?", [engine.LAKE_ALIAS]
    ).fetchone() == (0,), "the lake is detached between loads"
    con = engine.connect(read_only=True)
    try:
        assert con.execute("select batch, count(*) from raw_probe.events group by batch order by batch").fetchall() == [
            ("a", 300),
            ("b", 200),
        ]
    finally:
        con.close()


def test_a_second_borrow_while_one_is_out_gets_its_own_instance(sqlite_lake: Path) -> None:
    from dlt.destinations.impl.ducklake.sql_client import DuckLakeSqlClient

    pipeline = dlt.pipeline(
        "nested_pool",
        destination=engine.dlt_destination(),
        dataset_name="raw_probe",
        pipelines_dir=str(sqlite_lake / "dlt"),
    )
    pipeline.run([{"id": 1}], table_name="events")
    with pipeline.destination_client() as client:
        sql_client: DuckLakeSqlClient = client.sql_client  # type: ignore[attr-defined]
        outer = sql_client.credentials.conn_pool
        assert isinstance(outer, dlt_lake_connections.SharedInstancePool)
        assert id(sql_client._conn) in dlt_lake_connections._LENT, "the outer connection is the shared one"
        with sql_client.execute_query("select count(*) from raw_probe.events") as cursor:
            assert cursor.fetchone()[0] == 1
        inner_client = DuckLakeSqlClient("raw_probe", None, sql_client.credentials, sql_client.capabilities)
        with inner_client:  # nested: the outer connection is out
            assert id(inner_client._conn) not in dlt_lake_connections._LENT
            with inner_client.execute_query("select count(*) from raw_probe.events") as cursor:
                assert cursor.fetchone()[0] == 1
        # the inner close detached the lake in its own instance only
        with sql_client.execute_query("select count(*) from raw_probe.events") as cursor:
            assert cursor.fetchone()[0] == 1
