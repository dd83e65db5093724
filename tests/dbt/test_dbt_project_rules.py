"""Rules of the dbt project: read from its manifest (`dbt parse`, no warehouse needed) or from its SQL files."""

from __future__ import annotations

import json
import os
import re
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


# DuckDB 1.5 binds the JSON arrows `->>` / `->` more loosely than any operator on their left: `a or x ->> '$.k' = y`
# binds as `(a or x) ->> ...`, which casts x to a boolean or a number and fails, or compares the wrong thing. The
# left operand of an arrow must therefore not follow `and` / `or` / `not` or another operator: parenthesise the
# extraction. What the left operand may be: a (qualified, or quoted) column, or a function call.
_ARROW_OPERAND = r"(?:[a-z_][\w$]*\s*\((?:[^()]|\([^()]*\))*\)|\"[^\"]+\"(?:\.[\w$]+)*|[a-z_][\w$]*(?:\.[\w$]+)*)"
_LOOSE_JSON_ARROW = re.compile(
    rf"(?P<operator>\b(?:and|or|not)\b|[=<>!+*/%|-])\s*(?P<operand>{_ARROW_OPERAND})\s*->>?", re.IGNORECASE
)
# comments (SQL and Jinja) are blanked, newlines kept, so that prose about the rule is not flagged and lines count
_COMMENTS = re.compile(r"--[^\n]*|/\*.*?\*/|\{#.*?#\}", re.DOTALL)


def loose_json_arrows(sql: str) -> list[tuple[int, str]]:
    """(line, expression) of every JSON arrow whose left operand follows and/or/not or another operator."""
    code = _COMMENTS.sub(lambda m: re.sub(r"[^\n]", " ", m.group()), sql)
    return [
        (code.count("\n", 0, match.start("operand")) + 1, " ".join(match.group().split()))
        for match in _LOOSE_JSON_ARROW.finditer(code)
    ]


def test_no_model_or_macro_puts_a_json_arrow_right_after_an_operator() -> None:
    project = Path(settings.DBT_PROJECT_DIR)
    skipped = {"target", "logs", "dbt_packages"}
    files = [p for p in sorted(project.rglob("*.sql")) if not skipped & set(p.relative_to(project).parts)]
    assert len(files) > 40, f"expected the project's models and macros under {project}, found {len(files)} files"
    offenders = [
        f"dbt_project/{path.relative_to(project)}:{line}: `{expression}`"
        for path in files
        for line, expression in loose_json_arrows(path.read_text())
    ]
    assert not offenders, (
        "DuckDB 1.5 binds `->>` / `->` more loosely than and/or/not and comparisons, so these extract from the "
        "wrong operand; parenthesise the extraction, e.g. `or (x ->> '$.k') = y`:\n" + "\n".join(offenders)
    )


@pytest.mark.parametrize(
    ("sql", "flagged"),
    [
        # the form rpt_privileged_changes had before it was parenthesised (commit 3dc3194)
        ("and (list_contains(ids, f.actor_id)\n           or f.details ->> '$.member_id' = f.actor_id)", True),
        ("where true and details ->> '$.role' ilike '%admin%'", True),
        ("select not x ->> '$.flag' = 'true'", True),
        ("select v = j ->> '$.a'", True),
        ("select 'y' || j -> '$.a'", True),
        ("or lower(j) ->> '$.a' = v", True),
        ("or \"details\" ->> '$.a' = v", True),
        # parenthesised, leftmost, inside a call, or in a comment: bound as meant
        ("and (list_contains(ids, f.actor_id)\n           or (f.details ->> '$.member_id') = f.actor_id)", False),
        ("where j ->> '$.a' = v and true", False),
        ("select coalesce(j ->> '$.a', v) = v or false", False),
        ("case when j ->> '$.a' = v then 1 end", False),
        ("-- DuckDB binds `a or x ->> p = y` wrongly\nselect (j ->> '$.a') = v", False),
        ("{# a or x ->> p #} select list_transform(xs, x -> x + 1)", False),
    ],
)
def test_the_json_arrow_rule_flags_what_duckdb_mis_binds(sql: str, flagged: bool) -> None:
    assert bool(loose_json_arrows(sql)) is flagged, loose_json_arrows(sql)


def test_duckdb_still_mis_binds_what_the_rule_flags() -> None:
    # if this fails, DuckDB binds `->>` as documented again and the rule above may be dropped
    import duckdb

    con = duckdb.connect()
    con.execute("""create table t as select '{"a": "x"}'::json as j, 'x' as v""")
    assert con.execute("select false or (j ->> '$.a') = v from t").fetchone() == (True,)
    with pytest.raises(duckdb.Error):
        con.execute("select false or j ->> '$.a' = v from t").fetchall()
