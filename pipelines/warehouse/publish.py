"""Make a run's data visible to analysts.

DuckLake: nothing to copy. Readers attach the lake read-only and see the last committed snapshot, so a run is
visible the moment it commits; publishing only records the snapshot id (work proportional to the change, not the
history). DuckDB file: the copy below.

DuckDB lets one process write a file and a reader cannot open a file a writer holds.
Analysts therefore read a separate file that no writer ever opens: after each successful
run the warehouse is checkpointed, copied to a temporary file, and renamed over the
published copy. The rename is atomic, and a reader that already has the old copy open
keeps reading it (its inode lives on) without any lock error.
"""

import os
import shutil
from pathlib import Path
from typing import Any

from pipelines import settings
from pipelines.warehouse import engine
from pipelines.warehouse.locks import warehouse_write_lock


def publish_for_analysts(target: engine.Warehouse | Path | str | None = None) -> dict[str, Any]:
    """Make the last run visible to analysts; returns what Dagster records (snapshot id, or the copy's path/size)."""
    wh = engine.as_warehouse(target)
    if wh.is_ducklake:
        con = engine.connect(wh, read_only=True)
        try:
            snapshot = engine.current_snapshot(con)
        finally:
            con.close()
        return {"engine": "ducklake", "snapshot_id": snapshot, "bytes_copied": 0, "warehouse": wh.describe()}
    path = publish_warehouse(wh.file)
    return {"engine": "duckdb file", "path": str(path), "bytes": path.stat().st_size}


def publish_warehouse(source: Path | None = None, target: Path | None = None) -> Path:
    source = source or settings.warehouse_path()
    target = target or settings.published_path()
    if not source.exists():
        raise FileNotFoundError(f"No warehouse at {source} to publish: run ingest first.")
    with warehouse_write_lock(path=source):
        # Fold the write-ahead log into the file so the copy is complete on its own.
        with engine.connect(source) as con:
            con.execute("checkpoint")
        tmp = target.with_name(f".{target.name}.tmp-{os.getpid()}")
        shutil.copyfile(source, tmp)
    os.replace(tmp, target)
    return target
