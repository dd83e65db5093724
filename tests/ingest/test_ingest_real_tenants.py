"""Real-tenant behaviour against the simulators' documented variants (issue 8): every org explicitly, every
envelope and time form, failing windows split, concurrent windows with faults, never a silent zero."""

from __future__ import annotations

import copy
from datetime import datetime, timedelta, timezone

import pytest

from pipelines.ingest_runner import make_pipeline, run_ingest
from pipelines.simulators import FaultPlan, ModeSimulator, ThoughtSpotSimulator
from pipelines.simulators.mode_api import ENVELOPES, HAL_ENVELOPE, UNKNOWN_ENVELOPES
from tests.ingest.conftest import event_ids, history, only, point_at_mode, point_at_thoughtspot, rows, table_exists

TS_EVENTS = "raw_thoughtspot.security_audit_events"
MODE_EVENTS = "raw_mode.audit_logs"


def _quiet(**overrides):
    return only(run_ingest(["thoughtspot"], progress=lambda _: None, **overrides))


def _instances(source: str, resource: str) -> dict:
    state = make_pipeline(source).state
    return copy.deepcopy(state["sources"][source]["resources"][resource].get("instances", {}))


# --------------------------------------------------------------------------- ThoughtSpot orgs


def test_a_cluster_admin_reads_every_org_with_one_org0_token_even_when_the_default_org_is_another(
    warehouse, monkeypatch
):
    # default_org="last" with key_org=1: a token minted without org_id would land in Org 1 and read Org 1 only.
    with ThoughtSpotSimulator(
        history=history(days=3, per_day=60), orgs=(0, 1, 2), default_org="last", key_org=1
    ) as sim:
        point_at_thoughtspot(monkeypatch, sim)
        summary = _quiet(until=sim.clock.now().isoformat())
        assert summary.error is None, summary.error
        ids = event_ids(warehouse, TS_EVENTS)
        assert len(ids) == len(set(ids)) and set(ids) == sim.expected_event_ids()
        by_org = sim.expected_event_ids_by_org()
        assert {0, 1, 2} <= set(by_org)
        loaded_orgs = {r[0] for r in rows(warehouse, f"select distinct org_id from {TS_EVENTS}")}
        assert {0, 1, 2} <= loaded_orgs
        # One all-orgs read: the instance's own cursor, windows rows for the whole cluster (org_id null).
        assert list(_instances("thoughtspot", "security_audit_events")) == [sim.host_id]
        assert rows(warehouse, "select distinct org_id from raw_thoughtspot.ingest_windows") == [(None,)]


def test_configured_orgs_get_one_token_each_and_their_own_cursor_and_coverage(warehouse, monkeypatch):
    # The account administers Orgs 1 and 2 only and is no member of Org 0: it must say which orgs to read.
    with ThoughtSpotSimulator(
        history=history(days=3, per_day=60), orgs=(0, 1, 2), admin_orgs=(1, 2), default_org="last", key_org=2
    ) as sim:
        point_at_thoughtspot(monkeypatch, sim)
        refused = _quiet(until=sim.clock.now().isoformat())
        assert refused.error is not None and "SOURCES__THOUGHTSPOT__ORG_IDS" in refused.error
        assert not table_exists(warehouse, "raw_thoughtspot", "security_audit_events")

        monkeypatch.setenv("SOURCES__THOUGHTSPOT__ORG_IDS", "1,2")
        summary = _quiet(until=sim.clock.now().isoformat())
        assert summary.error is None, summary.error
        ids = event_ids(warehouse, TS_EVENTS)
        assert len(ids) == len(set(ids)) and set(ids) == sim.expected_event_ids(orgs=(1, 2))
        assert set(ids).isdisjoint(sim.expected_event_ids(orgs=(0, -1)))
        state = _instances("thoughtspot", "security_audit_events")
        assert set(state) == {f"{sim.host_id}/org/1", f"{sim.host_id}/org/2"}
        assert all(s["cursor"] for s in state.values())
        per_org = rows(
            warehouse,
            "select org_id, count(*), min(window_start), max(window_end), sum(new_events) "
            "from raw_thoughtspot.ingest_windows group by org_id order by org_id",
        )
        assert [r[0] for r in per_org] == [1, 2] and per_org[0][1:4] == per_org[1][1:4]
        assert sum(r[4] for r in per_org) == len(ids)


