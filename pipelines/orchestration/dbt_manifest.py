"""The dbt project as Dagster sees it, and its manifest kept up to date.

Kept free of relative imports so `dagster-dbt project prepare-and-package --file` can load it.
"""

from __future__ import annotations

import sys
from pathlib import Path

from dagster_dbt import DbtCliResource, DbtProject

DBT_PROJECT_DIR = Path(__file__).resolve().parents[2] / "dbt_project"

dbt_project = DbtProject(project_dir=DBT_PROJECT_DIR, profiles_dir=DBT_PROJECT_DIR)

# dbt's advice for production: unit tests' inputs are fixed rows, so running them again on every scheduled build
# proves nothing new; they belong in development and CI (`make test` runs them all, tests/dbt/test_dbt_build.py).
# Every build auditlake runs (the Dagster asset, hence `run`, `transform` and the schedule) leaves them out; data
# tests, which check the warehouse's actual rows, still run. Run them by hand: `dbt test --select test_type:unit`.
WITHOUT_UNIT_TESTS = ("--exclude-resource-type", "unit_test")

_WATCHED = ("models", "seeds", "macros", "tests", "dbt_project.yml", "profiles.yml")


def manifest_is_stale() -> bool:
    manifest = dbt_project.manifest_path
    if not manifest.exists():
        return True
    built = manifest.stat().st_mtime
    for name in _WATCHED:
        path = DBT_PROJECT_DIR / name
        files = [path] if path.is_file() else path.rglob("*") if path.exists() else []
        if any(f.is_file() and f.stat().st_mtime > built for f in files):
            return True
    return False


def ensure_manifest() -> Path:
    """Build target/manifest.json when missing or older than the project (pytest, CI and the CLI need it)."""
    # dagster-dbt's own preparer calls `dbt` from PATH, which fails outside an activated venv: parse with ours.
    if manifest_is_stale():
        dbt_resource().cli(["parse", "--quiet"], target_path=dbt_project.manifest_path.parent).wait()
    return dbt_project.manifest_path


def dbt_executable() -> str:
    """The dbt beside this interpreter (the venv's), so `dagster dev` works without an activated venv."""
    script = Path(sys.executable).with_name("dbt")
    return str(script) if script.exists() else "dbt"


def dbt_resource() -> DbtCliResource:
    """How every dbt command of auditlake runs: the Dagster asset, `auditlake transform`, tests and benchmarks."""
    return DbtCliResource(project_dir=dbt_project, dbt_executable=dbt_executable())
