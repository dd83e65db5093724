"""The Dagster UI's view of auditlake: a real `dagster-webserver -w workspace.yaml`, queried over GraphQL.

What an operator sees in the UI comes from the same GraphQL API, so these assertions are the lineage,
checks, job and schedule as the UI shows them: one server for the whole module (start-up is ~20-45 s on
2 cores, mostly imports and the `dbt parse` that refreshes the manifest).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

pytestmark = pytest.mark.slow

REPO_ROOT = Path(__file__).resolve().parents[2]
VENV_BIN = Path(sys.executable).parent  # the interpreter running pytest is the project's venv
DBT_PROJECT_DIR = REPO_ROOT / "dbt_project"
STARTUP_TIMEOUT_S = 180
# A non-default cron proves the schedule reads AUDITLAKE_SCHEDULE_CRON in the code server's process.
TEST_CRON = "7,37 * * * *"

RAW_TS = "raw_thoughtspot/security_audit_events"
RAW_MODE = "raw_mode/audit_logs"
STG_TS = "staging/stg_thoughtspot__security_audit_events"
STG_MODE = "staging/stg_mode__audit_logs"
FACT = "core/fct_audit_events"
PUBLISHED = "published_warehouse"
# Fact uniqueness is a dbt test (one home per check), so only these two are Python checks on the fact.
FACT_CUSTOM_CHECKS = {"raw_fact_reconciliation", "unmapped_event_types"}

REPOSITORY_QUERY = """
{
  workspaceOrError {
    __typename
    ... on PythonError { message }
    ... on Workspace {
      locationEntries {
        name
        loadStatus
        locationOrLoadError {
          __typename
          ... on PythonError { message stack }
          ... on RepositoryLocation {
            repositories {
              name
              jobs { name }
              schedules { name cronSchedule pipelineName executionTimezone }
              assetNodes {
                assetKey { path }
                groupName
                isMaterializable
                isAutoCreatedStub
                jobNames
                dependencyKeys { path }
                assetChecksOrError {
                  __typename
                  ... on AssetChecks { checks { name description } }
                }
              }
            }
          }
        }
      }
    }
  }
}
"""

LOCATION_STATUS_QUERY = (
    "{ locationStatusesOrError { __typename ... on WorkspaceLocationStatusEntries { entries { name loadStatus } } } }"
)


@dataclass
class Webserver:
    url: str
    log_path: Path

    def graphql(self, query: str) -> dict:
        response = requests.post(f"{self.url}/graphql", json={"query": query}, timeout=60)
        response.raise_for_status()
        body = response.json()
        assert "errors" not in body, f"GraphQL errors: {body['errors']}"
        return body["data"]

    def log_tail(self, chars: int = 4000) -> str:
        return self.log_path.read_text(errors="replace")[-chars:] if self.log_path.exists() else "(no log)"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _server_env(home: Path, warehouse: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SOURCES__")}
    env.pop("DAGSTER_IS_DEV_CLI", None)
    env.update(
        DBT_SEND_ANONYMOUS_USAGE_STATS="false",
        DAGSTER_DISABLE_TELEMETRY="1",
        RUNTIME__DLTHUB_TELEMETRY="false",
        DAGSTER_HOME=str(home),
        AUDITLAKE_WAREHOUSE=str(warehouse),
        AUDITLAKE_SCHEDULE_CRON=TEST_CRON,
        PATH=f"{VENV_BIN}{os.pathsep}{os.environ.get('PATH', '')}",
    )
    return env


def _wait_until_loaded(server: Webserver, process: subprocess.Popen) -> None:
    """Poll until the code location reports LOADED; fail fast if the server dies."""
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    last_problem = "no answer yet"
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"dagster-webserver exited with code {process.returncode} while starting:\n{server.log_tail()}")
        try:
            requests.get(f"{server.url}/server_info", timeout=5).raise_for_status()
            data = server.graphql(LOCATION_STATUS_QUERY)["locationStatusesOrError"]
            entries = data.get("entries") or []
            if entries and all(e["loadStatus"] == "LOADED" for e in entries):
                return
            last_problem = f"location status: {data}"
        except (requests.RequestException, ValueError) as exc:
            last_problem = f"{type(exc).__name__}: {exc}"
        time.sleep(1)
    pytest.fail(
        f"dagster-webserver did not load the code location within {STARTUP_TIMEOUT_S} s ({last_problem}):\n"
        f"{server.log_tail()}"
    )


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
        return True
    except ProcessLookupError:
        return False


def _stop(process: subprocess.Popen) -> None:
    """Stop the webserver and its code server: they share the session started for them."""
    pgid = process.pid
    if _group_alive(pgid):
        os.killpg(pgid, signal.SIGTERM)
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        pass
    # The gRPC code server exits on the same SIGTERM, a moment after its parent; leave nothing behind.
    deadline = time.monotonic() + 15
    while _group_alive(pgid) and time.monotonic() < deadline:
        time.sleep(0.2)
    if _group_alive(pgid):
        os.killpg(pgid, signal.SIGKILL)
    process.wait(timeout=10)


@pytest.fixture(scope="module")
def webserver(tmp_path_factory: pytest.TempPathFactory):
    tmp = tmp_path_factory.mktemp("dagster_ui")
    home = tmp / "dagster_home"
    home.mkdir()
    shutil.copy(REPO_ROOT / "dagster_home" / "dagster.yaml", home / "dagster.yaml")
    server = Webserver(url=f"http://127.0.0.1:{_free_port()}", log_path=tmp / "webserver.log")
    port = server.url.rsplit(":", 1)[1]
    with server.log_path.open("wb") as log:
        process = subprocess.Popen(
            [str(VENV_BIN / "dagster-webserver"), "-w", "workspace.yaml", "-h", "127.0.0.1", "-p", port],
            cwd=REPO_ROOT,
            env=_server_env(home, tmp / "warehouse" / "auditlake.duckdb"),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            # Its own process group: SIGTERM reaches the code server too, and no inherited ignored SIGINT.
            start_new_session=True,
        )
    try:
        _wait_until_loaded(server, process)
        yield server
    finally:
        _stop(process)


@pytest.fixture(scope="module")
def repository(webserver: Webserver) -> dict:
    """The single repository of the single code location, as the UI loads it."""
    workspace = webserver.graphql(REPOSITORY_QUERY)["workspaceOrError"]
    assert workspace["__typename"] == "Workspace", workspace
    entries = workspace["locationEntries"]
    assert [e["name"] for e in entries] == ["auditlake"], entries
    location = entries[0]["locationOrLoadError"]
    assert location["__typename"] == "RepositoryLocation", (
        f"code location failed to load: {location.get('message')}\n{''.join(location.get('stack') or [])}"
    )
    assert len(location["repositories"]) == 1, [r["name"] for r in location["repositories"]]
    return location["repositories"][0]


@pytest.fixture(scope="module")
def nodes(repository: dict) -> dict[str, dict]:
    return {"/".join(n["assetKey"]["path"]): n for n in repository["assetNodes"]}


def _deps(node: dict) -> set[str]:
    return {"/".join(k["path"]) for k in node["dependencyKeys"]}


def _checks(node: dict) -> dict[str, str | None]:
    result = node["assetChecksOrError"]
    assert result["__typename"] == "AssetChecks", f"asset checks unavailable: {result}"
    return {c["name"]: c["description"] for c in result["checks"]}


def _compliance_models() -> set[str]:
    models = {f"compliance/{p.stem}" for p in (DBT_PROJECT_DIR / "models" / "compliance").glob("rpt_*.sql")}
    assert models, "no compliance models found under dbt_project/models/compliance"
    return models


def _dbt_tests_attached_to(model_name: str) -> set[str]:
    """dbt tests on the model: generic tests attached to it, and singular tests pointed at it via meta.dagster.ref."""
    manifest = json.loads((DBT_PROJECT_DIR / "target" / "manifest.json").read_text())

    def targets(node: dict) -> bool:
        if (node.get("attached_node") or "").endswith(f".{model_name}"):
            return True
        ref = (node.get("config", {}).get("meta") or node.get("meta") or {}).get("dagster", {}).get("ref") or {}
        return ref.get("name") == model_name

    return {node["name"] for node in manifest["nodes"].values() if node["resource_type"] == "test" and targets(node)}


def test_asset_graph_has_every_layer(nodes: dict[str, dict]) -> None:
    expected = {RAW_TS, RAW_MODE, STG_TS, STG_MODE, FACT, PUBLISHED} | _compliance_models()
    missing = expected - nodes.keys()
    assert not missing, f"asset nodes missing from the UI: {sorted(missing)}; present: {sorted(nodes)}"
    groups = {key: nodes[key]["groupName"] for key in (RAW_TS, RAW_MODE, STG_TS, FACT, PUBLISHED)}
    assert groups == {RAW_TS: "raw", RAW_MODE: "raw", STG_TS: "staging", FACT: "core", PUBLISHED: "publish"}
    assert {nodes[k]["groupName"] for k in _compliance_models()} == {"compliance"}


def test_every_asset_is_materializable_and_no_stub_is_left(nodes: dict[str, dict]) -> None:
    # A stub would mean a dependency key that no asset defines (e.g. a dlt or dbt source key drifting apart).
    stubs = sorted(key for key, node in nodes.items() if node["isAutoCreatedStub"] or not node["isMaterializable"])
    assert not stubs, f"assets the UI cannot materialize: {stubs}"
    dangling = {key: sorted(_deps(node) - nodes.keys()) for key, node in nodes.items() if _deps(node) - nodes.keys()}
    assert not dangling, f"dependencies on undefined assets: {dangling}"


def test_lineage_runs_raw_to_staging_to_core_to_published(nodes: dict[str, dict]) -> None:
    assert RAW_TS in _deps(nodes[STG_TS]), f"raw -> staging edge missing: {STG_TS} depends on {_deps(nodes[STG_TS])}"
    assert RAW_MODE in _deps(nodes[STG_MODE]), (
        f"raw -> staging edge missing: {STG_MODE} depends on {_deps(nodes[STG_MODE])}"
    )
    assert {STG_TS, STG_MODE} <= _deps(nodes[FACT])
    assert _deps(nodes[RAW_TS]) == set() and _deps(nodes[RAW_MODE]) == set(), "raw tables must be graph roots"
    published_deps = _deps(nodes[PUBLISHED])
    assert FACT in published_deps
    assert _compliance_models() <= published_deps, sorted(_compliance_models() - published_deps)


def test_fact_carries_custom_and_dbt_test_checks(nodes: dict[str, dict]) -> None:
    checks = _checks(nodes[FACT])
    assert checks.keys() >= FACT_CUSTOM_CHECKS, f"missing: {sorted(FACT_CUSTOM_CHECKS - checks.keys())}"
    dbt_checks = set(checks) - FACT_CUSTOM_CHECKS
    manifest_tests = _dbt_tests_attached_to("fct_audit_events")
    assert dbt_checks, f"no dbt test surfaced as an asset check on {FACT}; checks: {sorted(checks)}"
    assert dbt_checks <= manifest_tests, (
        f"checks that are neither ours nor dbt tests: {sorted(dbt_checks - manifest_tests)}"
    )
    for name in FACT_CUSTOM_CHECKS:
        assert checks[name] and len(checks[name]) > 40, f"{name} needs a description that tells on-call what to do"


@pytest.mark.parametrize("raw_key", [RAW_TS, RAW_MODE])
def test_raw_event_tables_carry_freshness_and_coverage_checks(nodes: dict[str, dict], raw_key: str) -> None:
    checks = _checks(nodes[raw_key])
    assert {"freshness", "coverage"} <= checks.keys(), f"{raw_key} checks: {sorted(checks)}"
    assert all(checks[name] for name in ("freshness", "coverage")), "raw checks need descriptions"


def test_refresh_job_covers_every_asset_and_is_scheduled(repository: dict, nodes: dict[str, dict]) -> None:
    jobs = {job["name"] for job in repository["jobs"]}
    assert {"refresh", "backfill", "entitlements"} <= jobs, sorted(jobs)
    # Entitlement snapshots run daily in their own job (a snapshot is of now, not of a 15-minute window), the
    # evidence pack monthly in its own: every asset is in some job that a schedule runs.
    schedules = {s["name"]: s for s in repository["schedules"]}
    scheduled_jobs = {s["pipelineName"] for s in schedules.values()}
    assert {"refresh", "entitlements", "monthly_evidence_pack"} <= scheduled_jobs, sorted(scheduled_jobs)
    outside = sorted(key for key, node in nodes.items() if not scheduled_jobs & set(node["jobNames"]))
    assert not outside, f"assets no scheduled job materializes: {outside}"
    assert "refresh_schedule" in schedules, sorted(schedules)
    schedule = schedules["refresh_schedule"]
    assert schedule["pipelineName"] == "refresh"
    assert schedule["cronSchedule"] == TEST_CRON, "the schedule must follow AUDITLAKE_SCHEDULE_CRON"
    assert schedule["executionTimezone"] == "UTC"
