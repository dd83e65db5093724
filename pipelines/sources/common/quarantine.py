"""Records that could not be parsed: kept verbatim with the reason, never dropped."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson
import pyarrow as pa

from pipelines.sources import raw_tables
from pipelines.sources.common.arrow_batches import constant_text, constant_timestamp
from pipelines.sources.common.windows import Window, to_epoch_ms

# A reason is one line an operator reads; the record itself is kept whole.
MAX_REASON = 300


def verbatim(record: Any) -> str:
    """A record as text for the quarantine: strings unchanged, anything else re-serialised as JSON."""
    if isinstance(record, str):
        return record
    try:
        return orjson.dumps(record).decode()
    except TypeError:
        return repr(record)


@dataclass
class Quarantined:
    record: str
    reason: str

    @classmethod
    def of(cls, record: Any, reason: str) -> Quarantined:
        return cls(verbatim(record), reason[:MAX_REASON])

    @property
    def record_hash(self) -> str:
        return hashlib.sha256(self.record.encode()).hexdigest()


def unseen_quarantined(items: Iterable[Quarantined], seen: dict[str, int], window: Window) -> list[Quarantined]:
    """Drop quarantined records already counted in the overlap (keyed by hash: their own time is unknown).

    Across runs of a re-read the merge on (source_instance, record_hash) absorbs repeats.
    """
    fresh = []
    at = to_epoch_ms(window.end)
    for item in items:
        key = "sha256:" + item.record_hash
        if key not in seen:
            seen[key] = at
            fresh.append(item)
    return fresh


def quarantine_table(source_instance: str, items: Iterable[Quarantined], window: Window, now: datetime) -> pa.Table:
    items = list(items)
    n = len(items)
    return pa.Table.from_arrays(
        [
            constant_text(source_instance, n),
            pa.array([q.record_hash for q in items], pa.string()),
            pa.array([q.record for q in items], pa.string()),
            pa.array([q.reason for q in items], pa.string()),
            constant_timestamp(window.start, n),
            constant_timestamp(window.end, n),
            constant_timestamp(now, n),
        ],
        schema=raw_tables.QUARANTINE_SCHEMA,
    )
