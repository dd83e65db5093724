"""The Dagster definitions load and form one lineage graph raw -> staging -> core -> compliance."""

from __future__ import annotations

import dagster as dg
import pytest

from pipelines.definitions import defs

RAW = {
    "thoughtspot": dg.AssetKey(["raw_thoughtspot", "security_audit_events"]),
    "mode": dg.AssetKey(["raw_mode", "audit_logs"]),
}
STAGING = {
    "thoughtspot": dg.AssetKey(["staging", "stg_thoughtspot__security_audit_events"]),
    "mode": dg.AssetKey(["staging", "stg_mode__audit_logs"]),
}
FACT = dg.AssetKey(["core", "fct_audit_events"])
MARTS = [
    "rpt_authentication_failures",
    "rpt_privileged_changes",
    "rpt_user_lifecycle",
    "rpt_data_exports",
    "rpt_api_tokens",
    "rpt_audit_log_access",
    "rpt_connection_changes",
    "rpt_access_review",
    "rpt_pipeline_evidence",
]


@pytest.fixture(scope="module")
def graph():
    return defs.resolve_asset_graph()


def test_every_layer_is_present_and_grouped(graph):
    keys = graph.get_all_asset_keys()
    for key in [*RAW.values(), *STAGING.values(), FACT, dg.AssetKey(["core", "dim_users"])]:
        assert key in keys, key
    for mart in MARTS:
        assert dg.AssetKey(["compliance", mart]) in keys, mart
    assert graph.get(RAW["thoughtspot"]).group_name == "raw"
    assert graph.get(STAGING["mode"]).group_name == "staging"
    assert graph.get(FACT).group_name == "core"
    assert graph.get(dg.AssetKey(["compliance", "rpt_access_review"])).group_name == "compliance"
    # Every key is materialisable: no dangling external stubs such as dagster-dlt's default "thoughtspot_..." dep.
    assert all(graph.get(k).is_materializable for k in keys)


@pytest.mark.parametrize("source", ["thoughtspot", "mode"])
def test_raw_dlt_asset_is_the_upstream_of_its_staging_model(graph, source):
    assert RAW[source] in graph.get(STAGING[source]).parent_keys
    assert graph.get(RAW[source]).parent_keys == set()


def test_lineage_reaches_from_raw_to_every_mart(graph):
    selection = dg.AssetSelection.assets(RAW["thoughtspot"]).downstream()
    reached = selection.resolve(graph)
    for mart in MARTS:
        assert dg.AssetKey(["compliance", mart]) in reached, mart
    assert dg.AssetKey(["published_warehouse"]) in reached


def test_checks_cover_sources_and_fact(graph):
    checks = {(k.asset_key, k.name) for k in graph.asset_check_keys}
    for key in RAW.values():
        for name in ("freshness", "coverage", "quarantined_records"):
            assert (key, name) in checks, (key, name)
    for name in ("raw_fact_reconciliation", "unmapped_event_types"):
        assert (FACT, name) in checks
    # dbt tests surface as asset checks too; the fact's uniqueness has its one home there.
    assert any(k == FACT and n.startswith("unique") for k, n in checks)


def test_schedule_and_jobs():
    schedule = defs.resolve_schedule_def("refresh_schedule")
    assert schedule.cron_schedule == "*/15 * * * *"
    assert schedule.job_name == "refresh"
    for job in ("refresh", "backfill"):
        assert defs.resolve_job_def(job).tags.get("auditlake/warehouse") == "write"


def test_the_repository_loads_as_the_webserver_loads_it():
    # Dagster checks some names only when a code server loads every job (e.g. an op named like a job): the webserver
    # then shows a broken code location while Definitions validation alone passes.
    repository = defs.get_repository_def()
    repository.load_all_definitions()
    assert {"refresh", "drain_push", "maintenance", "monthly_evidence_pack"} <= {
        job.name for job in repository.get_all_jobs()
    }
