"""Make a run's data visible to analysts.

DuckLake: nothing to copy. Readers attach the lake read-only and see the last committed snapshot, so a run is
visible the moment it commits; publishing only records the snapshot id (work proportional to the change, not the
history).

DuckDB file: DuckDB lets one process write a file and a reader cannot open a file a writer holds, so analysts read
a copy no writer ever opens (AUDITLAKE_PUBLISHED). Copying the whole file after every run made each run's cost grow
with history (ext4 has no reflinks), so the copy is kept twice and refreshed in place:

- two hidden copies beside the published path, `.<name>.copy-0` and `.copy-1`; the published path is a hard link to
  one of them (the live copy);
- a run refreshes the other (spare) copy: after a checkpoint it compares the warehouse with the spare block by block
  (memory speed: ~0.3 s per GB from the page cache) and writes only the blocks that differ, which is what the last
  two runs changed, then links the spare over the published path (an atomic rename);
- a reader that opened the published path keeps its copy (its inode) untouched: the spare is only refreshed in place
  when no process holds it open (DuckDB takes a lock on every file it opens; an open-file-description write lock on
  the spare conflicts with any of them, in this process or another). When one does (a reader still on the copy
  before last), or the spare does not exist yet (the first two runs), or the folder cannot hold hard links, the
  spare is rewritten as a whole new file instead, as every run used to.

The published copy is byte for byte the checkpointed warehouse either way (tests/warehouse/test_publish.py
compares them). Disk: two copies besides the warehouse instead of one.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import mmap
import os
import shutil
import struct
from collections.abc import Iterator
from pathlib import Path
from typing import Any, NamedTuple

from pipelines import settings
from pipelines.settings import ConfigurationError
from pipelines.warehouse import engine
from pipelines.warehouse.locks import warehouse_write_lock

# Compared and written in units of DuckDB's block size (a checkpoint rewrites whole blocks); read in runs of these.
BLOCK_BYTES = 256 * 1024
BLOCKS_PER_READ = 256


class Published(NamedTuple):
    path: Path
    bytes_written: int
    method: str  # "in place" (changed blocks only) or "full copy"


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
    published = publish_warehouse(wh.file)
    return {
        "engine": "duckdb file",
        "path": str(published.path),
        "bytes": published.path.stat().st_size,
        "bytes_copied": published.bytes_written,
        "method": published.method,
    }


def copies_of(target: Path) -> list[Path]:
    """The two hidden copies the published path links to in turn."""
    return [target.with_name(f".{target.name}.copy-{i}") for i in (0, 1)]


def publish_warehouse(source: Path | None = None, target: Path | None = None) -> Published:
    source = source or settings.warehouse_path()
    target = target or settings.published_path()
    if not source.exists():
        raise FileNotFoundError(f"No warehouse at {source} to publish: run ingest first.")
    _require_writable_folder(target)
    with warehouse_write_lock(path=source):
        # Fold the write-ahead log into the file so the copy is complete on its own.
        with engine.connect(source) as con:
            con.execute("checkpoint")
        live, copies = _inode(target), copies_of(target)
        spare = next((copy for copy in copies if _inode(copy) != live), copies[0])
        written = _refresh_in_place(source, spare) if spare.exists() else None
        method = "in place"
        if written is None:
            written, method = _copy_whole(source, spare), "full copy"
    try:
        _link_over(spare, target)
    except OSError:
        # no hard links here (some network and FUSE file systems): the published path becomes a copy of its own
        _copy_whole(spare, target)
        written, method = written + target.stat().st_size, "full copy"
    return Published(target, written, method)


def _require_writable_folder(target: Path) -> None:
    """Fail before the checkpoint, in one line naming the setting, when the copy cannot be written where it goes."""
    folder = target.parent
    probe = folder / f".{target.name}.probe-{os.getpid()}"
    try:
        folder.mkdir(parents=True, exist_ok=True)
        probe.touch()
        probe.unlink()
    except OSError as exc:
        raise ConfigurationError(
            f"cannot write the analysts' copy in {folder} ({exc.strerror or exc}): make that folder writable for "
            f"this user, or set {settings.ENV_PUBLISHED} to a path in a writable folder"
        ) from None


def _inode(path: Path) -> tuple[int, int] | None:
    try:
        stat = path.stat()
    except FileNotFoundError:
        return None
    return stat.st_dev, stat.st_ino


def _copy_whole(source: Path, target: Path) -> int:
    """Write `source` to a new file and rename it over `target` (readers of the old file keep it)."""
    tmp = target.with_name(f".{target.name}.tmp-{os.getpid()}")
    try:
        shutil.copyfile(source, tmp)
        with open(tmp, "rb+") as handle:
            os.fsync(handle.fileno())
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)
    return target.stat().st_size


def _link_over(copy: Path, target: Path) -> None:
    """Point `target` at `copy`'s inode atomically: a reader opening `target` gets the old copy or the new one."""
    link = target.with_name(f".{target.name}.link-{os.getpid()}")
    link.unlink(missing_ok=True)
    os.link(copy, link)
    try:
        os.replace(link, target)
    finally:
        link.unlink(missing_ok=True)


