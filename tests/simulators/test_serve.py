"""`auditlake simulate` as a user runs it: a real subprocess through pipelines.cli, exports that work, clean stop."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import requests

from tests.support.signals import default_sigint

ROOT = Path(__file__).resolve().parents[2]


def test_simulate_prints_working_exports_and_stops_on_sigint():
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "pipelines.cli",
            "simulate",
            "--thoughtspot-port",
            "0",
            "--mode-port",
            "0",
            "--days",
            "2",
            "--events-per-day",
            "50",
            "--late-minutes",
            "0",
            "--mode-token",
            "tok123",
            "--duration",
            "60",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
        preexec_fn=default_sigint,
    )
    try:
        exports: dict[str, str] = {}
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            line = proc.stdout.readline()
            if not line:
                break
            if line.startswith("export "):
                name, _, value = line[len("export ") :].strip().partition("=")
                exports[name] = value.strip("'")
            if line.startswith("# Ctrl-C"):
                break
        assert set(exports) == {
            "SOURCES__THOUGHTSPOT__BASE_URL",
            "SOURCES__THOUGHTSPOT__USERNAME",
            "SOURCES__THOUGHTSPOT__SECRET_KEY",
            "SOURCES__MODE__BASE_URL",
            "SOURCES__MODE__WORKSPACE",
            "SOURCES__MODE__API_TOKEN",
            "SOURCES__MODE__API_SECRET",
        }
        token = requests.post(
            exports["SOURCES__THOUGHTSPOT__BASE_URL"] + "/api/rest/2.0/auth/token/full",
            timeout=5,
            json={
                "username": exports["SOURCES__THOUGHTSPOT__USERNAME"],
                "secret_key": exports["SOURCES__THOUGHTSPOT__SECRET_KEY"],
            },
        ).json()["token"]
        logs = requests.post(
            exports["SOURCES__THOUGHTSPOT__BASE_URL"] + "/api/rest/2.0/logs/fetch",
            timeout=5,
            json={"log_type": "SECURITY_AUDIT"},
            headers={"Authorization": f"Bearer {token}"},
        )
        assert logs.status_code == 200 and len(logs.json()) > 10
        mode = requests.get(
            f"{exports['SOURCES__MODE__BASE_URL']}/api/{exports['SOURCES__MODE__WORKSPACE']}/audit_logs",
            timeout=5,
            params={"start_timestamp": "2000-01-01", "end_timestamp": "2100-01-01"},
            auth=(exports["SOURCES__MODE__API_TOKEN"], exports["SOURCES__MODE__API_SECRET"]),
        )
        assert mode.status_code == 200 and mode.json()["audit_logs"]
        assert exports["SOURCES__MODE__API_TOKEN"] == "tok123"
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=10) == 0
        assert "simulators stopped" in proc.stdout.read()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_simulate_reports_a_busy_port():
    import socket

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = subprocess.run(
            [
                sys.executable,
                "-m",
                "pipelines.cli",
                "simulate",
                "--product",
                "mode",
                "--mode-port",
                str(port),
                "--days",
                "1",
                "--duration",
                "1",
            ],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=30,
        )
    assert result.returncode == 1
    assert f"127.0.0.1:{port}" in result.stderr and "choose another port" in result.stderr
