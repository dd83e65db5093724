"""A push token rotated in .dlt/secrets.toml applies to a running receiver: no restart, nothing accepted in between."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from pathlib import Path

import requests

from pipelines.receiver.tokens import RELOAD_CHECK_SECONDS

HEC = "/services/collector/event"
OLD = "old-push-token-0123456789abcdef"
NEW = "new-push-token-fedcba9876543210"
BODY = json.dumps(
    {"event": {"version": "1.1", "id": "TS-00000000-0000-4000-8000-000000000001", "ts": "2026-11-30T10:00:00Z"}}
)


def write_secrets(home: Path, text: str) -> None:
    """As an editor or a secrets manager does: a new file renamed over the old one."""
    folder = home / ".dlt"
    folder.mkdir(exist_ok=True)
    fresh = folder / "secrets.toml.new"
    fresh.write_text(text)
    os.replace(fresh, folder / "secrets.toml")


def status(url: str, token: str) -> int:
    return requests.post(url + HEC, data=BODY, headers={"Authorization": f"Splunk {token}"}, timeout=10).status_code


def eventually(condition: Callable[[], bool], seconds: float = RELOAD_CHECK_SECONDS * 5) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.2)
    return condition()


def test_a_rotated_token_applies_without_a_restart(start_receiver, warehouse, tmp_path):
    write_secrets(tmp_path, f'[sources.thoughtspot]\npush_token = "{OLD}"\n')
    receiver = start_receiver(token=None)  # no token in the environment: it is in the project's secrets.toml
    pid = receiver.process.pid
    url = receiver.url
    assert status(url, OLD) == 200
    assert status(url, NEW) == 403

    write_secrets(tmp_path, f'[sources.thoughtspot]\npush_token = "{NEW}"\n')
    assert eventually(lambda: status(url, NEW) == 200), receiver.log.read_text()
    assert status(url, OLD) == 403  # the rotated-out token is refused from then on
    assert receiver.process.poll() is None and receiver.process.pid == pid  # the same process: not restarted

    # A configuration that cannot be read (here a token too short to be safe) fails closed: no token at all is
    # accepted, and the answer is the 503 every sender retries, so nothing pushed meanwhile is lost.
    write_secrets(tmp_path, '[sources.thoughtspot]\npush_token = "short"\n')
    assert eventually(lambda: status(url, NEW) == 503), receiver.log.read_text()
    busy = requests.post(url + HEC, data=BODY, headers={"Authorization": f"Splunk {NEW}"}, timeout=10)
    assert busy.headers.get("Retry-After") and busy.json()["code"] == 9
    assert status(url, "short") == 503
    write_secrets(tmp_path, f'[sources.thoughtspot]\npush_token = "{NEW}"\n')
    assert eventually(lambda: status(url, NEW) == 200), receiver.log.read_text()

    log = receiver.log.read_text()
    assert "re-read" in log and "shorter than 16 characters" in log  # the operator is told what happened and why
    assert OLD not in log and NEW not in log  # and never shown a token
