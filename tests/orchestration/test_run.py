"""The whole graph against the simulators, in process: ingest, dbt build, every check, publish."""

from __future__ import annotations

from datetime import timedelta

import dagster as dg
import pytest

from pipelines import settings
from pipelines.orchestration.asset_checks import all_checks, raw_events_key
from pipelines.orchestration.job_runner import run_pipeline
from pipelines.warehouse.locks import warehouse_write_lock
from tests.orchestration.conftest import query

pytestmark = pytest.mark.slow


def _check(asset_key: dg.AssetKey, name: str) -> dg.AssetChecksDefinition:
    for check in all_checks():
        if dg.AssetCheckKey(asset_key, name) in check.check_keys:
            return check
    raise AssertionError(f"no check {name} on {asset_key}")


def test_whole_graph_materialises_and_every_check_passes(product):
    ts, mode, warehouse = product["thoughtspot"], product["mode"], product["warehouse"]

    first = run_pipeline()
    assert first.success, first.failed_steps
    failing = [(c.asset, c.name, c.metadata) for c in first.checks if not c.passed]
    assert not failing
    assert len(first.checks) > 50  # dbt tests + our checks all ran
    assert first.ingested["thoughtspot"]["new_events"] == len(ts.expected_event_ids())

    fact_ids = dict(
        (
            source,
            {
                r[0]
                for r in query(
                    warehouse, "select source_event_id from core.fct_audit_events where source_system = ?", source
                )
            },
        )
        for source in ("thoughtspot", "mode")
    )
    assert fact_ids["thoughtspot"] == ts.expected_event_ids()
    # Mode logs each of our reads as a new event after the window we read: the rest must match exactly.
    missing = mode.expected_event_ids() - fact_ids["mode"]
    assert fact_ids["mode"] <= mode.expected_event_ids()
    assert len(missing) <= 2 * len(mode.request_log)

    # The analysts' copy was published and holds the same fact.
    published = settings.published_path()
    assert published.exists() and published != warehouse
    assert query(published, "select count(*) from core.fct_audit_events") == query(
        warehouse, "select count(*) from core.fct_audit_events"
    )

    # A second run re-reads the overlap: nothing duplicates anywhere, every check still passes.
    second = run_pipeline()
    assert second.success and all(c.passed for c in second.checks)
    assert second.ingested["thoughtspot"]["duplicates_absorbed"] > 0
    assert second.ingested["thoughtspot"]["new_events"] == 0
    assert query(warehouse, "select count(*) - count(distinct event_key) from core.fct_audit_events") == [(0,)]
    assert {
        r[0]
        for r in query(
            warehouse, "select source_event_id from core.fct_audit_events where source_system = 'thoughtspot'"
        )
    } == ts.expected_event_ids()


def test_coverage_check_fails_when_a_gap_is_injected(product):
    warehouse = product["warehouse"]
    assert run_pipeline().success
    coverage = _check(raw_events_key("thoughtspot"), "coverage")
    assert coverage().passed

    # Lose the record of one day in the middle: the coverage evidence now has a hole.
    with warehouse_write_lock():
        import duckdb

        with duckdb.connect(str(warehouse)) as con:
            deleted = con.execute(
                """delete from raw_thoughtspot.ingest_windows where window_start = (
                       select window_start from raw_thoughtspot.ingest_windows order by window_start limit 1 offset 1)
                   returning window_start"""
            ).fetchall()
    assert deleted
    result = coverage()
    assert not result.passed
    assert result.severity == dg.AssetCheckSeverity.ERROR  # recoverable: still inside the vendor's retention
    gaps = result.metadata["gaps"].value
    assert len(gaps) == 1 and "recoverable" in gaps[0]
    # The other source is untouched.
    assert _check(raw_events_key("mode"), "coverage")().passed

    # The remedy the check names: a backfill of the gap (the `backfill` job) closes it without moving the cursor.
    gap_start = deleted[0][0]
    backfill = run_pipeline(
        since=(gap_start - timedelta(minutes=1)).isoformat(),
        until=(gap_start + timedelta(days=1, minutes=1)).isoformat(),
    )
    assert backfill.success, backfill.failed_steps
    assert backfill.ingested["thoughtspot"]["new_events"] == 0  # nothing was lost, only its evidence
    assert coverage().passed
    assert query(warehouse, "select count(*) - count(distinct event_key) from core.fct_audit_events") == [(0,)]


def test_a_source_without_credentials_is_skipped_and_the_rest_runs(product, monkeypatch):
    for name in ("SOURCES__MODE__API_TOKEN", "SOURCES__MODE__API_SECRET", "SOURCES__MODE__WORKSPACE"):
        monkeypatch.delenv(name)
    outcome = run_pipeline()
    assert outcome.success, outcome.failed_steps
    assert outcome.ingested["mode"]["status"] == "skipped"
    assert outcome.ingested["thoughtspot"]["new_events"] > 0
    assert query(product["warehouse"], "select count(*) from core.fct_audit_events where source_system = 'mode'") == [
        (0,)
    ]
    assert not [c for c in outcome.checks if c.blocking]
