"""The alert outbox: one row per finding ever queued for the webhook, in the warehouse (schema auditlake_alerts).

A finding is queued once (only keys not yet in the outbox are inserted, under the writer lock), so it is sent
at most once per key across runs,
restarts and backfills; a queued row stays `pending` until the webhook accepts it, and a run that finds it
pending retries it. The table is auditlake's own: dbt never builds or drops it (a full refresh keeps it).
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from typing import Any

import duckdb

from pipelines.evidence.alert_config import AlertSettings

SCHEMA = "auditlake_alerts"
TABLE = f"{SCHEMA}.outbox"
# A row claimed by a sender that died is claimable again after this long.
CLAIM_TIMEOUT = timedelta(minutes=10)

DDL = f"""
create schema if not exists {SCHEMA};
create table if not exists {TABLE} (
    -- one row per key: rows are only inserted under the writer lock for keys not yet present (no PRIMARY KEY:
    -- DuckLake tables have no unique constraints, and the outbox lives in whichever engine the warehouse uses)
    finding_key varchar not null,
    kind varchar not null,
    severity varchar not null,
    subject varchar,
    source_system varchar,
    source_instance varchar,
    first_seen timestamptz,
    payload varchar not null,
    status varchar not null,          -- pending / sending / sent
    attempts integer not null default 0,
    last_error varchar,               -- never holds the webhook URL (redacted)
    queued_at timestamptz not null,
    claimed_at timestamptz,
    last_attempt_at timestamptz,
    sent_at timestamptz
)"""


def ensure_outbox(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(DDL)


def _text(row: dict[str, Any]) -> str:
    where = f"{row['source_system']} {row['source_instance']}" if row["source_system"] else "auditlake"
    when = row["first_seen"].strftime("%Y-%m-%d %H:%M UTC") if row["first_seen"] else row["time_bucket"]
    return (
        f"[{row['severity'].upper()}] {row['title']}: {row['subject']} on {where}, first seen {when}, "
        f"{row['occurrences']} event(s). Evidence: {row['evidence_model']} (finding {row['finding_key'][:12]})"
    )


def payload_for(row: dict[str, Any]) -> dict[str, Any]:
    """Slack-compatible (`text`) plus the finding's fields; only what compliance.findings holds, never a secret."""
    keys = (row["evidence_keys"] or "").split(",")
    return {
        "text": _text(row),
        "finding": {
            "key": row["finding_key"],
            "kind": row["kind"],
            "severity": row["severity"],
            "title": row["title"],
            "source_system": row["source_system"],
            "source_instance": row["source_instance"],
            "subject": row["subject"],
            "time_bucket": row["time_bucket"],
            "first_seen": row["first_seen"].isoformat() if row["first_seen"] else None,
            "last_seen": row["last_seen"].isoformat() if row["last_seen"] else None,
            "occurrences": row["occurrences"],
            "status": row["status"],
            "controls": row["controls"],
            "evidence": {"model": row["evidence_model"], "keys": keys[:20], "more_keys": max(0, len(keys) - 20)},
        },
        "source": "auditlake",
    }


def queue_new_findings(con: duckdb.DuckDBPyConnection, settings: AlertSettings) -> list[str]:
    """Queue every open finding at or above the threshold whose key was never queued; returns the new keys."""
    ensure_outbox(con)
    relation = con.execute(
        f"""select f.* from compliance.findings as f
            where f.status = 'open'
              and not exists (select 1 from {TABLE} as o where o.finding_key = f.finding_key)
            order by f.first_seen, f.finding_key"""
    )
    columns = [d[0] for d in relation.description or []]
    now = datetime.now(timezone.utc)
    queued = []
    for values in relation.fetchall():
        row = dict(zip(columns, values))
        if row["finding_key"] in queued:
            continue
        row["severity"] = settings.severity_of(row["kind"], row["severity"])
        if not settings.alerts(row["severity"]):
            continue
        con.execute(
            f"""insert into {TABLE} (finding_key, kind, severity, subject, source_system, source_instance, first_seen,
                    payload, status, attempts, queued_at)
                values (?, ?, ?, ?, ?, ?, ?, ?, 'pending', 0, ?)""",
            [
                row["finding_key"],
                row["kind"],
                row["severity"],
                row["subject"],
                row["source_system"],
                row["source_instance"],
                row["first_seen"],
                json.dumps(payload_for(row), default=str),
                now,
            ],
        )
        queued.append(row["finding_key"])
    return queued


def claim_pending(con: duckdb.DuckDBPyConnection) -> list[tuple[str, str, int]]:
    """Mark the rows to send as `sending` (so a concurrent sender skips them); (key, payload, attempts so far)."""
    ensure_outbox(con)
    now = datetime.now(timezone.utc)
    # Select, then mark: DuckLake has no UPDATE ... RETURNING. The caller holds the writer lock (open_for_writing),
    # so no other sender claims between the two statements.
    rows = con.execute(
        f"""select finding_key, payload, attempts from {TABLE}
            where status = 'pending' or (status = 'sending' and claimed_at < ?)""",
        [now - CLAIM_TIMEOUT],
    ).fetchall()
    if rows:
        con.execute(
            f"update {TABLE} set status = 'sending', claimed_at = ? where list_contains(?, finding_key)",
            [now, [r[0] for r in rows]],
        )
    return sorted((r[0], r[1], r[2]) for r in rows)


def record_attempt(con: duckdb.DuckDBPyConnection, key: str, attempts: int, error: str | None) -> None:
    now = datetime.now(timezone.utc)
    if error is None:
        con.execute(
            f"update {TABLE} set status = 'sent', attempts = ?, sent_at = ?, last_attempt_at = ?, last_error = null "
            "where finding_key = ?",
            [attempts, now, now, key],
        )
    else:
        con.execute(
            f"update {TABLE} set status = 'pending', attempts = ?, last_attempt_at = ?, last_error = ?, "
            "claimed_at = null where finding_key = ?",
            [attempts, now, error[:500], key],
        )
