"""Re-reading a date range (`since`): restores deleted events, leaves the cursor alone, records its windows."""

from __future__ import annotations

import copy
import os
import subprocess
import sys
from datetime import datetime, timedelta, timezone

import duckdb

from pipelines import settings
from pipelines.ingest_runner import make_pipeline, run_ingest
from pipelines.simulators import ModeSimulator, ThoughtSpotSimulator
from tests.ingest.conftest import event_ids, history, only, point_at_mode, point_at_thoughtspot, rows, table_exists

TS_EVENTS = "raw_thoughtspot.security_audit_events"
MODE_EVENTS = "raw_mode.audit_logs"


def _instance_state(source: str, resource: str, instance: str) -> dict:
    """The saved cursor and overlap ids of one source instance (dlt resource state)."""
    state = make_pipeline(source).state
    return copy.deepcopy(state["sources"][source]["resources"][resource]["instances"][instance])


def _delete(path, table: str, time_column: str, start, end) -> set[str]:
    """Delete the raw rows (and their ingest_windows rows) in [start, end]; return the deleted ids."""
    schema = table.split(".")[0]
    con = duckdb.connect(str(path))
    try:
        deleted = {
            r[0]
            for r in con.execute(
                f'select id from {table} where "{time_column}" between ? and ?', [start, end]
            ).fetchall()
        }
        con.execute(f'delete from {table} where "{time_column}" between ? and ?', [start, end])
        con.execute(f"delete from {schema}.ingest_windows where window_end > ? and window_start < ?", [start, end])
    finally:
        con.close()
    return deleted


def _covered(path, schema: str, start, end) -> bool:
    """True when the union of ingest_windows rows covers [start, end] with no gap."""
    spans = rows(path, f"select window_start, window_end from {schema}.ingest_windows order by window_start")
    reach = start
    for window_start, window_end in spans:
        if window_start <= reach < window_end:
            reach = window_end
    return reach >= end


def test_thoughtspot_backfill_restores_deleted_events_and_leaves_the_cursor(warehouse, monkeypatch):
    with ThoughtSpotSimulator(history=history(days=6, per_day=60), late_minutes=0) as sim:
        point_at_thoughtspot(monkeypatch, sim)
        first_until = sim.clock.now()
        first = only(run_ingest(["thoughtspot"], progress=lambda _: None, until=first_until.isoformat()))
        assert first.error is None, first.error
        cursor_before = _instance_state("thoughtspot", "security_audit_events", sim.host_id)
        assert cursor_before["cursor"]

        # Lose two days of raw rows and their coverage evidence: a gap.
        gap_start = first_until - timedelta(days=4)
        gap_end = first_until - timedelta(days=2)
        deleted = _delete(warehouse, TS_EVENTS, "date", gap_start, gap_end)
        assert len(deleted) > 50
        assert not _covered(warehouse, "raw_thoughtspot", gap_start, gap_end)
        windows_before = rows(warehouse, "select count(*) from raw_thoughtspot.ingest_windows")[0][0]

        # Re-read a range a little wider than the gap: the rest of it is already loaded.
        since, until = gap_start - timedelta(hours=5), gap_end + timedelta(hours=7)
        still_loaded = rows(warehouse, f"select count(*) from {TS_EVENTS} where date between ? and ?", since, until)[0][
            0
        ]
        backfill_started = datetime.now(timezone.utc)
        backfill = only(
            run_ingest(["thoughtspot"], progress=lambda _: None, since=since.isoformat(), until=until.isoformat())
        )
        assert backfill.error is None, backfill.error
        assert backfill.new_events == len(deleted)
        assert backfill.duplicates == still_loaded  # counted against the warehouse, not guessed
        assert backfill.windows == 3 and backfill.window_start == since and backfill.window_end == until

        ids = event_ids(warehouse, TS_EVENTS)
        assert len(ids) == len(set(ids))
        assert set(ids) == sim.expected_event_ids(as_of=first_until)
        assert _instance_state("thoughtspot", "security_audit_events", sim.host_id) == cursor_before
        added = rows(
            warehouse,
            "select count(*), min(window_start), max(window_end), sum(new_events), "
            "sum(duplicates) from raw_thoughtspot.ingest_windows where fetched_at >= ?",
            backfill_started,
        )
        assert added == [(3, since, until, len(deleted), still_loaded)]
        assert rows(warehouse, "select count(*) from raw_thoughtspot.ingest_windows")[0][0] == windows_before + 3
        assert _covered(warehouse, "raw_thoughtspot", gap_start, gap_end)

        # The next normal run continues from the unchanged cursor, exactly as it would have.
        new = sim.add_events(7, first_until + timedelta(minutes=5), first_until + timedelta(minutes=20))
        sim.clock.advance(timedelta(minutes=30))
        after = only(run_ingest(["thoughtspot"], progress=lambda _: None, until=sim.clock.now().isoformat()))
        assert after.error is None, after.error
        assert (after.new_events, after.duplicates) == (7, 0)
        assert after.window_start == first_until - timedelta(minutes=settings.DEFAULT_OVERLAP_MINUTES)
        ids = event_ids(warehouse, TS_EVENTS)
        assert len(ids) == len(set(ids)) and set(new) <= set(ids)
        assert set(ids) == sim.expected_event_ids()


