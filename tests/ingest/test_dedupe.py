"""The vectorised duplicate filter the sources share (pure Arrow, no HTTP)."""

from __future__ import annotations

import pyarrow as pa

from pipelines.sources.common.arrow_batches import new_event_mask


def test_repeats_from_state_warehouse_and_the_batch_itself_are_all_duplicates():
    seen = {"in-overlap": 1_000}
    ids = pa.array(["in-overlap", "new-late", "twice", "twice", "in-warehouse", "new-early"])
    event_ms = pa.array([1_000, 9_000, 8_000, 8_000, 7_000, 100], pa.int64())
    mask, duplicates = new_event_mask(ids, event_ms, seen, known=pa.array(["in-warehouse"]), keep_from_ms=5_000)
    assert duplicates == 3
    assert ids.filter(mask).to_pylist() == ["new-late", "twice", "new-early"]
    # Only new ids inside the next overlap are remembered: older ones cannot be served again.
    assert seen == {"in-overlap": 1_000, "new-late": 9_000, "twice": 8_000}


def test_all_new_batch_needs_no_filter():
    seen: dict[str, int] = {}
    mask, duplicates = new_event_mask(pa.array(["a", "b"]), pa.array([1, 2], pa.int64()), seen, None, 0)
    assert (mask, duplicates) == (None, 0)
    assert seen == {"a": 1, "b": 2}
