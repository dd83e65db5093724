"""Which sealed days were verified against the raw tables, so a scheduled run re-hashes only what is new.

Re-hashing every sealed day from raw (integrity.verify_integrity_chain) reads the whole history: fine weekly, not
every 15 minutes. The per-run check therefore re-hashes only the days sealed since the last verification (plus any
day a verification found broken, until it verifies again) and checks every seal's link, which reads one row per
day. The weekly maintenance job and the evidence pack re-hash the whole chain: a raw row changed in a day that was
already verified is caught there, not by the per-run check (whose metadata says so).

What was verified is recorded in auditlake_meta.integrity_verifications, one appended row per source instance whose
state changed: verified through which seal (its chain_hash, so a rewritten chain is noticed and verified from the
start again) and which days failed. Append-only and read with arg_max: DuckLake has no PRIMARY KEY, UNIQUE or
ON CONFLICT, and the same SQL must run on a DuckDB file and on DuckLake. Rows are only written under the writer lock.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any, Literal

import duckdb

from pipelines.warehouse import engine
from pipelines.warehouse.integrity import CHAIN_TABLE, IntegrityProblem, SealedDay, verify_integrity_chain

SCHEMA = "auditlake_meta"
TABLE = f"{SCHEMA}.integrity_verifications"
DDL = f"""
create schema if not exists {SCHEMA};
create table if not exists {TABLE} (
    source_system varchar not null,
    source_instance varchar not null,
    verified_through date not null,        -- the last sealed day re-hashed (or known broken) so far
    verified_chain_hash varchar not null,  -- that seal's chain_hash when it was verified
    failed_days varchar not null,          -- ISO days found broken, comma-separated: re-hashed until they verify
    scope varchar not null,                -- 'new days' (per-run check) or 'full chain' (weekly, on demand)
    verified_at timestamptz not null
)"""

Scope = Literal["new days", "full chain"]
Instance = tuple[str, str]


@dataclass(frozen=True)
class Mark:
    """Where an instance's verification stands."""

    verified_through: date
    chain_hash: str
    failed_days: tuple[date, ...]
    verified_at: datetime


@dataclass
class Verification:
    """One verification: what it re-hashed from raw, what it found, and what was verified before it."""

    scope: Scope
    problems: list[IntegrityProblem]
    rehashed: dict[Instance, list[date]] = field(default_factory=dict)
    before: dict[Instance, Mark] = field(default_factory=dict)
    last_full: datetime | None = None
    chain_built: bool = True  # False: no dbt build has made compliance.rpt_integrity_chain yet (nothing sealed)

    def metadata(self) -> dict[str, Any]:
        """What the Dagster check or op records: counts, the days re-hashed, and what was left to the full check."""
        days = sum(len(d) for d in self.rehashed.values())
        return {
            "scope": self.scope,
            "problems": [str(p) for p in self.problems[:50]],
            "count": len(self.problems),
            "days_rehashed_from_raw": days,
            "rehashed": {f"{s}/{i}": _span(d) for (s, i), d in sorted(self.rehashed.items()) if d},
            "verified_earlier": {
                f"{s}/{i}": f"through {m.verified_through.isoformat()}: not re-hashed here (the weekly full check does)"
                for (s, i), m in sorted(self.before.items())
            }
            if self.scope == "new days"
            else {},
            "last_full_verification": self.last_full.isoformat() if self.last_full else "never",
        }


def _span(days: list[date]) -> str:
    return days[0].isoformat() if len(days) == 1 else f"{len(days)} days, {min(days)} .. {max(days)}"


def _table_exists(con: duckdb.DuckDBPyConnection) -> bool:
    row = con.execute(
        "select count(*) from information_schema.tables where table_schema = ? and table_name = ?",
        [SCHEMA, TABLE.split(".")[1]],
    ).fetchone()
    return bool(row and row[0])


def read_marks(con: duckdb.DuckDBPyConnection) -> tuple[dict[Instance, Mark], datetime | None]:
    """The latest mark per instance, and when the whole chain was last verified (None: never)."""
    if not _table_exists(con):
        return {}, None
    rows = con.execute(
        f"""select source_system, source_instance, arg_max(verified_through, verified_at),
                   arg_max(verified_chain_hash, verified_at), arg_max(failed_days, verified_at), max(verified_at)
            from {TABLE} group by all"""
    ).fetchall()
    marks = {
        (s, i): Mark(through, chain, tuple(date.fromisoformat(d) for d in failed.split(",") if d), at)
        for s, i, through, chain, failed, at in rows
    }
    full = con.execute(f"select max(verified_at) from {TABLE} where scope = 'full chain'").fetchone()
    return marks, (full[0] if full else None)