def test_backfill_refuses_ranges_the_vendor_cannot_serve(warehouse, monkeypatch):
    with ThoughtSpotSimulator(history=history(days=2, per_day=10)) as sim:
        point_at_thoughtspot(monkeypatch, sim)
        now = sim.clock.now()
        too_old = only(
            run_ingest(["thoughtspot"], progress=lambda _: None, since=(now - timedelta(days=31)).isoformat())
        )
        assert too_old.error is not None and "30-day retention" in too_old.error and "since" in too_old.error
        reversed_range = only(
            run_ingest(
                ["thoughtspot"],
                progress=lambda _: None,
                since=(now - timedelta(days=1)).isoformat(),
                until=(now - timedelta(days=2)).isoformat(),
            )
        )
        assert reversed_range.error is not None and "after until" in reversed_range.error
        not_a_date = only(run_ingest(["thoughtspot"], progress=lambda _: None, since="last tuesday"))
        assert not_a_date.error is not None and "since" in not_a_date.error and "ISO-8601" in not_a_date.error
        assert not table_exists(warehouse, "raw_thoughtspot", "security_audit_events")
        assert not [e for e in sim.request_log if e["path"].endswith("/logs/fetch")]


def test_mode_backfill_from_the_cli(warehouse, monkeypatch):
    with ModeSimulator(history=history(days=4, per_day=40), page_size=25, log_own_access=False) as sim:
        point_at_mode(monkeypatch, sim)
        first_until = sim.clock.now()
        assert only(run_ingest(["mode"], progress=lambda _: None, until=first_until.isoformat())).error is None
        cursor_before = _instance_state("mode", "audit_logs", sim.workspace)
        gap_start, gap_end = first_until - timedelta(days=3), first_until - timedelta(days=2)
        deleted = _delete(warehouse, MODE_EVENTS, "timestamp", gap_start, gap_end)
        assert deleted

        env = dict(os.environ, PYTHONPATH=str(settings.PROJECT_ROOT))
        since, until = (gap_start - timedelta(hours=1)).isoformat(), (gap_end + timedelta(hours=1)).isoformat()
        done = subprocess.run(
            [sys.executable, "-m", "pipelines.cli", "ingest", "--source", "mode", "--since", since, "--until", until],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode == 0, done.stderr[-2000:]
        assert f"mode (acme): {len(deleted)} new events" in done.stdout
        assert "backfill" in done.stdout
        ids = event_ids(warehouse, MODE_EVENTS)
        assert len(ids) == len(set(ids)) and set(ids) == sim.expected_event_ids(as_of=first_until)
        assert _instance_state("mode", "audit_logs", sim.workspace) == cursor_before
        assert _covered(warehouse, "raw_mode", gap_start, gap_end)

        reversed_range = subprocess.run(
            [sys.executable, "-m", "pipelines.cli", "ingest", "--source", "mode", "--since", until, "--until", since],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        # Refused before anything starts, as a usage error (exit 2), naming the fix.
        assert reversed_range.returncode == 2 and "after until" in reversed_range.stderr
