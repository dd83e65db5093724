"""Jobs and the schedule: refresh (ingest -> dbt build -> checks -> publish, every 15 min), backfill, transform."""

from __future__ import annotations

import dagster as dg

from pipelines import settings

# Runs with this tag queue behind each other (dagster_home/dagster.yaml): DuckDB has one writer.
WRITER_TAGS = {"auditlake/warehouse": "write"}

refresh_job = dg.define_asset_job(
    name="refresh",
    selection=dg.AssetSelection.all(),
    tags=WRITER_TAGS,
    description="Fetch new audit events from every configured source, rebuild the models, run all checks, publish the analysts' copy.",
)

backfill_job = dg.define_asset_job(
    name="backfill",
    selection=dg.AssetSelection.all(),
    tags=WRITER_TAGS,
    description=(
        "Re-read a past date range (within the vendors' 30-day retention) without moving the cursor: set `since` and "
        "`until` in the ingest ops' config. Re-read events are absorbed by the merge on event id."
    ),
)

transform_job = dg.define_asset_job(
    name="transform",
    selection=dg.AssetSelection.groups("catalogue", "staging", "core", "compliance"),
    tags=WRITER_TAGS,
    description="`dbt build` only (what `auditlake transform` runs): seeds, models and their tests, no ingest.",
)

refresh_schedule = dg.ScheduleDefinition(
    name="refresh_schedule",
    job=refresh_job,
    cron_schedule=settings.schedule_cron(),
    execution_timezone="UTC",
    # Off until switched on (in the UI, `dagster schedule start refresh_schedule`, or AUDITLAKE_SCHEDULE_ENABLED=1
    # in a deployment), so opening the UI to look around never starts writing a warehouse.
    default_status=dg.DefaultScheduleStatus.RUNNING if settings.schedule_enabled() else dg.DefaultScheduleStatus.STOPPED,
    description=(
        "Keeps the warehouse within minutes of the vendors: refresh every 15 minutes (AUDITLAKE_SCHEDULE_CRON). "
        "Starts switched on when AUDITLAKE_SCHEDULE_ENABLED=1."
    ),
)
