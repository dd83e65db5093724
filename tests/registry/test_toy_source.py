"""One registry entry is all a new source needs: ingest, Dagster assets and checks, and status all pick it up."""

from __future__ import annotations

import dagster as dg
import pytest

from pipelines import cli
from pipelines.sources import registry
from tests.registry.toy_source import EVENTS_TABLE, TOKEN_VARIABLE, TOY, TOY_TOKEN


@pytest.fixture
def toy(warehouse, monkeypatch):
    registry.register(TOY)
    monkeypatch.delenv(TOKEN_VARIABLE, raising=False)
    yield TOY
    registry.unregister(TOY.name)


def test_unconfigured_toy_is_skipped_with_its_variable_named(toy, capsys):
    assert cli.main(["ingest", "--source", "toy"]) == 2
    out = capsys.readouterr().out
    assert "toy: not configured, skipped" in out and TOKEN_VARIABLE in out


def test_toy_is_ingested_orchestrated_and_reported(toy, warehouse, capsys, monkeypatch):
    monkeypatch.setenv(TOKEN_VARIABLE, TOY_TOKEN)
    assert cli.main(["ingest", "--source", "toy"]) == 0
    out = capsys.readouterr().out
    assert "toy (toy.local): 3 new events" in out
    assert duck_rows(warehouse, f"select count(*) from raw_toy.{EVENTS_TABLE}") == [(3,)]

    # `ingest` without --source covers it too (the built-in sources are unconfigured here: skipped).
    assert cli.main(["ingest"]) == 0
    out = capsys.readouterr().out
    assert "toy (toy.local):" in out and "thoughtspot: not configured, skipped" in out
    assert duck_rows(warehouse, f"select count(*) from raw_toy.{EVENTS_TABLE}") == [(3,)]  # merged, not doubled

    from pipelines.definitions import build_definitions

    defs = build_definitions()
    graph = defs.resolve_asset_graph()
    events_key = dg.AssetKey(["raw_toy", EVENTS_TABLE])
    assert events_key in graph.get_all_asset_keys()
    assert graph.get(events_key).group_name == "raw"
    checks = {key.name for key in graph.asset_check_keys if key.asset_key == events_key}
    assert {"freshness", "coverage", "quarantined_records"} <= checks
    refresh = defs.resolve_job_def("refresh")
    assert "ingest_toy" in {node.name for node in refresh.graph.node_defs}

    assert cli.main(["status"]) in (0, 1)  # the built-in sources were never loaded here
    status = capsys.readouterr().out
    assert "toy toy.local: 3 events" in status


def duck_rows(path, sql):
    import duckdb

    with duckdb.connect(str(path), read_only=True) as con:
        return con.execute(sql).fetchall()
