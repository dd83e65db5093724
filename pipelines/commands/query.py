"""`auditlake query`: run SQL on the warehouse as analysts see it, read-only.

DuckLake: the lake itself, at its last committed snapshot (or `--as-of` a past moment); a run writing meanwhile
is invisible until it commits. DuckDB file: the analysts' published copy, never open for writing. Either way
this works while a run is loading and never takes the writer lock.
"""

from __future__ import annotations

import argparse
import sys

from pipelines import settings
from pipelines.commands.arguments import int_between
from pipelines.settings import ConfigurationError


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("sql", help='SQL to run, e.g. "select * from compliance.rpt_access_review where is_dormant"')
    parser.add_argument("--max-rows", type=int_between(1), default=50, help="rows to print (default 50)")
    parser.add_argument("--csv", action="store_true", help="print every row as CSV instead of a table")
    parser.add_argument(
        "--warehouse",
        help="warehouse to read: a DuckDB file or a ducklake:... setting (default: the DuckLake warehouse, "
        "or for a DuckDB file the analysts' published copy, AUDITLAKE_PUBLISHED)",
    )
    parser.add_argument(
        "--as-of",
        metavar="TIME",
        help="read the warehouse as it stood at this ISO time (UTC unless it has an offset), e.g. "
        "2026-11-30T18:00:00Z: DuckLake only (a DuckDB file keeps no snapshots)",
    )


def main(args: argparse.Namespace) -> int:
    import duckdb

    if not args.sql.strip():
        args._parser.error('empty SQL: pass a query, e.g. auditlake query "select count(*) from core.fct_audit_events"')
    from pipelines.warehouse import engine

    as_of = None
    if args.as_of:
        try:
            as_of = settings.parse_utc(args.as_of)
        except ValueError as exc:
            raise ConfigurationError(f"--as-of: {exc}") from None
    wh = engine.as_warehouse(args.warehouse) if args.warehouse else engine.warehouse()
    if not wh.is_ducklake and as_of is None and not args.warehouse:
        wh = engine.as_warehouse(settings.published_path())
    if not wh.exists():
        raise ConfigurationError(
            f"no warehouse at {wh.location}: run `auditlake run` (or `auditlake demo`) first, or pass --warehouse"
        )
    con = engine.connect(wh, read_only=True, as_of=as_of)
    with con:
        try:
            relation = con.sql(args.sql)
        except duckdb.Error as exc:
            print(f"query failed: {str(exc).strip()}", file=sys.stderr)
            return 1
        if relation is None:
            return 0
        if args.csv:
            relation.to_df().to_csv(sys.stdout, index=False)
        else:
            relation.show(max_rows=args.max_rows, max_width=200)
    return 0
