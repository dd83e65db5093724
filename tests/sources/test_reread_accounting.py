"""A re-read's counts come from the load itself: rows carrying its load id are the new ones."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import dlt
import duckdb
import pyarrow as pa

from pipelines.sources import raw_tables
from pipelines.sources.common.cursor_state import WindowRun
from pipelines.sources.common.reread_accounting import _bucket, enable_load_ids, settle_reread_counts
from pipelines.sources.common.table_hints import apply_table_hints
from pipelines.sources.common.window_report import WindowStats, progress_logger
from pipelines.sources.common.windows import RunBounds

T0 = datetime(2026, 11, 1, tzinfo=timezone.utc)
TABLE = raw_tables.MODE_EVENTS_TABLE


def test_bucket_counts_each_time_in_the_first_window_holding_it():
    ends = [T0 + timedelta(hours=h) for h in (1, 2, 3)]
    times = pa.array(
        [T0, ends[0], ends[0] + timedelta(microseconds=1), ends[2] + timedelta(hours=5)], raw_tables.TS_UTC
    )
    assert _bucket(times, ends) == [2, 1, 1]  # the boundary goes to the earlier window; late ones clamp
    assert _bucket(pa.array([], raw_tables.TS_UTC), ends) == [0, 0, 0]


def _source(ids_by_hour: dict[int, list[str]]) -> Any:
    """A re-read of [T0, T0 + 30 h] (two windows, 24 h and 6 h) serving each id at its hour, both bounds
    inclusive as the vendors do: an id on the boundary (hour 24) is served by both windows."""
    bounds = RunBounds(timedelta(0), None, T0 + timedelta(hours=30), T0)

    def events() -> Iterator[Any]:
        run = WindowRun("mode", "inst", TABLE, "timestamp", bounds)
        for window in run.windows():
            served = [
                (i, T0 + timedelta(hours=h))
                for h, ids in ids_by_hour.items()
                for i in ids
                if window.start <= T0 + timedelta(hours=h) <= window.end
            ]
            table = pa.table(
                {
                    "source_instance": pa.array(["inst"] * len(served), pa.string()),
                    "id": pa.array([i for i, _ in served], pa.string()),
                    "timestamp": pa.array([at for _, at in served], raw_tables.TS_UTC),
                }
            )
            yield from run.settle(window, table, [], len(served), T0)

    return apply_table_hints(dlt.resource(events, name=TABLE, write_disposition="merge"), TABLE)


def _run(pipeline: Any, ids_by_hour: dict[int, list[str]]) -> list[WindowStats]:
    seen: list[WindowStats] = []
    handler = logging.Handler()
    handler.emit = lambda record: seen.append(record.window_stats)  # type: ignore[method-assign]
    progress_logger.addHandler(handler)
    level = progress_logger.level
    progress_logger.setLevel(logging.INFO)
    try:
        enable_load_ids()
        info = pipeline.run(_source(ids_by_hour), loader_file_format="parquet")
        settle_reread_counts(pipeline, info.loads_ids, seen)
    finally:
        progress_logger.removeHandler(handler)
        progress_logger.setLevel(level)
    return seen


def test_duplicates_are_counted_after_the_load(tmp_path: Path):
    path = tmp_path / "w.duckdb"
    pipeline = dlt.pipeline(
        "reread_accounting_test",
        destination=dlt.destinations.duckdb(str(path)),
        dataset_name="raw_test",
        pipelines_dir=str(tmp_path / "p"),
    )
    first = _run(pipeline, {0: ["a"], 24: ["b"], 30: ["c"]})
    # "b" sits on the shared boundary: emitted by the first window, a within-run repeat in the second.
    assert [(w.fetched, w.new_events, w.duplicates) for w in first] == [(2, 2, 0), (2, 1, 1)]
    again = _run(pipeline, {0: ["a"], 24: ["b", "d"], 30: ["c", "e"]})
    assert [(w.fetched, w.new_events, w.duplicates) for w in again] == [(3, 1, 2), (4, 1, 3)]
    con = duckdb.connect(str(path), read_only=True)
    try:
        rows = con.execute(
            "select new_events, duplicates from raw_test.ingest_windows order by _dlt_load_id, window_start"
        ).fetchall()
        assert rows == [(2, 0), (1, 1), (1, 2), (1, 3)]
        assert con.execute(f"select count(*), count(distinct id) from raw_test.{TABLE}").fetchall() == [(5, 5)]
    finally:
        con.close()
