"""Several tenants in one configuration: two ThoughtSpot clusters and one Mode workspace, one cluster down.

The whole refresh job runs (ingest per instance, dbt build, checks, publish): the two good tenants reach the fact
and the analysts' copy; the bad one fails only its own ingest check, with its cause; `status` has a line per tenant.
"""

from __future__ import annotations

import os
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from pipelines import definitions, settings
from pipelines.commands.status import status_lines
from pipelines.orchestration.job_runner import run_pipeline
from pipelines.simulators import ModeSimulator, ThoughtSpotSimulator
from pipelines.warehouse import health as wc
from tests.conftest import isolate_home
from tests.orchestration.conftest import auditlake, query, small_history

pytestmark = pytest.mark.slow

WRONG_SECRET = "beta-wrong-secret-0f3c9a"


def _instance_env(section: str, name: str, values: dict[str, str]) -> dict[str, str]:
    return {f"SOURCES__{section.upper()}__INSTANCES__{name.upper()}__{k.upper()}": v for k, v in values.items()}


@pytest.fixture
def tenants(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    for name in list(os.environ):
        if name.startswith("SOURCES__") or name in (
            "AUDITLAKE_START",
            "AUDITLAKE_PIPELINES_DIR",
            "AUDITLAKE_PUBLISHED",
        ):
            monkeypatch.delenv(name)
    isolate_home(monkeypatch, tmp_path)
    warehouse = tmp_path / "warehouse" / "auditlake.duckdb"
    monkeypatch.setenv("AUDITLAKE_WAREHOUSE", str(warehouse))
    monkeypatch.setenv("AUDITLAKE_START", (datetime.now(timezone.utc) - timedelta(days=4)).isoformat())
    monkeypatch.setenv("RUNTIME__REQUEST_BACKOFF_FACTOR", "0.05")
    with (
        ThoughtSpotSimulator(history=small_history(31), late_minutes=0) as alpha,
        ThoughtSpotSimulator(history=small_history(32, per_day=60), late_minutes=0) as beta,
        ModeSimulator(history=small_history(33, per_day=40, minutes_ago=120)) as mode,
    ):
        env = {
            **_instance_env(
                "thoughtspot",
                "alpha",
                {"base_url": alpha.base_url, "username": alpha.username, "secret_key": alpha.secret_key},
            ),
            # Beta is down for us: its secret key is wrong (bad credentials).
            **_instance_env(
                "thoughtspot",
                "beta",
                {"base_url": beta.base_url, "username": beta.username, "secret_key": WRONG_SECRET},
            ),
            **_instance_env(
                "mode",
                "main",
                {
                    "base_url": mode.base_url,
                    "workspace": mode.workspace,
                    "api_token": mode.api_token,
                    "api_secret": mode.api_secret,
                },
            ),
        }
        for key, value in env.items():
            monkeypatch.setenv(key, value)
        # The Definitions are built from the configuration: these three tenants, not the one at import time.
        monkeypatch.setattr(definitions, "defs", definitions.build_definitions())
        yield {"alpha": alpha, "beta": beta, "mode": mode, "warehouse": warehouse, "tmp": tmp_path}


def _host(sim: ThoughtSpotSimulator) -> str:
    return sim.base_url.split("://", 1)[1].rstrip("/")


def test_one_tenant_down_the_other_two_still_reach_analysts(tenants):
    alpha, beta, mode, warehouse = tenants["alpha"], tenants["beta"], tenants["mode"], tenants["warehouse"]
    outcome = run_pipeline()
    assert outcome.success, outcome.step_errors  # no step failed: the bad tenant is a failed check, not a crash

    checks = {(c.asset, c.name): c for c in outcome.checks}
    bad = checks[("raw_thoughtspot/instances/beta", "ingest")]
    assert not bad.passed and bad.severity == "ERROR"
    cause = bad.metadata["error"]
    assert cause.startswith(f"thoughtspot beta ({_host(beta)}): FAILED"), cause
    assert "SOURCES__THOUGHTSPOT__INSTANCES__BETA__SECRET_KEY" in cause, cause  # the fix names the instance's own
    assert WRONG_SECRET not in cause
    for good in (("raw_thoughtspot/instances/alpha", "ingest"), ("raw_mode/instances/main", "ingest")):
        assert checks[good].passed, checks[good].metadata
    assert checks[("raw_thoughtspot/instances/alpha", "freshness")].passed
    assert checks[("raw_thoughtspot/instances/alpha", "coverage")].passed
    assert not checks[("raw_thoughtspot/instances/beta", "freshness")].passed  # never fetched: its own check only
    # Only the bad tenant's checks fail (plus nothing else blocking).
    failing = sorted(k for k, c in checks.items() if not c.passed)
    assert all(asset == "raw_thoughtspot/instances/beta" for asset, _ in failing), failing

    # Both good tenants are in the fact and in the analysts' copy; nothing of the bad one.
    fact = "select source_instance, count(*) from core.fct_audit_events group by 1"
    counts = dict(query(warehouse, fact))
    assert counts.get(_host(alpha)) == len(alpha.expected_event_ids())
    assert counts.get(mode.workspace, 0) > 0
    assert _host(beta) not in counts
    assert dict(query(settings.published_path(), fact)) == counts
    alpha_ids = query(
        warehouse, "select source_event_id from core.fct_audit_events where source_instance = ?", _host(alpha)
    )
    assert {r[0] for r in alpha_ids} == alpha.expected_event_ids()
    # Each instance keeps its own dlt pipeline state.
    names = {r[0] for r in query(warehouse, "select pipeline_name from raw_thoughtspot._dlt_pipeline_state")}
    assert names == {"auditlake_thoughtspot__alpha"}

    # `status`: a line per tenant, the bad one unhealthy.
    with wc.open_for_reading(warehouse) as (con, _):
        lines, healthy = status_lines(con)
    tenant_lines = [
        line for line in lines if line.startswith(("thoughtspot alpha (", "thoughtspot beta (", "mode main ("))
    ]
    assert len(tenant_lines) == 3, lines
    assert any(line.startswith(f"thoughtspot beta ({_host(beta)}): never loaded") for line in tenant_lines)
    assert any(
        line.startswith(f"thoughtspot alpha ({_host(alpha)}): {len(alpha.expected_event_ids())} events")
        for line in tenant_lines
    )
    assert not healthy
    assert WRONG_SECRET not in "\n".join(lines)

    # Beta fixed: the next run loads it too, alpha's rows untouched.
    os.environ["SOURCES__THOUGHTSPOT__INSTANCES__BETA__SECRET_KEY"] = beta.secret_key
    again = run_pipeline()
    assert again.success
    assert all(c.passed for c in again.checks if c.asset.startswith("raw_thoughtspot/instances/")), [
        (c.asset, c.name, c.metadata) for c in again.checks if not c.passed
    ]
    counts = dict(query(warehouse, fact))
    assert counts[_host(beta)] == len(beta.expected_event_ids())
    assert counts[_host(alpha)] == len(alpha.expected_event_ids())


def test_cli_ingests_every_instance_or_one_and_keeps_secrets_out(tenants):
    tmp, alpha, beta = tenants["tmp"], tenants["alpha"], tenants["beta"]
    one = auditlake("ingest", "--source", "thoughtspot", "--instance", "alpha", "--quiet", cwd=tmp)
    assert one.returncode == 0, one.stderr
    assert f"thoughtspot alpha ({_host(alpha)}):" in one.stdout and "beta" not in one.stdout + one.stderr

    every = auditlake("ingest", "--source", "thoughtspot", "--quiet", cwd=tmp)
    assert every.returncode == 1  # beta failed; alpha still loaded
    assert f"thoughtspot alpha ({_host(alpha)}): 0 new events" in every.stdout, every.stdout
    assert f"thoughtspot beta ({_host(beta)}): FAILED" in every.stderr, every.stderr
    assert WRONG_SECRET not in every.stdout + every.stderr

    unknown = auditlake("ingest", "--instance", "gamma", cwd=tmp)
    assert unknown.returncode == 2 and "no configured instance is named 'gamma'" in unknown.stderr, unknown.stderr

    status = auditlake("status", cwd=tmp)
    assert status.returncode == 1  # beta never loaded
    assert f"thoughtspot beta ({_host(beta)}): never loaded" in status.stdout
    assert WRONG_SECRET not in status.stdout + status.stderr
