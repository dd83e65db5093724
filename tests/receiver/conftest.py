"""A real `auditlake receive` process on a free loopback port, its spool in the test's project home."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import warnings
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

TOKEN = "push-token-for-tests-0123456789"
BASE_URL = "https://acme.thoughtspot.cloud"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class ReceiverProcess:
    def __init__(
        self, home: Path, port: int, base_url: str, extra: list[str], scheme: str = "http", token: str | None = TOKEN
    ) -> None:
        self.home, self.port, self.base_url, self.extra, self.scheme = home, port, base_url, extra, scheme
        self.token = token  # None: no token in the environment (it is in the home's .dlt/secrets.toml)
        self.process: subprocess.Popen[bytes] | None = None
        self.log = home / f"receiver-{port}.log"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def spool(self) -> Path:
        return self.home / "spool" / "thoughtspot"

    def start(self) -> ReceiverProcess:
        env = dict(os.environ)
        env.update(
            AUDITLAKE_HOME=str(self.home),
            SOURCES__THOUGHTSPOT__BASE_URL=self.base_url,
            DAGSTER_DISABLE_TELEMETRY="1",
            RUNTIME__DLTHUB_TELEMETRY="false",
        )
        if self.token is not None:
            env["SOURCES__THOUGHTSPOT__PUSH_TOKEN"] = self.token
        command = [sys.executable, "-m", "pipelines.cli", "receive", "--port", str(self.port), *self.extra]
        with open(self.log, "ab") as log:
            self.process = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT, cwd=self.home)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"receiver exited {self.process.returncode}: {self.log.read_text()}")
            try:
                health = f"{self.scheme}://127.0.0.1:{self.port}/services/collector/health"
                with warnings.catch_warnings():  # a self-signed test certificate: only readiness is probed here
                    warnings.simplefilter("ignore")
                    ready = requests.get(health, timeout=1, verify=False).status_code == 200
                if ready:
                    return self
            except requests.RequestException:
                pass
            time.sleep(0.2)
        raise AssertionError(f"receiver did not answer in 60 s: {self.log.read_text()}")

    def kill(self) -> None:
        """SIGKILL: no shutdown code runs, as after a power cut of the process."""
        if self.process is not None and self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.kill()


class ReceiverFactory:
    def __init__(self, home: Path) -> None:
        self.home = home
        self.started: list[ReceiverProcess] = []

    def __call__(
        self,
        base_url: str = BASE_URL,
        extra: list[str] | None = None,
        port: int | None = None,
        scheme: str = "http",
        token: str | None = TOKEN,
    ) -> ReceiverProcess:
        receiver = ReceiverProcess(self.home, port or free_port(), base_url, extra or [], scheme, token).start()
        self.started.append(receiver)
        return receiver

    def stop_all(self) -> None:
        for receiver in self.started:
            receiver.stop()


@pytest.fixture
def start_receiver(warehouse: Path, tmp_path: Path) -> Iterator[ReceiverFactory]:
    """start_receiver(base_url=..., extra=[...], port=...) -> a running ReceiverProcess (all stopped at the end)."""
    factory = ReceiverFactory(tmp_path)
    yield factory
    factory.stop_all()
