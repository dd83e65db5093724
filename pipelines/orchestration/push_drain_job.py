"""The push spool's drain in Dagster: a sensor every minute launches the small `drain_push` job when the receiver
has sealed segments, so pushed events reach raw_thoughtspot within about a minute of arriving (the 15-minute
refresh drains too, before its dbt build)."""

# No `from __future__ import annotations`: Dagster reads the context annotation at runtime.

import hashlib

import dagster as dg

from pipelines import settings
from pipelines.orchestration.dlt_assets import ingest_pool
from pipelines.orchestration.jobs import WRITER_TAGS

SENSOR_INTERVAL_SECONDS = 30  # a pushed brute force waits at most this for the fast path (alerts within a minute)


@dg.op(
    name="drain_push_spool",  # not the job's name: Dagster refuses an op and a job (graph) of one name
    pool=ingest_pool("thoughtspot"),  # the pull of ThoughtSpot writes the same table: never both at once
    description=(
        "Load the push receiver's sealed spool segments into raw_thoughtspot.security_audit_events (merge on "
        "source_instance + id, so pushed and pulled copies are one row); segments are deleted once the load commits."
    ),
)
def drain_push(context: dg.OpExecutionContext) -> dg.Output[int]:
    from pipelines.receiver.push_drain import drain_push_spool
    from pipelines.warehouse.locks import ingest_lock

    with ingest_lock(["thoughtspot"]):
        summary = drain_push_spool(progress=context.log.info)
    if summary.error:
        # The segments stay: the next tick drains them again. A failed run is what the operator must see.
        raise dg.Failure(description=summary.line())
    context.log.info(summary.line())
    if summary.new_events:
        # Alerts on: build the findings from what just arrived and send the new ones now, not at the next refresh.
        from pipelines.evidence.fast_alerts import alert_on_drained

        alert_on_drained(progress=context.log.info)
    return dg.Output(
        summary.new_events,
        metadata={
            "bodies": summary.bodies,
            "events": summary.events,
            "new_events": summary.new_events,
            "quarantined": summary.quarantined,
            "segments": summary.segments,
            "rejected_bodies_kept": summary.rejected,
        },
    )


@dg.job(
    name="drain_push",
    tags=WRITER_TAGS,
    description=(
        "Load the push receiver's spool (`auditlake receive`) into raw_thoughtspot; with alerts on, build the findings "
        "from what arrived and send the new ones (the fast path; the refresh still builds and tests everything)."
    ),
)
def drain_push_job() -> None:
    drain_push()


@dg.sensor(
    name="push_spool_sensor",
    job=drain_push_job,
    minimum_interval_seconds=SENSOR_INTERVAL_SECONDS,
    default_status=dg.DefaultSensorStatus.RUNNING if settings.schedule_enabled() else dg.DefaultSensorStatus.STOPPED,
    description=(
        "Every minute: when the push spool holds sealed segments, launch `drain_push`. Starts switched on when "
        "AUDITLAKE_SCHEDULE_ENABLED=1."
    ),
)
def push_spool_sensor(context: dg.SensorEvaluationContext) -> dg.SensorResult | dg.SkipReason:
    from pipelines.receiver.spool_segments import sealed_segments, spool_dir

    segments = sealed_segments(spool_dir())
    if not segments:
        return dg.SkipReason("push spool: nothing sealed to drain")
    # One run per set of segments: a tick that sees the same undrained set (a run still queued) adds none.
    run_key = hashlib.sha256("\n".join(path.name for path in segments).encode()).hexdigest()[:16]
    return dg.SensorResult(run_requests=[dg.RunRequest(run_key=run_key)])
