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
from pipelines.settings import ConfigurationError
from pipelines.warehouse import engine
from tests.orchestration.conftest import auditlake, query
from tests.support.webhook_receiver import WebhookReceiver

pytestmark = pytest.mark.slow


@pytest.mark.parametrize("product", ["file", "ducklake"], indirect=True)
def test_concurrent_runs_queue_on_the_writer_lock_while_analysts_read_the_published_copy(product):
    """File: analysts read the published copy. DuckLake: they read the lake itself (its last committed snapshot)
    while the runs write it, from this process while the runs are other processes."""
    assert run_pipeline().success  # publishes the first copy (file) / commits the first snapshots (DuckLake)
    is_lake = str(product["warehouse"]).startswith("ducklake:")
    published = product["warehouse"] if is_lake else settings.published_path()
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
    reads, errors, seen_facts = 0, [], 0
    deadline = time.monotonic() + 1500  # two queued runs; DuckLake's are slower on a busy 2-core machine
    while any(r.poll() is None for r in runs) and time.monotonic() < deadline:
        try:
            with engine.connect(published, read_only=True) as con:
                facts = con.execute("select count(*) from core.fct_audit_events").fetchone()[0]
                con.execute("select count(*) from compliance.rpt_authentication_failures").fetchone()
            assert facts >= seen_facts, "a reader saw the fact shrink mid-run"
            seen_facts = facts
            reads += 1
        except (duckdb.Error, ConfigurationError) as exc:  # a lock error: analysts blocked by the writer
            errors.append(str(exc))
        time.sleep(1)  # an analyst's pace: a tighter loop only takes the CPU the runs need (2 cores in CI)
    outputs = [r.communicate(timeout=300)[0] for r in runs]
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
    # on-call's webhook: the demo's findings are alerted from the DuckLake default, once each
    webhook = WebhookReceiver()
    monkeypatch.setenv("AUDITLAKE_ALERT_WEBHOOK_URL", webhook.url)
    try:
        result = auditlake("demo", "--days", "3", "--events-per-day", "150", cwd=tmp_path)
    finally:
        webhook.close()
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "demo OK" in result.stdout
    delivered = webhook.delivered()
    assert delivered and len(delivered) == len(set(delivered))
    assert all(body["text"] for _, _, body, _ in webhook.requests)
    pack = tmp_path / "warehouse" / "demo" / "evidence"
    assert [p.name for p in pack.glob("*/manifest.json")] == ["manifest.json"]
    assert str(pack) in result.stdout
    assert "compliance.rpt_authentication_failures" in result.stdout
    assert "push (auditlake receive" in result.stdout  # the receiver and the simulator's pusher ran beside the pull
    # The default engine: a DuckLake beside the demo's catalog, read in place (no published copy).
    catalog = tmp_path / "warehouse" / "demo" / "catalog.sqlite"
    assert catalog.exists() and any((catalog.parent / "data").rglob("*.parquet"))
    assert not (tmp_path / "warehouse" / "demo" / "auditlake_published.duckdb").exists()
    assert query(f"ducklake:sqlite:{catalog}", "select count(*) > 0 from core.fct_audit_events") == [(True,)]
    assert "--as-of" in result.stdout
    by_path = dict(
        query(
            f"ducklake:sqlite:{catalog}",
            "select _auditlake_delivery, count(*) from raw_thoughtspot.security_audit_events group by 1",
        )
    )
    assert by_path.get("push", 0) > 0 and by_path.get("pull", 0) > 0
