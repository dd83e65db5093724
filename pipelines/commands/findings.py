"""`auditlake findings`: the open findings (compliance.findings) as a table, most severe first, with whether each
was alerted (the outbox). Severity is the effective one: a kind's configured override (alert settings) wins over
the seed's default stored in the table, as it does for alerts."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TextIO

from pipelines.evidence.alert_config import SEVERITIES, severity_overrides


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--all", action="store_true", help="Resolved findings too.")
    parser.add_argument(
        "--min-severity", choices=SEVERITIES, default="info", help="Only findings at least this severe."
    )
    parser.add_argument("--warehouse", type=Path, help="DuckDB file to read (default: AUDITLAKE_WAREHOUSE)")


def _rows(con, include_resolved: bool) -> tuple[list[str], list[tuple]]:
    import duckdb

    outbox = "'-'"
    try:
        con.execute("select 1 from auditlake_alerts.outbox limit 0")
        outbox = (
            "coalesce((select o.status from auditlake_alerts.outbox as o where o.finding_key = f.finding_key), '-')"
        )
    except duckdb.Error:  # alerts never ran on this warehouse
        pass
    relation = con.execute(
        f"""select f.severity, f.kind, f.source_system || ':' || f.source_instance as source, f.subject,
                   f.time_bucket, strftime(f.first_seen, '%Y-%m-%d %H:%M') as first_seen,
                   strftime(f.last_seen, '%Y-%m-%d %H:%M') as last_seen, f.occurrences, f.status,
                   {outbox} as alert, left(f.finding_key, 12) as finding
            from compliance.findings as f
            {"" if include_resolved else "where f.status = 'open'"}
            order by f.first_seen, f.finding_key"""
    )
    return [d[0] for d in relation.description or []], relation.fetchall()


def with_effective_severity(rows: list[tuple], overrides: dict[str, str]) -> list[tuple]:
    """Rows (severity, kind, ...) with each kind's configured severity in place of the seed's, most severe first
    (rows keep their first-seen order within a severity; an unknown severity sorts last)."""
    rows = [(overrides.get(row[1], row[0]), *row[1:]) for row in rows]
    rank = {severity: index for index, severity in enumerate(reversed(SEVERITIES))}
    return sorted(rows, key=lambda row: rank.get(row[0], len(SEVERITIES)))


def print_table(columns: list[str], rows: list[tuple], out: TextIO | None = None) -> None:
    # sys.stdout looked up per call, not bound at import: a replaced stdout (pytest's capture) would be a closed file
    out = out or sys.stdout
    text = [[("" if v is None else str(v)) for v in row] for row in rows]
    widths = [min(40, max([len(c)] + [len(r[i]) for r in text])) for i, c in enumerate(columns)]
    print("  ".join(c.ljust(w) for c, w in zip(columns, widths)), file=out)
    print("  ".join("-" * w for w in widths), file=out)
    for row in text:
        print("  ".join(v[:w].ljust(w) for v, w in zip(row, widths)), file=out)


def main(args: argparse.Namespace) -> int:
    from pipelines.settings import ConfigurationError
    from pipelines.warehouse.health import open_for_reading, table_exists

    with open_for_reading(args.warehouse.expanduser().resolve() if args.warehouse else None) as (con, path):
        if not table_exists(con, "compliance", "findings"):
            raise ConfigurationError(f"{path} has no compliance.findings: run `auditlake transform` (dbt build) first")
        columns, rows = _rows(con, args.all)
    overrides = severity_overrides()
    rows = with_effective_severity(rows, overrides)
    floor = SEVERITIES.index(args.min_severity)
    rows = [r for r in rows if r[0] not in SEVERITIES or SEVERITIES.index(r[0]) >= floor]
    if not rows:
        print("no open findings" if not args.all else "no findings")
        return 0
    print_table(columns, rows)
    print(f'\n{len(rows)} finding(s); evidence rows: `auditlake query "select * from compliance.findings"`')
    overridden = sorted({row[1] for row in rows} & set(overrides))
    if overridden:
        print(f"severity as configured for {', '.join(overridden)} (alert settings); the seed's default otherwise")
    return 0
