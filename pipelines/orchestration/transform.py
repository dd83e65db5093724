"""dbt models as Dagster assets: one graph raw -> staging -> core -> compliance, grouped by layer."""


import os
from collections.abc import Mapping
from typing import Any

import dagster as dg
from dagster_dbt import DagsterDbtTranslator, DagsterDbtTranslatorSettings, DbtCliResource, dbt_assets

from pipelines import settings
from pipelines.orchestration.project import dbt_project, ensure_manifest

WAREHOUSE_POOL = "duckdb_warehouse"


class LayeredDbtTranslator(DagsterDbtTranslator):
    """Keys are [schema, model] (e.g. core/fct_audit_events); groups are the warehouse layers.

    dbt sources keep dagster-dbt's default key [source_name, table], which is exactly the key
    the dlt assets claim, so the raw tables are the upstream of staging in one graph.
    """

    def get_asset_spec(self, manifest: Mapping[str, Any], unique_id: str, project) -> dg.AssetSpec:
        spec = super().get_asset_spec(manifest, unique_id, project)
        props = self.get_resource_props(manifest, unique_id)
        if props["resource_type"] == "source":
            return spec
        schema = props.get("schema") or "main"
        group = "catalogue" if props["resource_type"] == "seed" else schema
        return spec.replace_attributes(key=dg.AssetKey([schema, props["name"]]), group_name=group)


TRANSLATOR = LayeredDbtTranslator(settings=DagsterDbtTranslatorSettings(enable_asset_checks=True))

ensure_manifest()


@dbt_assets(
    manifest=dbt_project.manifest_path,
    project=dbt_project,
    dagster_dbt_translator=TRANSLATOR,
    name="dbt_models",
    pool=WAREHOUSE_POOL,
)
def dbt_models(context: dg.AssetExecutionContext, dbt: DbtCliResource):
    """`dbt build`: seeds, models and their tests (the tests report as asset checks)."""
    # dbt reads the warehouse path from the environment; make it absolute so dbt's cwd does not matter.
    os.environ[settings.ENV_WAREHOUSE] = str(settings.warehouse_path())
    with settings.warehouse_write_lock():
        yield from dbt.cli(["build"], context=context).stream()


def dbt_resource() -> DbtCliResource:
    return DbtCliResource(project_dir=dbt_project)
