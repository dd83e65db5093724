"""Asset checks beyond dbt's tests (dbt's own tests reach Dagster as checks through dagster-dbt).

Each check has one home: freshness, coverage and quarantine per source here (they read the ingest evidence
tables per source instance, which no dbt test can express); uniqueness and accepted values are dbt tests.
Each description tells the on-call reader what failed and what to do.
"""

from __future__ import annotations

from typing import Any

import dagster as dg

from pipelines import settings
from pipelines.orchestration.translators import instance_asset_key, raw_asset_key
from pipelines.sources import registry
from pipelines.sources.instances import SourceInstance, is_multi
from pipelines.sources.registry import QUARANTINE_TABLE, SourceSpec
from pipelines.warehouse import health as wc

FACT_KEY = dg.AssetKey(["core", "fct_audit_events"])


def raw_events_key(source: str) -> dg.AssetKey:
    spec = registry.get(source)
    return raw_asset_key(spec, spec.events_table)


def _target(spec: SourceSpec, instance: SourceInstance | None) -> tuple[dg.AssetKey, str, Any]:
    """Where a source's checks sit, what they call it, and which rows they judge: the events table and every
    source_instance, or (several tenants) one instance's asset and only its rows."""
    if instance is None:
        return raw_asset_key(spec, spec.events_table), spec.title, lambda rows: rows
    identity = instance.data_instance

    def own(rows: Any) -> Any:
        # Keyed by source_instance (dicts) or carrying it first (tuples, gaps): keep this tenant's only.
        if isinstance(rows, dict):
            return {k: v for k, v in rows.items() if k == identity}
        return [r for r in rows if (getattr(r, "source_instance", None) or r[0]) == identity]

    return instance_asset_key(spec, str(instance.name)), f"{spec.title} instance {instance.name}", own


def _checks_for_state_source(spec: SourceSpec, instance: SourceInstance | None) -> list[dg.AssetChecksDefinition]:
    """A snapshot source has no windows: what matters is that a COMPLETE snapshot is recent (drift between
    snapshots and the audit log is a dbt test on compliance.rpt_entitlement_drift, its one home)."""
    source = spec.name
    key, product, own = _target(spec, instance)

    @dg.asset_check(
        asset=key,
        name="snapshot_freshness",
        description=(
            f"The last complete {product} snapshot is younger than AUDITLAKE_SNAPSHOT_MAX_AGE_HOURS (default 26). "
            "If it fails, the daily entitlements schedule is off or every snapshot since failed (a failed page "
            "records none): read the last `entitlements` run's log, fix the cause, run the job again."
        ),
    )
    def snapshot_freshness() -> dg.AssetCheckResult:
        now = settings.utc_now()
        limit = settings.snapshot_max_age()
        with wc.open_warehouse() as con:
            snapshots = own(wc.last_snapshots(con, source))
        if not snapshots:
            return dg.AssetCheckResult(
                passed=False,
                severity=dg.AssetCheckSeverity.WARN,
                metadata={
                    "note": f"{product} has no complete snapshot yet: no state can be read; run the "
                    "`entitlements` job (or `auditlake ingest --source " + source + "`)"
                },
            )
        stale = sorted(i for i, s in snapshots.items() if now - s.last > limit)
        return dg.AssetCheckResult(
            passed=not stale,
            metadata={
                "last_complete_snapshot": {i: s.last.isoformat() for i, s in snapshots.items()},
                "first_snapshot": {i: s.first.isoformat() for i, s in snapshots.items()},
                "stale_instances": stale,
                "limit_hours": limit.total_seconds() / 3600,
            },
        )

    return [snapshot_freshness]


