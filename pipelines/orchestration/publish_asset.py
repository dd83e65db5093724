"""The Dagster asset that publishes the analysts' read-only copy once the marts are built."""

from __future__ import annotations

import dagster as dg

from pipelines.orchestration.dlt_assets import WAREHOUSE_POOL
from pipelines.warehouse.publish import publish_for_analysts

PUBLISHED_KEY = dg.AssetKey(["published_warehouse"])


def build_publish_asset(upstream: list[dg.AssetKey]) -> dg.AssetsDefinition:
    @dg.asset(
        key=PUBLISHED_KEY,
        deps=upstream,
        group_name="publish",
        kinds={"duckdb"},
        pool=WAREHOUSE_POOL,
        description=(
            "Makes the build visible to analysts. DuckLake: records the committed snapshot readers now see (no copy). "
            "DuckDB file: a read-only copy (AUDITLAKE_PUBLISHED, default <warehouse>_published.duckdb), "
            "swapped atomically after each successful build so queries never meet the writer's lock; of its two "
            "hidden copies, the one no reader is on is refreshed in place (only the blocks that changed are written)."
        ),
    )
    def published_warehouse() -> dg.MaterializeResult:
        return dg.MaterializeResult(metadata=publish_for_analysts())

    return published_warehouse
