"""The Dagster asset that publishes the analysts' read-only copy once the marts are built."""

from __future__ import annotations

import dagster as dg

from pipelines.orchestration.dlt_assets import WAREHOUSE_POOL
from pipelines.warehouse.publish import publish_warehouse

PUBLISHED_KEY = dg.AssetKey(["published_warehouse"])


def build_publish_asset(upstream: list[dg.AssetKey]) -> dg.AssetsDefinition:
    @dg.asset(
        key=PUBLISHED_KEY,
        deps=upstream,
        group_name="publish",
        kinds={"duckdb"},
        pool=WAREHOUSE_POOL,
        description=(
            "Read-only copy of the warehouse for analysts (AUDITLAKE_PUBLISHED, default <warehouse>_published.duckdb), "
            "replaced atomically after each successful build so queries never meet the writer's lock."
        ),
    )
    def published_warehouse() -> dg.MaterializeResult:
        path = publish_warehouse()
        return dg.MaterializeResult(metadata={"path": str(path), "bytes": path.stat().st_size})

    return published_warehouse
