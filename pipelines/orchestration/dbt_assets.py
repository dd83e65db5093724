"""dbt models as Dagster assets: one graph raw -> staging -> core -> compliance, grouped by layer.

`auditlake transform`, `auditlake run` and the schedule all build dbt through this asset, so there is one way
dbt runs: dagster-dbt's `DbtCliResource`, with the dbt executable installed beside this interpreter.
"""

from collections.abc import Iterator
from typing import Any

import dagster as dg
from dagster_dbt import DbtCliResource, dbt_assets

__all__ = ["dbt_models", "dbt_resource"]

from pipelines import settings
from pipelines.orchestration.dbt_manifest import WITHOUT_UNIT_TESTS, dbt_project, dbt_resource, ensure_manifest
from pipelines.orchestration.dlt_assets import WAREHOUSE_POOL
from pipelines.orchestration.translators import DBT_TRANSLATOR
from pipelines.warehouse import catalog_guard
from pipelines.warehouse.locks import warehouse_write_lock

ensure_manifest()


class DbtBuildConfig(dg.Config):
    """`full_refresh` rebuilds incremental models from the raw tables (append-only evidence tables excepted)."""

    full_refresh: bool = False


@dbt_assets(
    manifest=dbt_project.manifest_path,
    project=dbt_project,
    dagster_dbt_translator=DBT_TRANSLATOR,
    name="dbt_models",
    pool=WAREHOUSE_POOL,
)
def dbt_models(context: dg.AssetExecutionContext, dbt: DbtCliResource, config: DbtBuildConfig) -> Iterator[Any]:
    """`dbt build`: seeds, models and their data tests (the tests report as asset checks); no unit tests."""
    # dbt reads the warehouse from the environment; make paths absolute so dbt's cwd does not matter.
    # prepare_for_writing fails (one line, the setting and the fix) before dbt starts on a bad catalog.
    warehouse_env = catalog_guard.prepare_for_writing().environment()
    args = ["build", *WITHOUT_UNIT_TESTS, *(["--full-refresh"] if config.full_refresh else [])]
    with warehouse_write_lock():
        # DbtCliResource.cli takes no env: it copies os.environ into dbt's subprocess when it starts it, inside
        # this call, so the warehouse settings are in os.environ for that call only, not for the whole process.
        with settings.scoped_environment(warehouse_env):
            invocation = dbt.cli(args, context=context)
        yield from invocation.stream()
