"""dbt-duckdb plugin that opens the DuckLake warehouse the way every other auditlake stage does.

profiles.yml's `lake` target names this module. dbt-duckdb would otherwise INSTALL extensions (network) or let
DuckDB autoload them; the plugin instead turns autoloading off, LOADs the signed binaries from the installed
duckdb-extension-* packages, and ATTACHes the lake with pipelines.warehouse.engine's statement (same catalog,
data path, metadata schema and retry settings as dlt and the CLI), before dbt-duckdb runs the profile's own
`attach` entry (`ATTACH IF NOT EXISTS` under the same alias: a no-op that only tells dbt-duckdb it is DuckLake).
"""

from __future__ import annotations

from typing import Any

from dbt.adapters.duckdb.plugins import BasePlugin

from pipelines.warehouse import engine


class Plugin(BasePlugin):
    def update_connection_config(self, creds: Any, config: dict[str, Any]) -> None:
        config.update(engine.offline_config())

    def configure_connection(self, conn: Any) -> None:
        wh = engine.warehouse()
        if not wh.is_ducklake:
            raise RuntimeError(
                f"the dbt target `lake` needs {engine.settings.ENV_WAREHOUSE}=ducklake:...; "
                f"it is {wh.describe()}: use the `local` target"
            )
        engine.load_extensions(conn, wh)
        for name, value in engine.DUCKLAKE_RETRY_SETTINGS.items():
            conn.execute(f"SET {name} = {value}")
        conn.execute(engine.attach_sql(wh))