# --------------------------------------------------------------------------- shapes: never a silent zero


@pytest.mark.parametrize("envelope", [*ENVELOPES, HAL_ENVELOPE])
def test_every_recognised_mode_envelope_loads_everything(warehouse, monkeypatch, envelope):
    with ModeSimulator(
        history=history(days=2, per_day=60), page_size=15, envelope=envelope, log_own_access=False
    ) as sim:
        point_at_mode(monkeypatch, sim)
        summary = only(run_ingest(["mode"], progress=lambda _: None, until=sim.clock.now().isoformat()))
        assert summary.error is None, summary.error
        ids = event_ids(warehouse, MODE_EVENTS)
        assert len(ids) == len(set(ids)) and set(ids) == sim.expected_event_ids(as_of=sim.clock.now())


@pytest.mark.parametrize("envelope", UNKNOWN_ENVELOPES)
def test_an_unknown_mode_envelope_fails_and_marks_nothing_done(warehouse, monkeypatch, envelope):
    with ModeSimulator(history=history(days=2, per_day=60), page_size=15, log_own_access=False) as sim:
        point_at_mode(monkeypatch, sim)
        first = only(run_ingest(["mode"], progress=lambda _: None, until=sim.clock.now().isoformat()))
        assert first.error is None, first.error
        cursor = _instances("mode", "audit_logs")[sim.workspace]["cursor"]
        windows_before = rows(warehouse, "select count(*) from raw_mode.ingest_windows")[0][0]
        sim.envelope = envelope
        sim.add_events(5, sim.clock.now() - timedelta(minutes=20), sim.clock.now() - timedelta(minutes=5))
        sim.clock.advance(timedelta(minutes=30))
        failed = only(run_ingest(["mode"], progress=lambda _: None, until=sim.clock.now().isoformat()))
        assert failed.error is not None and "does not recognise" in failed.error
        assert "cursor did not move" in failed.error
        assert failed.new_events == 0
        assert _instances("mode", "audit_logs")[sim.workspace]["cursor"] == cursor
        assert rows(warehouse, "select count(*) from raw_mode.ingest_windows")[0][0] == windows_before


def test_an_empty_mode_envelope_is_a_fine_zero(warehouse, monkeypatch):
    with ModeSimulator(history=history(days=1, per_day=30), envelope="empty") as sim:
        point_at_mode(monkeypatch, sim)
        summary = only(run_ingest(["mode"], progress=lambda _: None, until=sim.clock.now().isoformat()))
        assert summary.error is None and summary.new_events == 0 and summary.windows >= 1


@pytest.mark.parametrize("shape", ["logs_object", "html"])
def test_a_thoughtspot_body_that_is_not_a_record_array_fails_the_window(warehouse, monkeypatch, shape):
    with ThoughtSpotSimulator(history=history(days=2, per_day=40), response_shape=shape) as sim:
        point_at_thoughtspot(monkeypatch, sim)
        failed = _quiet(until=sim.clock.now().isoformat())
        assert failed.error is not None and ("array" in failed.error or "not JSON" in failed.error)
        assert not table_exists(warehouse, "raw_thoughtspot", "ingest_windows")


# --------------------------------------------------------------------------- time formats


@pytest.mark.parametrize("time_format", ["documented", "mixed"])
def test_every_documented_time_form_loads_with_its_instant(warehouse, monkeypatch, time_format):
    with ThoughtSpotSimulator(history=history(days=3, per_day=60), time_format=time_format) as sim:
        point_at_thoughtspot(monkeypatch, sim)
        summary = _quiet(until=sim.clock.now().isoformat())
        assert summary.error is None and summary.quarantined == 0, summary
        ids = event_ids(warehouse, TS_EVENTS)
        assert set(ids) == sim.expected_event_ids() and len(ids) == len(set(ids))
        # Events whose `ts` and `date` lie on either side of a boundary: windows filter on `date`.
        straddlers = sim.straddling_events()
        assert straddlers
        loaded = dict((r[0], r[1]) for r in rows(warehouse, f"select id, date from {TS_EVENTS}"))
        for event in straddlers:
            # The documented form carries whole seconds only.
            at = datetime(1970, 1, 1, tzinfo=timezone.utc) + timedelta(microseconds=event["date_us"])
            assert loaded[event["id"]].replace(microsecond=0) == at.replace(microsecond=0), event


