"""dlt sources as Dagster assets: one multi-asset per registered source, run by the same runner as the CLI.

No `from __future__ import annotations` here or in dbt_assets.py: Dagster reads the Config annotations at runtime.

The asset specs come from the source registry, so no source has to be built (or configured) to define them;
the dlt source an asset runs is built from the real configuration when the run starts.
"""

from collections.abc import Iterator
from typing import Any

import dagster as dg

from pipelines.orchestration.translators import raw_asset_key, raw_asset_specs
from pipelines.sources import registry
from pipelines.sources.registry import SourceSpec
from pipelines.warehouse.locks import ingest_lock

INGEST_CHECK = "ingest"
# Every step that writes the DuckDB file sits in this pool (one at a time; see dagster_home/dagster.yaml).
WAREHOUSE_POOL = "duckdb_warehouse"


def ingest_pool(source: str) -> str:
    """The pool of a source's ingest op: the warehouse's one-writer pool, or on a DuckLake PostgreSQL catalog a pool
    of its own (pools default to one slot), so ingests of different sources run side by side but never one source
    twice. Read when the definitions load; a setting that does not parse keeps the safe one-writer pool (the run
    itself then reports the setting)."""
    from pipelines.settings import ConfigurationError
    from pipelines.warehouse.locks import concurrent_ingests

    try:
        return f"warehouse_ingest_{source}" if concurrent_ingests() else WAREHOUSE_POOL
    except ConfigurationError:
        return WAREHOUSE_POOL


class IngestConfig(dg.Config):
    """Leave empty for the normal incremental run. A backfill sets since/until (UTC ISO dates)."""

    since: str | None = None
    until: str | None = None


def ingest_op_name(source: str) -> str:
    return f"ingest_{source}"


def ingest_run_config(
    since: str | None = None, until: str | None = None, sources: tuple[str, ...] | None = None
) -> dict[str, Any]:
    if not (since or until):
        return {}
    # Only audit sources re-read a range; a snapshot is always of now.
    names = sources or tuple(spec.name for spec in registry.event_sources())
    return {"ops": {ingest_op_name(s): {"config": {"since": since, "until": until}} for s in names}}


def build_ingest_asset(spec: SourceSpec) -> dg.AssetsDefinition:
    specs = raw_asset_specs(spec)
    events_key = raw_asset_key(spec, spec.events_table)

    @dg.multi_asset(
        name=ingest_op_name(spec.name),
        specs=specs,
        check_specs=[
            dg.AssetCheckSpec(
                INGEST_CHECK,
                asset=events_key,
                description=(
                    f"The last ingest of {spec.title} finished. ERROR carries the cause and the fix (credentials, URL, "
                    "network, a vendor error); finished windows are kept, and the other sources still load, transform "
                    "and "
                    "publish in the same run. Fix the cause, then `auditlake run` again."
                ),
            )
        ],
        pool=ingest_pool(spec.name),
        description=(
            f"Take a complete snapshot of {spec.title} into {spec.dataset} (scd2: changes only, with validity "
            "ranges); a failed page fails the snapshot."
            if spec.is_state
            else f"Fetch {spec.title} audit events since the saved cursor (minus the overlap) into {spec.dataset}."
        ),
    )
    def _ingest(context: dg.AssetExecutionContext, config: IngestConfig) -> Iterator[Any]:
        # The same runner as `auditlake ingest`: batches committed as they finish, re-read accounting after
        # each load. (dagster-dlt's `dlt.run` is one load per call, which cannot keep progress batch by batch.)
        from pipelines.ingest_runner import run_ingest

        overrides = (
            {} if spec.is_state else {k: v for k, v in {"since": config.since, "until": config.until}.items() if v}
        )
        with ingest_lock([spec.name]):
            (summary,) = run_ingest([spec.name], progress=context.log.info, **overrides)
        if summary.skipped:
            # Not configured: report it and let the rest of the graph run (dbt reads empty raw tables).
            for asset in specs:
                yield dg.MaterializeResult(asset_key=asset.key, metadata={"status": "skipped", "source": spec.name})
            yield dg.AssetCheckResult(
                check_name=INGEST_CHECK,
                asset_key=events_key,
                passed=True,
                metadata={"status": "skipped: not configured"},
            )
            return
        metadata = summary.metadata()
        if summary.error:
            # Isolation: the raw tables still hold everything loaded before (finished batches included), so
            # downstream models build and the other sources reach analysts; the failure is on this check.
            context.log.error(summary.line())
            metadata.update(status="failed", error=summary.error)
        for asset in specs:
            yield dg.MaterializeResult(asset_key=asset.key, metadata=metadata)
        if summary.error:
            yield dg.AssetCheckResult(
                check_name=INGEST_CHECK,
                asset_key=events_key,
                passed=False,
                severity=dg.AssetCheckSeverity.ERROR,
                metadata={"error": summary.line()},
            )
        else:
            yield dg.AssetCheckResult(check_name=INGEST_CHECK, asset_key=events_key, passed=True, metadata=metadata)

    return _ingest


def build_ingest_assets() -> list[dg.AssetsDefinition]:
    return [build_ingest_asset(spec) for spec in registry.all_sources()]