@contextlib.contextmanager
def _unopened(path: Path) -> Iterator[int | None]:
    """A read-write descriptor of `path` holding a write lock no reader's lock can coexist with; None when held.

    An open-file-description lock (not a classic POSIX one) so that it also conflicts with a DuckDB connection
    of this very process. Held until the refresh ends: a reader that tries to open the copy meanwhile gets DuckDB's
    "Could not set lock" error rather than a half-written file.
    """
    fd = os.open(path, os.O_RDWR)
    try:
        try:
            fcntl.fcntl(fd, fcntl.F_OFD_SETLK, struct.pack("hhqqi", fcntl.F_WRLCK, os.SEEK_SET, 0, 0, 0))
        except OSError as exc:
            if exc.errno in (errno.EAGAIN, errno.EACCES):
                yield None
                return
            raise
        yield fd
    finally:
        os.close(fd)


def _refresh_in_place(source: Path, copy: Path) -> int | None:
    """Make `copy` byte-identical to `source` by writing only the blocks that differ; the bytes written, or None
    when a process has `copy` open."""
    with _unopened(copy) as fd:
        if fd is None:
            return None
        size = source.stat().st_size
        if os.fstat(fd).st_size > size:
            os.ftruncate(fd, size)
        common = os.fstat(fd).st_size
        written = 0
        with open(source, "rb") as src:
            if common:
                with (
                    mmap.mmap(src.fileno(), common, access=mmap.ACCESS_READ) as new,
                    mmap.mmap(fd, common, access=mmap.ACCESS_READ) as old,
                ):
                    step = BLOCK_BYTES * BLOCKS_PER_READ
                    for start in range(0, common, step):
                        end = min(start + step, common)
                        for block in _changed_blocks(new, old, start, end):
                            lo = start + block * BLOCK_BYTES
                            hi = min(lo + BLOCK_BYTES, end)
                            written += os.pwrite(fd, new[lo:hi], lo)
            if size > common:  # the warehouse grew: append its tail
                src.seek(common)
                os.lseek(fd, common, os.SEEK_SET)
                while chunk := src.read(BLOCK_BYTES * BLOCKS_PER_READ):
                    written += os.write(fd, chunk)
        os.fsync(fd)
        return written


def _changed_blocks(new: mmap.mmap, old: mmap.mmap, start: int, end: int) -> list[int]:
    """Indexes (counted from `start`) of the BLOCK_BYTES units where `new[start:end]` and `old[start:end]` differ."""
    import numpy as np

    whole = (end - start) // BLOCK_BYTES
    differs: list[int] = []
    if whole:
        words = whole * BLOCK_BYTES // 8  # compared as 64-bit words: 8x fewer comparisons than bytes
        a = np.frombuffer(new, np.uint64, words, start).reshape(whole, -1)
        b = np.frombuffer(old, np.uint64, words, start).reshape(whole, -1)
        differs = np.flatnonzero((a != b).any(axis=1)).tolist()
        del a, b  # no view may outlive the maps
    tail = start + whole * BLOCK_BYTES
    if tail < end and new[tail:end] != old[tail:end]:
        differs.append(whole)
    return differs
