"""Verify the per-day integrity chain (compliance.rpt_integrity_chain) against the raw tables.

dbt seals each closed day once: day_hash = sha256 over the day's raw records (vendor id and verbatim record
text, sorted by id), chain_hash = sha256 of the previous seal's chain_hash and this day's identity, event
count and day_hash (dbt_project/macros/classification.sql, integrity_link). This module recomputes both from
the raw tables, never from derived models, so a raw record edited or deleted after sealing, a deleted day, or
an edited or removed seal shows up as a problem naming the instance and the day.

A record that the vendor revealed only after its day was sealed also changes the day: it is reported too
(the seal no longer describes the raw data); rpt_pipeline_evidence's late_arrivals and
var integrity_seal_after_hours say how long a day waits before it is sealed.
"""

from __future__ import annotations

import hashlib
from collections.abc import Collection
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone

import duckdb

CHAIN_TABLE = ("compliance", "rpt_integrity_chain")
# The first link's "previous" value (dbt_project/models/compliance/rpt_integrity_chain.sql `genesis`).
GENESIS = "auditlake-integrity-chain-v1"
EMPTY_DAY_HASH = hashlib.sha256(b"").hexdigest()

# Per event source: its vendor id, the verbatim record text and the event time, read exactly as its staging model
# reads them (stg_thoughtspot__security_audit_events, stg_mode__audit_logs). Where it reads them from (schema and
# table) is the source registry's.
RAW_EVENT_READS: dict[str, tuple[str, str, str]] = {
    "thoughtspot": (
        "id",
        "log",
        "coalesce(try_cast(try_cast(log as json) ->> '$.ts' as timestamp with time zone), ts)",
    ),
    "mode": (
        "id",
        "record::varchar",
        "coalesce(try_cast(record ->> '$.timestamp' as timestamp with time zone), \"timestamp\")",
    ),
}


def raw_event_tables() -> dict[str, tuple[str, str, str, str, str]]:
    """source -> (raw schema, events table, id, content, event time) for every registered event source dbt seals.

    A source with no reading in RAW_EVENT_READS is left out: dbt has no staging model for it, so the chain seals
    none of its days (and were one sealed, its recomputed day would be empty and reported as a mismatch)."""
    from pipelines.sources import registry

    return {
        spec.name: (spec.dataset, spec.events_table, *RAW_EVENT_READS[spec.name])
        for spec in registry.event_sources()
        if spec.feeds_dbt and spec.name in RAW_EVENT_READS
    }


# Per product: the raw column holding the loader's copy of the event time (what the staging models call
# raw_event_time). Verifying only some days bounds the raw scan by it, so old row groups / Parquet files are skipped
# instead of parsed; it equals the record's own time, the slack only absorbs a record whose two differ. A row the
# bound leaves out makes its day differ (reported), never pass. A product without an entry is scanned whole.
RAW_TIME_BOUNDS: dict[str, str] = {"thoughtspot": "ts", "mode": '"timestamp"'}
_BOUND_SLACK = timedelta(days=2)

SealedDay = tuple[str, str, date]  # (source_system, source_instance, evidence_date)


@dataclass(frozen=True)
class IntegrityProblem:
    """One day (or the chain as a whole, day=None) whose recomputed proof differs from what was sealed."""

    source_system: str
    source_instance: str
    day: date | None
    problem: str

    def __str__(self) -> str:
        where = f"{self.source_system}/{self.source_instance}" if self.source_system else "integrity chain"
        return f"{where} {self.day.isoformat() if self.day else ''}: {self.problem}".replace("  ", " ")


def link_hash(
    previous: str, source_system: str, source_instance: str, day: date, event_count: int, day_hash: str
) -> str:
    """The chain_hash of a seal (same text as dbt's integrity_link macro)."""
    text = "|".join([previous, source_system, source_instance, day.isoformat(), str(event_count), day_hash])
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _table_exists(con: duckdb.DuckDBPyConnection, schema: str, table: str) -> bool:
    found = con.execute(
        "select count(*) from information_schema.tables where table_schema = ? and table_name = ?", [schema, table]
    ).fetchone()
    return bool(found and found[0])


