"""The one Dagster `Definitions` of auditlake: `dagster dev -w workspace.yaml` or `dg dev` loads it.

Lineage: raw_thoughtspot/* and raw_mode/* (dlt) -> staging -> core -> compliance (dbt) -> published_warehouse.
"""

from __future__ import annotations

import dagster as dg
from dagster_dlt import DagsterDltResource

from pipelines.orchestration.checks import all_checks
from pipelines.orchestration.ingest import ingest_assets
from pipelines.orchestration.publish import build_publish_asset
from pipelines.orchestration.schedules import backfill_job, refresh_job, refresh_schedule
from pipelines.orchestration.transform import dbt_models, dbt_resource

# Published once the core and compliance models are built (their keys start with the schema).
_published = build_publish_asset([key for key in dbt_models.keys if key.path[0] in ("core", "compliance")])

defs = dg.Definitions(
    assets=[*ingest_assets, dbt_models, _published],
    asset_checks=all_checks(),
    jobs=[refresh_job, backfill_job],
    schedules=[refresh_schedule],
    resources={"dlt": DagsterDltResource(), "dbt": dbt_resource()},
    # Steps run one after another in the run's own process: one DuckDB writer at a time,
    # and no per-step interpreter start-up (each costs ~20 s with dbt and dlt imports on 2 cores).
    executor=dg.in_process_executor,
)
