"""The saved cursor and overlap ids, and how one run settles a window (no HTTP)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pyarrow as pa

from pipelines.sources import raw_tables
from pipelines.sources.common.arrow_batches import constant_timestamp
from pipelines.sources.common.cursor_state import InstanceState, WindowRun
from pipelines.sources.common.quarantine import Quarantined
from pipelines.sources.common.windows import RunBounds, Window, to_epoch_ms

T0 = datetime(2026, 11, 1, tzinfo=timezone.utc)


def test_instance_state_moves_the_cursor_and_forgets_old_ids():
    raw = {
        "cursor": "2026-11-01T00:00:00Z",
        "seen": {"old": to_epoch_ms(T0 - timedelta(hours=3)), "recent": to_epoch_ms(T0 + timedelta(minutes=50))},
    }
    state = InstanceState(raw, overlap=timedelta(hours=1))
    assert state.first_window_start(T0 - timedelta(days=9)) == T0 - timedelta(hours=1)
    state.window_done(Window(T0, T0 + timedelta(hours=1)))
    assert raw["cursor"] == "2026-11-01T01:00:00.000000Z" and set(raw["seen"]) == {"recent"}
    assert InstanceState({}, timedelta(0)).first_window_start(T0) == T0


def _events(ids: list[str], at: datetime) -> pa.Table:
    return pa.table({"id": pa.array(ids, pa.string()), "t": constant_timestamp(at, len(ids))})


def test_a_reread_settles_windows_without_any_saved_state():
    bounds = RunBounds(timedelta(hours=1), None, T0 + timedelta(hours=30), T0)
    run = WindowRun("x", "inst", "events", "t", bounds)
    windows = run.windows()
    assert [w.end for w in windows] == [T0 + timedelta(hours=24), T0 + timedelta(hours=30)]
    edge = windows[0].end
    first = list(run.settle(windows[0], _events(["a", "b", "b"], edge), [Quarantined("r", "bad")], 4, T0))
    assert [item.meta.table_name for item in first] == ["events", raw_tables.QUARANTINE_TABLE, raw_tables.WINDOWS_TABLE]
    row = first[-1].data.to_pylist()[0]
    assert (row["fetched"], row["new_events"], row["duplicates"], row["quarantined"]) == (4, 2, 1, 1)
    # The next window serves the boundary events again: repeats within the run are dropped.
    second = list(run.settle(windows[1], _events(["b", "c"], edge), [Quarantined("r", "bad")], 3, T0))
    assert [item.meta.table_name for item in second] == ["events", raw_tables.WINDOWS_TABLE]
    assert second[0].data.column("id").to_pylist() == ["c"]


def test_coverage_never_starts_before_the_vendor_retention(caplog):
    import logging

    from pipelines import settings

    now = settings.utc_now()
    old_start = now - timedelta(days=45)
    bounds = RunBounds(timedelta(0), old_start, now, None, retention=timedelta(days=30))
    run = WindowRun("thoughtspot", "inst", "events", "t", bounds, InstanceState({}, timedelta(0)))
    with caplog.at_level(logging.WARNING, logger="auditlake.ingest"):
        windows = run.windows()
    assert windows[0].start >= now - timedelta(days=30) and windows[0].start <= settings.utc_now() - timedelta(days=30)
    assert "older than the vendor's 30-day retention" in caplog.text and "unrecoverable" in caplog.text
    # Without a retention (Mode documents none) the start stands.
    mode = WindowRun(
        "mode", "ws", "events", "t", RunBounds(timedelta(0), old_start, now, None), InstanceState({}, timedelta(0))
    )
    assert mode.windows()[0].start == old_start