def _seals(con: duckdb.DuckDBPyConnection) -> dict[Instance, list[tuple[date, str]]]:
    schema, table = CHAIN_TABLE
    found: dict[Instance, list[tuple[date, str]]] = {}
    for system, instance, day, chain_hash in con.execute(
        f"select source_system, source_instance, evidence_date, chain_hash from {schema}.{table} order by all"
    ).fetchall():
        found.setdefault((system, instance), []).append((day, chain_hash))
    return found


def _days_to_rehash(seals: dict[Instance, list[tuple[date, str]]], marks: dict[Instance, Mark]) -> list[SealedDay]:
    """Per instance: the days after its mark and the days that failed before. An instance never verified, or whose
    verified seal is gone or changed (the chain was rewritten), is re-hashed from its first day."""
    days: list[SealedDay] = []
    for (system, instance), sealed in seals.items():
        mark = marks.get((system, instance))
        if mark is not None and (mark.verified_through, mark.chain_hash) not in sealed:
            mark = None
        for day, _ in sealed:
            if mark is None or day > mark.verified_through or day in mark.failed_days:
                days.append((system, instance, day))
    return days


def verify(con: duckdb.DuckDBPyConnection, scope: Scope) -> Verification:
    """Verify (`new days`: only what no earlier verification covered; `full chain`: every sealed day) and append
    each instance's new mark. `con` must be writable (the caller holds the writer lock)."""
    marks, last_full = read_marks(con)
    if not _chain_exists(con):
        return Verification(scope, verify_integrity_chain(con), before=marks, last_full=last_full, chain_built=False)
    seals = _seals(con)
    only = _days_to_rehash(seals, marks) if scope == "new days" else None
    problems = verify_integrity_chain(con, only)
    rehashed: dict[Instance, list[date]] = {}
    for system, instance, day in only if only is not None else [(s, i, d) for (s, i), v in seals.items() for d, _ in v]:
        rehashed.setdefault((system, instance), []).append(day)
    now = con.execute("select now()").fetchone()[0]  # type: ignore[index]
    rows = []
    for key, sealed in seals.items():
        failed = tuple(sorted({p.day for p in problems if (p.source_system, p.source_instance) == key and p.day}))
        through, chain_hash = sealed[-1]
        mark = marks.get(key)
        state = (through, chain_hash, failed)
        if scope == "new days" and mark and (mark.verified_through, mark.chain_hash, mark.failed_days) == state:
            continue  # nothing new: no row per instance every 15 minutes
        rows.append((*key, through, chain_hash, ",".join(d.isoformat() for d in failed), scope, now))
    if rows:
        con.execute(DDL)
        con.executemany(f"insert into {TABLE} values (?, ?, ?, ?, ?, ?, ?)", rows)
    if scope == "full chain":
        last_full = now
    earlier = {k: m for k, m in marks.items() if k in seals} if scope == "new days" else {}
    return Verification(scope, problems, rehashed, earlier, last_full)


def _chain_exists(con: duckdb.DuckDBPyConnection) -> bool:
    schema, table = CHAIN_TABLE
    row = con.execute(
        "select count(*) from information_schema.tables where table_schema = ? and table_name = ?", [schema, table]
    ).fetchone()
    return bool(row and row[0])


@contextlib.contextmanager
def _writable(warehouse: engine.Warehouse | Path | str | None) -> Iterator[duckdb.DuckDBPyConnection]:
    from pipelines.warehouse.health import open_warehouse
    from pipelines.warehouse.write_connection import open_for_writing

    wh = engine.as_warehouse(warehouse)
    # Before anything was loaded there is nothing to verify: the empty connection reports the missing chain table.
    opener = open_for_writing(wh) if wh.exists() else open_warehouse(wh)
    with opener as con:
        yield con


def verify_new_days(warehouse: engine.Warehouse | Path | str | None = None) -> Verification:
    """The scheduled run's check: re-hash the days sealed since the last verification, check every link."""
    with _writable(warehouse) as con:
        return verify(con, "new days")


def verify_full_chain(warehouse: engine.Warehouse | Path | str | None = None) -> Verification:
    """The weekly check: re-hash every sealed day from raw."""
    with _writable(warehouse) as con:
        return verify(con, "full chain")
