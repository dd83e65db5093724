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
from pipelines.sources.registry import SNAPSHOTS_TABLE, WINDOWS_TABLE, SourceSpec
from pipelines.warehouse.locks import warehouse_write_lock

INGEST_CHECK = "ingest"
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
    # Only audit sources re-read a range; a snapshot is always of now.
    names = sources or tuple(spec.name for spec in registry.event_sources())
    return {"ops": {ingest_op_name(s): {"config": {"since": since, "until": until}} for s in names}}


def _snapshot_metadata(spec: SourceSpec, since: datetime) -> dict[str, Any]:
    """The complete snapshot this run committed, read back from snapshot_runs."""
    import duckdb

    with duckdb.connect(str(settings.warehouse_path()), read_only=True) as con:
        row = con.execute(
            f"""select source_instance, snapshot_at, row_counts from {spec.dataset}.{SNAPSHOTS_TABLE}
                where _dlt_load_id in (select load_id from {spec.dataset}._dlt_loads where inserted_at >= ?)
                order by snapshot_at desc limit 1""",
            [since],
        ).fetchone()
    if row is None:
        return {"snapshot": "none committed"}
    return {"source_instance": row[0], "snapshot_at": row[1].isoformat(), "row_counts": row[2]}


def _load_metadata(spec: SourceSpec, since: datetime) -> dict[str, Any]:
    """What this run fetched, read back from the ingest_windows rows it committed."""
    import duckdb

    if spec.is_state:
        return _snapshot_metadata(spec, since)

    with duckdb.connect(str(settings.warehouse_path()), read_only=True) as con:
        row = con.execute(
            f"""select count(*), coalesce(sum(fetched), 0), coalesce(sum(new_events), 0),
                       coalesce(sum(duplicates), 0), coalesce(sum(quarantined), 0), min(window_start), max(window_end)
                from {spec.dataset}.{WINDOWS_TABLE} where fetched_at >= ?""",
            [since],
        ).fetchone()
    assert row is not None  # an aggregate always answers one row
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
    events_key = raw_asset_key(spec, spec.events_table)

    @dg.multi_asset(
        name=ingest_op_name(spec.name),
        specs=specs,
        check_specs=[dg.AssetCheckSpec(INGEST_CHECK, asset=events_key, description=(
            f"The last ingest of {spec.title} finished. ERROR carries the cause and the fix (credentials, URL, "
            "network, a vendor error); finished windows are kept, and the other sources still load, transform and "
            "publish in the same run. Fix the cause, then `auditlake run` again."))],
        pool=WAREHOUSE_POOL,
        description=(f"Take a complete snapshot of {spec.title} into {spec.dataset} (scd2: changes only, with validity "
                     "ranges); a failed page fails the snapshot." if spec.is_state else
                     f"Fetch {spec.title} audit events since the saved cursor (minus the overlap) into "
                     f"{spec.dataset}."),
    )
    def _ingest(context: dg.AssetExecutionContext, dlt: DagsterDltResource, config: IngestConfig) -> Iterator[Any]:
        from pipelines.ingest_runner import build_source, error_line, make_pipeline, was_interrupted

        overrides = {} if spec.is_state else {k: v for k, v in {"since": config.since, "until": config.until}.items()
                                              if v}
        materialized: set[dg.AssetKey] = set()
        started = settings.utc_now()
        try:
            dlt_source = build_source(spec.name, progress=context.log.info, **overrides)
            if dlt_source is None:
                # Not configured: report it and let the rest of the graph run (dbt reads empty raw tables).
                for asset in specs:
                    yield dg.MaterializeResult(asset_key=asset.key, metadata={"status": "skipped", "source": spec.name})
                yield dg.AssetCheckResult(check_name=INGEST_CHECK, asset_key=events_key, passed=True,
                                          metadata={"status": "skipped: not configured"})
                return
            with warehouse_write_lock():
                for result in dlt.run(context=context, dlt_source=dlt_source, dlt_pipeline=make_pipeline(spec.name),
                                      dagster_dlt_translator=DLT_TRANSLATOR, loader_file_format="parquet"):
                    if result.asset_key is not None:
                        materialized.add(result.asset_key)
                    yield result
                summary = _load_metadata(spec, started)
        except Exception as exc:  # isolation: this source fails its own check, the rest of the run goes on
            if was_interrupted(exc):
                raise KeyboardInterrupt from None
            line = error_line(exc)
            context.log.error(f"{spec.name}: FAILED: {line}")
            # The raw tables still hold everything loaded before (finished windows included): downstream models
            # build from that, so the other sources reach analysts. The failure is on this source's ingest check.
            for asset in specs:
                if asset.key not in materialized:
                    yield dg.MaterializeResult(asset_key=asset.key,
                                               metadata={"status": "failed", "error": line, "source": spec.name})
            yield dg.AssetCheckResult(check_name=INGEST_CHECK, asset_key=events_key, passed=False,
                                      severity=dg.AssetCheckSeverity.ERROR, metadata={"error": line})
            return
        context.log.info(f"{spec.name}: {summary}")
        # Tables dlt did not report (the sidecars of one events resource; a snapshot table empty this time).
        for asset in specs:
            if asset.key not in materialized:
                yield dg.MaterializeResult(asset_key=asset.key, metadata={"source": spec.name, **summary})
        yield dg.AssetCheckResult(check_name=INGEST_CHECK, asset_key=events_key, passed=True, metadata=summary)

    return _ingest


def build_ingest_assets() -> list[dg.AssetsDefinition]:
    return [build_ingest_asset(spec) for spec in registry.all_sources()]
