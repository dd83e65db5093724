"""Drain the push spool into raw_thoughtspot through dlt: the same tables and merge keys as the pull.

Events are merged insert-only on (source_instance, id), so an event both pushed and pulled is stored once, and
the row kept is the first arrival's (its `_auditlake_delivery` says 'push' or 'pull'). Segments are deleted only
after the dlt load that carries their rows has committed: a crash in between loads them again and the merge
absorbs the repeats. Pushed events write no ingest_windows rows: coverage stays the pull's to prove.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import pyarrow as pa

from pipelines import settings
from pipelines.receiver.push_records import BodyUndecodable, split_values, to_log_record
from pipelines.receiver.spool_segments import ClaimedSegment, Frame, claim_segments, rejected_count, spool_dir
from pipelines.sources import raw_tables
from pipelines.sources.common.quarantine import Quarantined

PIPELINE_NAME = "auditlake_thoughtspot_push"
DATASET = "raw_thoughtspot"
ENV_DRAIN_BATCH_MB = "AUDITLAKE_DRAIN_BATCH_MB"


@dataclass
class DrainSummary:
    segments: int = 0
    bodies: int = 0
    events: int = 0  # events parsed from the bodies
    new_events: int = 0  # rows the loads inserted (the rest were already there: pulled or pushed before)
    quarantined: int = 0
    torn_bytes: int = 0
    rejected: int = 0  # bodies refused with 400/413, kept in rejected/
    error: str | None = None

    def line(self) -> str:
        if self.error:
            return f"thoughtspot push: FAILED (spool kept, drained again next run): {self.error}"
        torn = f", {self.torn_bytes} torn bytes ignored (never acknowledged)" if self.torn_bytes else ""
        rejected = f"; {self.rejected} refused bodies kept in rejected/" if self.rejected else ""
        return (
            f"thoughtspot push: {self.new_events} new events from {self.bodies} pushed bodies "
            f"({self.events - self.new_events} already loaded), {self.quarantined} quarantined, "
            f"{self.segments} spool segments drained{torn}{rejected}"
        )


def spool_pending(folder: Path | None = None) -> bool:
    """Whether the spool holds segments (sealed or not) worth a drain."""
    folder = folder or spool_dir()
    return folder.is_dir() and any(folder.glob("seg-*.spool"))


def frames_to_tables(frames: list[Frame], loaded_at: datetime) -> tuple[list[pa.Table], dict[str, list[Quarantined]]]:
    """Parse the bodies with the ThoughtSpot source's own parse_records; per instance, first copy of an id kept."""
    from pipelines.sources.thoughtspot import parse_records

    records: dict[str, list[Any]] = {}
    quarantined: dict[str, list[Quarantined]] = {}
    for frame in frames:
        instance = frame.header["instance"]
        arrived = frame.header["received_at"]
        bucket, bad = records.setdefault(instance, []), quarantined.setdefault(instance, [])
        try:
            values = split_values(frame.body)
        except BodyUndecodable as exc:  # HEC raw text that is not JSON
            bad.append(Quarantined.of(frame.body.decode("utf-8", "replace"), f"pushed body: {exc}"))
            continue
        for value in values:
            try:
                bucket.append(to_log_record(value, arrived))
            except ValueError as exc:
                bad.append(Quarantined.of(value, f"pushed record: {exc}"))
    tables = []
    for instance, batch in records.items():
        table, unparsed = parse_records(batch, instance, loaded_at, delivery=raw_tables.DELIVERY_PUSH)
        quarantined[instance].extend(unparsed)
        tables.append(_first_of_each_id(table))
    return tables, quarantined


def _first_of_each_id(table: pa.Table) -> pa.Table:
    seen: set[str] = set()
    keep = []
    for event_id in table.column("id").to_pylist():
        keep.append(event_id not in seen)
        seen.add(event_id)
    return table if all(keep) else table.filter(pa.array(keep))


def _make_pipeline() -> Any:
    import dlt

    from pipelines.warehouse import catalog_guard, engine

    warehouse = catalog_guard.prepare_for_writing()
    warehouse.home.mkdir(parents=True, exist_ok=True)
    return dlt.pipeline(
        pipeline_name=PIPELINE_NAME,
        destination=engine.dlt_destination(warehouse),
        dataset_name=DATASET,
        pipelines_dir=str(settings.pipelines_dir()),
    )


