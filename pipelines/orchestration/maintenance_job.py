"""The weekly upkeep as a Dagster job and schedule: the full integrity-chain verification (every engine) and the
DuckLake upkeep (a logged no-op on the DuckDB-file engine).

Ops, not assets: verification reads, and compaction and snapshot expiry change how the data is stored, not what it
says, so no asset is materialized and the lineage graph stays about data. The job carries the writer tag, so it
queues behind a refresh instead of rewriting files under a dbt build.

The scheduled run's integrity check re-hashes only newly sealed days (warehouse/integrity_ledger.py); this job is
where a raw row changed in an older, already verified day is caught. The two ops are independent: a broken day
fails the job (and the alert) without holding back compaction, whose snapshot expiry keeps the retention below.

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


@dg.op(
    pool=WAREHOUSE_POOL,
    description=(
        "Re-hashes every sealed day of compliance.rpt_integrity_chain from the raw tables and checks every link "
        "(the scheduled run re-hashes only newly sealed days). Fails naming each day whose raw events were changed "
        "or deleted after sealing: treat it as possible tampering or loss; compare the raw rows with a backup and "
        "the vendor (within its retention, `auditlake ingest --since <day>` restores deleted events)."
    ),
)
def integrity_full_verification(context: dg.OpExecutionContext) -> dg.Output[int]:
    from pipelines.warehouse.integrity_ledger import verify_full_chain

    verification = verify_full_chain()
    metadata = verification.metadata()
    if not verification.chain_built:
        # A warehouse no dbt build has run on yet has sealed nothing: nothing to verify, and no reason to stop the
        # lake upkeep below. (The scheduled run's own check runs after its dbt build and fails on a missing chain.)
        context.log.warning(f"integrity chain not verified: {verification.problems[0].problem}")
        return dg.Output(0, metadata={**metadata, "chain": "not built yet"})
    if verification.problems:
        shown = "; ".join(str(p) for p in verification.problems[:10])
        more = f" (and {len(verification.problems) - 10} more)" if len(verification.problems) > 10 else ""
        raise dg.Failure(
            description=f"integrity chain: {len(verification.problems)} problem(s): {shown}{more}",
            metadata=metadata,
        )
    context.log.info(f"integrity chain verified: {metadata['days_rehashed_from_raw']} sealed day(s) re-hashed")
    return dg.Output(int(metadata["days_rehashed_from_raw"]), metadata=metadata)


@dg.job(
    name="maintenance",
    tags=WRITER_TAGS,
    description=(
        "Weekly upkeep: verify the whole integrity chain against the raw tables; on DuckLake also compact small "
        "files, expire old snapshots, clean up unreferenced files."
    ),
)
def maintenance_job() -> None:
    integrity_full_verification()
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
        "Weekly upkeep: full integrity verification, DuckLake compaction (AUDITLAKE_MAINTENANCE_CRON, default "
        "Sunday 03:00 UTC). Starts switched on when "
        "AUDITLAKE_SCHEDULE_ENABLED=1."
    ),
)
