"""The CLI as users run it: concurrent scheduled runs, analysts reading meanwhile, and the demo."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest

from pipelines import settings
from pipelines.orchestration.job_runner import run_pipeline
from tests.orchestration.conftest import auditlake, query

pytestmark = pytest.mark.slow


def test_concurrent_runs_queue_on_the_writer_lock_while_analysts_read_the_published_copy(product):
    assert run_pipeline().success  # publishes the first copy
    published = settings.published_path()
    exe = Path(sys.executable).with_name("auditlake")
    runs = [
        subprocess.Popen(
            [str(exe), "run"],
            cwd=product["tmp"],
            env=dict(os.environ),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for _ in range(2)
    ]
    reads, errors = 0, []
    deadline = time.monotonic() + 600
    while any(r.poll() is None for r in runs) and time.monotonic() < deadline:
        try:
            with duckdb.connect(str(published), read_only=True) as con:
                con.execute("select count(*) from core.fct_audit_events").fetchone()
                con.execute("select count(*) from compliance.rpt_authentication_failures").fetchone()
            reads += 1
        except duckdb.Error as exc:  # a lock error here would mean analysts are blocked by the writer
            errors.append(str(exc))
        time.sleep(0.2)
    outputs = [r.communicate(timeout=60)[0] for r in runs]
    assert [r.returncode for r in runs] == [0, 0], outputs
    assert not errors, errors[:3]
    assert reads > 10
    assert query(product["warehouse"], "select count(*) - count(distinct event_key) from core.fct_audit_events") == [
        (0,)
    ]
    for out in outputs:
        assert "checks:" in out and "0 failed" in out


def test_demo_on_an_empty_directory_exits_zero(tmp_path: Path, monkeypatch):
    for name in list(os.environ):
        if name.startswith(("SOURCES__", "AUDITLAKE_")):
            monkeypatch.delenv(name)
    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    monkeypatch.setenv("AUDITLAKE_HOME", str(tmp_path))  # a fresh project home, as a new user's checkout
    result = auditlake("demo", "--days", "3", "--events-per-day", "150", cwd=tmp_path)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "demo OK" in result.stdout
    assert "compliance.rpt_authentication_failures" in result.stdout
    assert "push (auditlake receive" in result.stdout  # the receiver and the simulator's pusher ran beside the pull
    published = tmp_path / "warehouse" / "demo" / "auditlake_published.duckdb"
    assert published.exists()
    assert query(published, "select count(*) > 0 from core.fct_audit_events") == [(True,)]
    warehouse = tmp_path / "warehouse" / "demo" / "auditlake.duckdb"
    by_path = dict(
        query(warehouse, "select _auditlake_delivery, count(*) from raw_thoughtspot.security_audit_events group by 1")
    )
    assert by_path.get("push", 0) > 0 and by_path.get("pull", 0) > 0
