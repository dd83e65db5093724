"""`auditlake query`: run SQL on the analysts' read-only copy of the warehouse (or another DuckDB file).

The published copy is never open for writing, so this works while a run is loading, and never takes the lock.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from pipelines import settings
from pipelines.commands.arguments import int_between
from pipelines.settings import ConfigurationError


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("sql", help='SQL to run, e.g. "select * from compliance.rpt_access_review where is_dormant"')
    parser.add_argument("--max-rows", type=int_between(1), default=50, help="rows to print (default 50)")
    parser.add_argument("--csv", action="store_true", help="print every row as CSV instead of a table")
    parser.add_argument(
        "--warehouse",
        type=Path,
        help="DuckDB file to read (default: the analysts' published copy, AUDITLAKE_PUBLISHED)",
    )


def main(args: argparse.Namespace) -> int:
    import duckdb

    if not args.sql.strip():
        args._parser.error('empty SQL: pass a query, e.g. auditlake query "select count(*) from core.fct_audit_events"')
    path = args.warehouse.expanduser().resolve() if args.warehouse else settings.published_path()
    if not path.exists():
        raise ConfigurationError(
            f"no warehouse at {path}: run `auditlake run` (or `auditlake demo`) first, or pass --warehouse"
        )
    try:
        con = duckdb.connect(str(path), read_only=True)
    except duckdb.Error as exc:
        raise ConfigurationError(f"cannot open {path} read-only: {str(exc).splitlines()[0]}") from None
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
