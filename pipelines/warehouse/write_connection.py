"""A writable connection to the warehouse for auditlake's own small tables (the alert outbox), taken under the
writer lock, on whichever engine the warehouse uses (a DuckDB file or a DuckLake catalog)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

import duckdb

from pipelines import settings
from pipelines.settings import ConfigurationError
from pipelines.warehouse import engine
from pipelines.warehouse.locks import warehouse_write_lock


@contextlib.contextmanager
def open_for_writing(
    path: engine.Warehouse | Path | str | None = None, timeout_seconds: float | None = 600
) -> Iterator[duckdb.DuckDBPyConnection]:
    wh = engine.as_warehouse(path)
    if not wh.exists():
        raise ConfigurationError(
            f"no warehouse at {wh.describe()}: run `auditlake run` (or `auditlake demo`) first, "
            f"or set {settings.ENV_WAREHOUSE}"
        )
    with warehouse_write_lock(timeout_seconds=timeout_seconds, path=wh.anchor):
        con = engine.connect(wh)
        try:
            yield con
        finally:
            con.close()
