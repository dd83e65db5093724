"""A writable connection to the warehouse for auditlake's own small tables (the alert outbox), taken under the
writer lock: the one place to change if the warehouse moves to another engine or catalog."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

import duckdb

from pipelines import settings
from pipelines.settings import ConfigurationError
from pipelines.warehouse.locks import warehouse_write_lock


@contextlib.contextmanager
def open_for_writing(
    path: Path | None = None, timeout_seconds: float | None = 600
) -> Iterator[duckdb.DuckDBPyConnection]:
    path = path or settings.warehouse_path()
    if not path.exists():
        raise ConfigurationError(
            f"no warehouse at {path}: run `auditlake run` (or `auditlake demo`) first, or set {settings.ENV_WAREHOUSE}"
        )
    with warehouse_write_lock(timeout_seconds=timeout_seconds, path=path):
        try:
            con = duckdb.connect(str(path))
        except duckdb.Error as exc:
            raise ConfigurationError(f"cannot write the warehouse {path}: {str(exc).splitlines()[0]}") from None
        try:
            yield con
        finally:
            con.close()
