"""Several writers: a ThoughtSpot ingest, a Mode ingest and a reader at once on a DuckLake PostgreSQL catalog.

On PostgreSQL the two ingests commit side by side (their snapshots interleave), the reader never errors and only
ever sees counts grow, and every event arrives exactly once. On a SQLite catalog the same two ingests queue on the
writer lock: their commits never interleave.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from pipelines import settings
from pipelines.simulators import FaultPlan, ModeSimulator, ThoughtSpotSimulator
from pipelines.warehouse import catalog_guard, engine
from tests.conftest import clean_environment, isolate_home
from tests.ingest.conftest import history, point_at_mode, point_at_thoughtspot
from tests.postgres_cluster import PostgresCluster

pytestmark = pytest.mark.slow

TABLES = {"thoughtspot": "raw_thoughtspot.security_audit_events", "mode": "raw_mode.audit_logs"}


def _ingest(source: str) -> subprocess.Popen:
    env = dict(os.environ, PYTHONPATH=str(settings.PROJECT_ROOT), PYTHONUNBUFFERED="1")
    return subprocess.Popen(
        [sys.executable, "-m", "pipelines.cli", "ingest", "--source", source],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


class Reader(threading.Thread):
    """Counts both raw tables over and over on read-only connections, as an analyst's dashboard would."""

    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.stop = threading.Event()
        self.errors: list[str] = []
        self.seen: list[tuple[int, int]] = []

    def _count(self, con: object, table: str) -> int:
        try:
            row = con.execute(f"SELECT count(*) FROM {table}").fetchone()  # type: ignore[attr-defined]
        except Exception as exc:  # a table not created yet reads as empty; anything else is an error
            if "does not exist" in str(exc):
                return 0
            raise
        return int(row[0]) if row else 0

    def run(self) -> None:
        while not self.stop.is_set():
            try:
                con = engine.connect(read_only=True)
                try:
                    self.seen.append((self._count(con, TABLES["thoughtspot"]), self._count(con, TABLES["mode"])))
                finally:
                    con.close()
            except Exception as exc:
                self.errors.append(f"{type(exc).__name__}: {exc}")
            time.sleep(0.5)


def _commit_order() -> list[str]:
    """Which source's events table each DuckLake snapshot wrote, in commit order (snapshots name table ids)."""
    con = engine.connect(read_only=True)
    try:
        names = dict(
            con.execute(f"SELECT table_id, table_name FROM ducklake_table_info('{engine.LAKE_ALIAS}')").fetchall()
        )
        rows = con.execute(
            f"SELECT snapshot_id, changes FROM ducklake_snapshots('{engine.LAKE_ALIAS}') ORDER BY snapshot_id"
        ).fetchall()
    finally:
        con.close()
    source_of_table = {table.split(".")[1]: source for source, table in TABLES.items()}
    order = []
    for _, changes in rows:
        written = {
            names.get(int(table_id))
            for key, ids in (changes or {}).items()
            if "insert" in key
            for table_id in ids
            if str(table_id).isdigit()
        }
        owners = {source_of_table[name] for name in written if name in source_of_table}
        if len(owners) == 1:
            order.append(owners.pop())
    return order


def _switches(order: list[str]) -> int:
    return sum(1 for a, b in zip(order, order[1:]) if a != b)


def _run_both(monkeypatch: pytest.MonkeyPatch) -> tuple[Reader, dict[str, subprocess.CompletedProcess], set, set]:
    ts_faults = FaultPlan(error_rate=0.1, seed=3)
    with (
        ThoughtSpotSimulator(history=history(days=12, per_day=200, seed=31), faults=ts_faults) as ts,
        ModeSimulator(history=history(days=12, per_day=150, seed=32), log_own_access=False) as mode,
    ):
        point_at_thoughtspot(monkeypatch, ts)
        point_at_mode(monkeypatch, mode)
        # The operator's set-up step (what the first writer does too): the lake exists before analysts attach.
        catalog_guard.prepare_for_writing()
        reader = Reader()
        reader.start()
        procs = {"thoughtspot": _ingest("thoughtspot"), "mode": _ingest("mode")}
        done = {}
        started = time.monotonic()
        for source, proc in procs.items():
            out, err = proc.communicate(timeout=300)
            done[source] = subprocess.CompletedProcess(proc.args, proc.returncode, out, err)
            print(f"{source} finished after {time.monotonic() - started:.1f} s: {out.strip()[-300:]}")
        time.sleep(0.3)
        reader.stop.set()
        reader.join(timeout=30)
        return reader, done, ts.expected_event_ids(), mode.expected_event_ids()


def _ids(table: str) -> list[str]:
    con = engine.connect(read_only=True)
    try:
        return [row[0] for row in con.execute(f"SELECT id FROM {table}").fetchall()]
    finally:
        con.close()


@pytest.fixture
def lake_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    clean_environment(monkeypatch)
    isolate_home(monkeypatch, tmp_path)
    monkeypatch.setenv("AUDITLAKE_DATA_PATH", str(tmp_path / "lake_data"))
    # Small batches: each ingest commits several times (DuckLake's default loads a month at once), so the order of
    # the commits shows whether two ingests ran side by side or one after the other.
    monkeypatch.setenv("AUDITLAKE_BATCH_WINDOWS", "2")
    return tmp_path


def test_two_ingests_and_a_reader_at_once_on_postgres(
    lake_home: Path, postgres_cluster: PostgresCluster, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AUDITLAKE_WAREHOUSE", f"ducklake:postgres:{postgres_cluster.database()}")
    reader, done, ts_expected, mode_expected = _run_both(monkeypatch)

    for source, result in done.items():
        assert result.returncode == 0, f"{source}: {result.stderr[-2000:]}"
    assert reader.errors == []
    assert len(reader.seen) >= 3
    for column in (0, 1):
        counts = [seen[column] for seen in reader.seen]
        assert counts == sorted(counts), "a reader never sees a table shrink (whole snapshots only)"
    ts_ids, mode_ids = _ids(TABLES["thoughtspot"]), _ids(TABLES["mode"])
    assert len(ts_ids) == len(set(ts_ids)) and set(ts_ids) == ts_expected
    assert len(mode_ids) == len(set(mode_ids)) and set(mode_ids) == mode_expected
    order = _commit_order()
    print("commit order:", order, "reader samples:", len(reader.seen))
    assert _switches(order) >= 2, f"the two ingests committed one after the other, not side by side: {order}"


def test_two_ingests_queue_on_a_sqlite_catalog(lake_home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AUDITLAKE_WAREHOUSE", f"ducklake:sqlite:{lake_home / 'catalog.sqlite'}")
    reader, done, ts_expected, mode_expected = _run_both(monkeypatch)

    for source, result in done.items():
        assert result.returncode == 0, f"{source}: {result.stderr[-2000:]}"
    assert reader.errors == []
    assert set(_ids(TABLES["thoughtspot"])) == ts_expected and set(_ids(TABLES["mode"])) == mode_expected
    order = _commit_order()
    assert _switches(order) == 1, f"one writer at a time: all of one source's commits, then the other's: {order}"
