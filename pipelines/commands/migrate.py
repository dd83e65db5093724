"""`auditlake migrate --to <AUDITLAKE_WAREHOUSE value>`: copy a DuckDB-file warehouse into an empty DuckLake."""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import TYPE_CHECKING

from pipelines import settings

if TYPE_CHECKING:
    from pipelines.warehouse.engine import Warehouse


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--to",
        required=True,
        metavar="WAREHOUSE",
        help="the new AUDITLAKE_WAREHOUSE value: ducklake:postgres:<libpq conninfo> or ducklake:sqlite:<catalog "
        "file>; AUDITLAKE_DATA_PATH names its data folder. Put the password in PGPASSWORD or ~/.pgpass, not here",
    )
    parser.add_argument(
        "--data-path",
        metavar="FOLDER_OR_URL",
        help="the new lake's data folder (default: AUDITLAKE_DATA_PATH; for a SQLite catalog, data/ beside it)",
    )
    parser.add_argument(
        "--from",
        dest="source",
        type=Path,
        help="the DuckDB file to copy (default: the current AUDITLAKE_WAREHOUSE, which must be a file)",
    )


def main(args: argparse.Namespace) -> int:
    from pipelines.warehouse import engine
    from pipelines.warehouse.lake_migration import migrate_file_to_lake

    data_path = args.data_path or os.environ.get(engine.ENV_DATA_PATH) or None
    target = engine.parse_warehouse(args.to, data_path)
    if args.source is not None:
        source = settings.in_home(args.source)
    else:
        current = _current_without_data_path()
        if current.is_ducklake:
            raise settings.ConfigurationError(
                f"{settings.ENV_WAREHOUSE} already names a DuckLake ({current.describe()}): migrate copies a DuckDB "
                "file; pass it with --from <file>"
            )
        source = current.file
    report = migrate_file_to_lake(source, target, log=lambda line: print(line, flush=True))
    for table, rows in report.tables.items():
        print(f"  {table}: {rows} rows")
    print(
        f"done: {source} copied into {report.target} (the file is unchanged).\n"
        f"next: set {settings.ENV_WAREHOUSE}=<the --to value>"
        + (f" and {engine.ENV_DATA_PATH}={target.data_path}" if target.catalog_type == "postgres" else "")
        + f", then `auditlake transform` (recreates the {len(report.views_skipped)} views) and `auditlake run`."
    )
    return 0


def _current_without_data_path() -> Warehouse:
    """The warehouse AUDITLAKE_WAREHOUSE names, read without AUDITLAKE_DATA_PATH: here that names the *target's*
    data folder, and the engine would refuse it beside a DuckDB file."""
    from pipelines.warehouse import engine

    saved = os.environ.pop(engine.ENV_DATA_PATH, None)
    try:
        return engine.warehouse()
    finally:
        if saved is not None:
            os.environ[engine.ENV_DATA_PATH] = saved
