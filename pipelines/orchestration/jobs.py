"""Jobs and the schedule: refresh (ingest -> dbt build -> checks -> publish, every 15 min), backfill, transform."""

from __future__ import annotations

import dagster as dg

from pipelines import settings
from pipelines.sources import registry

WRITER_TAG = "auditlake/warehouse"


def writer_tags() -> dict[str, str]:
    """The tag of every job that writes the warehouse. Runs tagged `write` queue behind each other as a whole
    (dagster_home/dagster.yaml): DuckDB and a SQLite catalog have one writer. On a DuckLake PostgreSQL catalog runs are
    not queued whole (`shared`, no run limit): each ingest op sits in its source's pool and every other writing op
    (dbt build, publish, maintenance) in the one-writer pool, so a refresh's Mode ingest runs beside another run's
    ThoughtSpot backfill while dbt builds still go one at a time (pipelines/warehouse/locks.py)."""
    from pipelines.orchestration.dlt_assets import ingests_side_by_side

    return {WRITER_TAG: "shared" if ingests_side_by_side() else "write"}


WRITER_TAGS = writer_tags()


def _default_status() -> dg.DefaultScheduleStatus:
    return dg.DefaultScheduleStatus.RUNNING if settings.schedule_enabled() else dg.DefaultScheduleStatus.STOPPED


# The entitlement snapshot assets (state sources): taken daily by their own job, not every 15 minutes.
# By dataset prefix, so each instance's snapshot asset (several tenants) is one of them too.
SNAPSHOT_ASSETS = dg.AssetSelection.key_prefixes(*([spec.dataset] for spec in registry.state_sources()))

# The monthly evidence pack is built by its own job (orchestration/evidence_assets.py), never by a refresh.
EVIDENCE_PACK = dg.AssetSelection.assets(dg.AssetKey(["evidence_pack"]))

refresh_job = dg.define_asset_job(
    name="refresh",
    selection=dg.AssetSelection.all() - SNAPSHOT_ASSETS - EVIDENCE_PACK,
    tags=WRITER_TAGS,
    description=(
        "Fetch new audit events from every configured source, rebuild the models, run all checks, "
        "publish the analysts' copy."
    ),
)

backfill_job = dg.define_asset_job(
    name="backfill",
    selection=dg.AssetSelection.all() - SNAPSHOT_ASSETS - EVIDENCE_PACK,
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

entitlements_job = dg.define_asset_job(
    name="entitlements",
    # The snapshots, what reads them, and the models those read in turn (seeds, the audit fact: built from the raw
    # audit tables as they are, so the job also works on a warehouse the refresh job has not built yet).
    selection=SNAPSHOT_ASSETS
    | (SNAPSHOT_ASSETS.downstream().upstream() - dg.AssetSelection.groups("raw") - EVIDENCE_PACK),
    tags=WRITER_TAGS,
    description=(
        "Take a complete entitlement snapshot of every configured ThoughtSpot org and Mode workspace (users, groups, "
        "privileges), then rebuild what reads them (access review, drift) and publish."
    ),
)

entitlements_schedule = dg.ScheduleDefinition(
    name="entitlements_schedule",
    job=entitlements_job,
    cron_schedule=settings.snapshot_cron(),
    execution_timezone="UTC",
    default_status=_default_status(),
    description=(
        "One entitlement snapshot a day (AUDITLAKE_SNAPSHOT_CRON, default 05:00 UTC): the state history the access "
        "review reads. Starts switched on when AUDITLAKE_SCHEDULE_ENABLED=1."
    ),
)

refresh_schedule = dg.ScheduleDefinition(
    name="refresh_schedule",
    job=refresh_job,
    cron_schedule=settings.schedule_cron(),
    execution_timezone="UTC",
    # Off until switched on (in the UI, `dagster schedule start refresh_schedule`, or AUDITLAKE_SCHEDULE_ENABLED=1
    # in a deployment), so opening the UI to look around never starts writing a warehouse.
    default_status=dg.DefaultScheduleStatus.RUNNING
    if settings.schedule_enabled()
    else dg.DefaultScheduleStatus.STOPPED,
    description=(
        "Keeps the warehouse within minutes of the vendors: refresh every 15 minutes (AUDITLAKE_SCHEDULE_CRON). "
        "Starts switched on when AUDITLAKE_SCHEDULE_ENABLED=1."
    ),
)
