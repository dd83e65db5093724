"""`dbt build` on a real DuckDB warehouse whose raw tables follow the contract, with planted findings.

One module-scoped warehouse is built once (then incrementally); each test reads what it needs.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from datetime import datetime, timedelta, timezone
from pathlib import Path

import auditlake_dbt_fixtures as fx
import duckdb
import pytest

from pipelines.warehouse.dbt_runner import DbtRunError, run_dbt

pytestmark = pytest.mark.slow

NOW = datetime.now(timezone.utc).replace(minute=0, second=0, microsecond=0)
DAY = timedelta(days=1)
TS, MODE = "ts.test", "acme"


def _dbt(warehouse: Path, *args: str, unit_tests: bool = False) -> None:
    tmp = warehouse.parent
    run_dbt(
        [*args, "--target-path", str(tmp / "target"), "--log-path", str(tmp / "logs")],
        warehouse=warehouse,
        unit_tests=unit_tests,
    )


def _at(days_ago: float, hour: int, minute: int = 0) -> datetime:
    day = (NOW - timedelta(days=days_ago)).replace(hour=0)
    return day + timedelta(hours=hour, minutes=minute)


def _thoughtspot_rows() -> list[dict]:
    rows = []
    for d in range(1, 6):  # routine activity
        rows.append(
            fx.ts_event("LOGIN_SUCCESSFUL", _at(d, 10), user="alice", guid="g-alice", data={"userName": "alice"})
        )
        rows.append(
            fx.ts_event("CREATE_ANSWER", _at(d, 11), user="alice", guid="g-alice", data={"answerName": f"a{d}"})
        )
    # brute force: 21 failures in 30 minutes from one IP, then a success
    start = _at(2, 3)
    for i in range(21):
        rows.append(
            fx.ts_event(
                "LOGIN_FAILED",
                start + timedelta(seconds=85 * i),
                user=None,
                guid=None,
                ip="203.0.113.9",
                data={"userName": "mallory.target"},
            )
        )
    rows.append(
        fx.ts_event(
            "LOGIN_SUCCESSFUL",
            start + timedelta(minutes=35),
            user="mallory.target",
            guid="g-mallory",
            ip="203.0.113.9",
            data={"userName": "mallory.target"},
        )
    )
    # a few spread-out failures (no finding), one with an empty IP, and a lockout
    for h in (8, 11, 14):
        rows.append(
            fx.ts_event(
                "LOGIN_FAILED",
                _at(3, h),
                user=None,
                guid=None,
                ip="" if h == 8 else "10.0.0.5",
                data={"userName": "bob"},
            )
        )
    rows.append(fx.ts_event("ACCOUNT_LOCKED", _at(3, 15), user=None, guid=None, data={"userName": "bob"}))
    # self-grant: the admin adds themselves to a group, then gives that group ADMINISTRATION
    rows.append(
        fx.ts_event(
            "PRINCIPALS_IN_GROUP_UPDATE",
            _at(2, 16),
            user="root.admin",
            guid="g-admin",
            data={"groupID": "grp-1", "requestedUsersInGroup": [{"id": "g-admin"}]},
        )
    )
    rows.append(
        fx.ts_event(
            "PRIVILEGE_CHANGES",
            _at(2, 16, 10),
            user="root.admin",
            guid="g-admin",
            data={
                "modifiedPrivileges": ["ADMINISTRATION"],
                "currentPrivileges": ["AUTHORING"],
                "groupIdentity": {
                    "id": {"id": "grp-1"},
                    "name": "ops",
                    "owner": {"id": "g-admin"},
                    "type": "UserGroup",
                },
            },
        )
    )
    rows.append(
        fx.ts_event(
            "PRIVILEGE_CHANGES",
            _at(2, 16, 20),
            user="root.admin",
            guid="g-admin",
            data={
                "modifiedPrivileges": ["AUTHORING"],
                "currentPrivileges": ["VIEWING"],
                "groupIdentity": {
                    "id": {"id": "grp-2"},
                    "name": "analysts",
                    "owner": {"id": "g-admin"},
                    "type": "UserGroup",
                },
            },
        )
    )
    # leaver still active: deleted by GUID, then logs in
    rows.append(fx.ts_event("LOGIN_SUCCESSFUL", _at(5, 9), user="former.employee", guid="g-fe"))
    rows.append(
        fx.ts_event(
            "USERS_DELETED", _at(4, 10), user="root.admin", guid="g-admin", data={"userGUIDs": [{"id": "g-fe"}]}
        )
    )
    rows.append(fx.ts_event("LOGIN_SUCCESSFUL", _at(3, 22), user="former.employee", guid="g-fe"))
    # dormant: last login 120 days ago
    rows.append(fx.ts_event("LOGIN_SUCCESSFUL", _at(120, 9), user="carol", guid="g-carol"))
    # off-hours connection change; an event type nobody catalogued
    rows.append(
        fx.ts_event(
            "CREATE_CONNECTION",
            _at(1, 2),
            user="root.admin",
            guid="g-admin",
            data={"connectionName": "exfil", "connectionType": "RDBMS_SNOWFLAKE"},
        )
    )
    rows.append(fx.ts_event("BRAND_NEW_EVENT", _at(1, 12), user="alice", guid="g-alice"))
    return rows


def _mode_rows() -> list[dict]:
    rows = []
    user = lambda name: {"entity_type": "workspace_user", "entity_id": f"id-{name}", "entity_name": name}  # noqa: E731
    rows.append(
        fx.mode_event(
            "org_user_role_changed",
            _at(2, 15),
            user="jane",
            user_id="id-jane",
            entity=user("jane"),
            context={"previous_role": "member", "new_role": "admin"},
        )
    )
    rows.append(
        fx.mode_event(
            "org_user_role_changed",
            _at(2, 15, 5),
            user="jane",
            user_id="id-jane",
            entity=user("kim"),
            context={"previous_role": "viewer", "new_role": "member"},
        )
    )
    # leaver: a role change to "removed", then an export
    rows.append(
        fx.mode_event(
            "org_user_role_changed",
            _at(4, 12),
            user="jane",
            user_id="id-jane",
            entity=user("departed"),
            context={"previous_role": "member", "new_role": "removed"},
        )
    )
    rows.append(
        fx.mode_event(
            "export_data_sql_exported",
            _at(3, 21),
            user="departed",
            user_id="id-departed",
            entity={"entity_type": "query", "entity_id": "q1", "entity_name": "Query 1"},
        )
    )
    # export burst against a baseline of one a day
    report = {"entity_type": "report", "entity_id": "r1", "entity_name": "Report 1"}
    for d in range(2, 12):
        rows.append(fx.mode_event("export_data_report_exported_csv", _at(d, 13), user="eve", entity=report))
    for i in range(15):
        rows.append(fx.mode_event("export_data_report_exported_csv", _at(1, 8, 2 * i), user="eve", entity=report))
    # API tokens: one never revoked, one revoked
    token = lambda tid: {"entity_type": "api_token", "entity_id": tid, "entity_name": tid}  # noqa: E731
    rows.append(fx.mode_event("api_token_workspace_created", _at(10, 10), user="jane", entity=token("tok-orphan")))
    rows.append(fx.mode_event("api_token_workspace_created", _at(9, 10), user="jane", entity=token("tok-ok")))
    rows.append(fx.mode_event("api_token_workspace_revoked", _at(8, 10), user="jane", entity=token("tok-ok")))
    # auditlake's own read of the audit log (actor is the API token), one minute before the window row
    rows.append(
        fx.mode_event(
            "audit_log_accessed",
            _at(1, 6, 0),
            user="api-token-abc",
            user_id="abc",
            entity={"entity_type": "workspace", "entity_id": "w", "entity_name": MODE},
        )
    )
    return rows


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("dbt_build") / "auditlake.duckdb"
    con = fx.open_warehouse(path)
    fx.create_raw_tables(con)
    fx.insert(con, "thoughtspot", "security_audit_events", _thoughtspot_rows())
    fx.insert(con, "mode", "audit_logs", _mode_rows())
    fx.insert(
        con,
        "mode",
        "ingest_windows",
        [fx.ingest_window(_at(1, 5), _at(1, 6) - timedelta(minutes=1), fetched=3, new=2, duplicates=1, instance=MODE)],
    )
    fx.insert(
        con,
        "thoughtspot",
        "ingest_windows",
        [fx.ingest_window(_at(2, 0), _at(1, 0), fetched=40, new=38, duplicates=2, quarantined=1, instance=TS)],
    )
    fx.insert(
        con,
        "thoughtspot",
        "quarantined_records",
        [
            {
                "source_instance": TS,
                "record_hash": "h1",
                "record": "{not json",
                "reason": "unparseable log",
                "window_start": _at(2, 0),
                "window_end": _at(1, 0),
                "quarantined_at": _at(1, 0),
            }
        ],
    )
    con.close()
    # The one build of the suite that runs dbt's unit tests (the product's builds leave them out, as dbt advises)
    _dbt(path, "build", unit_tests=True)
    shutil.copy(path.parent / "target" / "run_results.json", path.parent / "first_build_results.json")
    return path


def q(path: Path, sql: str, *params) -> list[tuple]:
    con = duckdb.connect(str(path), read_only=True)
    try:
        return con.execute(sql, list(params)).fetchall()
    finally:
        con.close()


def test_every_unit_test_runs_in_the_first_build_and_passes(warehouse: Path) -> None:
    manifest = json.loads((warehouse.parent / "target" / "manifest.json").read_text())
    results = json.loads((warehouse.parent / "first_build_results.json").read_text())["results"]
    ran = {r["unique_id"]: r["status"] for r in results if r["unique_id"].startswith("unit_test.")}
    assert set(manifest["unit_tests"]) == set(ran) and len(ran) >= 20
    assert set(ran.values()) == {"pass"}


def test_schemas_are_named_exactly(warehouse: Path) -> None:
    schemas = {r[0] for r in q(warehouse, "select distinct table_schema from information_schema.tables")}
    assert {"staging", "core", "compliance"} <= schemas
    assert not any(s.startswith(("main_", "staging_", "core_")) for s in schemas), schemas


def test_fact_has_one_row_per_raw_event_and_keeps_unknown_types(warehouse: Path) -> None:
    raw = q(
        warehouse,
        "select (select count(*) from raw_thoughtspot.security_audit_events)"
        " + (select count(*) from raw_mode.audit_logs)",
    )[0][0]
    fact, keys = q(warehouse, "select count(*), count(distinct event_key) from core.fct_audit_events")[0]
    assert fact == keys == raw
    unknown = q(
        warehouse,
        "select event_category, outcome, ocsf_class_uid from core.fct_audit_events"
        " where event_type = 'BRAND_NEW_EVENT'",
    )
    assert unknown == [("unknown", "unknown", 0)]
    key = q(
        warehouse,
        "select event_key, source_system || '|' || source_instance || '|' || source_event_id"
        " from core.fct_audit_events limit 1",
    )[0]
    assert key[0] == hashlib.md5(key[1].encode()).hexdigest()


def test_failed_login_names_the_attempted_user_and_empty_ip_is_null(warehouse: Path) -> None:
    rows = q(
        warehouse,
        "select actor_name, actor_ip, event_category, outcome from core.fct_audit_events"
        " where event_type = 'LOGIN_FAILED' and actor_name = 'bob' order by event_time",
    )
    assert [r[1] for r in rows] == [None, "10.0.0.5", "10.0.0.5"]
    assert {(r[2], r[3]) for r in rows} == {("authentication", "failure")}
    assert q(warehouse, "select count(*) from core.fct_audit_events where actor_ip = ''")[0][0] == 0


def test_brute_force_is_flagged_and_followed_by_success(warehouse: Path) -> None:
    rows = q(
        warehouse,
        "select user_name, bool_or(is_brute_force), bool_or(is_followed_by_success), sum(failed_logins)"
        " from compliance.rpt_authentication_failures group by 1 order by 1",
    )
    assert rows == [("bob", False, False, 3), ("mallory.target", True, True, 21)]
    assert q(warehouse, "select sum(lockouts) from compliance.rpt_authentication_failures")[0][0] == 1


def test_self_grants_and_off_hours(warehouse: Path) -> None:
    rows = q(
        warehouse,
        "select event_type, coalesce(subject_user_name, target_name), is_self_grant"
        " from compliance.rpt_privileged_changes order by event_time",
    )
    flagged = {(r[0], r[1]) for r in rows if r[2]}
    assert ("PRIVILEGE_CHANGES", "ops") in flagged and ("org_user_role_changed", "jane") in flagged
    assert ("PRIVILEGE_CHANGES", "analysts") not in flagged and ("org_user_role_changed", "kim") not in flagged
    assert any(r[0] == "PRINCIPALS_IN_GROUP_UPDATE" and r[2] for r in rows)
    off = q(warehouse, "select is_off_hours from compliance.rpt_connection_changes where connection_name = 'exfil'")
    assert off == [(True,)]


def test_leavers_still_active_are_caught(warehouse: Path) -> None:
    rows = q(
        warehouse,
        "select source_system, user_name, activity_after_deletion, events_after_deletion"
        " from compliance.rpt_user_lifecycle where lifecycle_stage = 'leaver' order by 1",
    )
    assert rows == [("mode", "departed", True, 1), ("thoughtspot", "former.employee", True, 1)]
    status = q(
        warehouse,
        "select user_name, current_status from core.dim_users"
        " where user_name in ('former.employee', 'departed', 'alice') order by 1",
    )
    assert status == [("alice", "active"), ("departed", "deleted"), ("former.employee", "deleted")]


def test_access_review_reads_state_not_events(warehouse: Path) -> None:
    # The review lists who HOLDS access, from entitlement snapshots (tests/entitlements/ cover it end to end);
    # these audit events alone are no snapshot, so there is nothing to review, rather than accounts guessed from acts.
    assert q(warehouse, "select count(*) from compliance.rpt_access_review") == [(0,)]
    assert q(warehouse, "select count(*) from compliance.rpt_entitlement_drift") == [(0,)]


def test_exports_tokens_and_audit_log_reads(warehouse: Path) -> None:
    anomalies = q(warehouse, "select user_name, user_day_events from compliance.rpt_data_exports where is_anomalous")
    assert anomalies == [("eve", 15)]
    tokens = dict(q(warehouse, "select token_id, is_never_revoked from compliance.rpt_api_tokens where is_issuance"))
    assert tokens == {"tok-orphan": True, "tok-ok": False}
    reads = q(
        warehouse,
        "select evidence_source, accessed_by, is_auditlake from compliance.rpt_audit_log_access order by 1, 2",
    )
    assert ("vendor_audit_log", "api-token-abc", True) in reads
    assert sum(1 for r in reads if r[0] == "auditlake_ingest") == 2


def _evidence(path: Path) -> dict[tuple, tuple]:
    return {
        (r[0], r[1], r[2]): r[3:]
        for r in q(
            path,
            "select source_system, source_instance, evidence_date, events_loaded, windows_cover_day,"
            " duplicates_absorbed, quarantined_records from compliance.rpt_pipeline_evidence",
        )
    }


def test_evidence_counts_the_day_of_the_event_and_every_day_a_window_touches(warehouse: Path) -> None:
    evidence = _evidence(warehouse)
    ids = q(
        warehouse,
        "select source_event_id from core.fct_audit_events"
        " where source_system = 'mode' and cast(event_time as date) = ?",
        _at(1, 0).date(),
    )
    # the Mode window covers 05:00-05:59 only: the day is not covered
    assert evidence[("mode", MODE, _at(1, 0).date())][:2] == (len(ids), False)
    # the ThoughtSpot window covers the whole day two days ago (its duplicates and quarantined record count there)
    assert evidence[("thoughtspot", TS, _at(2, 0).date())][1:] == (True, 2, 1)


def test_incremental_build_absorbs_late_and_reread_events(warehouse: Path) -> None:
    before = _evidence(warehouse)
    late_day = _at(10, 0).date()
    con = fx.open_warehouse(warehouse)
    # a late event (happened 10 days ago, loaded now) and a re-read of an existing one with a new load stamp
    late = fx.ts_event("LOGIN_SUCCESSFUL", _at(10, 9), user="alice", guid="g-alice", loaded_at=NOW + timedelta(hours=1))
    fx.insert(con, "thoughtspot", "security_audit_events", [late])
    con.execute(
        "update raw_thoughtspot.security_audit_events set _loaded_at = ?"
        " where id = (select min(id) from raw_thoughtspot.security_audit_events where type = 'CREATE_ANSWER')",
        [NOW + timedelta(hours=1)],
    )
    con.close()
    _dbt(warehouse, "build")
    raw = q(
        warehouse,
        "select (select count(*) from raw_thoughtspot.security_audit_events)"
        " + (select count(*) from raw_mode.audit_logs)",
    )[0][0]
    fact, keys = q(warehouse, "select count(*), count(distinct event_key) from core.fct_audit_events")[0]
    assert fact == keys == raw
    assert q(warehouse, "select count(*) from core.fct_audit_events where source_event_id = ?", late["id"]) == [(1,)]
    after = _evidence(warehouse)
    assert after[("thoughtspot", TS, late_day)][0] == 1  # the late day appeared
    unchanged = [k for k in before if k[2] != late_day and k != ("thoughtspot", TS, late_day)]
    assert all(before[k][:2] == after[k][:2] for k in unchanged if k[0] == "mode")


def test_a_single_source_warehouse_builds(tmp_path: Path) -> None:
    path = tmp_path / "only_ts.duckdb"
    con = fx.open_warehouse(path)
    fx.create_raw_tables(con, sources=("thoughtspot",))
    fx.insert(
        con,
        "thoughtspot",
        "security_audit_events",
        [fx.ts_event("LOGIN_SUCCESSFUL", _at(1, 9), user="alice", guid="g-alice")],
    )
    con.close()
    _dbt(path, "build")
    assert q(path, "select source_system, count(*) from core.fct_audit_events group by 1") == [("thoughtspot", 1)]


def test_a_failing_build_raises_and_names_the_node(tmp_path: Path) -> None:
    path = tmp_path / "broken.duckdb"
    con = fx.open_warehouse(path)
    fx.create_raw_tables(con)
    row = fx.ts_event("LOGIN_SUCCESSFUL", _at(1, 9), user="alice", guid="g-alice")
    row["id"] = None  # breaks the contract: every event has a vendor id
    fx.insert(con, "thoughtspot", "security_audit_events", [row])
    con.close()
    with pytest.raises(DbtRunError, match="not_null_stg_thoughtspot__security_audit_events_source_event_id"):
        _dbt(path, "build", "--select", "stg_thoughtspot__security_audit_events")


# Columns that depend on when a build or a read ran, not on the data.
_VOLATILE_COLUMNS = {
    "rpt_integrity_chain": ["sealed_at"],
    "rpt_access_review": ["review_as_of", "days_inactive", "is_dormant"],
    "rpt_api_tokens": ["token_age_days"],
    "findings": ["detected_at", "updated_at"],
}
# compliance.findings keeps the findings the marts no longer flag (status resolved): history a rebuild cannot have
_ROWS_COMPARED = {"findings": " where status = 'open'"}


def _differences(incremental: Path, rebuilt: Path) -> dict[str, tuple[int, int]]:
    """Per core / compliance relation: (rows only in `incremental`, rows only in `rebuilt`)."""
    con = duckdb.connect(str(incremental), read_only=True)
    try:
        con.execute(f"attach '{rebuilt}' as rebuilt (read_only)")
        catalog = incremental.stem
        relations = con.execute(
            "select table_schema, table_name from information_schema.tables"
            " where table_catalog = ? and table_schema in ('core', 'compliance') order by all",
            [catalog],
        ).fetchall()
        found = {}
        for schema, table in relations:
            volatile = _VOLATILE_COLUMNS.get(table)
            columns = f"* exclude ({', '.join(volatile)})" if volatile else "*"
            where = _ROWS_COMPARED.get(table, "")
            mine = f'select {columns} from "{catalog}".{schema}.{table}{where}'
            theirs = f"select {columns} from rebuilt.{schema}.{table}{where}"
            only_mine = con.execute(f"select count(*) from ({mine} except all {theirs})").fetchone()[0]
            only_theirs = con.execute(f"select count(*) from ({theirs} except all {mine})").fetchone()[0]
            found[f"{schema}.{table}"] = (only_mine, only_theirs)
        return found
    finally:
        con.close()


def test_incremental_builds_equal_a_full_rebuild(warehouse: Path, tmp_path: Path) -> None:
    """Events that change flags on rows stored by earlier builds, loaded in a later build, must leave
    every incremental model exactly as a rebuild from scratch would."""
    later = NOW + timedelta(hours=3)
    report = {"entity_type": "report", "entity_id": "r1", "entity_name": "Report 1"}
    con = fx.open_warehouse(warehouse)
    fx.insert(
        con,
        "mode",
        "audit_logs",
        [
            # tok-orphan, stored as never revoked, is revoked now
            fx.mode_event(
                "api_token_workspace_revoked",
                _at(0, 1),
                user="jane",
                loaded_at=later,
                entity={"entity_type": "api_token", "entity_id": "tok-orphan", "entity_name": "tok-orphan"},
            ),
            # the deleted "departed" acts once more
            fx.mode_event(
                "export_data_sql_exported",
                _at(1, 20),
                user="departed",
                user_id="id-departed",
                loaded_at=later,
                entity={"entity_type": "query", "entity_id": "q1", "entity_name": "Query 1"},
            ),
            # a late burst of eve's exports 12 days ago, before she had any history (so not anomalous itself); it
            # raises her later baselines
            *[
                fx.mode_event(
                    "export_data_report_exported_csv", _at(12, 13, i), user="eve", entity=report, loaded_at=later
                )
                for i in range(12)
            ],
        ],
    )
    fx.insert(
        con,
        "thoughtspot",
        "security_audit_events",
        [
            # late: root.admin had added themselves to grp-2 before granting it AUTHORING (stored as no self-grant)
            fx.ts_event(
                "PRINCIPALS_IN_GROUP_UPDATE",
                _at(2, 16, 15),
                user="root.admin",
                guid="g-admin",
                loaded_at=later,
                data={"groupID": "grp-2", "requestedUsersInGroup": [{"id": "g-admin"}]},
            ),
            # late: carol was deleted before her (stored) last login
            fx.ts_event(
                "USERS_DELETED",
                _at(125, 10),
                user="root.admin",
                guid="g-admin",
                loaded_at=later,
                data={"userGUIDs": [{"id": "g-carol"}]},
            ),
        ],
    )
    con.close()
    _dbt(warehouse, "build")

    tokens = dict(q(warehouse, "select token_id, is_never_revoked from compliance.rpt_api_tokens where is_issuance"))
    assert tokens == {"tok-orphan": False, "tok-ok": False}
    grants = dict(
        q(
            warehouse,
            "select target_name, is_self_grant from compliance.rpt_privileged_changes"
            " where event_type = 'PRIVILEGE_CHANGES'",
        )
    )
    assert grants == {"ops": True, "analysts": True}
    leavers = dict(
        q(
            warehouse,
            "select user_name, events_after_deletion from compliance.rpt_user_lifecycle"
            " where lifecycle_action = 'delete'",
        )
    )
    assert leavers == {"departed": 2, "former.employee": 1, "carol": 1}
    anomalies = q(
        warehouse, "select export_date, user_day_events from compliance.rpt_data_exports where is_anomalous order by 1"
    )
    assert anomalies == [(_at(1, 0).date(), 15)]
    burst = q(
        warehouse,
        "select prior_active_days, is_anomalous from compliance.rpt_data_exports"
        " where user_name = 'eve' and export_date = ?",
        _at(12, 0).date(),
    )
    assert burst == [(0, False)]

    rebuilt = tmp_path / "rebuilt.duckdb"
    shutil.copyfile(warehouse, rebuilt)
    _dbt(rebuilt, "run", "--full-refresh")
    differences = _differences(warehouse, rebuilt)
    assert "compliance.rpt_data_exports" in differences and "core.fct_audit_events" in differences
    assert {name: diff for name, diff in differences.items() if diff != (0, 0)} == {}