def _resource(tables: list[pa.Table], quarantined: dict[str, list[Quarantined]], frames: list[Frame]) -> Any:
    import dlt

    from pipelines.sources.common.quarantine import quarantine_table
    from pipelines.sources.common.table_hints import apply_table_hints, emit
    from pipelines.sources.common.windows import Window

    arrivals = [settings.parse_utc(frame.header["received_at"]) for frame in frames]
    span = Window(min(arrivals), max(arrivals))

    def pushed_events() -> Iterator[Any]:
        for table in tables:
            if table.num_rows:
                yield emit(table, raw_tables.THOUGHTSPOT_EVENTS_TABLE)
        now = settings.utc_now()
        for instance, items in quarantined.items():
            unique = list({item.record_hash: item for item in items}.values())
            if unique:
                yield emit(quarantine_table(instance, unique, span, now), raw_tables.QUARANTINE_TABLE)

    resource = dlt.resource(pushed_events, name=raw_tables.THOUGHTSPOT_EVENTS_TABLE)
    return apply_table_hints(resource, raw_tables.THOUGHTSPOT_EVENTS_TABLE)


def _finish_interrupted(pipeline: Any, progress: Callable[[str], None]) -> Any:
    """A drain killed mid-load: finish its package (its segments are still on disk and are loaded again anyway)."""
    from pipelines.ingest_recovery import drop_retried_copies

    try:
        pipeline.run(loader_file_format="parquet")
        drop_retried_copies("thoughtspot", pipeline)  # same tables and keys as the pull
        return pipeline
    except Exception as exc:
        progress(f"thoughtspot push: discarding an interrupted load ({type(exc).__name__}); its spool is reloaded")
        pipeline.drop()
        return _make_pipeline()


def _inserted(pipeline: Any, load_ids: list[str]) -> int:
    if not load_ids:
        return 0
    with pipeline.sql_client() as client:
        name = client.make_qualified_table_name(raw_tables.THOUGHTSPOT_EVENTS_TABLE)
        marks = ", ".join("%s" for _ in load_ids)
        rows = client.execute_sql(f"select count(*) from {name} where _dlt_load_id in ({marks})", *load_ids)
    return int(rows[0][0]) if rows else 0


def batch_bytes() -> int:
    raw = os.environ.get(ENV_DRAIN_BATCH_MB, "256").strip()
    if not raw.isdigit() or int(raw) < 1:
        raise ValueError(f"{ENV_DRAIN_BATCH_MB}={raw!r} must be a whole number of megabytes (at least 1)")
    return int(raw) * 1024 * 1024


def drain_push_spool(progress: Callable[[str], None] = print, folder: Path | None = None) -> DrainSummary:
    """Load every sealed segment (in batches of AUDITLAKE_DRAIN_BATCH_MB); the caller holds the warehouse lock.

    Never raises for a failed load: the summary carries the error and the segments stay for the next drain.
    """
    from pipelines.ingest_errors import error_line
    from pipelines.sources.common.reread_accounting import enable_load_ids

    folder = folder or spool_dir()
    summary = DrainSummary(rejected=rejected_count(folder))
    pipeline = None
    limit = batch_bytes()
    while True:
        claimed: list[ClaimedSegment] = []
        try:
            claimed = list(claim_segments(folder, limit))
            if not claimed:
                return summary
            frames = [frame for segment in claimed for frame in segment.frames]
            if pipeline is None:
                pipeline = _make_pipeline()
                if pipeline.has_pending_data:
                    pipeline = _finish_interrupted(pipeline, progress)
            if frames:
                loaded_at = settings.utc_now()
                tables, quarantined = frames_to_tables(frames, loaded_at)
                enable_load_ids()
                info = pipeline.run(_resource(tables, quarantined, frames), loader_file_format="parquet")
                summary.new_events += _inserted(pipeline, list(info.loads_ids))
                summary.events += sum(table.num_rows for table in tables)
                summary.quarantined += sum(len(items) for items in quarantined.values())
            summary.bodies += len(frames)
            summary.torn_bytes += sum(segment.torn_bytes for segment in claimed)
            summary.segments += len(claimed)
        except Exception as exc:
            summary.error = error_line(exc)
            for segment in claimed:
                segment.release(delete=False)
            return summary
        # Committed: only now may the segments go.
        for segment in claimed:
            segment.release(delete=True)
