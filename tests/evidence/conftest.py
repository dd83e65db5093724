"""A demo-like warehouse for the evidence-pack and alert tests: both simulators (real HTTP) with their planted
scenarios, a real ingest, entitlement snapshots and a real `dbt build`."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from pipelines.ingest_runner import run_ingest
from pipelines.simulators import HistoryConfig, ModeSimulator, ThoughtSpotSimulator
from pipelines.sources import registry
from pipelines.warehouse.dbt_runner import run_dbt

DAYS = 8


@dataclass
class DemoWarehouse:
    path: Path
    thoughtspot: ThoughtSpotSimulator
    mode: ModeSimulator
    env: dict[str, str] = field(default_factory=dict)

    def ingest_and_build(self) -> None:
        until = self.thoughtspot.clock.now().isoformat()
        for summary in run_ingest(["thoughtspot", "mode"], progress=lambda _: None, until=until):
            assert summary.error is None, (summary.source, summary.error)
        # one entitlement snapshot (now), so the access review and its findings have state to read
        states = [spec.name for spec in registry.state_sources()]
        for summary in run_ingest(states, progress=lambda _: None, snapshot_at=until):
            assert summary.error is None, (summary.source, summary.error)
        build(self.path)


def build(path: Path) -> None:
    # 8 days of history put the planted export burst on about day 4: 3 active days of history are enough to judge
    run_dbt(
        [
            "build",
            "--vars",
            "{export_min_history_days: 3}",
            "--target-path",
            str(path.parent / "target"),
            "--log-path",
            str(path.parent / "logs"),
        ],
        warehouse=path,
    )


def _environment(path: Path, ts: ThoughtSpotSimulator, mode: ModeSimulator) -> dict[str, str]:
    env = {
        "AUDITLAKE_WAREHOUSE": str(path),
        "AUDITLAKE_HOME": str(path.parent.parent),
        "DLT_PROJECT_DIR": str(path.parent.parent),
        "RUNTIME__DLTHUB_TELEMETRY": "false",
        "RUNTIME__REQUEST_BACKOFF_FACTOR": "0.05",
    }
    env.update(registry.get("thoughtspot").environment_for(ts))
    env.update(registry.get("mode").environment_for(mode))
    return env


@pytest.fixture(scope="module")
def demo_warehouse(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DemoWarehouse]:
    """Module-wide (several minutes of dbt on 2 cores would otherwise repeat per test); tests must not write it
    except through `ingest_and_build`, and the alert tests build their own."""
    yield from _demo_warehouse(tmp_path_factory.mktemp("evidence"))


def _demo_warehouse(home: Path) -> Iterator[DemoWarehouse]:
    path = home / "warehouse" / "auditlake.duckdb"
    path.parent.mkdir(parents=True)
    end = datetime.now(timezone.utc) - timedelta(hours=2)
    saved = dict(os.environ)
    for name in list(os.environ):
        if name.startswith(("SOURCES__", "AUDITLAKE_")):
            del os.environ[name]
    cwd = os.getcwd()
    os.chdir(home)
    try:
        with (
            ThoughtSpotSimulator(history=HistoryConfig(seed=11, days=DAYS, events_per_day=40, end=end)) as ts,
            ModeSimulator(history=HistoryConfig(seed=12, days=DAYS, events_per_day=40, end=end)) as mode,
        ):
            env = _environment(path, ts, mode)
            os.environ.update(env)
            os.environ.pop("SOURCES__THOUGHTSPOT__PASSWORD", None)
            demo = DemoWarehouse(path, ts, mode, env)
            demo.ingest_and_build()
            yield demo
    finally:
        os.chdir(cwd)
        os.environ.clear()
        os.environ.update(saved)
