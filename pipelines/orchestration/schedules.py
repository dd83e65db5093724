"""Jobs and the schedule: ingest -> transform -> checks -> publish, every 15 minutes by default."""

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

refresh_schedule = dg.ScheduleDefinition(
    name="refresh_schedule",
    job=refresh_job,
    cron_schedule=settings.schedule_cron(),
    execution_timezone="UTC",
    default_status=dg.DefaultScheduleStatus.RUNNING,
    description="Keeps the warehouse within minutes of the vendors (AUDITLAKE_SCHEDULE_CRON, default */15 * * * *).",
)
