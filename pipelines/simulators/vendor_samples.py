"""The audit records the vendors publish (docs/vendor/samples), turned into simulator records.

Each record is served verbatim: every field, the `log` string byte for byte, except that a record whose own time lies
outside the simulated history is moved by whole days into it. Moving rewrites only the date part of the time fields
(ThoughtSpot `date` and `ts`, Mode `timestamp`), so the time of day, the sub-second digits and everything else stay as
published. Records from one source document move together, so their relative order and spacing are kept.
"""

from __future__ import annotations

import json
from collections import defaultdict
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from .history_primitives import DAY_US, HOUR_US, MINUTE_US, dumps, from_us, to_us
from .timeline import Record

SAMPLES_DIR = Path(__file__).resolve().parents[2] / "docs" / "vendor" / "samples"
THOUGHTSPOT_SAMPLES_FILE = "thoughtspot-doc-records.json"
MODE_SAMPLES_FILE = "mode-doc-record.json"


def _load(name: str) -> Any:
    path = SAMPLES_DIR / name
    try:
        return json.loads(path.read_text())
    except OSError as exc:
        raise FileNotFoundError(
            f"vendor sample file {path} is missing ({exc}): run from a checkout of auditlake, "
            "or construct the simulator with include_vendor_samples=False"
        ) from exc


def _parse(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def _shift_days(times_us: list[int], start_us: int, end_us: int, late_minutes: float) -> int:
    """Whole days that put [min, max] of one source's records inside the history, 0 when they already are.

    The latest record lands on the last day that is at least 2 h plus the late-reveal maximum before the end, so
    the records are visible from the start, like the planted findings."""
    latest = end_us - 2 * HOUR_US - int(late_minutes * MINUTE_US)
    lo, hi = min(times_us), max(times_us)
    if start_us <= lo and hi <= latest:
        return 0
    days = latest // DAY_US - hi // DAY_US
    if hi + days * DAY_US > latest:
        days -= 1
    if lo + days * DAY_US < start_us:
        span = (hi - lo) // DAY_US + 2
        raise ValueError(
            f"the vendor samples of one document span {span} days, more than the history holds: "
            f"use HistoryConfig(days>={span + 1}) with include_vendor_samples=True"
        )
    return days


def _moved(text: str, days: int) -> str:
    """`text` (an ISO time as published) with its date part moved by `days`; the rest of the string unchanged."""
    if not days:
        return text
    new_date = (_parse(text) + timedelta(days=days)).date().isoformat()
    return new_date + text[10:]


def thoughtspot_samples(start_us: int, end_us: int, late_minutes: float) -> tuple[list[Record], list[dict]]:
    """Records to plant, and what a client must land for each (id, type, actor, IP, org, times as served)."""
    by_source: dict[str, list[dict]] = defaultdict(list)
    for item in _load(THOUGHTSPOT_SAMPLES_FILE):
        by_source[item["source"]].append(item)
    records, expected = [], []
    for source, items in by_source.items():
        days = _shift_days([to_us(_parse(i["record"]["date"])) for i in items], start_us, end_us, late_minutes)
        for item in items:
            date, log_text = item["record"]["date"], item["record"]["log"]
            log = json.loads(log_text)
            new_date, new_ts = _moved(date, days), _moved(log["ts"], days)
            log_text = log_text.replace(f'"ts":"{log["ts"]}"', f'"ts":"{new_ts}"', 1)
            time_us = to_us(_parse(new_date))
            # Schema 1.0 (2021) has no orgId: those clusters had no orgs, so the record belongs to Org 0.
            org = log.get("orgId", 0)
            records.append(
                Record(time_us, time_us, dumps({"date": new_date, "log": log_text}), log["id"], org, None, -1)
            )
            expected.append(
                {
                    "id": log["id"],
                    "date": new_date,
                    "ts": new_ts,
                    "type": log["type"],
                    "orgId": log.get("orgId"),
                    "org": org,
                    "userGUID": log["userGUID"],
                    "userName": log["userName"],
                    "cIP": log["cIP"],
                    "desc": log["desc"],
                    "data": log["data"],
                    "version": log["version"],
                    "source": source,
                    "shifted_days": days,
                    "element": {"date": new_date, "log": log_text},
                }
            )
    return records, expected


def mode_samples(start_us: int, end_us: int, late_minutes: float) -> tuple[list[Record], list[dict]]:
    """Mode's documented Audit Log object as a record to plant, and what a client must land for it."""
    sample = _load(MODE_SAMPLES_FILE)
    entry = dict(sample["record"])
    days = _shift_days([to_us(_parse(entry["timestamp"]))], start_us, end_us, late_minutes)
    entry["timestamp"] = _moved(entry["timestamp"], days)
    time_us = to_us(_parse(entry["timestamp"]))
    actor, entity, context = entry.get("actor") or {}, entry.get("entity") or {}, entry.get("context") or {}
    keys = (
        entry["action"],
        entity.get("entity_id"),
        entity.get("entity_type"),
        entity.get("entity_name"),
        actor.get("username"),
        actor.get("ip"),
        context.get("event_source"),
    )
    record = Record(time_us, time_us, dumps(entry), entry["id"], 0, keys, -1)
    return [record], [
        {
            "id": entry["id"],
            "timestamp": entry["timestamp"],
            "action": entry["action"],
            "actor": entry.get("actor"),
            "entity": entry.get("entity"),
            "context": entry.get("context"),
            "source": sample["source"],
            "shifted_days": days,
            "entry": entry,
            "at": from_us(time_us).isoformat(),
        }
    ]
