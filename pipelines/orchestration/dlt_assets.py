"""dlt sources as Dagster assets: one multi-asset per registered source, run through dagster-dlt's resource.

No `from __future__ import annotations` here or in dbt_assets.py: Dagster reads the Config annotations at runtime.

The asset specs come from the source registry, so no source has to be built (or configured) to define them;
the dlt source an asset runs is built from the real configuration when the run starts.
"""


from collections.abc import Iterator
from datetime import datetime
from typing import Any, Optional

import dagster as dg
from dagster_dlt import DagsterDltResource

from pipelines import settings
from pipelines.orchestration.translators import DLT_TRANSLATOR, raw_asset_key, raw_asset_specs
from pipelines.sources import registry
from pipelines.sources.registry import SIDECAR_TABLES, WINDOWS_TABLE, SourceSpec
from pipelines.warehouse.locks import warehouse_write_lock

# Every step that writes the DuckDB file sits in this pool (one at a time; see dagster_home/dagster.yaml).
WAREHOUSE_POOL = "duckdb_warehouse"


class IngestConfig(dg.Config):
    """Leave empty for the normal incremental run. A backfill sets since/until (UTC ISO dates)."""

    since: Optional[str] = None
    until: Optional[str] = None


def ingest_op_name(source: str) -> str:
    return f"ingest_{source}"


def ingest_run_config(since: str | None = None, until: str | None = None,
                      sources: tuple[str, ...] | None = None) -> dict[str, Any]:
    if not (since or until):
        return {}
    names = sources or registry.names()
    return {"ops": {ingest_op_name(s): {"config": {"since": since, "until": until}} for s in names}}


def _load_metadata(spec: SourceSpec, since: datetime) -> dict[str, Any]:
    """What this run fetched, read back from the ingest_windows rows it committed."""
    import duckdb

    with duckdb.connect(str(settings.warehouse_path()), read_only=True) as con:
        row = con.execute(
            f"""select count(*), coalesce(sum(fetched), 0), coalesce(sum(new_events), 0),
                       coalesce(sum(duplicates), 0), coalesce(sum(quarantined), 0), min(window_start), max(window_end)
                from {spec.dataset}.{WINDOWS_TABLE} where fetched_at >= ?""",
            [since],
        ).fetchone()
    windows, fetched, new, duplicates, quarantined, first, last = row
    return {
        "windows": windows,
        "fetched": fetched,
        "new_events": new,
        "duplicates_absorbed": duplicates,
        "quarantined": quarantined,
        "covered_from": first.isoformat() if first else None,
        "covered_until": last.isoformat() if last else None,
    }


def build_ingest_asset(spec: SourceSpec) -> dg.AssetsDefinition:
    specs = raw_asset_specs(spec)

    @dg.multi_asset(
        name=ingest_op_name(spec.name),
        specs=specs,
        pool=WAREHOUSE_POOL,
        description=f"Fetch {spec.title} audit events since the saved cursor (minus the overlap) into {spec.dataset}.",
    )
    def _ingest(context: dg.AssetExecutionContext, dlt: DagsterDltResource, config: IngestConfig) -> Iterator[Any]:
        from pipelines.ingest import build_source, make_pipeline

        overrides = {k: v for k, v in {"since": config.since, "until": config.until}.items() if v}
        dlt_source = build_source(spec.name, progress=context.log.info, **overrides)
        if dlt_source is None:
            # Not configured: report it and let the rest of the graph run (dbt reads empty raw tables).
            for asset in specs:
                yield dg.MaterializeResult(asset_key=asset.key, metadata={"status": "skipped", "source": spec.name})
            return
        started = settings.utc_now()
        with warehouse_write_lock():
            yield from dlt.run(
                context=context,
                dlt_source=dlt_source,
                dlt_pipeline=make_pipeline(spec.name),
                dagster_dlt_translator=DLT_TRANSLATOR,
                loader_file_format="parquet",
            )
            summary = _load_metadata(spec, started)
        context.log.info(f"{spec.name}: {summary}")
        for table in SIDECAR_TABLES:
            yield dg.MaterializeResult(asset_key=raw_asset_key(spec, table), metadata={"source": spec.name, **summary})

    return _ingest


def build_ingest_assets() -> list[dg.AssetsDefinition]:
    return [build_ingest_asset(spec) for spec in registry.all_sources()]
