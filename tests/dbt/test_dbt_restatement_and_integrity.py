"""Per-day proof and restatement on a real warehouse: the integrity chain is sealed once, survives a full
refresh, and verify_integrity_chain names the day a tampered raw row or a deleted day touches; a catalogue
change reaches stored fact and mart rows on the next incremental build."""

from __future__ import annotations

import shutil
from datetime import datetime, timedelta, timezone
from pathlib import Path

import auditlake_dbt_fixtures as fx
import duckdb
import pytest

from pipelines.warehouse.dbt_runner import run_dbt
from pipelines.warehouse.integrity import link_hash, verify_integrity_chain

pytestmark = pytest.mark.slow

TODAY = datetime.now(timezone.utc).replace(hour=0, minute=0, second=0, microsecond=0)
TS = "ts.chain"
DAYS = 4


def _dbt(warehouse: Path, *args: str) -> None:
    tmp = warehouse.parent
    run_dbt([*args, "--target-path", str(tmp / "target"), "--log-path", str(tmp / "logs")], warehouse=warehouse)


def _day(n: int) -> datetime:
    return TODAY - timedelta(days=n)


@pytest.fixture(scope="module")
def sealed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """DAYS full days of ThoughtSpot events, fetched by reconciled windows that cover them and today so far."""
    path = tmp_path_factory.mktemp("chain") / "auditlake.duckdb"
    con = fx.open_warehouse(path)
    fx.create_raw_tables(con)
    rows = []
    for n in range(1, DAYS + 1):
        for hour in (1, 9, 14, 23):
            rows.append(
                fx.ts_event(
                    "LOGIN_SUCCESSFUL",
                    _day(n) + timedelta(hours=hour),
                    user="alice",
                    guid="g-alice",
                    instance=TS,
                    data={"userName": "alice"},
                )
            )
        rows.append(
            fx.ts_event(
                "PRIVILEGE_CHANGES",
                _day(n) + timedelta(hours=10),
                user="root",
                guid="g-root",
                instance=TS,
                data={
                    "modifiedPrivileges": ["AUTHORING"],
                    "currentPrivileges": ["X"],
                    "groupIdentity": {"id": {"id": "grp"}, "name": "g"},
                },
            )
        )
    for row in rows:
        row["_loaded_at"] = TODAY + timedelta(hours=3)
    fx.insert(con, "thoughtspot", "security_audit_events", rows)
    windows = []
    for n in range(DAYS, -1, -1):  # one window per day, the last one up to 03:00 today; fetched at 03:00 today
        start = _day(n)
        end = min(start + timedelta(days=1) - timedelta(microseconds=1), TODAY + timedelta(hours=3))
        count = sum(1 for r in rows if start <= r["ts"] <= end)
        window = fx.ingest_window(start, end, fetched=count, new=count, duplicates=0, instance=TS)
        window["fetched_at"] = TODAY + timedelta(hours=3)
        windows.append(window)
    fx.insert(con, "thoughtspot", "ingest_windows", windows)
    con.close()
    _dbt(path, "build")
    return path


def _chain(path: Path) -> list[tuple]:
    con = duckdb.connect(str(path), read_only=True)
    try:
        return con.execute(
            "select evidence_date, chain_position, event_count, day_hash, previous_chain_hash,"
            " chain_hash, sealed_at from compliance.rpt_integrity_chain"
            " order by evidence_date"
        ).fetchall()
    finally:
        con.close()


def _verify(path: Path) -> list:
    con = duckdb.connect(str(path), read_only=True)
    try:
        return verify_integrity_chain(con)
    finally:
        con.close()


def _copy(source: Path, tmp_path: Path) -> Path:
    target = tmp_path / "copy" / "auditlake.duckdb"
    target.parent.mkdir()
    shutil.copyfile(source, target)
    return target


def test_closed_days_are_sealed_in_a_chain_that_verifies(sealed: Path) -> None:
    chain = _chain(sealed)
    # today is not closed (its windows end at 03:00); the DAYS full days before are, contiguous, in order
    assert [row[0] for row in chain] == [_day(n).date() for n in range(DAYS, 0, -1)]
    assert [row[1] for row in chain] == list(range(1, DAYS + 1))
    assert all(row[2] == 5 for row in chain)
    assert all(later[4] == earlier[5] for earlier, later in zip(chain, chain[1:]))
    assert _verify(sealed) == []


def test_evidence_says_which_days_are_complete_and_closed(sealed: Path) -> None:
    con = duckdb.connect(str(sealed), read_only=True)
    try:
        rows = con.execute(
            "select evidence_date, events_loaded, windows_cover_day, is_reconciled, is_complete,"
            " is_closed from compliance.rpt_pipeline_evidence order by 1"
        ).fetchall()
    finally:
        con.close()
    by_day = {r[0]: r[1:] for r in rows}
    assert by_day[_day(1).date()] == (5, True, True, True, True)
    assert by_day[TODAY.date()][1:] == (False, False, False, False)  # windows end at 03:00


