"""Run the pack's sections on a read-only warehouse connection: the exact rows behind every table and chart."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

import duckdb

from pipelines.evidence.pack_sections import SECTIONS, Section


@dataclass
class Table:
    name: str
    sql: str
    columns: list[str] = field(default_factory=list)
    rows: list[tuple[Any, ...]] = field(default_factory=list)
    # why there are no rows when the reason is not "nothing happened" (a mart not built yet)
    unavailable: str | None = None


@dataclass
class SectionResult:
    section: Section
    table: Table
    extras: list[Table] = field(default_factory=list)
    chart_rows: Table | None = None


def _missing_relations(con: duckdb.DuckDBPyConnection, relations: tuple[str, ...]) -> list[str]:
    missing = []
    for relation in relations:
        schema, name = relation.split(".", 1)
        found = con.execute(
            "select count(*) from information_schema.tables where table_schema = ? and table_name = ?", [schema, name]
        ).fetchone()
        if not found or not found[0]:
            missing.append(relation)
    return missing


def _run(con: duckdb.DuckDBPyConnection, name: str, sql: str, params: dict[str, date], missing: list[str]) -> Table:
    table = Table(name=name, sql=sql)
    if missing:
        # a pack is still evidence of what exists: say which mart is absent and how to build it
        table.unavailable = f"{', '.join(missing)} not in this warehouse: run `auditlake transform` (dbt build)"
        return table
    used = {key: value for key, value in params.items() if f"${key}" in sql}
    relation = con.execute(sql, used)
    table.columns = [d[0] for d in relation.description or []]
    table.rows = relation.fetchall()
    return table


def run_sections(con: duckdb.DuckDBPyConnection, start: date, end: date) -> list[SectionResult]:
    params = {"period_start": start, "period_end": end}
    results = []
    for section in SECTIONS:
        missing = _missing_relations(con, section.reads)
        result = SectionResult(section=section, table=_run(con, section.key, section.sql, params, missing))
        for name, sql in section.extra.items():
            reads = tuple(r for r in _relations_in(sql))
            result.extras.append(_run(con, name, sql, params, _missing_relations(con, reads)))
        if section.chart_sql:
            result.chart_rows = _run(con, f"{section.key}_chart", section.chart_sql, params, missing)
        results.append(result)
    return results


def _relations_in(sql: str) -> list[str]:
    words = sql.replace("\n", " ").split()
    return [
        words[i + 1] for i, word in enumerate(words[:-1]) if word.lower() in ("from", "join") and "." in words[i + 1]
    ]
