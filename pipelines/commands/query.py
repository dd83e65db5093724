"""`auditlake query`: run SQL against the analysts' copy of the warehouse (read-only).

The published copy is never open for writing, so this works while a run is loading.
"""

from __future__ import annotations

import argparse
import sys

from pipelines import settings


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("sql", help='SQL to run, e.g. "select * from compliance.rpt_access_review where is_dormant"')
    parser.add_argument("--max-rows", type=int, default=50, help="rows to print (default 50)")
    parser.add_argument("--csv", action="store_true", help="print every row as CSV instead of a table")


def main(args: argparse.Namespace) -> int:
    import duckdb

    path = settings.published_path()
    if not path.exists():
        print(f"No published warehouse at {path}: run `auditlake run` (or `auditlake demo`) first.", file=sys.stderr)
        return 1
    with duckdb.connect(str(path), read_only=True) as con:
        try:
            relation = con.sql(args.sql)
        except duckdb.Error as exc:
            print(f"query failed: {exc}", file=sys.stderr)
            return 1
        if relation is None:
            return 0
        if args.csv:
            relation.to_df().to_csv(sys.stdout, index=False)
        else:
            relation.show(max_rows=args.max_rows, max_width=200)
    return 0
