"""Checks before anything is loaded: the catalog answers, the data path takes files, and the catalog was written
by an auditlake that stores things the way this one does.

A DuckLake catalog outlives the code that wrote it (several hosts, upgrades done one at a time). auditlake keeps
a marker table in the lake, ``auditlake_meta.catalog_format``: the layout version of its tables and the auditlake
version that created it. A catalog whose layout this code does not know is refused before any write, so an old
deployment never writes into a newer layout (or the reverse). DuckLake's own catalog schema is never migrated
implicitly either: connect() does not pass AUTOMATIC_MIGRATION, so DuckLake refuses an older catalog itself.
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path
from typing import TYPE_CHECKING

from pipelines import __version__, settings
from pipelines.settings import ConfigurationError
from pipelines.warehouse import engine

if TYPE_CHECKING:
    import duckdb

# Bump when auditlake changes how it lays out its tables in a way older code would mis-read or corrupt.
CATALOG_FORMAT = 1
MARKER_SCHEMA = "auditlake_meta"
MARKER_TABLE = f"{MARKER_SCHEMA}.catalog_format"


def check_data_path(wh: engine.Warehouse) -> None:
    """Fail with one line naming AUDITLAKE_DATA_PATH unless a file can be created in the lake's data folder."""
    if not wh.is_ducklake or not wh.data_path or "://" in wh.data_path:
        return  # object stores are checked by DuckLake on the first write, with the store's own error
    folder = Path(wh.data_path)
    probe = folder / f".auditlake-write-probe-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    try:
        folder.mkdir(parents=True, exist_ok=True)
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as exc:
        raise ConfigurationError(
            f"{engine.ENV_DATA_PATH}: cannot write the lake's data folder {folder} ({exc.strerror}): make it writable "
            f"for this user or set {engine.ENV_DATA_PATH} to a writable folder"
        ) from None


def read_marker(con: duckdb.DuckDBPyConnection) -> tuple[int, str] | None:
    """(format, auditlake version that created the catalog), or None when the lake has no marker yet."""
    exists = con.execute(
        "select count(*) from duckdb_tables() where database_name = current_database() "
        "and schema_name = ? and table_name = 'catalog_format'",
        [MARKER_SCHEMA],
    ).fetchone()
    if not exists or not exists[0]:
        return None
    row = con.execute(f"select format, written_by from {MARKER_TABLE} order by format desc limit 1").fetchone()
    return (int(row[0]), str(row[1])) if row else None


def check_marker(con: duckdb.DuckDBPyConnection, wh: engine.Warehouse) -> None:
    """Refuse a catalog laid out by another auditlake format (read-only connections included)."""
    marker = read_marker(con)
    if marker is None or marker[0] == CATALOG_FORMAT:
        return
    found, written_by = marker
    newer = "a newer" if found > CATALOG_FORMAT else "an older"
    raise ConfigurationError(
        f"{settings.ENV_WAREHOUSE}: the catalog ({wh.describe()}) was written by auditlake {written_by} in catalog "
        f"format {found}, {newer} layout than this auditlake {__version__} (format {CATALOG_FORMAT}) reads: "
        f"nothing was changed; run the auditlake version that wrote it, or point {settings.ENV_WAREHOUSE} at "
        "another catalog"
    )


def ensure_marker(con: duckdb.DuckDBPyConnection, wh: engine.Warehouse) -> None:
    """Check the marker and write it into a lake that has none yet (a new lake, or one from before markers)."""
    check_marker(con, wh)
    if read_marker(con) is not None:
        return
    con.execute(f"create schema if not exists {MARKER_SCHEMA}")
    con.execute(
        f"create table if not exists {MARKER_TABLE} "
        "(format integer not null, written_by varchar not null, created_at timestamptz not null)"
    )
    con.execute(f"insert into {MARKER_TABLE} values (?, ?, now())", [CATALOG_FORMAT, __version__])


def prepare_for_writing(target: engine.Warehouse | Path | str | None = None) -> engine.Warehouse:
    """Everything a writer checks before it loads: extensions installed, catalog reachable and of a known format,
    data path writable. Raises ConfigurationError (one line: the setting and the fix); returns the warehouse."""
    wh = engine.as_warehouse(target)
    if not wh.is_ducklake:
        return wh
    engine.extension_paths(wh)
    check_data_path(wh)
    con = engine.connect(wh)
    try:
        check_role_writes(con, wh)
        ensure_marker(con, wh)
    finally:
        con.close()
    return wh


def check_role_writes(con: duckdb.DuckDBPyConnection, wh: engine.Warehouse) -> None:
    """On a PostgreSQL catalog, refuse a role that may only read it (README: a read-only analyst) before anything
    loads: its first write would otherwise fail deep inside dlt or dbt with PostgreSQL's bare "permission denied"."""
    if wh.catalog_type != "postgres":
        return
    probe = "auditlake_role_probe"
    table = f"{engine.POSTGRES_METADATA_SCHEMA}.ducklake_snapshot"
    question = (
        f"select current_user::text, has_table_privilege('{table}', 'INSERT'), "
        "current_setting('default_transaction_read_only')"
    )
    import duckdb

    try:
        con.execute(f"ATTACH '{engine.quote_sql(wh.location)}' AS {probe} (TYPE postgres, READ_ONLY)")
        try:
            row = con.execute(f"select * from postgres_query('{probe}', '{engine.quote_sql(question)}')").fetchone()
        finally:
            con.execute(f"DETACH {probe}")
    except duckdb.Error as exc:  # the conninfo may be in the message: one redacted line
        first = engine.redact(str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__)
        raise ConfigurationError(
            f"{settings.ENV_WAREHOUSE}: cannot check the PostgreSQL role's rights on the catalog ({wh.describe()}): "
            f"{first}"
        ) from None
    if row is None:
        return
    role, may_insert, read_only = row
    if may_insert and read_only != "on":
        return
    why = f"no INSERT on {table}" if not may_insert else "default_transaction_read_only is on"
    raise ConfigurationError(
        f"{settings.ENV_WAREHOUSE}: the PostgreSQL role {role!r} is read-only on the catalog ({wh.describe()}; {why}): "
        f"it can query (`auditlake query`) but not load or build; set {settings.ENV_WAREHOUSE} to the conninfo of "
        "the role auditlake writes with"
    )
