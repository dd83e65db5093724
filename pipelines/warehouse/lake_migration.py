"""Move a DuckDB-file warehouse into a DuckLake catalog (`auditlake migrate --to ducklake:...`).

Every table of every schema is copied as it is, dlt's own tables included (`_dlt_pipeline_state`, `_dlt_loads`,
`_dlt_version` in each raw schema): dlt restores a pipeline's cursor from `_dlt_pipeline_state` when its local
working folder has none, so incremental loading continues where the file left off instead of re-reading the
vendors' 30 days. Views are not copied: they are dbt's (staging, a few marts) and name the file's catalog; the next
`auditlake transform` creates them in the lake from the same models.

The copy is one DuckLake transaction: it commits whole or not at all, so a failed migration leaves the target
empty and can simply be run again. The source is only read, under its writer lock (no run changes it meanwhile),
and is left in place: switching AUDITLAKE_WAREHOUSE over is the operator's step, and going back is unsetting it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from pipelines import settings
from pipelines.settings import ConfigurationError
from pipelines.warehouse import engine

SOURCE_ALIAS = "migration_source"
# Tables auditlake itself keeps in every lake (the catalog-format marker); they do not make a target "non-empty".
_OWN_SCHEMAS = ("auditlake_meta",)


@dataclass
class MigrationReport:
    target: str  # described with secrets redacted
    tables: dict[str, int] = field(default_factory=dict)  # "schema.table" -> rows copied (and verified)
    views_skipped: list[str] = field(default_factory=list)

    @property
    def rows(self) -> int:
        return sum(self.tables.values())


def _quote_ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def migrate_file_to_lake(
    source: Path, target_setting: engine.Warehouse | str, log: Callable[[str], None] = lambda _: None
) -> MigrationReport:
    """Copy the DuckDB file `source` into the (empty) DuckLake `target_setting`; verify row counts."""
    import duckdb

    from pipelines.warehouse import catalog_guard
    from pipelines.warehouse.locks import warehouse_write_lock

    target = engine.as_warehouse(target_setting)
    if not target.is_ducklake:
        raise ConfigurationError(
            f"--to {target.location!r} is a DuckDB file: migrate moves a file warehouse into DuckLake; use "
            "--to ducklake:postgres:<conninfo> or --to ducklake:sqlite:<catalog file> (with AUDITLAKE_DATA_PATH)"
        )
    if not source.is_file():
        raise ConfigurationError(
            f"no DuckDB warehouse at {source}: set {settings.ENV_WAREHOUSE} (or --from) to the file to migrate"
        )
    report = MigrationReport(target=target.describe())
    with warehouse_write_lock(path=source):
        catalog_guard.check_data_path(target)
        con = engine.connect(target)
        try:
            lake = engine.LAKE_ALIAS
            present = con.execute(
                "SELECT schema_name || '.' || table_name FROM duckdb_tables() WHERE database_name = ? "
                "AND schema_name NOT IN (SELECT unnest(?::VARCHAR[])) "
                "UNION ALL SELECT schema_name || '.' || view_name FROM duckdb_views() WHERE database_name = ? "
                "AND NOT internal ORDER BY 1",
                [lake, list(_OWN_SCHEMAS), lake],
            ).fetchall()
            if present:
                names = ", ".join(row[0] for row in present[:5]) + (" ..." if len(present) > 5 else "")
                raise ConfigurationError(
                    f"the target lake ({target.describe()}) is not empty ({len(present)} tables/views: {names}): "
                    "migrate only into a new, empty catalog and data path, so nothing there is overwritten or mixed"
                )
            try:
                con.execute(f"ATTACH '{str(source).replace(chr(39), chr(39) * 2)}' AS {SOURCE_ALIAS} (READ_ONLY)")
            except duckdb.Error as exc:
                raise ConfigurationError(
                    f"cannot open {source} to migrate it ({str(exc).splitlines()[0]}): stop the process writing it "
                    "(auditlake runs, dagster) and run migrate again"
                ) from None
            tables = con.execute(
                "SELECT schema_name, table_name FROM duckdb_tables() WHERE database_name = ? ORDER BY 1, 2",
                [SOURCE_ALIAS],
            ).fetchall()
            report.views_skipped = [
                f"{schema}.{view}"
                for schema, view in con.execute(
                    "SELECT schema_name, view_name FROM duckdb_views() WHERE database_name = ? AND NOT internal",
                    [SOURCE_ALIAS],
                ).fetchall()
            ]
            expected = {
                f"{schema}.{table}": _count(con, f"{SOURCE_ALIAS}.{_quote_ident(schema)}.{_quote_ident(table)}")
                for schema, table in tables
            }
            log(f"migrate: copying {len(tables)} tables ({sum(expected.values())} rows) into {target.describe()}")
            con.execute("BEGIN TRANSACTION")
            try:
                for schema in sorted({schema for schema, _ in tables}):
                    con.execute(f"CREATE SCHEMA IF NOT EXISTS {lake}.{_quote_ident(schema)}")
                for schema, table in tables:
                    name = f"{_quote_ident(schema)}.{_quote_ident(table)}"
                    con.execute(f"CREATE TABLE {lake}.{name} AS SELECT * FROM {SOURCE_ALIAS}.{name}")
                con.execute("COMMIT")
            except BaseException:
                con.execute("ROLLBACK")
                raise
            for schema, table in tables:
                key = f"{schema}.{table}"
                copied = _count(con, f"{lake}.{_quote_ident(schema)}.{_quote_ident(table)}")
                if copied != expected[key]:
                    raise RuntimeError(
                        f"migrate: {key} has {copied} rows in the lake but {expected[key]} in {source}: the copy is "
                        "incomplete; do not switch over. Empty the target (drop its catalog and data path) and retry"
                    )
                report.tables[key] = copied
            con.execute(f"DETACH {SOURCE_ALIAS}")
            catalog_guard.ensure_marker(con, target)
        finally:
            con.close()
    log(f"migrate: {len(report.tables)} tables, {report.rows} rows copied and verified")
    return report


def _count(con: object, relation: str) -> int:
    row = con.execute(f"SELECT count(*) FROM {relation}").fetchone()  # type: ignore[attr-defined]
    return int(row[0]) if row else 0
