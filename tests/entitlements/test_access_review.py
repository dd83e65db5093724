"""The access review and the drift report end to end: simulators (real HTTP) -> snapshots taken over the history as
a daily schedule would -> audit ingest -> real dbt build on DuckDB. Ground truth is the simulators' own state."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pytest

from pipelines.commands.demo import take_snapshots
from pipelines.ingest_runner import run_ingest
from pipelines.simulators import HistoryConfig, ModeSimulator, ThoughtSpotSimulator
from pipelines.warehouse.dbt_runner import run_dbt
from tests.conftest import clean_environment, isolate_home, point_at

DAYS = 20


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory):
    home = tmp_path_factory.mktemp("entitlements")
    path = home / "warehouse" / "auditlake.duckdb"
    mp = pytest.MonkeyPatch()
    try:
        clean_environment(mp)
        isolate_home(mp, home)
        mp.setenv("AUDITLAKE_WAREHOUSE", str(path))
        ts = ThoughtSpotSimulator(history=HistoryConfig(days=DAYS, events_per_day=150, seed=21))
        # seed 23: its background holds a group removal never undone, which the directory leaves unapplied
        mode = ModeSimulator(history=HistoryConfig(days=DAYS, events_per_day=50, seed=23))
        with ts, mode:
            point_at(mp, ts, "thoughtspot")
            point_at(mp, mode, "mode")
            assert take_snapshots([ts, mode], DAYS, progress=lambda _: None) == 5
            assert all(s.ok for s in run_ingest(["thoughtspot", "mode"], progress=lambda _: None))
        run_dbt(["build"], warehouse=path)
        yield path, ts, mode
    finally:
        mp.undo()


def q(path: Path, sql: str) -> list[tuple]:
    with duckdb.connect(str(path), read_only=True) as con:
        return con.execute(sql).fetchall()


def review_as_of(path: Path, moment: str) -> list[dict]:
    run_dbt(
        ["build", "--select", "rpt_access_review", "--vars", json.dumps({"access_review_as_of": moment})],
        warehouse=path,
    )
    with duckdb.connect(str(path), read_only=True) as con:
        cursor = con.execute("select * from compliance.rpt_access_review")
        names = [d[0] for d in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def test_a_past_review_equals_the_state_then(built):
    path, ts, mode = built
    snapshots = [
        r[0]
        for r in q(
            path,
            "select snapshot_at from core.int_entitlement_snapshots where source_system = 'thoughtspot' order by 1",
        )
    ]
    assert len(snapshots) == 5
    moment = snapshots[1]
    rows = review_as_of(path, moment.isoformat())
    try:
        ts_state = ts.directory.state_at(moment)
        held = {r["account_id"]: r for r in rows if r["source_system"] == "thoughtspot" and r["status"] != "removed"}
        assert set(held) == set(ts_state.users)
        for guid, account in ts_state.users.items():
            row = held[guid]
            assert row["status"] == account.status.lower()
            assert row["snapshot_at"] == moment
            assert row["privileges"] == ", ".join(ts_state.privileges(account))
            direct = [ts_state.groups[g].name for g in account.groups]
            inherited = [ts_state.groups[g].name + " (inherited)" for g in ts_state.inherited_groups(account)]
            assert row["group_names"] == ", ".join(sorted(direct + inherited))
            assert row["is_privileged"] == bool(
                {"ADMINISTRATION", "USER_ADMINISTRATION", "GROUP_ADMINISTRATION"} & set(ts_state.privileges(account))
            )
        mode_state = mode.directory.state_at(moment)
        members = {r["account_id"]: r for r in rows if r["source_system"] == "mode" and r["status"] != "removed"}
        assert {t: ("WORKSPACE_ADMIN" in r["privileges"]) for t, r in members.items()} == {
            m.token: m.admin for m in mode_state.members.values()
        }
        assert all(r["days_inactive"] >= 0 for r in rows)
        assert all(r["review_as_of"] == moment for r in rows)
        # Before the first snapshot nothing is known: no rows, never a guess.
        assert review_as_of(path, "2000-01-01T00:00:00Z") == []
    finally:
        run_dbt(["build", "--select", "rpt_access_review"], warehouse=path)


def test_privilege_is_what_is_held_and_self_grants_show_in_state(built):
    path, ts, mode = built
    rows = {
        (r[0], r[1]): r[2:]
        for r in q(
            path, "select source_system, account_name, privileges, is_privileged from compliance.rpt_access_review"
        )
    }
    granter = ts.scenarios["self_grant"]["user_name"]
    assert "ADMINISTRATION" in rows[("thoughtspot", granter)][0].split(", ")
    assert rows[("mode", mode.scenarios["self_grant"]["username"])] == ("WORKSPACE_ADMIN", True)
    # Everyone flagged holds a P0 privilege of the tier seed; nobody else is flagged.
    p0 = {r[0] for r in q(path, "select privilege from core.entitlement_privilege_tiers where tier = 'P0'")}
    for (_, name), (privileges, flagged) in rows.items():
        assert flagged == bool(p0 & set(privileges.split(", "))), name


def test_dormant_accounts_include_never_logged_in_ones(built):
    path, _, _ = built
    dormant = set(
        q(
            path,
            "select source_system, account_name, has_never_logged_in from compliance.rpt_access_review "
            "where is_dormant",
        )
    )
    assert dormant == {("thoughtspot", "dormant.contractor", True), ("thoughtspot", "svc.reporting", True)}
    recent = q(
        path,
        "select count(*) from compliance.rpt_access_review where last_login_at > now() - interval 10 day "
        "and is_dormant",
    )
    assert recent == [(0,)]
    assert q(path, "select min(days_inactive) >= 0 from compliance.rpt_access_review") == [(True,)]


def test_cross_product_leavers_and_unmatched_accounts(built):
    path, ts, mode = built
    leavers = set(
        q(
            path,
            "select source_system, account_name, other_product_statuses from "
            "compliance.rpt_access_review where is_cross_product_leaver",
        )
    )
    assert leavers == {
        ("thoughtspot", "departed.analyst", "mode:removed"),
        ("mode", "former_employee", "thoughtspot:removed"),
    }
    removed = set(
        q(
            path,
            "select source_system, account_name from compliance.rpt_access_review "
            "where status = 'removed' and has_activity_after_removal",
        )
    )
    assert removed == {
        ("thoughtspot", ts.scenarios["deleted_user_activity"]["user_name"]),
        ("mode", mode.scenarios["leaver_activity"]["username"]),
    }
    deleted_at = q(path, "select deleted_at from compliance.rpt_access_review where account_name = 'former.employee'")
    assert deleted_at[0][0].isoformat()[:16] == ts.scenarios["deleted_user_activity"]["deleted_at"][:16]
    matched = q(path, "select count(*) from compliance.rpt_access_review where not is_unmatched")
    assert matched[0][0] >= 4  # the two leaver pairs at least
    assert q(
        path,
        "select count(*) from compliance.rpt_access_review where is_unmatched and person_key is not null "
        "and person_key in ('departed.analyst@example.com', 'former.employee@example.com')",
    ) == [(0,)]


def test_drift_reports_exactly_the_unlogged_and_contradicted_changes(built):
    path, ts, mode = built
    drift = set(
        q(path, "select drift_type, change, source_system, account_id, object_id from compliance.rpt_entitlement_drift")
    )
    unlogged = ts.directory.scenarios["unlogged_grant"]
    admin = mode.directory.scenarios["unlogged_admin_grant"]
    ignored = mode.directory.scenarios["removal_not_applied"]
    planted = {
        ("unlogged_change", "group_joined", "thoughtspot", unlogged["user_guid"], unlogged["group_guid"]),
        ("unlogged_change", "admin_granted", "mode", admin["member_token"], "WORKSPACE_ADMIN"),
        ("contradicted_by_state", "group_left", "mode", ignored["member_token"], ignored["group_token"]),
    }
    assert planted <= drift
    # Anything else is the same unlogged grant seen from the log's side: an earlier role change to non-admin that
    # the next snapshot contradicts (the member is admin there, with no event saying so). Never another account.
    for extra in drift - planted:
        assert extra[:4] == ("contradicted_by_state", "admin_revoked", "mode", admin["member_token"]), extra
    [(event_key,)] = q(
        path,
        "select event_key from compliance.rpt_entitlement_drift where drift_type = "
        "'contradicted_by_state' and change = 'group_left'",
    )
    assert q(path, f"select source_event_id from core.fct_audit_events where event_key = '{event_key}'") == [
        (ignored["event_id"],)
    ]


def test_the_demo_report_lists_the_findings_by_name(built):
    from pipelines.commands.demo import access_review_findings

    path, ts, mode = built
    with duckdb.connect(str(path), read_only=True) as con:
        text = "\n".join(access_review_findings(con))
    assert "dormant (incl. never logged in):     thoughtspot:dormant.contractor, thoughtspot:svc.reporting" in text
    assert "cross-product leavers (still active): mode:former_employee, thoughtspot:departed.analyst" in text
    leaver = ts.scenarios["deleted_user_activity"]["user_name"]
    assert f"thoughtspot:{leaver}" in text.split("removed, yet active after removal:")[1].splitlines()[0]
    granter = ts.scenarios["self_grant"]["user_name"]
    assert f"thoughtspot:{granter}" in text.split("self-grant:")[1].splitlines()[0]
    token = mode.scenarios["api_token_never_revoked"]["token_name"]
    assert f"mode:{token} created by" in text
    assert "unlogged_change group_joined: thoughtspot:" + ts.directory.scenarios["unlogged_grant"]["user_name"] in text