# --------------------------------------------------------------------------- windows that fit the tenant


def test_windows_the_vendor_keeps_failing_on_are_split_never_skipped(warehouse, monkeypatch):
    faults = FaultPlan(fail_windows_longer_than=timedelta(hours=5), window_fail_status=503)
    with ThoughtSpotSimulator(history=history(days=2, per_day=80), faults=faults) as sim:
        point_at_thoughtspot(monkeypatch, sim)
        monkeypatch.setenv("RUNTIME__REQUEST_MAX_ATTEMPTS", "2")
        summary = _quiet(until=sim.clock.now().isoformat())
        assert summary.error is None, summary.error
        ids = event_ids(warehouse, TS_EVENTS)
        assert set(ids) == sim.expected_event_ids() and len(ids) == len(set(ids))
        spans = rows(
            warehouse, "select window_start, window_end from raw_thoughtspot.ingest_windows order by window_start"
        )
        assert all(a[1] == b[0] for a, b in zip(spans, spans[1:]))
        assert any(e["status"] == 503 for e in sim.request_log)


def test_a_window_that_times_out_is_split_with_the_configured_timeout(warehouse, monkeypatch):
    faults = FaultPlan(slow_windows_longer_than=timedelta(hours=7), window_slow_seconds=2.5)
    with ThoughtSpotSimulator(history=history(days=1, per_day=40), faults=faults) as sim:
        point_at_thoughtspot(monkeypatch, sim)
        monkeypatch.setenv("RUNTIME__REQUEST_MAX_ATTEMPTS", "1")
        monkeypatch.setenv("SOURCES__THOUGHTSPOT__REQUEST_TIMEOUT_SECONDS", "1")
        monkeypatch.setenv("SOURCES__THOUGHTSPOT__WINDOW_HOURS", "12")
        lines: list[str] = []
        summary = only(
            run_ingest(
                ["thoughtspot"],
                progress=lines.append,
                until=sim.clock.now().isoformat(),
                start=(sim.clock.now() - timedelta(hours=36)).isoformat(),
            )
        )
        assert summary.error is None, summary.error
        assert len([line for line in lines if "within the request timeout" in line and "two halves" in line]) == 3
        assert summary.windows == 3  # 12-hour windows as configured, each fetched in halves
        ids = event_ids(warehouse, TS_EVENTS)  # the 1-day history lies inside the 36 hours read
        assert set(ids) == sim.expected_event_ids() and len(ids) == len(set(ids))


