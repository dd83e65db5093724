"""dlt sources as Dagster assets (dagster-dlt), keyed exactly like the dbt sources that read them.

Each source's dlt resource writes three raw tables: the events, the quarantined records and
the ingest windows (coverage evidence). All three are assets of one multi-asset per source,
so every dbt source table in raw_thoughtspot/raw_mode has a materialising upstream.
"""


from collections.abc import Iterator
from datetime import datetime
from typing import Optional

import dagster as dg
from dagster_dlt import DagsterDltResource, DagsterDltTranslator
from dagster_dlt.translator import DltResourceTranslatorData

from pipelines import settings
from pipelines.sources.raw_tables import QUARANTINE_TABLE, WINDOWS_TABLE

WAREHOUSE_POOL = "duckdb_warehouse"
_SIDECARS = {
    QUARANTINE_TABLE: "Records the API returned that could not be parsed, kept verbatim with the reason.",
    WINDOWS_TABLE: "One row per time window fetched: the coverage and duplicate counts behind the evidence mart.",
}
_PRODUCT = {"thoughtspot": "ThoughtSpot Cloud security audit events", "mode": "Mode workspace audit logs"}
class RawTableTranslator(DagsterDltTranslator):
    """Asset key = [dataset, table] = the dbt source key, with no upstream stub."""

    def get_asset_spec(self, data: DltResourceTranslatorData) -> dg.AssetSpec:
        spec = super().get_asset_spec(data)
        source = data.resource.source_name
        return spec.replace_attributes(
            key=dg.AssetKey([settings.RAW_DATASETS[source], data.resource.name]),
            deps=[],
            group_name="raw",
            description=f"{_PRODUCT[source]}, one row per vendor event (merge on source_instance + id).",
            kinds={"dlt", "duckdb"},
        )


TRANSLATOR = RawTableTranslator()


class IngestConfig(dg.Config):
    """Leave empty for the normal incremental run. A backfill sets since/until (UTC ISO dates)."""

    since: Optional[str] = None
    until: Optional[str] = None


def ingest_run_config(since: str | None = None, until: str | None = None, sources=settings.SOURCES) -> dict:
    if not (since or until):
        return {}
    return {"ops": {f"ingest_{s}": {"config": {"since": since, "until": until}} for s in sources}}


def _source_specs(source: str) -> list[dg.AssetSpec]:
    from pipelines.ingest import source_for_definitions

    # Only resource names are read here; the source an asset runs is built from real configuration at run time.
    dlt_source = source_for_definitions(source)
    specs = [
        TRANSLATOR.get_asset_spec(DltResourceTranslatorData(resource=r, pipeline=None))
        for r in dlt_source.selected_resources.values()
    ]
    dataset = settings.RAW_DATASETS[source]
    specs += [
        dg.AssetSpec(key=dg.AssetKey([dataset, table]), group_name="raw", kinds={"dlt", "duckdb"}, description=text)
        for table, text in _SIDECARS.items()
    ]
    return specs


def _load_metadata(source: str, since: datetime) -> dict:
    """What this run fetched, read back from the ingest_windows rows it committed."""
    import duckdb

    dataset = settings.RAW_DATASETS[source]
    with duckdb.connect(str(settings.warehouse_path()), read_only=True) as con:
        row = con.execute(
            f"""select count(*), coalesce(sum(fetched), 0), coalesce(sum(new_events), 0),
                       coalesce(sum(duplicates), 0), coalesce(sum(quarantined), 0), min(window_start), max(window_end)
                from {dataset}.{WINDOWS_TABLE} where fetched_at >= ?""",
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


def build_ingest_asset(source: str) -> dg.AssetsDefinition:
    specs = _source_specs(source)
    dataset = settings.RAW_DATASETS[source]

    @dg.multi_asset(
        name=f"ingest_{source}",
        specs=specs,
        pool=WAREHOUSE_POOL,
        description=f"Fetch {_PRODUCT[source]} since the saved cursor (minus the overlap) into {dataset}.",
    )
    def _ingest(context: dg.AssetExecutionContext, dlt: DagsterDltResource, config: IngestConfig) -> Iterator:
        from pipelines.ingest import build_source, make_pipeline, window_accounting

        overrides = {k: v for k, v in {"since": config.since, "until": config.until}.items() if v}
        dlt_source = build_source(source, progress=context.log.info, **overrides)
        if dlt_source is None:
            # Not configured: report it and let the rest of the graph run (dbt reads empty raw tables).
            for spec in specs:
                yield dg.MaterializeResult(asset_key=spec.key, metadata={"status": "skipped", "source": source})
            return
        started = settings.utc_now()
        with settings.warehouse_write_lock():
            pipeline = make_pipeline(source)
            with window_accounting(pipeline, context.log.info):
                yield from dlt.run(
                    context=context,
                    dlt_source=dlt_source,
                    dlt_pipeline=pipeline,
                    dagster_dlt_translator=TRANSLATOR,
                    loader_file_format="parquet",
                )
            summary = _load_metadata(source, started)
        context.log.info(f"{source}: {summary}")
        for table in _SIDECARS:
            yield dg.MaterializeResult(asset_key=dg.AssetKey([dataset, table]), metadata={"source": source, **summary})

    return _ingest


ingest_assets = [build_ingest_asset(source) for source in settings.SOURCES]
