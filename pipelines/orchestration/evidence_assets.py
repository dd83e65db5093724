"""Dagster assets for issue 14: `finding_alerts` (after dbt builds compliance.findings, in every refresh) and
`evidence_pack` (last month's pack, on its own monthly schedule)."""

import dagster as dg

from pipelines import settings
from pipelines.orchestration.dlt_assets import WAREHOUSE_POOL

FINDINGS_KEY = dg.AssetKey(["compliance", "findings"])
ALERTS_KEY = dg.AssetKey(["finding_alerts"])
EVIDENCE_PACK_KEY = dg.AssetKey(["evidence_pack"])


@dg.asset(
    key=ALERTS_KEY,
    deps=[FINDINGS_KEY],
    group_name="alerts",
    kinds={"python"},
    pool=WAREHOUSE_POOL,
    description=(
        "Posts each new open finding of compliance.findings at or above AUDITLAKE_ALERT_MIN_SEVERITY once to "
        "AUDITLAKE_ALERT_WEBHOOK_URL (retried with backoff; the outbox auditlake_alerts.outbox keeps it from being "
        "sent twice across runs, restarts and backfills). Off when no webhook is configured."
    ),
)
def finding_alerts(context: dg.AssetExecutionContext) -> dg.MaterializeResult:
    from pipelines.evidence.alert_webhook import run_alerts

    report = run_alerts()
    context.log.info(report.line())
    for key, error in report.failed.items():
        context.log.warning(f"alert {key[:12]} not delivered yet: {error}")
    return dg.MaterializeResult(
        metadata={
            "enabled": report.enabled,
            "queued": len(report.queued),
            "sent": len(report.sent),
            "failed": len(report.failed),
        }
    )


@dg.asset(
    key=EVIDENCE_PACK_KEY,
    deps=[FINDINGS_KEY],
    group_name="evidence",
    kinds={"html", "pdf"},
    description=(
        "Last calendar month's evidence pack (index.html, evidence.pdf, CSVs, manifest.json) in "
        "<warehouse folder>/evidence/<from>_<to>/; built by the monthly evidence_pack schedule."
    ),
)
def evidence_pack(context: dg.AssetExecutionContext) -> dg.MaterializeResult:
    from pipelines.commands.report import default_out
    from pipelines.evidence.pack_builder import build_pack, last_month

    start, end = last_month(settings.utc_now().date())
    out = default_out(start, end)
    result = build_pack(start, end, out)
    context.log.info(f"evidence pack {start} to {end} at {out}")
    return dg.MaterializeResult(
        metadata={
            "path": str(out),
            "period": f"{start} to {end}",
            "findings": result.findings,
            "days_complete": f"{result.days_complete}/{result.days}",
            "chain_verified": result.chain_verified,
        }
    )


EVIDENCE_ASSETS = dg.AssetSelection.assets(EVIDENCE_PACK_KEY)

evidence_pack_job = dg.define_asset_job(
    name="monthly_evidence_pack",  # not the asset's name: Dagster refuses an op and a job of one name
    selection=EVIDENCE_ASSETS,
    description="Build last month's evidence pack from the warehouse as it is (reads only; no ingest, no dbt).",
)

evidence_pack_schedule = dg.ScheduleDefinition(
    name="evidence_pack_schedule",
    job=evidence_pack_job,
    cron_schedule="0 6 1 * *",
    execution_timezone="UTC",
    default_status=dg.DefaultScheduleStatus.RUNNING
    if settings.schedule_enabled()
    else dg.DefaultScheduleStatus.STOPPED,
    description=(
        "Last month's evidence pack on the 1st of each month at 06:00 UTC. Starts switched on when "
        "AUDITLAKE_SCHEDULE_ENABLED=1."
    ),
)