def test_concurrent_windows_with_faults_load_everything_once(warehouse, monkeypatch):
    faults = FaultPlan()
    with ThoughtSpotSimulator(history=history(days=6, per_day=60), faults=faults) as sim:
        point_at_thoughtspot(monkeypatch, sim)
        monkeypatch.setenv("SOURCES__THOUGHTSPOT__CONCURRENT_WINDOWS", "4")
        faults.fail_next(503, 3)
        faults.fail_next(429, 2)
        summary = _quiet(until=sim.clock.now().isoformat())
        assert summary.error is None, summary.error
        ids = event_ids(warehouse, TS_EVENTS)
        assert set(ids) == sim.expected_event_ids() and len(ids) == len(set(ids))
        spans = rows(
            warehouse, "select window_start, window_end from raw_thoughtspot.ingest_windows order by window_start"
        )
        assert all(a[1] == b[0] for a, b in zip(spans, spans[1:]))
        cursor = _instances("thoughtspot", "security_audit_events")[sim.host_id]["cursor"]
        assert cursor.startswith(spans[-1][1].astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S"))


def test_a_window_that_fails_at_the_floor_marks_nothing_done(warehouse, monkeypatch):
    faults = FaultPlan(fail_windows_longer_than=timedelta(minutes=1), window_fail_status=500)
    with ThoughtSpotSimulator(history=history(days=2, per_day=40), faults=faults) as sim:
        point_at_thoughtspot(monkeypatch, sim)
        monkeypatch.setenv("RUNTIME__REQUEST_MAX_ATTEMPTS", "1")
        monkeypatch.setenv("SOURCES__THOUGHTSPOT__MIN_WINDOW_MINUTES", "360")
        failed = _quiet(until=sim.clock.now().isoformat())
        assert failed.error is not None and "floor" in failed.error and "cursor did not move" in failed.error
        assert not table_exists(warehouse, "raw_thoughtspot", "ingest_windows")


# --------------------------------------------------------------------------- keep progress


def test_a_failure_mid_backfill_keeps_the_finished_batches_and_the_next_run_resumes_there(warehouse, monkeypatch):
    with ThoughtSpotSimulator(history=history(days=29, per_day=40)) as sim:
        point_at_thoughtspot(monkeypatch, sim)
        monkeypatch.setenv("AUDITLAKE_BATCH_WINDOWS", "8")
        window_lines: list[str] = []

        def break_after_the_eighth_window(line: str) -> None:
            if " window " in line and "fetched" in line:
                window_lines.append(line)
                if len(window_lines) == 8:
                    sim.response_shape = "html"  # every later window fails (read per request)

        until = sim.clock.now().isoformat()
        failed = only(run_ingest(["thoughtspot"], progress=break_after_the_eighth_window, until=until))
        assert failed.error is not None and failed.windows == 8
        assert "kept 8 windows" in failed.line()
        kept = rows(warehouse, "select count(*), max(window_end) from raw_thoughtspot.ingest_windows")
        assert kept[0][0] == 8
        cursor = _instances("thoughtspot", "security_audit_events")[sim.host_id]["cursor"]
        assert cursor.startswith(kept[0][1].astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S"))

        sim.response_shape = "array"
        resumed = only(run_ingest(["thoughtspot"], progress=lambda _: None, until=until))
        assert resumed.error is None, resumed.error
        assert resumed.window_start == kept[0][1] - timedelta(minutes=60)  # the overlap before the cursor
        ids = event_ids(warehouse, TS_EVENTS)
        assert len(ids) == len(set(ids)) and set(ids) == sim.expected_event_ids()


def test_a_refused_password_suggests_the_secret_key(warehouse, monkeypatch):
    with ThoughtSpotSimulator(history=history(days=1, per_day=10), password="right-password-1") as sim:
        monkeypatch.setenv("SOURCES__THOUGHTSPOT__BASE_URL", sim.base_url)
        monkeypatch.setenv("SOURCES__THOUGHTSPOT__USERNAME", sim.username)
        monkeypatch.setenv("SOURCES__THOUGHTSPOT__PASSWORD", "wrong-password-1")
        failed = _quiet(until=sim.clock.now().isoformat())
        assert failed.error is not None and "SOURCES__THOUGHTSPOT__PASSWORD" in failed.error
        assert "multi-factor" in failed.error and "SOURCES__THOUGHTSPOT__SECRET_KEY" in failed.error
        assert "wrong-password-1" not in failed.error and "right-password-1" not in failed.error


def test_a_package_cut_short_by_a_kill_is_discarded_and_its_windows_read_again(warehouse, monkeypatch):
    import shutil

    from pipelines import settings
    from pipelines.ingest_runner import build_source

    with ThoughtSpotSimulator(history=history(days=5, per_day=40)) as sim:
        point_at_thoughtspot(monkeypatch, sim)
        until = sim.clock.now().isoformat()
        assert _quiet(until=until, start=(sim.clock.now() - timedelta(days=6)).isoformat()).error is None
        loaded = set(event_ids(warehouse, TS_EVENTS))
        # The next run is killed while it writes its package: extracted, its job folder never written.
        sim.add_events(6, sim.clock.now() - timedelta(minutes=20), sim.clock.now() - timedelta(minutes=10))
        sim.clock.advance(timedelta(minutes=40))
        until = sim.clock.now().isoformat()
        pipeline = make_pipeline("thoughtspot")
        pipeline.extract(build_source("thoughtspot", progress=lambda _: None, until=until))
        extracted = list((settings.pipelines_dir() / "auditlake_thoughtspot" / "normalize" / "extracted").glob("*"))
        assert extracted and pipeline.has_pending_data
        for package in extracted:
            shutil.rmtree(package / "new_jobs")
        lines: list[str] = []
        rerun = only(run_ingest(["thoughtspot"], progress=lines.append, until=until))
        assert rerun.error is None, rerun.error
        assert any("interrupted load cannot be finished" in line for line in lines)
        ids = event_ids(warehouse, TS_EVENTS)
        assert len(ids) == len(set(ids)) and set(ids) == sim.expected_event_ids() and loaded < set(ids)
