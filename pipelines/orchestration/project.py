"""The dbt project as Dagster sees it.

Kept free of relative imports so `dagster-dbt project prepare-and-package --file` can load it.
"""

from __future__ import annotations

from pathlib import Path

from dagster_dbt import DbtProject

DBT_PROJECT_DIR = Path(__file__).resolve().parents[2] / "dbt_project"

dbt_project = DbtProject(project_dir=DBT_PROJECT_DIR, profiles_dir=DBT_PROJECT_DIR)
# Under `dagster dev` / `dg` this runs `dbt parse` so edits show up at once; elsewhere it does nothing.
dbt_project.prepare_if_dev()

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
    if manifest_is_stale():
        dbt_project.preparer.prepare(dbt_project)
    return dbt_project.manifest_path
