"""`auditlake ingest` as a separate process: secrets never leak, and kill -9 at any point loses nothing."""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import duckdb
import pytest

from pipelines import settings
from pipelines.ingest_runner import run_ingest
from pipelines.simulators import ModeSimulator, ThoughtSpotSimulator
from tests.ingest.conftest import event_ids, history, only, point_at_mode, point_at_thoughtspot

ROOT = settings.PROJECT_ROOT
EVENTS = "raw_thoughtspot.security_audit_events"
KILL_TEST_BATCH = 8  # windows per load in the kill test: a kill at window 12 keeps the first batch whole


def _ingest_process(args: list[str] | None = None) -> subprocess.Popen:
    env = dict(os.environ, PYTHONPATH=str(ROOT), PYTHONUNBUFFERED="1")
    # --progress: the per-window lines the chaos tests wait for (a pipe is not a terminal, so quiet by default).
    return subprocess.Popen(
        [sys.executable, "-m", "pipelines.cli", "ingest", "--progress", *(args or [])],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )


def _run_cli(args: list[str] | None = None) -> subprocess.CompletedProcess:
    proc = _ingest_process(args)
    out, err = proc.communicate(timeout=120)
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)


def _every_text_cell_containing(path: Path, needle: str) -> list[str]:
    """Every (schema.table.column) of the warehouse whose text contains `needle`."""
    con = duckdb.connect(str(path), read_only=True)
    try:
        columns = con.execute("select table_schema, table_name, column_name from information_schema.columns").fetchall()
        hits = []
        for schema, table, column in columns:
            sql = f'select count(*) from "{schema}"."{table}" where cast("{column}" as varchar) like ?'
            if con.execute(sql, [f"%{needle}%"]).fetchone()[0]:
                hits.append(f"{schema}.{table}.{column}")
        return hits
    finally:
        con.close()


def test_secrets_never_appear_in_output_or_warehouse(warehouse, monkeypatch):
    ts_secret = "ts-secret-" + secrets.token_hex(8)
    mode_token, mode_secret = "tok" + secrets.token_hex(5), "mode-secret-" + secrets.token_hex(8)
    wrong_secret = "wrong-secret-" + secrets.token_hex(8)
    with (
        ThoughtSpotSimulator(history=history(days=3, per_day=20), secret_key=ts_secret) as ts,
        ModeSimulator(history=history(days=3, per_day=20), api_token=mode_token, api_secret=mode_secret) as mode,
    ):
        point_at_thoughtspot(monkeypatch, ts)
        point_at_mode(monkeypatch, mode)
        monkeypatch.setenv("RUNTIME__LOG_LEVEL", "DEBUG")  # dlt logs request headers at DEBUG: they must be scrubbed
        ok = _run_cli()
        assert ok.returncode == 0, ok.stderr[-2000:]
        assert "thoughtspot (" in ok.stdout and "new events" in ok.stdout and "mode (acme)" in ok.stdout
        # A failing source: its wrong secret must not leak either, and the exit code says it failed.
        monkeypatch.setenv("SOURCES__THOUGHTSPOT__SECRET_KEY", wrong_secret)
        failed = _run_cli(["--source", "thoughtspot"])
        assert failed.returncode == 1
        assert "SOURCES__THOUGHTSPOT__SECRET_KEY" in failed.stderr
    basic = __import__("base64").b64encode(f"{mode_token}:{mode_secret}".encode()).decode()
    for secret in (ts_secret, mode_token, mode_secret, wrong_secret, basic):
        for result in (ok, failed):
            assert secret not in result.stdout and secret not in result.stderr
        assert _every_text_cell_containing(warehouse, secret) == []
        for file in settings.pipelines_dir().rglob("*"):
            if file.is_file():
                assert secret.encode() not in file.read_bytes(), file


def test_cli_skips_unconfigured_sources_and_says_which_variables(warehouse):
    result = _run_cli()
    assert result.returncode == 2
    assert "SOURCES__THOUGHTSPOT__BASE_URL" in result.stdout and "SOURCES__MODE__API_SECRET" in result.stdout
    assert "no source is configured" in result.stderr


def _kill_when(proc: subprocess.Popen, trigger: str, after_lines: int) -> list[str]:
    """Read the process's output; SIGKILL it at the trigger. Returns the lines seen."""
    seen: list[str] = []
    deadline = time.monotonic() + 60

    def read() -> None:
        for line in proc.stdout:
            seen.append(line)

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    while proc.poll() is None and time.monotonic() < deadline:
        windows = sum(" window " in line for line in seen)
        if (trigger == "windows" and windows >= after_lines) or (trigger == "extracted" and windows >= 30):
            break
        time.sleep(0.005)
    if trigger == "extracted":
        time.sleep(after_lines / 1000)  # into normalize / load
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    reader.join(timeout=5)
    proc.stderr.close()
    return seen


@pytest.mark.parametrize(
    "trigger, after",
    [("windows", 12), ("extracted", 0), ("extracted", 200)],
    ids=["mid-extract", "end-of-extract", "during-load"],
)
def test_kill_9_at_any_point_then_rerun_gives_exactly_the_simulator_events(warehouse, monkeypatch, trigger, after):
    with ThoughtSpotSimulator(history=history(days=29, per_day=300, malformed_every=97)) as sim:
        point_at_thoughtspot(monkeypatch, sim)
        monkeypatch.setenv("AUDITLAKE_BATCH_WINDOWS", str(KILL_TEST_BATCH))  # 29 days: several batches to kill in
        proc = _ingest_process(["--source", "thoughtspot"])
        _kill_when(proc, trigger, after)
        assert proc.returncode == -signal.SIGKILL, "the ingest finished before it could be killed"
        if trigger == "windows":  # killed mid-extract of the second batch: the first batch is kept, whole
            kept = (
                duckdb.connect(str(warehouse), read_only=True)
                .execute("select count(*), count(distinct window_start) from raw_thoughtspot.ingest_windows")
                .fetchall()
            )
            assert kept == [(KILL_TEST_BATCH, KILL_TEST_BATCH)]
        rerun = only(run_ingest(["thoughtspot"], progress=lambda _: None))
        assert rerun.error is None, rerun.error
        ids = event_ids(warehouse, EVENTS)
        assert len(ids) == len(set(ids))
        assert set(ids) == sim.expected_event_ids()
        quarantined = [
            r[0]
            for r in duckdb.connect(str(warehouse), read_only=True)
            .execute("select record from raw_thoughtspot.quarantined_records")
            .fetchall()
        ]
        assert sorted(quarantined) == sorted(sim.malformed_records())
