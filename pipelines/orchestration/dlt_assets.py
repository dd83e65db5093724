"""dlt sources as Dagster assets: one multi-asset per registered source, run by the same runner as the CLI.

No `from __future__ import annotations` here or in dbt_assets.py: Dagster reads the Config annotations at runtime.

The asset specs come from the source registry, so no source has to be built (or configured) to define them;
the dlt source an asset runs is built from the real configuration when the run starts.
"""

from collections.abc import Iterator
from typing import Any

import dagster as dg

from pipelines.orchestration.translators import instance_asset_key, raw_asset_key, raw_asset_specs
from pipelines.sources import registry
from pipelines.sources.instances import SourceInstance, is_multi
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
    return f"warehouse_ingest_{source}" if ingests_side_by_side() else WAREHOUSE_POOL


def ingests_side_by_side() -> bool:
    """Whether Dagster may run ingests of different sources at once (a DuckLake PostgreSQL catalog), read when the
    definitions load; a setting that does not parse answers no, the safe one-writer way."""
    from pipelines.settings import ConfigurationError
    from pipelines.warehouse.locks import concurrent_ingests

    try:
        return concurrent_ingests()
    except ConfigurationError:
        return False


class IngestConfig(dg.Config):
    """Leave empty for the normal incremental run. A backfill sets since/until (UTC ISO dates)."""

    since: str | None = None
    until: str | None = None


def ingest_op_name(source: str, instance: str | None = None) -> str:
    return f"ingest_{source}" if instance is None else f"ingest_{source}__{instance}"


def ingest_op_names(spec: SourceSpec) -> list[str]:
    """The ops that ingest a source: one, or one per named instance (several tenants)."""
    if not is_multi(spec.section):
        return [ingest_op_name(spec.name)]
    return [ingest_op_name(spec.name, i.name) for i in spec.instances()]


def ingest_run_config(
    since: str | None = None, until: str | None = None, sources: tuple[str, ...] | None = None
) -> dict[str, Any]:
    if not (since or until):
        return {}
    # Only audit sources re-read a range; a snapshot is always of now.
    names = sources or tuple(spec.name for spec in registry.event_sources())
    ops = [op for s in names for op in ingest_op_names(registry.get(s))]
    return {"ops": {op: {"config": {"since": since, "until": until}} for op in ops}}


def build_ingest_asset(spec: SourceSpec, instance: SourceInstance | None = None) -> dg.AssetsDefinition:
    """The ingest of a source (instance None: its only instance, materialising the shared raw tables), or of one
    named instance (materialising its instance asset; the tables are then collected by `build_collect_asset`)."""
    if instance is None:
        specs = raw_asset_specs(spec)
        events_key = raw_asset_key(spec, spec.events_table)
        title, name = spec.title, None
    else:
        events_key = instance_asset_key(spec, str(instance.name))
        title, name = f"{spec.title} instance {instance.name}", instance.name
        where = f" (source_instance {instance.data_instance})" if instance.data_instance else ""
        specs = [
            dg.AssetSpec(
                key=events_key,
                group_name="raw",
                kinds={"dlt", "duckdb"},
                description=f"The rows of {title}{where} in the shared {spec.dataset} tables.",
            )
        ]

    @dg.multi_asset(
        name=ingest_op_name(spec.name, name),
        specs=specs,
        check_specs=[
            dg.AssetCheckSpec(
                INGEST_CHECK,
                asset=events_key,
                description=(
                    f"The last ingest of {title} finished. ERROR carries the cause and the fix (credentials, URL, "
                    "network, a vendor error); finished windows are kept, and the other sources still load, transform "
                    "and "
                    "publish in the same run. Fix the cause, then `auditlake run` again."
                ),
            )
        ],
        pool=ingest_pool(spec.name),
        description=(
            f"Take a complete snapshot of {title} into {spec.dataset} (scd2: changes only, with validity "
            "ranges); a failed page fails the snapshot."
            if spec.is_state
            else f"Fetch {title} audit events since the saved cursor (minus the overlap) into {spec.dataset}."
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
            if spec.name == "thoughtspot" and not overrides:
                # first: what was pushed arrived before this pull (the spool holds every instance's pushes;
                # with several instances the first step drains it and the others find it empty)
                _drain_push_spool(context)
            (summary,) = run_ingest([spec.name], progress=context.log.info, instance=name, **overrides)
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


def _drain_push_spool(context: dg.AssetExecutionContext) -> None:
    """The refresh also loads what the push receiver spooled, so its dbt build sees it (the sensor does it
    every minute in between). A failed drain keeps the spool and only logs: the pull's result stands."""
    from pipelines.receiver.push_drain import drain_push_spool, spool_pending

    if spool_pending():
        drained = drain_push_spool(progress=context.log.info)
        (context.log.error if drained.error else context.log.info)(drained.line())


def build_collect_asset(spec: SourceSpec) -> dg.AssetsDefinition:
    """Several tenants: the shared raw tables (the dbt sources) downstream of every instance's ingest, so dbt runs
    after all of them and still runs when one failed (a failed ingest records its failure, it does not raise)."""
    instance_keys = [instance_asset_key(spec, str(i.name)) for i in spec.instances()]
    specs = [s.replace_attributes(deps=instance_keys) for s in raw_asset_specs(spec)]

    @dg.multi_asset(
        name=f"collect_{spec.name}",
        specs=specs,
        description=f"The {spec.dataset} tables every {spec.title} instance writes (rows told apart by "
        "source_instance); nothing is fetched here.",
    )
    def _collect() -> Iterator[dg.MaterializeResult]:
        for asset in specs:
            yield dg.MaterializeResult(
                asset_key=asset.key, metadata={"instances": [str(i.name) for i in spec.instances()]}
            )

    return _collect


def build_ingest_assets() -> list[dg.AssetsDefinition]:
    assets = []
    for spec in registry.all_sources():
        if is_multi(spec.section):
            assets += [build_ingest_asset(spec, instance) for instance in spec.instances()]
            assets.append(build_collect_asset(spec))
        else:
            assets.append(build_ingest_asset(spec))
    return assets
