"""The warehouse's writer locks, by engine.

- DuckDB file: DuckDB lets one process write the file, so every writer (ingest, dbt build, publish) queues on one
  lock beside it.
- DuckLake, SQLite catalog: one writer too. SQLite takes a whole-file write lock per commit, and dlt commits many
  small transactions per load (windows, state, staging merge); two ingests interleaving them spend their time in
  SQLite's busy wait and DuckLake's commit retries, and on two cores the CPU-bound loads gain nothing from running
  side by side. Readers are never blocked (WAL), which is what the SQLite catalog is for.
- DuckLake, PostgreSQL catalog: no global lock for ingests. Each source writes its own raw schema, so concurrent
  commits never conflict logically and DuckLake retries the ones that lose the race for the next snapshot id
  (engine.DUCKLAKE_RETRY_SETTINGS). One lock per source remains: the same source twice at once would run one dlt
  pipeline (cursor, working folder) twice. dbt builds, publishing and maintenance keep the global lock: two dbt
  builds would replace the same tables.

The locks are flocks in a local folder (beside the file or SQLite catalog; `warehouse/` in the project home for a
PostgreSQL catalog), so they hold across Dagster runs, cron and the CLI on one host. Across hosts, run dbt builds
and maintenance from one orchestrator; ingests may run anywhere.
"""

from __future__ import annotations

import contextlib
import fcntl
import time
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import IO

from pipelines import settings
from pipelines.settings import ConfigurationError


def _open_lock_file(lock_path: Path) -> IO[str]:
    try:
        lock_path.parent.mkdir(parents=True, exist_ok=True)
        return open(lock_path, "a+")
    except OSError as exc:
        raise ConfigurationError(
            f"cannot write the warehouse folder {lock_path.parent} ({exc.strerror}): make it writable for this user, "
            f"or set {settings.ENV_WAREHOUSE} to a file in a writable folder"
        ) from None


@contextlib.contextmanager
def _flock(lock_path: Path, holder: str, timeout_seconds: float | None) -> Iterator[None]:
    deadline = None if timeout_seconds is None else time.monotonic() + timeout_seconds
    with _open_lock_file(lock_path) as handle:
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if deadline is not None and time.monotonic() > deadline:
                    raise TimeoutError(
                        f"Another auditlake process is writing {holder} (lock {lock_path}); "
                        "wait for it to finish or raise the timeout."
                    ) from None
                time.sleep(0.2)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


@contextlib.contextmanager
def warehouse_write_lock(timeout_seconds: float | None = None, path: Path | None = None) -> Iterator[None]:
    """Hold the warehouse's global writer lock (a flock beside the DuckDB file or catalog), every engine.

    Every dbt build, publish and maintenance takes it; ingests take `ingest_lock`, which is this lock except on a
    PostgreSQL catalog. A second writer waits its turn instead of failing on DuckDB's own lock.
    """
    path = path or settings.warehouse_path()
    with _flock(path.with_name(path.name + ".lock"), str(path), timeout_seconds):
        yield


def concurrent_ingests() -> bool:
    """Whether ingests of different sources may run at once: only on a DuckLake PostgreSQL catalog."""
    from pipelines.warehouse import engine

    return engine.warehouse().catalog_type == "postgres"


@contextlib.contextmanager
def ingest_lock(sources: Iterable[str], timeout_seconds: float | None = None) -> Iterator[None]:
    """What an ingest of `sources` holds: the global writer lock, or (PostgreSQL catalog) one lock per source."""
    if not concurrent_ingests():
        with warehouse_write_lock(timeout_seconds):
            yield
        return
    anchor = settings.warehouse_path()
    with contextlib.ExitStack() as stack:
        # Sorted, so two ingests of overlapping source sets take their locks in the same order and never deadlock.
        for source in sorted(set(sources)):
            lock_path = anchor.with_name(f"{anchor.name}.ingest-{source}.lock")
            stack.enter_context(_flock(lock_path, f"{source} into {anchor.name}", timeout_seconds))
        yield
