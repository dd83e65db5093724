"""The per-run integrity check re-hashes only days sealed since the last verification; the weekly full check
re-hashes every day. On a DuckDB file and on DuckLake (SQLite catalog), with real dbt builds sealing the days.

The story: days 5..3 are sealed and verified; then day 2 is sealed, and a raw row of day 2 (new) and one of
day 4 (verified earlier) are changed. The per-run check catches day 2 and says day 4 was verified earlier; the
weekly full verification (the maintenance job) names day 4; from then on every run re-checks day 4 until it
verifies again.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from pipelines.warehouse import engine
from pipelines.warehouse.dbt_runner import run_dbt
from pipelines.warehouse.integrity import verify_integrity_chain
from pipelines.warehouse.integrity_ledger import TABLE, read_marks, verify_full_chain, verify_new_days
from tests.dbt import auditlake_dbt_fixtures as fx

pytestmark = pytest.mark.slow

TODAY = datetime.now(timezone.utc).replace(hour=0, minute=0, second=0, microsecond=0)
TS = "ts.ledger"
FETCHED = TODAY + timedelta(hours=3)


def _day(n: int) -> datetime:
    return TODAY - timedelta(days=n)


def _window(n: int) -> dict:
    start, end = _day(n), _day(n) + timedelta(days=1) - timedelta(microseconds=1)
    window = fx.ingest_window(start, end, fetched=3, new=3, duplicates=0, instance=TS)
    window["fetched_at"] = FETCHED
    return window


def _dbt(warehouse: str, tmp: Path) -> None:
    # the integrity chain and what it is built from: the rest of the graph plays no part in the ledger
    args = ["build", "--select", "+rpt_integrity_chain", "--indirect-selection", "cautious"]
    run_dbt([*args, "--target-path", str(tmp / "target"), "--log-path", str(tmp / "logs")], warehouse=warehouse)


def _tamper(warehouse: str, day: int) -> None:
    """Edit one raw record of `day` in place, as someone with write access to the warehouse could."""
    with engine.connect(warehouse) as con:
        row = con.execute(
            "select id from raw_thoughtspot.security_audit_events where cast(ts as date) = ? order by id limit 1",
            [_day(day).date()],
        ).fetchone()
        assert row
        con.execute(
            "update raw_thoughtspot.security_audit_events set log = replace(log, 'alice', 'mallory') where id = ?",
            [row[0]],
        )


def _days(verification) -> set:
    return {p.day for p in verification.problems}


@pytest.fixture(params=["file", "ducklake"])
def warehouse(request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """Days 5..1 of events; fetch windows for days 5..3 only, so dbt seals those three."""
    monkeypatch.delenv(engine.ENV_DATA_PATH, raising=False)
    setting = (
        str(tmp_path / "auditlake.duckdb")
        if request.param == "file"
        else f"ducklake:sqlite:{tmp_path / 'lake' / 'catalog.sqlite'}"
    )
    monkeypatch.setenv("AUDITLAKE_WAREHOUSE", setting)
    (tmp_path / "lake").mkdir()
    rows = [
        fx.ts_event("LOGIN_SUCCESSFUL", _day(n) + timedelta(hours=h), user="alice", guid="g-a", instance=TS)
        for n in range(1, 6)
        for h in (2, 11, 20)
    ]
    for row in rows:
        row["_loaded_at"] = FETCHED
    with engine.connect(setting) as con:
        fx.create_raw_tables(con)
        fx.insert(con, "thoughtspot", "security_audit_events", rows)
        fx.insert(con, "thoughtspot", "ingest_windows", [_window(n) for n in (5, 4, 3)])
    _dbt(setting, tmp_path)
    return setting


def test_the_run_check_rehashes_new_days_and_the_full_check_catches_an_old_tampered_day(
    warehouse: str, tmp_path: Path
) -> None:
    first = verify_new_days(warehouse)
    assert first.problems == []
    assert first.rehashed == {("thoughtspot", TS): [_day(n).date() for n in (5, 4, 3)]}
    with engine.connect(warehouse, read_only=True) as con:
        marks, last_full = read_marks(con)
        recorded = con.execute(f"select count(*) from {TABLE}").fetchone()[0]
    assert marks[("thoughtspot", TS)].verified_through == _day(3).date() and last_full is None

    # Nothing sealed since: nothing re-hashed, and no ledger row per run.
    again = verify_new_days(warehouse)
    assert again.problems == [] and again.rehashed == {}
    with engine.connect(warehouse, read_only=True) as con:
        assert con.execute(f"select count(*) from {TABLE}").fetchone()[0] == recorded

    # Day 2 gets covered and sealed; then a raw record of day 2 (new) and one of day 4 (verified) are edited.
    with engine.connect(warehouse) as con:
        fx.insert(con, "thoughtspot", "ingest_windows", [_window(2)])
    _dbt(warehouse, tmp_path)
    with engine.connect(warehouse, read_only=True) as con:
        assert verify_integrity_chain(con) == []  # day 2's seal is right before anyone edits a record
        last = con.execute("select max(evidence_date) from compliance.rpt_integrity_chain").fetchone()
        assert last and last[0] == _day(2).date()
    _tamper(warehouse, 2)
    _tamper(warehouse, 4)

    run_check = verify_new_days(warehouse)
    assert run_check.rehashed == {("thoughtspot", TS): [_day(2).date()]}
    assert _days(run_check) == {_day(2).date()}  # the new day is caught ...
    metadata = run_check.metadata()
    assert metadata["verified_earlier"] == {  # ... and the check says which days it did not re-hash
        f"thoughtspot/{TS}": f"through {_day(3).date()}: not re-hashed here (the weekly full check does)"
    }
    assert "raw records differ from the sealed day" in str(run_check.problems[0])

    full = verify_full_chain(warehouse)
    assert _days(full) == {_day(2).date(), _day(4).date()}
    assert any(_day(4).date().isoformat() in text for text in full.metadata()["problems"])

    # Known-broken days are re-hashed by every run from now on, so the alert does not wait a week to repeat.
    after = verify_new_days(warehouse)
    assert _days(after) == {_day(2).date(), _day(4).date()}
    assert sorted(after.rehashed[("thoughtspot", TS)]) == [_day(4).date(), _day(2).date()]
    assert after.metadata()["last_full_verification"] != "never"


@pytest.mark.parametrize("warehouse", ["file"], indirect=True)  # the op's ledger code runs on both engines above
def test_the_weekly_maintenance_job_fails_naming_the_tampered_day(warehouse: str) -> None:
    from pipelines.orchestration.maintenance_job import maintenance_job

    assert verify_new_days(warehouse).problems == []
    _tamper(warehouse, 4)
    assert verify_new_days(warehouse).problems == []  # verified earlier: only the full check looks again

    result = maintenance_job.execute_in_process(raise_on_error=False)
    assert not result.success
    failure = next(e for e in result.all_events if e.event_type_value == "STEP_FAILURE")
    assert failure.step_key == "integrity_full_verification"
    data = failure.step_failure_data
    message = data.user_failure_data.description if data.user_failure_data else str(data.error)
    assert f"thoughtspot/{TS} {_day(4).date().isoformat()}" in message
