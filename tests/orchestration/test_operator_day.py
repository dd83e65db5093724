"""The paths an operator meets on a bad day, driven through the CLI as a user would: the console says why."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import dagster as dg
import pytest

from pipelines import settings
from tests.orchestration.conftest import REPO, auditlake, query
from tests.support.signals import default_sigint

pytestmark = pytest.mark.slow
WRONG_SECRET = "wrong-secret-do-not-print"


def test_one_vendor_down_fails_only_itself_and_says_why(product, monkeypatch):
    monkeypatch.setenv("SOURCES__THOUGHTSPOT__SECRET_KEY", WRONG_SECRET)
    result = auditlake("run", cwd=product["tmp"])
    out = result.stdout + result.stderr
    assert result.returncode == 1, out
    # One line with the cause and the fix, on the console (not only in the log file).
    failed = [line for line in result.stdout.splitlines() if line.strip().startswith("thoughtspot: FAILED:")]
    assert len(failed) == 1, result.stdout
    assert "HTTP 401" in failed[0] and "SOURCES__THOUGHTSPOT__SECRET_KEY" in failed[0]
    assert "finished with failures" in result.stdout
    assert "full log:" in result.stdout
    assert WRONG_SECRET not in out
    # Mode still loaded, transformed and reached analysts in the same run.
    mode_events = query(product["warehouse"], "select count(*) from core.fct_audit_events where source_system = 'mode'")
    assert mode_events[0][0] > 0
    published = settings.published_path()
    assert query(published, "select count(*) from core.fct_audit_events where source_system = 'mode'") == mode_events
    # The run is in the project's Dagster history, listed under its job in the UI.
    with dg.DagsterInstance.from_config(str(product["tmp"] / "dagster_home")) as instance:
        runs = instance.get_runs()
        assert [r.job_name for r in runs] == ["refresh"]
        assert runs[0].tags.get(".dagster/repository") == "__repository__@auditlake"


def test_bad_arguments_are_refused_before_anything_starts(product):
    for args, expected in [
        (("run", "--since", "lastweek"), "'lastweek' is not a date or time"),
        (("ingest", "--until", "2026-13-45"), "is not a date or time"),
        (("demo", "--days", "0"), "out of range"),
        (("query", "  "), "empty SQL"),
    ]:
        result = auditlake(*args, cwd=product["tmp"])
        assert result.returncode == 2, (args, result.stdout, result.stderr)
        assert expected in result.stderr, (args, result.stderr)
    assert not product["warehouse"].exists()


def test_unwritable_warehouse_folder_is_one_line(product, tmp_path):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the warehouse folder should be")
    env = {"AUDITLAKE_WAREHOUSE": str(blocker / "auditlake.duckdb")}
    for command in ("ingest", "status"):
        result = auditlake(command, cwd=product["tmp"], env=env)
        assert result.returncode == 2, result.stderr
        lines = [line for line in result.stderr.splitlines() if line.strip()]
        assert len(lines) == 1 and "Traceback" not in result.stderr, result.stderr
        assert str(blocker) in lines[0] and "AUDITLAKE_WAREHOUSE" in lines[0]


def test_commands_work_from_any_directory_with_the_project_home(product, tmp_path, monkeypatch):
    home = tmp_path / "home"
    (home / ".dlt").mkdir(parents=True)
    ts = product["thoughtspot"]
    # Secrets only in the project's .dlt/secrets.toml: found although the command runs elsewhere.
    (home / ".dlt" / "secrets.toml").write_text(f'[sources.thoughtspot]\nsecret_key = "{ts.secret_key}"\n')
    monkeypatch.delenv("SOURCES__THOUGHTSPOT__SECRET_KEY")
    monkeypatch.delenv("AUDITLAKE_WAREHOUSE")
    monkeypatch.delenv("DLT_PROJECT_DIR")
    elsewhere = tmp_path / "somewhere" / "else"
    elsewhere.mkdir(parents=True)
    result = auditlake("ingest", "--source", "thoughtspot", cwd=elsewhere, env={"AUDITLAKE_HOME": str(home)})
    assert result.returncode == 0, result.stdout + result.stderr
    # The default warehouse (a DuckLake with its SQLite catalog) lives in the project home, not the working directory.
    catalog = home / "warehouse" / "catalog.sqlite"
    assert not (elsewhere / "warehouse").exists()
    assert query(f"ducklake:sqlite:{catalog}", "select count(*) from raw_thoughtspot.security_audit_events")[0][0] > 0
    status = auditlake("status", cwd=elsewhere, env={"AUDITLAKE_HOME": str(home)})
    assert str(catalog) in status.stdout and "thoughtspot" in status.stdout


def test_dagster_cli_works_without_an_activated_venv(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV",)}
    env["PATH"] = "/usr/bin:/bin"  # no venv on PATH: dbt must still be found
    env["DAGSTER_HOME"] = str(tmp_path)
    shutil.rmtree(REPO / "dbt_project" / "target" / "partial_parse.msgpack", ignore_errors=True)
    dagster = Path(settings.PROJECT_ROOT / ".venv" / "bin" / "dagster")
    if not dagster.exists():  # the venv lives elsewhere: use the one running the tests
        import sys

        dagster = Path(sys.executable).with_name("dagster")
    done = subprocess.run(
        [str(dagster), "definitions", "validate", "-w", str(REPO / "workspace.yaml")],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]


def test_ctrl_c_stops_ingest_within_seconds_and_nothing_is_lost(tmp_path, monkeypatch):
    import signal
    import sys
    import time
    from datetime import datetime, timedelta, timezone

    from pipelines.simulators import FaultPlan, HistoryConfig, ThoughtSpotSimulator
    from tests.conftest import clean_environment, isolate_home, point_at

    clean_environment(monkeypatch)
    isolate_home(monkeypatch, tmp_path)
    warehouse = tmp_path / "warehouse" / "auditlake.duckdb"
    monkeypatch.setenv("AUDITLAKE_WAREHOUSE", str(warehouse))
    end = datetime.now(timezone.utc) - timedelta(hours=2)
    # Every window answers after 3 s: the ingest fetches 4 windows at a time, so the 25-day backfill's fetch lasts
    # ~20 s, long enough to interrupt mid-way even when this process reads the progress late on a busy machine.
    faults = FaultPlan(slow_rate=1.0, slow_seconds=3.0)
    with ThoughtSpotSimulator(
        history=HistoryConfig(seed=5, days=25, events_per_day=60, end=end), faults=faults, late_minutes=0
    ) as ts:
        point_at(monkeypatch, ts, "thoughtspot")
        exe = Path(sys.executable).with_name("auditlake")
        process = subprocess.Popen(
            [str(exe), "ingest", "--source", "thoughtspot", "--progress"],
            cwd=tmp_path,
            env=dict(os.environ),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            preexec_fn=default_sigint,
        )
        assert process.stdout is not None
        windows = 0
        for line in process.stdout:
            windows += " window " in line
            if windows >= 3:
                break
        assert process.poll() is None, "the ingest finished before it could be interrupted: lengthen the backfill"
        interrupted_at = time.monotonic()
        process.send_signal(signal.SIGINT)
        try:
            _, err = process.communicate(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            pytest.fail("ingest was still running 15 s after Ctrl-C")
        assert time.monotonic() - interrupted_at < 10
        assert process.returncode == 130, err
        assert "interrupted" in err and "Traceback" not in err
        assert "thoughtspot: kept " in err or "no window had been committed" in err, err

        # The lock was released and the next run completes the job exactly once.
        again = auditlake("ingest", "--source", "thoughtspot", cwd=tmp_path)
        assert again.returncode == 0, again.stdout + again.stderr
        ids = [r[0] for r in query(warehouse, "select id from raw_thoughtspot.security_audit_events")]
        assert len(ids) == len(set(ids))
        assert set(ids) == ts.expected_event_ids()


def test_docs_are_generated_from_any_directory(product, tmp_path):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    result = auditlake("docs", "--no-serve", cwd=elsewhere)
    assert result.returncode == 0, result.stdout + result.stderr
    assert (REPO / "dbt_project" / "target" / "docs" / "index.html").exists()


def test_readers_never_wait_for_the_writer(product):
    import duckdb

    from pipelines.orchestration.job_runner import run_pipeline
    from pipelines.warehouse.locks import warehouse_write_lock

    assert run_pipeline().success  # a warehouse and its published copy exist
    # A writer holds the lock and the DuckDB file (as a long ingest does): status and query still answer at once.
    with warehouse_write_lock(), duckdb.connect(str(product["warehouse"])):
        status = auditlake("status", cwd=product["tmp"], timeout=60)
        assert status.returncode in (0, 1), status.stderr
        assert "a run is writing it" in status.stdout and "thoughtspot" in status.stdout
        query_result = auditlake(
            "query", "select count(*) as n from core.fct_audit_events", cwd=product["tmp"], timeout=60
        )
        assert query_result.returncode == 0, query_result.stderr


@pytest.mark.parametrize(
    "url, expected",
    [
        ("https://auditlake-test-host.invalid", "cannot resolve auditlake-test-host.invalid"),
        ("http://127.0.0.1:9", "cannot connect to 127.0.0.1:9"),
    ],
)
def test_a_wrong_base_url_fails_fast_with_one_line(product, url, expected):
    import time

    started = time.monotonic()
    result = auditlake(
        "ingest", "--source", "thoughtspot", cwd=product["tmp"], env={"SOURCES__THOUGHTSPOT__BASE_URL": url}
    )
    assert time.monotonic() - started < 30  # Python start-up included; no retries of an unreachable host
    assert result.returncode == 1, result.stdout + result.stderr
    failed = [line for line in result.stderr.splitlines() if "FAILED" in line]
    assert len(failed) == 1 and expected in failed[0] and "SOURCES__THOUGHTSPOT__BASE_URL" in failed[0], result.stderr
    assert "Traceback" not in result.stderr and "urllib3" not in result.stderr
