"""The warehouse's writer lock: DuckDB lets one process write a file, so every auditlake writer queues here."""

from __future__ import annotations

import contextlib
import fcntl
import time
from collections.abc import Iterator
from pathlib import Path

from pipelines import settings
from pipelines.settings import ConfigurationError


def _open_lock_file(lock_path: Path):
    try:
        lock_path.parent.mkdir(parents=True, exist_ok=True)
        return open(lock_path, "a+")
    except OSError as exc:
        raise ConfigurationError(
            f"cannot write the warehouse folder {lock_path.parent} ({exc.strerror}): make it writable for this user, "
            f"or set {settings.ENV_WAREHOUSE} to a file in a writable folder"
        ) from None


@contextlib.contextmanager
def warehouse_write_lock(timeout_seconds: float | None = None, path: Path | None = None) -> Iterator[None]:
    """Hold the warehouse's writer lock (a flock beside the DuckDB file).

    DuckDB lets one process write a file; every writer (dlt load, dbt build, publish) takes
    this lock first, so a second writer waits its turn instead of failing on DuckDB's own lock.
    Works across Dagster runs, cron and the CLI alike.
    """
    path = path or settings.warehouse_path()
    lock_path = path.with_name(path.name + ".lock")
    deadline = None if timeout_seconds is None else time.monotonic() + timeout_seconds
    with _open_lock_file(lock_path) as handle:
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if deadline is not None and time.monotonic() > deadline:
                    raise TimeoutError(
                        f"Another auditlake process is writing {path} (lock {lock_path}); "
                        "wait for it to finish or raise the timeout."
                    ) from None
                time.sleep(0.2)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
