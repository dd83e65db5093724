"""Entitlement snapshots over real HTTP against the simulators, into a real DuckDB: paging, org scoping, 429s,
all-or-nothing snapshots, refusals that name the privilege, scd2 history."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from pipelines import cli
from pipelines.ingest_runner import run_ingest
from pipelines.simulators import HistoryConfig, ModeSimulator, ThoughtSpotSimulator
from pipelines.simulators.thoughtspot_state_api import expected_users
from tests.conftest import point_at

TS = "thoughtspot_entitlements"
MODE = "mode_entitlements"


def rows(path: Path, sql: str) -> list[tuple]:
    with duckdb.connect(str(path), read_only=True) as con:
        return con.execute(sql).fetchall()


def current(table: str, schema: str = "raw_thoughtspot_entitlements") -> str:
    return f"{schema}.{table} where valid_to is null"


@pytest.fixture
def ts_sim():
    with ThoughtSpotSimulator(history=HistoryConfig(days=10, events_per_day=150, seed=11)) as sim:
        yield sim


@pytest.fixture
def mode_sim():
    with ModeSimulator(history=HistoryConfig(days=10, events_per_day=60, seed=12)) as sim:
        yield sim


def test_thoughtspot_pages_every_user_and_reads_groups_in_each_org(warehouse, ts_sim, monkeypatch):
    point_at(monkeypatch, ts_sim, "thoughtspot")
    monkeypatch.setenv("SOURCES__THOUGHTSPOT__ENTITLEMENTS_PAGE_SIZE", "7")
    [summary] = run_ingest([TS], progress=lambda _: None)
    assert summary.ok, summary.error
    truth = expected_users(ts_sim)
    loaded = dict(rows(warehouse, f"select user_id, account_status from {current('ts_users')}"))
    assert loaded == {guid: row["account_status"] for guid, row in truth.items()}
    pages = [e for e in ts_sim.request_log if e["path"].endswith("users/search")]
    assert len(pages) == -(-len(truth) // 7) + 1  # every page, then the empty page that ends the walk
    privileges = rows(
        warehouse, f"select user_id, list(privilege order by privilege) from {current('ts_user_privileges')} group by 1"
    )
    assert dict(privileges) == {g: row["privileges"] for g, row in truth.items() if row["privileges"]}
    # Groups are org-scoped: each org's groups come from a token minted in that org, and only those.
    state = ts_sim.directory.state_at(ts_sim.clock.now())
    by_org = rows(warehouse, f"select org_id, list(group_id order by group_id) from {current('ts_groups')} group by 1")
    assert {org: sorted(ids) for org, ids in by_org} == {
        org: sorted(g.guid for g in state.groups.values() if g.org == org) for org in (0, 1, 2)
    }
    assert rows(
        warehouse, "select count(*), bool_and(is_complete) from raw_thoughtspot_entitlements.snapshot_runs"
    ) == [(1, True)]


def test_a_token_expiring_mid_snapshot_is_renewed(warehouse, ts_sim, monkeypatch):
    point_at(monkeypatch, ts_sim, "thoughtspot")
    monkeypatch.setenv("SOURCES__THOUGHTSPOT__ENTITLEMENTS_PAGE_SIZE", "10")
    from pipelines.sources.thoughtspot_entitlements import ts_entitlements_client as client_module

    original = client_module.ThoughtSpotStateClient.search
    calls = {"n": 0}

    def search_then_expire(self, path, org, extra=None):  # every token dies after the first listing
        calls["n"] += 1
        if calls["n"] == 2:
            ts_sim.expire_tokens()
        return original(self, path, org, extra)

    monkeypatch.setattr(client_module.ThoughtSpotStateClient, "search", search_then_expire)
    [summary] = run_ingest([TS], progress=lambda _: None)
    assert summary.ok, summary.error
    assert any(e["status"] == 401 for e in ts_sim.request_log)
    assert rows(warehouse, "select count(*) from raw_thoughtspot_entitlements.snapshot_runs") == [(1,)]


def test_configured_orgs_only(warehouse, ts_sim, monkeypatch):
    point_at(monkeypatch, ts_sim, "thoughtspot")
    monkeypatch.setenv("SOURCES__THOUGHTSPOT__ORG_IDS", "0,2")
    [summary] = run_ingest([TS], progress=lambda _: None)
    assert summary.ok, summary.error
    assert rows(warehouse, f"select distinct org_id from {current('ts_groups')} order by 1") == [(0,), (2,)]
    assert rows(warehouse, f"select org_id from {current('ts_orgs')} order by 1") == [(0,), (2,)]
    monkeypatch.setenv("SOURCES__THOUGHTSPOT__ORG_IDS", "0,99")
    [summary] = run_ingest([TS], progress=lambda _: None)
    assert "SOURCES__THOUGHTSPOT__ORG_IDS names orgs [99]" in summary.error


def test_rate_limits_are_retried_and_a_failed_page_records_no_snapshot(warehouse, ts_sim, monkeypatch):
    point_at(monkeypatch, ts_sim, "thoughtspot")
    monkeypatch.setenv("SOURCES__THOUGHTSPOT__ENTITLEMENTS_PAGE_SIZE", "5")
    ts_sim.faults.fail_next(429, count=3)
    [summary] = run_ingest([TS], progress=lambda _: None)
    assert summary.ok, summary.error
    assert sum(e["status"] == 429 for e in ts_sim.request_log) == 3
    before = rows(warehouse, "select count(*) from raw_thoughtspot_entitlements.ts_users")
    # Every later users/search page fails for good: the whole snapshot fails and nothing of it is written.
    ts_sim.users_search_fails_from_offset = 10
    [summary] = run_ingest([TS], progress=lambda _: None)
    assert not summary.ok and "users/search in Org 0 failed with HTTP 500" in summary.error
    assert "after retries; the snapshot is not recorded" in summary.error
    assert rows(warehouse, "select count(*) from raw_thoughtspot_entitlements.snapshot_runs") == [(1,)]
    assert rows(warehouse, "select count(*) from raw_thoughtspot_entitlements.ts_users") == before
    assert rows(warehouse, "select count(*) from raw_thoughtspot_entitlements.ts_users where valid_to is not null") == [
        (0,)
    ]


@pytest.mark.parametrize("shape", ["logs_object", "html"])
def test_an_unknown_body_fails_the_snapshot_loudly(warehouse, ts_sim, monkeypatch, shape):
    point_at(monkeypatch, ts_sim, "thoughtspot")
    assert run_ingest([TS], progress=lambda _: None)[0].ok
    ts_sim.response_shape = shape
    [summary] = run_ingest([TS], progress=lambda _: None)
    assert not summary.ok
    expected = "expected an array of objects (documented): unknown shape" if shape == "logs_object" else "not JSON"
    assert expected in summary.error
    # The state is still the first snapshot's: nothing retired, no second snapshot recorded.
    assert rows(warehouse, "select count(*) from raw_thoughtspot_entitlements.snapshot_runs") == [(1,)]
    assert rows(warehouse, "select count(*) from raw_thoughtspot_entitlements.ts_users where valid_to is not null") == [
        (0,)
    ]


def test_a_user_without_the_privilege_gets_one_line_naming_it(warehouse, ts_sim, monkeypatch, capsys):
    point_at(monkeypatch, ts_sim, "thoughtspot")
    monkeypatch.setenv("SOURCES__THOUGHTSPOT__USERNAME", ts_sim.viewer_username)
    assert cli.main(["ingest", "--source", TS]) == 1
    captured = capsys.readouterr()
    out = captured.out + captured.err
    failed = [line for line in out.splitlines() if "FAILED" in line]
    assert len(failed) == 1
    assert (
        "needs ORG_ADMINISTRATION (Can administer Org), or list the orgs to read in "
        "SOURCES__THOUGHTSPOT__ORG_IDS" in failed[0]
    )
    # With the orgs named, the next refusal is the listing of users: partial rows are refused, not loaded.
    monkeypatch.setenv("SOURCES__THOUGHTSPOT__ORG_IDS", "0")
    assert cli.main(["ingest", "--source", TS]) == 1
    captured = capsys.readouterr()
    out = captured.out + captured.err
    failed = [line for line in out.splitlines() if "FAILED" in line]
    assert len(failed) == 1
    assert "complete_detail false" in failed[0]
    assert "needs ADMINISTRATION (with RBAC: USER_ADMINISTRATION)" in failed[0]
    assert ts_sim.secret_key not in out


def test_mode_without_a_workspace_admin_token_names_it(warehouse, monkeypatch, capsys):
    with ModeSimulator(history=HistoryConfig(days=3, events_per_day=20, seed=3), admin_token=False) as sim:
        point_at(monkeypatch, sim, "mode")
        assert cli.main(["ingest", "--source", MODE]) == 1
    captured = capsys.readouterr()
    out = captured.out + captured.err
    failed = [line for line in out.splitlines() if "FAILED" in line]
    assert len(failed) == 1 and "needs a Workspace API token" in failed[0]
    assert sim.api_secret not in out


@pytest.mark.parametrize("listing", [False, True])
def test_mode_pages_by_the_counters_and_falls_back_to_memberships_lite(warehouse, mode_sim, monkeypatch, listing):
    mode_sim.memberships_listing = listing
    mode_sim.state_max_per_page = 4  # the 30-item cap, made small so every listing spans pages
    mode_sim.faults.fail_next(429, count=2)  # Mode's ~4 requests/s limit: retried after Retry-After
    point_at(monkeypatch, mode_sim, "mode")
    [summary] = run_ingest([MODE], progress=lambda _: None)
    assert summary.ok, summary.error
    state = mode_sim.directory.state_at(mode_sim.clock.now())
    schema = "raw_mode_entitlements"
    members = dict(rows(warehouse, f"select member_token, is_admin from {current('mode_memberships', schema)}"))
    assert members == {m.token: m.admin for m in state.members.values()}
    pairs = set(rows(warehouse, f"select group_token, member_token from {current('mode_group_memberships', schema)}"))
    assert pairs == {(g, m.token) for m in state.members.values() for g in m.groups}
    paths = [e["path"] for e in mode_sim.request_log]
    assert paths.count(f"/api/{mode_sim.workspace}/groups") == 2  # 5 groups, 4 a page: pages 1 and 2
    assert (f"/api/{mode_sim.workspace}/memberships/lite" in paths) is not listing
    assert sum(e["status"] == 429 for e in mode_sim.request_log) == 2


@pytest.mark.parametrize("shape", ["array", "unknown"])
def test_mode_lite_listing_shapes(warehouse, mode_sim, monkeypatch, shape):
    mode_sim.memberships_lite_shape = shape
    point_at(monkeypatch, mode_sim, "mode")
    [summary] = run_ingest([MODE], progress=lambda _: None)
    if shape == "array":  # a bare array of member rows is unambiguous
        assert summary.ok, summary.error
        count = rows(warehouse, f"select count(*) from {current('mode_memberships', 'raw_mode_entitlements')}")
        assert count == [(len(mode_sim.directory.state_at(mode_sim.clock.now()).members),)]
    else:
        assert not summary.ok and "/memberships/lite has no `_embedded` object: unknown shape" in summary.error
        assert rows(
            warehouse, "select count(*) from information_schema.tables where table_schema = 'raw_mode_entitlements'"
        ) == [(0,)]


def test_scd2_keeps_what_changed_between_snapshots(warehouse, mode_sim, monkeypatch):
    from datetime import timedelta

    point_at(monkeypatch, mode_sim, "mode")
    mode_sim.clock.advance(timedelta(days=-9))
    first = mode_sim.clock.now()
    assert run_ingest([MODE], progress=lambda _: None, snapshot_at=first.isoformat())[0].ok
    mode_sim.clock.advance(timedelta(days=9))
    assert run_ingest([MODE], progress=lambda _: None, snapshot_at=mode_sim.clock.now().isoformat())[0].ok
    leaver = mode_sim.scenarios["leaver_activity"]["user_id"]
    versions = rows(
        warehouse,
        f"select valid_from, valid_to from raw_mode_entitlements.mode_memberships where member_token = '{leaver}'",
    )
    [(valid_from, valid_to)] = versions
    assert valid_from.isoformat()[:19] == first.isoformat()[:19] and valid_to is not None  # removed in between
    assert rows(warehouse, "select count(*) from raw_mode_entitlements.snapshot_runs") == [(2,)]


def test_two_clusters_snapshot_into_the_same_tables_without_retiring_each_other(warehouse, monkeypatch):
    """Several tenants: scd2 retires a row absent from a snapshot only within that snapshot's own cluster."""
    with (
        ThoughtSpotSimulator(history=HistoryConfig(days=3, events_per_day=40, seed=41)) as alpha,
        ThoughtSpotSimulator(history=HistoryConfig(days=3, events_per_day=40, seed=42)) as beta,
    ):
        for name, sim in (("ALPHA", alpha), ("BETA", beta)):
            prefix = f"SOURCES__THOUGHTSPOT__INSTANCES__{name}__"
            monkeypatch.setenv(f"{prefix}BASE_URL", sim.base_url)
            monkeypatch.setenv(f"{prefix}USERNAME", sim.username)
            monkeypatch.setenv(f"{prefix}SECRET_KEY", sim.secret_key)
        for _ in range(2):  # the second round: each snapshot sees the other cluster's rows in the table
            summaries = run_ingest([TS], progress=lambda _: None)
            assert [(s.instance, s.ok) for s in summaries] == [("alpha", True), ("beta", True)], summaries
        hosts = {sim: sim.base_url.split("://", 1)[1].rstrip("/") for sim in (alpha, beta)}
        for sim in (alpha, beta):
            loaded = rows(warehouse, f"select user_id from {current('ts_users')} and source_instance = '{hosts[sim]}'")
            assert {r[0] for r in loaded} == set(expected_users(sim)), hosts[sim]
        retired = rows(
            warehouse, "select count(*) from raw_thoughtspot_entitlements.ts_users where valid_to is not null"
        )
        assert retired == [(0,)]
