"""`auditlake docs`: generate dbt's documentation of the warehouse models and serve it on 127.0.0.1.

The site goes to dbt_project/target/docs/ (apart from the manifest Dagster reads).
"""

from __future__ import annotations

import argparse
import os
import subprocess

from pipelines import settings
from pipelines.commands.arguments import int_between


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--port", type=int_between(1, 65535), default=8580, help="port on 127.0.0.1 (default 8580)")
    parser.add_argument("--no-serve", action="store_true", help="only generate the site into dbt_project/target/")


def main(args: argparse.Namespace) -> int:
    from pipelines.orchestration.dbt_manifest import DBT_PROJECT_DIR, dbt_executable, dbt_resource

    # The catalog is read from the warehouse: give dbt its absolute path, whatever the current directory.
    # Before the first load there is nothing to catalogue: document the models from an empty in-memory database.
    from pipelines.warehouse import engine

    warehouse = engine.warehouse()
    if warehouse.exists():
        os.environ.update(warehouse.environment())
    else:
        os.environ[settings.ENV_WAREHOUSE] = ":memory:"
    site = DBT_PROJECT_DIR / "target" / "docs"
    extra = [] if warehouse.exists() else ["--empty-catalog", "--no-compile"]
    invocation = dbt_resource().cli(["docs", "generate", *extra], raise_on_error=False, target_path=site)
    invocation.wait()
    if not invocation.is_successful():
        print("auditlake docs: dbt docs generate failed; run `auditlake transform` first if the warehouse is empty")
        return 1
    print(f"dbt docs generated in {site}")
    if args.no_serve:
        return 0
    print(f"serving on http://127.0.0.1:{args.port}  (Ctrl-C to stop)", flush=True)
    # Loopback only: the docs describe the warehouse's tables and columns.
    return subprocess.call(
        [
            dbt_executable(),
            "docs",
            "serve",
            "--host",
            "127.0.0.1",
            "--port",
            str(args.port),
            "--no-browser",
            "--project-dir",
            str(DBT_PROJECT_DIR),
            "--profiles-dir",
            str(DBT_PROJECT_DIR),
            "--target-path",
            str(site),
        ],
        cwd=DBT_PROJECT_DIR,
    )
