"""Rules of the dbt project read from its manifest (`dbt parse`, no warehouse needed)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from pipelines import settings
from pipelines.warehouse.dbt_runner import run_dbt

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def manifest(tmp_path_factory: pytest.TempPathFactory) -> dict:
    tmp = tmp_path_factory.mktemp("dbt_parse")
    run_dbt(
        ["parse", "--target-path", str(tmp / "target"), "--log-path", str(tmp / "logs")],
        warehouse=tmp / "unused.duckdb",
    )
    return json.loads((tmp / "target" / "manifest.json").read_text())


def test_every_data_test_says_what_it_guards(manifest: dict) -> None:
    # Dagster shows a dbt test's description as its asset check's description (issue 9).
    missing = sorted(
        node["name"]
        for node in manifest["nodes"].values()
        if node["resource_type"] == "test" and len((node.get("description") or "").strip()) < 30
    )
    assert not missing, f"give these dbt tests a `description:` (what it guards, what to do): {missing}"


def test_no_model_declares_a_constraint_ducklake_cannot_hold(manifest: dict) -> None:
    # The same models build on a DuckDB file and on DuckLake (issue 10), whose tables have no PRIMARY KEY, UNIQUE
    # or FOREIGN KEY: uniqueness is a `unique` data test instead.
    offenders = sorted(
        f"{node['name']}.{column['name']}:{constraint['type']}"
        for node in manifest["nodes"].values()
        if node["resource_type"] == "model"
        for column in node.get("columns", {}).values()
        for constraint in column.get("constraints", [])
        if constraint["type"] in ("primary_key", "unique", "foreign_key")
    ) + sorted(
        f"{node['name']}:{constraint['type']}"
        for node in manifest["nodes"].values()
        if node["resource_type"] == "model"
        for constraint in node.get("constraints", [])
        if constraint["type"] in ("primary_key", "unique", "foreign_key")
    )
    assert not offenders, f"DuckLake cannot hold these constraints; use a `unique` data test instead: {offenders}"


def test_core_and_marts_read_no_raw_table(manifest: dict) -> None:
    # the raw tables are read by staging only (issue 7: one-way flow)
    offenders = sorted(
        node["name"]
        for node in manifest["nodes"].values()
        if node["resource_type"] == "model"
        and node["fqn"][1] != "staging"
        and any(dep.startswith("source.") for dep in node["depends_on"]["nodes"])
    )
    assert not offenders, f"read the stg_* models instead of source() in: {offenders}"


def test_docs_generate_works_from_the_project_directory(tmp_path: Path) -> None:
    # a new user runs `cd dbt_project && dbt docs generate` (profiles.yml is in the project) on a fresh
    # warehouse: the tests' compile-time queries must not need the models built
    env = {
        **os.environ,
        "AUDITLAKE_WAREHOUSE": str(tmp_path / "fresh.duckdb"),
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
    }
    dbt = Path(sys.executable).with_name("dbt")
    result = subprocess.run(
        [str(dbt), "docs", "generate", "--target-path", str(tmp_path / "target"), "--log-path", str(tmp_path / "logs")],
        cwd=settings.DBT_PROJECT_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert json.loads((tmp_path / "target" / "catalog.json").read_text())["errors"] is None
    assert (tmp_path / "target" / "index.html").exists()


def test_unit_tests_fix_the_vars_their_model_reads(manifest: dict) -> None:
    # a unit test that silently follows dbt_project.yml breaks (or passes by luck) when a default changes
    import re

    models = {node["name"]: node for node in manifest["nodes"].values() if node["resource_type"] == "model"}
    loose = []
    for test in manifest["unit_tests"].values():
        code = models[test["model"]]["raw_code"]
        used = set(re.findall(r"var\(\s*['\"](\w+)['\"]", code))
        overrides = test.get("overrides") or {}
        if "loaded_since(" in code and (overrides.get("macros") or {}).get("is_incremental"):
            used.add("fct_reprocess_lookback_minutes")
        missing = used - set(overrides.get("vars") or {})
        if missing:
            loose.append((test["name"], sorted(missing)))
    assert not loose, f"fix these vars in the unit tests' overrides.vars: {loose}"