def _checks_for_source(spec: SourceSpec, instance: SourceInstance | None = None) -> list[dg.AssetChecksDefinition]:
    if spec.is_state:
        return _checks_for_state_source(spec, instance)
    source = spec.name
    key, product, own = _target(spec, instance)
    retention = f"{spec.retention.days}-day" if spec.retention else "(undocumented)"

    @dg.asset_check(
        asset=key,
        name="freshness",
        description=(
            f"{product} was fetched successfully within AUDITLAKE_FRESHNESS_MINUTES (default 60). "
            "If it fails, the schedule is off or ingest keeps failing: read the last ingest run's log."
        ),
    )
    def freshness() -> dg.AssetCheckResult:
        now = settings.utc_now()
        limit = settings.freshness_limit()
        with wc.open_warehouse() as con:
            fetched = own(wc.last_fetch(con, source))
        if not fetched:
            # Not an error (a deployment may use one vendor only), but visible as a warning in the UI.
            return dg.AssetCheckResult(
                passed=False,
                severity=dg.AssetCheckSeverity.WARN,
                metadata={
                    "note": f"{product} has never been fetched successfully: configure it (see `auditlake ingest`) "
                    "or read its ingest check"
                },
            )
        stale = {i: t for i, t in fetched.items() if now - t > limit}
        return dg.AssetCheckResult(
            passed=not stale,
            metadata={
                "last_fetch": {i: t.isoformat() for i, t in fetched.items()},
                "stale_instances": sorted(stale),
                "limit_minutes": limit.total_seconds() / 60,
            },
        )

    @dg.asset_check(
        asset=key,
        name="coverage",
        description=(
            f"Every moment from the first {product} window to now − 30 min (the vendor's latency) was fetched. "
            f"ERROR while a gap can still be recovered, before it falls out of the vendor's {retention} retention: "
            "run `auditlake ingest --since <gap start> --until <gap end>` (or the backfill job) now. "
            "A gap past retention is WARN: those events are gone; record it in your audit evidence."
        ),
    )
    def coverage() -> dg.AssetCheckResult:
        with wc.open_warehouse() as con:
            cov = wc.coverage(con, source)
        cov.instances, cov.gaps = own(cov.instances), own(cov.gaps)
        recoverable = [g for g in cov.gaps if g.recoverable]
        metadata: dict[str, Any] = {
            "windows": cov.windows,
            "covered": {i: f"{a:%Y-%m-%d %H:%M} → {b:%Y-%m-%d %H:%M} UTC" for i, (a, b) in cov.instances.items()},
            "gaps": [g.describe() for g in cov.gaps],
        }
        if recoverable:
            return dg.AssetCheckResult(passed=False, severity=dg.AssetCheckSeverity.ERROR, metadata=metadata)
        if cov.gaps:
            return dg.AssetCheckResult(passed=False, severity=dg.AssetCheckSeverity.WARN, metadata=metadata)
        return dg.AssetCheckResult(passed=True, metadata=metadata)

    @dg.asset_check(
        asset=key,
        name="quarantined_records",
        description=(
            f"No {product} record was set aside as unparseable. WARN when some were: they are kept verbatim in "
            f"{spec.dataset}.{QUARANTINE_TABLE} with the reason; check whether the vendor changed its format."
        ),
    )
    def quarantined_records() -> dg.AssetCheckResult:
        with wc.open_warehouse() as con:
            groups = (
                wc.quarantine_summary(con, source)
                if instance is None
                else _own_quarantine(wc.quarantined(con, source), instance)
            )
        total = sum(n for _, n, _ in groups)
        return dg.AssetCheckResult(
            passed=total == 0,
            severity=dg.AssetCheckSeverity.WARN,
            metadata={
                "quarantined": total,
                "by_reason": [f"{n} x {cls} (e.g. {example[:160]})" for cls, n, example in groups[:10]],
            },
        )

    return [freshness, coverage, quarantined_records]


def _own_quarantine(rows: list[tuple[str, str, int]], instance: SourceInstance) -> list[tuple[str, int, str]]:
    """One instance's quarantined records as (reason class, records, an example reason), like quarantine_summary."""
    counts: dict[str, list[Any]] = {}
    for source_instance, reason, n in rows:
        if source_instance == instance.data_instance:
            entry = counts.setdefault(wc.reason_class(reason), [0, reason])
            entry[0] += n
    return sorted(((cls, n, example) for cls, (n, example) in counts.items()), key=lambda g: -g[1])