def test_a_tampered_raw_row_names_its_day(sealed: Path, tmp_path: Path) -> None:
    path = _copy(sealed, tmp_path)
    con = duckdb.connect(str(path))
    con.execute(
        "update raw_thoughtspot.security_audit_events set log = replace(log, '\"alice\"', '\"mallory\"')"
        " where id = (select min(id) from raw_thoughtspot.security_audit_events"
        "             where ts >= ? and ts < ? and type = 'LOGIN_SUCCESSFUL')",
        [_day(3), _day(2)],
    )
    con.close()
    problems = _verify(path)
    assert {(p.source_instance, p.day) for p in problems} == {(TS, _day(3).date())}
    assert "changed or deleted" in str(problems[0]) and _day(3).date().isoformat() in str(problems[0])


def test_a_deleted_day_and_a_removed_seal_are_named(sealed: Path, tmp_path: Path) -> None:
    path = _copy(sealed, tmp_path)
    con = duckdb.connect(str(path))
    con.execute("delete from raw_thoughtspot.security_audit_events where ts >= ? and ts < ?", [_day(2), _day(1)])
    con.close()
    assert {p.day for p in _verify(path)} == {_day(2).date()}
    con = duckdb.connect(str(path))
    con.execute("delete from compliance.rpt_integrity_chain where evidence_date = ?", [_day(3).date()])
    con.close()
    days = {p.day for p in _verify(path)}
    assert days == {_day(2).date()}, days  # the seal after the removed one no longer links


def test_an_edited_seal_is_named_and_a_relinked_one_breaks_the_next_link(sealed: Path, tmp_path: Path) -> None:
    path = _copy(sealed, tmp_path)
    con = duckdb.connect(str(path))
    # someone re-hashes a tampered day to hide it: the seal no longer matches its own link, nor the next one
    con.execute(
        "update compliance.rpt_integrity_chain set day_hash = sha256('forged') where evidence_date = ?",
        [_day(3).date()],
    )
    con.close()
    problems = _verify(path)
    assert {p.day for p in problems} == {_day(3).date()}
    assert any("seal row was edited" in str(p) for p in problems)
    # ... and re-links that seal consistently: now the following day's seal no longer links to it
    con = duckdb.connect(str(path))
    previous, count, day_hash = con.execute(
        "select previous_chain_hash, event_count, day_hash from compliance.rpt_integrity_chain where evidence_date = ?",
        [_day(3).date()],
    ).fetchone()
    con.execute(
        "update compliance.rpt_integrity_chain set chain_hash = ? where evidence_date = ?",
        [link_hash(previous, "thoughtspot", TS, _day(3).date(), count, day_hash), _day(3).date()],
    )
    con.close()
    problems = _verify(path)
    assert {p.day for p in problems} == {_day(3).date(), _day(2).date()}
    assert not any("seal row was edited" in str(p) for p in problems)
    assert any(p.day == _day(2).date() and "does not link" in str(p) for p in problems)


def test_the_chain_survives_a_full_refresh_and_is_not_resealed(sealed: Path, tmp_path: Path) -> None:
    path = _copy(sealed, tmp_path)
    before = _chain(path)
    _dbt(path, "build", "--full-refresh")
    _dbt(path, "build")
    assert _chain(path) == before
    assert _verify(path) == []


def test_a_catalogue_change_restates_stored_rows_on_the_next_incremental_build(sealed: Path, tmp_path: Path) -> None:
    path = _copy(sealed, tmp_path)
    con = duckdb.connect(str(path))
    assert (
        con.execute(
            "select count(*) from compliance.rpt_privileged_changes where event_type = 'PRIVILEGE_CHANGES'"
        ).fetchone()[0]
        == DAYS
    )
    hashes = con.execute("select day_hash from compliance.rpt_integrity_chain order by 1").fetchall()
    # the catalogue as a changed seed would load it: PRIVILEGE_CHANGES no longer privileged, LOGIN_SUCCESSFUL
    # now described as a failure
    con.execute(
        "update core.audit_event_catalog set is_privileged = false, privilege_reason = null"
        " where event_type = 'PRIVILEGE_CHANGES'"
    )
    con.execute(
        "update core.audit_event_catalog set outcome = 'failure'"
        " where event_type = 'LOGIN_SUCCESSFUL' and source_system = 'thoughtspot'"
    )
    con.close()
    _dbt(path, "run")  # `run`: the seed table keeps the change (build would reload the CSV)
    con = duckdb.connect(str(path), read_only=True)
    try:
        assert (
            con.execute(
                "select count(*) from core.fct_audit_events where event_type = 'PRIVILEGE_CHANGES' and is_privileged"
            ).fetchone()[0]
            == 0
        )
        assert (
            con.execute(
                "select count(*) from compliance.rpt_privileged_changes where event_type = 'PRIVILEGE_CHANGES'"
            ).fetchone()[0]
            == 0
        )
        # the record's own words ("login successful") still win over the catalogue
        outcomes = con.execute(
            "select distinct outcome, outcome_source from core.fct_audit_events where event_type = 'LOGIN_SUCCESSFUL'"
        ).fetchall()
        assert outcomes == [("success", "record")]
        assert con.execute("select day_hash from compliance.rpt_integrity_chain order by 1").fetchall() == hashes
    finally:
        con.close()
