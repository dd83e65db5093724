"""After a pull has loaded: how many of its events were new, counted from the load itself.

A re-read (`since`) emits every event it fetched; the insert-only merge on (source_instance, id) keeps
the rows already loaded as they were, including their `_dlt_load_id`. So the rows that carry this
load's id are exactly the new ones, and every other emitted event was a duplicate absorbed by the merge.
An incremental pull drops the repeats its saved overlap ids know of, but not the events ThoughtSpot's
push delivered first (the drain loads them outside the pull's state): those too are absorbed by the
merge, so its counts are corrected the same way, or `new_events` would count pushed-first events.
This runs after `pipeline.run` has committed, in the runner: sources never read the warehouse.

Needs dlt to stamp `_dlt_load_id` on Arrow rows: call `enable_load_ids()` before the pipeline runs.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

import numpy as np
import pyarrow as pa

from pipelines.sources import raw_tables
from pipelines.sources.common.window_report import WindowStats
from pipelines.sources.common.windows import EPOCH

LOAD_ID_SETTING = "normalize.parquet_normalizer.add_dlt_load_id"
LOAD_ID_COLUMN = "_dlt_load_id"

logger = logging.getLogger("auditlake.ingest")


def enable_load_ids() -> None:
    """Have dlt add `_dlt_load_id` to the Arrow tables it extracts (off by default for Arrow items).

    Set on every run rather than once: dlt's in-memory configuration belongs to its run context.
    """
    import dlt

    dlt.config[LOAD_ID_SETTING] = True


def settle_reread_counts(pipeline: Any, load_ids: Sequence[str], windows: Sequence[WindowStats]) -> None:
    """Correct a pull's per-window counts and its ingest_windows rows from what the load inserted
    (a re-read's and an incremental pull's alike: see the module docstring).

    Each new event is counted in the first window whose range holds its time (windows share their
    boundary instant, and the first window to see an event is the one that emitted it).
    Never raises: the data is loaded; if counting fails the rows keep the within-run counts (logged).
    """
    try:
        _settle(pipeline, load_ids, windows)
    except Exception as exc:
        logger.warning(
            "could not count the pull's new rows (%s: %s): its window rows keep the counts seen within the run",
            type(exc).__name__,
            str(exc)[:200],
        )


def _settle(pipeline: Any, load_ids: Sequence[str], windows: Sequence[WindowStats]) -> None:
    # Every window that names its events table; an incremental window's emitted rows were new to its own
    # state only (the push may have delivered some first), so it is settled like a re-read's.
    settled = [w for w in windows if w.events_table and w.time_column]
    if not settled or not load_ids:
        return
    by_read: dict[tuple[str, str, str, int | None], list[WindowStats]] = defaultdict(list)
    for stats in settled:
        by_read[(stats.source_instance, stats.events_table, stats.time_column, stats.org_id)].append(stats)
    with pipeline.sql_client() as client:
        con = client.native_connection
        for (instance, events_table, time_column, org_id), group in by_read.items():
            group.sort(key=lambda s: s.window.start)
            table = client.make_qualified_table_name(events_table)
            quarantine = client.make_qualified_table_name(raw_tables.QUARANTINE_TABLE)
            ingest_windows = client.make_qualified_table_name(raw_tables.WINDOWS_TABLE)
            marks = ", ".join("?" for _ in load_ids)
            if not _has_column(con, client, raw_tables.WINDOWS_TABLE):
                logger.warning(
                    "%s has no %s column: the pull's window rows keep the counts seen within the run",
                    ingest_windows,
                    LOAD_ID_COLUMN,
                )
                continue
            # As microseconds since the epoch: DuckDB hands a million timestamptz values to Arrow in ~2 s of CPU
            # (time zone conversion), a million integers in ~0.04 s.
            times = pa.chunked_array([], pa.int64())
            if _has_column(con, client, events_table):  # absent when no event was ever loaded
                # One org's read: its own rows; Org 0's read also returns the cluster-level ones (orgId -1).
                in_org = "" if org_id is None else " and (org_id = ? or (? = 0 and (org_id < 0 or org_id is null)))"
                # execute(), not sql(params=...): DuckDB 1.5's Python relation from a parameterised sql()
                # materialises the result first (~2 s of CPU for a million rows here; execute(): 0.06 s).
                times = (
                    con.execute(
                        f'select epoch_us("{time_column}") from {table} where {LOAD_ID_COLUMN} in ({marks}) '
                        f"and source_instance = ?{in_org}",
                        [*load_ids, instance, *([] if org_id is None else [org_id, org_id])],
                    )
                    .to_arrow_table()
                    .column(0)
                )
            held: dict[Any, int] = {}
            # Quarantined records carry no org: with one read per org they keep the within-run count.
            if org_id is None and _has_column(con, client, raw_tables.QUARANTINE_TABLE):
                held = dict(
                    con.execute(
                        f"select window_start, count(*) from {quarantine} "
                        f"where {LOAD_ID_COLUMN} in ({marks}) and source_instance = ? group by window_start",
                        [*load_ids, instance],
                    ).fetchall()
                )
            new_per_window = _bucket(times, [s.window.end for s in group])
            for stats, new in zip(group, new_per_window):
                emitted = stats.new_events
                stats.duplicates += emitted - new
                stats.new_events = new
                if org_id is None:
                    stats.quarantined = next((n for start, n in held.items() if start == stats.window.start), 0)
                con.execute(
                    f"update {ingest_windows} set new_events = ?, duplicates = ?, quarantined = ? "
                    f"where {LOAD_ID_COLUMN} in ({marks}) and source_instance = ? and window_start = ? "
                    "and window_end = ? and org_id is not distinct from ?",
                    [
                        stats.new_events,
                        stats.duplicates,
                        stats.quarantined,
                        *load_ids,
                        instance,
                        stats.window.start,
                        stats.window.end,
                        org_id,
                    ],
                ).fetchall()


def _has_column(con: Any, client: Any, table_name: str) -> bool:
    found = con.execute(
        "select count(*) from information_schema.columns where table_schema = ? and table_name = ? and column_name = ?",
        [client.dataset_name, table_name, LOAD_ID_COLUMN],
    ).fetchall()
    return bool(found and found[0][0])


def _bucket(times: pa.ChunkedArray | pa.Array, window_ends: Sequence[Any]) -> list[int]:
    """How many `times` (timestamps, or microseconds since the epoch) fall in each window, by index of the first
    window end at or after the time (clamped to the first and last window: a vendor may return an event just
    outside the range)."""
    if len(window_ends) == 0:
        return []
    micros = times.cast(pa.int64()).fill_null(0)
    values = micros.to_numpy(zero_copy_only=False) if len(micros) else np.array([], np.int64)
    ends = np.array([(end - EPOCH) // timedelta(microseconds=1) for end in window_ends], dtype=np.int64)
    index = np.clip(np.searchsorted(ends, values, side="left"), 0, len(ends) - 1)
    return np.bincount(index, minlength=len(ends)).tolist()