@dg.asset_check(
    asset=FACT_KEY,
    name="raw_fact_reconciliation",
    description=(
        "Per source instance, the fact holds exactly as many events as the raw tables. If it fails, events were "
        "lost or invented between raw and core: rerun `auditlake transform` and compare the counts in the metadata."
    ),
)
def raw_fact_reconciliation() -> dg.AssetCheckResult:
    with wc.open_warehouse() as con:
        fed = [spec.name for spec in registry.event_sources() if spec.feeds_dbt]
        counts = {s: wc.fact_event_counts(con, s) for s in fed}
        mismatches = {s: wc.reconciliation(con, s, counts[s]) for s in fed}
    bad = [f"{s} {i}: raw {r} vs fact {f}" for s, rows in mismatches.items() for i, r, f in rows]
    return dg.AssetCheckResult(
        passed=not bad,
        metadata={"mismatches": bad, "fact_events": {s: sum(c.values()) for s, c in counts.items()}},
    )


@dg.asset_check(
    asset=FACT_KEY,
    name="unmapped_event_types",
    description=(
        "Every event type is in the event catalogue (dbt_project/seeds/audit_event_catalog.csv). WARN lists new "
        "vendor event types that landed with category 'unknown': add them to the catalogue so the marts see them."
    ),
)
def unmapped_event_types() -> dg.AssetCheckResult:
    with wc.open_warehouse() as con:
        rows = wc.unmapped_event_types(con)
    return dg.AssetCheckResult(
        passed=not rows,
        severity=dg.AssetCheckSeverity.WARN,
        metadata={"unmapped": [f"{s}: {t} ({n} events)" for s, t, n in rows]},
    )


@dg.asset_check(
    asset=dg.AssetKey(["core", "int_field_profile_daily"]),
    name="field_drift",
    description=(
        "No sign that a vendor changed its record format: per source and event type, no field the marts rely on "
        "(actor, IP, target, org) went from mostly filled (>= 80% over the previous 14 days) to mostly empty "
        "(<= 20% on the last day), and no payload key appeared that was never seen for that type. WARN lists them: "
        "compare a recent raw record with an older one, then adapt the staging model (and tell the auditlake project)."
    ),
)
def field_drift() -> dg.AssetCheckResult:
    with wc.open_warehouse() as con:
        findings = wc.field_drift(con)
    return dg.AssetCheckResult(
        passed=not findings,
        severity=dg.AssetCheckSeverity.WARN,
        metadata={"drift": findings[:20], "signs": len(findings)},
    )


@dg.asset_check(
    asset=dg.AssetKey(["compliance", "rpt_integrity_chain"]),
    name="integrity_chain_verified",
    description=(
        "Every day sealed since the last verification, recomputed from the raw tables, equals its seal, and every "
        "seal links to the one before. ERROR names each day whose raw events were changed or deleted after sealing, "
        "and each edited or missing seal: treat it as possible tampering or loss; compare the raw rows with a backup "
        "and the vendor (while within its retention, `auditlake ingest --since <day>` restores deleted events). "
        "Days verified by earlier runs are re-hashed by the weekly maintenance job (full chain), not here."
    ),
)
def integrity_chain_verified() -> dg.AssetCheckResult:
    from pipelines.warehouse.integrity_ledger import verify_new_days

    # Re-hashing every sealed day reads the whole raw history, each run; the days verified before are re-hashed
    # weekly (maintenance job) and by the evidence pack, so here only new (and known-broken) days are.
    verification = verify_new_days()
    return dg.AssetCheckResult(
        passed=not verification.problems,
        severity=dg.AssetCheckSeverity.ERROR,
        metadata=verification.metadata(),
    )


def all_checks() -> list[dg.AssetChecksDefinition]:
    checks: list[dg.AssetChecksDefinition] = []
    for spec in registry.all_sources():
        if is_multi(spec.section):  # several tenants: each instance's checks on its own asset
            for instance in spec.instances():
                checks.extend(_checks_for_source(spec, instance))
        else:
            checks.extend(_checks_for_source(spec))
    return checks + [raw_fact_reconciliation, unmapped_event_types, field_drift, integrity_chain_verified]