def _recomputed_days(
    con: duckdb.DuckDBPyConnection, only: Collection[SealedDay] | None = None
) -> dict[SealedDay, tuple[int, str]]:
    """(system, instance, day) -> (event count, day hash) from the raw tables, for every sealed day, or for the
    sealed days in `only` (then the raw scan starts shortly before the first of them)."""
    schema, table = CHAIN_TABLE
    found: dict[SealedDay, tuple[int, str]] = {}
    for system, (raw_schema, raw_table, id_column, content, event_time) in raw_event_tables().items():
        if not _table_exists(con, raw_schema, raw_table):
            continue  # a single-vendor deployment: its sealed days (if any) recompute as empty
        days, bound, params = f"{schema}.{table}", "", []
        if only is not None:
            wanted = [(instance, day) for s, instance, day in only if s == system]
            if not wanted:
                continue
            days = "(select unnest(?::varchar[]) as source_instance, unnest(?::date[]) as evidence_date)"
            params = [[instance for instance, _ in wanted], [day for _, day in wanted]]
            if system in RAW_TIME_BOUNDS:
                first = datetime.combine(min(day for _, day in wanted), time(), timezone.utc) - _BOUND_SLACK
                bound, params = f"where {RAW_TIME_BOUNDS[system]} >= ?::timestamptz", [first, *params]
        rows = con.execute(
            f"""
            with raw as (
                select source_instance, {id_column} as event_id, {content} as content,
                    cast(timezone('UTC', {event_time}) as date) as day
                from {raw_schema}."{raw_table}" {bound}
            ),
            days as (select * from {days}{"" if only is not None else " where source_system = ?"})
            select r.source_instance, r.day, count(*),
                sha256(string_agg(r.event_id || ':' || md5(r.content), chr(10) order by r.event_id))
            from raw r
            semi join days s on s.source_instance = r.source_instance and s.evidence_date = r.day
            group by all
            """,
            params if only is not None else [system],
        ).fetchall()
        for instance, day, count, day_hash in rows:
            found[(system, instance, day)] = (int(count), day_hash)
    return found


def verify_integrity_chain(
    con: duckdb.DuckDBPyConnection, only: Collection[SealedDay] | None = None
) -> list[IntegrityProblem]:
    """Recompute every sealed day and link from the raw tables; one problem per day that differs.

    Needs a connection to the warehouse (read-only is enough) holding compliance.rpt_integrity_chain and the
    raw event tables. An empty list means every sealed day still matches its raw records and the chain is
    unbroken. With `only`, just those sealed days are re-hashed from raw (integrity_ledger: the days sealed since
    the last verification); every seal's link is still checked, which costs one row per day, not per event.
    """
    schema, table = CHAIN_TABLE
    if not _table_exists(con, schema, table):
        return [
            IntegrityProblem(
                "", "", None, f"{schema}.{table} does not exist: run `auditlake transform` (dbt build) to create it"
            )
        ]
    seals = con.execute(
        f"select source_system, source_instance, evidence_date, chain_position, event_count, day_hash,"
        f" previous_chain_hash, chain_hash from {schema}.{table}"
        f" order by source_system, source_instance, evidence_date"
    ).fetchall()
    recomputed = _recomputed_days(con, only)
    rehash = None if only is None else set(only)
    problems: list[IntegrityProblem] = []
    previous: dict[tuple[str, str], tuple[date, int, str]] = {}
    for system, instance, day, position, count, day_hash, previous_hash, chain_hash in seals:
        key = (system, instance)
        now_count, now_hash = recomputed.get((system, instance, day), (0, EMPTY_DAY_HASH))
        if (rehash is None or (system, instance, day) in rehash) and (now_count, now_hash) != (count, day_hash):
            problems.append(
                IntegrityProblem(
                    system,
                    instance,
                    day,
                    f"raw records differ from the sealed day (sealed {count} events, raw now has {now_count}; content "
                    "hash differs): records were changed or deleted after sealing, or arrived late; compare the raw "
                    "table with a backup or the vendor's log for this day",
                )
            )
        if link_hash(previous_hash, system, instance, day, count, day_hash) != chain_hash:
            problems.append(
                IntegrityProblem(
                    system, instance, day, "the seal row was edited: its chain_hash does not match its contents"
                )
            )
        expected_previous = previous[key][2] if key in previous else GENESIS
        if previous_hash != expected_previous:
            problems.append(
                IntegrityProblem(
                    system,
                    instance,
                    day,
                    "the seal does not link to the previous sealed day: a seal before it was removed or edited",
                )
            )
        elif key in previous and (day - previous[key][0]).days != 1:
            problems.append(
                IntegrityProblem(
                    system, instance, day, f"sealed days skip from {previous[key][0].isoformat()}: a seal is missing"
                )
            )
        previous[key] = (day, position, chain_hash)
    return problems
