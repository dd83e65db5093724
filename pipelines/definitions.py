"""The one Dagster `Definitions` of auditlake: `dagster dev -w workspace.yaml` or `dg dev` loads it.

Lineage: raw_<source>/* (dlt, one multi-asset per registered source) -> staging -> core -> compliance (dbt)
-> published_warehouse. `build_definitions()` reads the source registry at call time, so a source registered
before the call (a plugin, a test) gets its assets, checks and jobs like the built-in ones.
"""

from __future__ import annotations

import dagster as dg


def build_definitions() -> dg.Definitions:
    from pipelines.orchestration.asset_checks import all_checks
    from pipelines.orchestration.dbt_assets import dbt_models, dbt_resource
    from pipelines.orchestration.dlt_assets import build_ingest_assets
    from pipelines.orchestration.evidence_assets import (
        evidence_pack,
        evidence_pack_job,
        evidence_pack_schedule,
        finding_alerts,
    )
    from pipelines.orchestration.job_runner import step_progress_logger_def
    from pipelines.orchestration.jobs import (
        backfill_job,
        entitlements_job,
        entitlements_schedule,
        refresh_job,
        refresh_schedule,
        transform_job,
    )
    from pipelines.orchestration.maintenance_job import maintenance_job, maintenance_schedule
    from pipelines.orchestration.publish_asset import build_publish_asset
    from pipelines.orchestration.push_drain_job import drain_push_job, push_spool_sensor

    # Published once the core and compliance models are built (their keys start with the schema).
    published = build_publish_asset([key for key in dbt_models.keys if key.path[0] in ("core", "compliance")])
    return dg.Definitions(
        assets=[*build_ingest_assets(), dbt_models, published, finding_alerts, evidence_pack],
        asset_checks=all_checks(),
        jobs=[
            refresh_job,
            backfill_job,
            transform_job,
            entitlements_job,
            drain_push_job,
            maintenance_job,
            evidence_pack_job,
        ],
        schedules=[refresh_schedule, entitlements_schedule, maintenance_schedule, evidence_pack_schedule],
        sensors=[push_spool_sensor],
        resources={"dbt": dbt_resource()},
        loggers={"console": dg.colored_console_logger, "step_progress": step_progress_logger_def()},
        # Steps run one after another in the run's own process: one DuckDB writer at a time,
        # and no per-step interpreter start-up (each costs ~20 s with dbt and dlt imports on 2 cores).
        executor=dg.in_process_executor,
    )


defs = build_definitions()
