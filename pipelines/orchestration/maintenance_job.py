"""The weekly DuckLake upkeep as a Dagster job and schedule (a logged no-op on the DuckDB-file engine).

An op, not an asset: compaction and snapshot expiry change how the data is stored, not what it says, so no asset is
materialized and the lineage graph stays about data. The job carries the writer tag, so it queues behind a refresh
instead of rewriting files under a dbt build.

No `from __future__ import annotations`: Dagster reads the op's context annotation at runtime.
"""

import os

import dagster as dg

from pipelines.orchestration.dlt_assets import WAREHOUSE_POOL
from pipelines.orchestration.jobs import WRITER_TAGS

ENV_MAINTENANCE_CRON = "AUDITLAKE_MAINTENANCE_CRON"
# Sunday 03:00 UTC: a quiet hour for most tenants, away from the daily entitlement snapshot (05:00).
DEFAULT_MAINTENANCE_CRON = "0 3 * * 0"


@dg.op(
    pool=WAREHOUSE_POOL,
    description=(
        "DuckLake: merge small adjacent Parquet files, expire snapshots older than AUDITLAKE_SNAPSHOT_RETENTION_DAYS "
        "(default 400: a twelve-month audit period plus fieldwork), delete files no remaining snapshot needs. "
        "The current snapshot is never expired. DuckDB-file engine: nothing to do (logged)."
    ),
)
def lake_maintenance(context: dg.OpExecutionContext) -> dg.Output[str]:
    from pipelines.warehouse.lake_maintenance import run_maintenance

    report = run_maintenance(log=context.log.info)
    return dg.Output(
        report.line(),
        metadata={
            "skipped": report.skipped or "",
            "data_files_before": report.files_before,
            "data_files_after": report.files_after,
            "snapshots_before": report.snapshots_before,
            "snapshots_after": report.snapshots_after,
            "files_deleted": report.files_deleted,
        },
    )


@dg.job(
    name="maintenance",
    tags=WRITER_TAGS,
    description="Weekly DuckLake upkeep: compact small files, expire old snapshots, clean up unreferenced files.",
)
def maintenance_job() -> None:
    lake_maintenance()


def _default_status() -> dg.DefaultScheduleStatus:
    from pipelines import settings

    return dg.DefaultScheduleStatus.RUNNING if settings.schedule_enabled() else dg.DefaultScheduleStatus.STOPPED


maintenance_schedule = dg.ScheduleDefinition(
    name="maintenance_schedule",
    job=maintenance_job,
    cron_schedule=os.environ.get(ENV_MAINTENANCE_CRON, DEFAULT_MAINTENANCE_CRON),
    execution_timezone="UTC",
    default_status=_default_status(),
    description=(
        "Weekly DuckLake upkeep (AUDITLAKE_MAINTENANCE_CRON, default Sunday 03:00 UTC). Starts switched on when "
        "AUDITLAKE_SCHEDULE_ENABLED=1."
    ),
)
