"""Publish the read-only copy of the warehouse that analysts query.

DuckDB lets one process write a file and a reader cannot open a file a writer holds.
Analysts therefore read a separate file that no writer ever opens: after each successful
run the warehouse is checkpointed, copied to a temporary file, and renamed over the
published copy. The rename is atomic, and a reader that already has the old copy open
keeps reading it (its inode lives on) without any lock error.
"""

import os
import shutil
from pathlib import Path

import duckdb

from pipelines import settings
from pipelines.warehouse.locks import warehouse_write_lock


def publish_warehouse(source: Path | None = None, target: Path | None = None) -> Path:
    source = source or settings.warehouse_path()
    target = target or settings.published_path()
    if not source.exists():
        raise FileNotFoundError(f"No warehouse at {source} to publish: run ingest first.")
    with warehouse_write_lock(path=source):
        # Fold the write-ahead log into the file so the copy is complete on its own.
        with duckdb.connect(str(source)) as con:
            con.execute("checkpoint")
        tmp = target.with_name(f".{target.name}.tmp-{os.getpid()}")
        shutil.copyfile(source, tmp)
    os.replace(tmp, target)
    return target
