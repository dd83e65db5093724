"""`auditlake` command line: demo | run | ingest | transform | simulate | status | query.

Each subcommand lives in the module that owns the work; that module exposes
`add_arguments(parser)` and `main(args) -> int`. Heavy imports (dlt, dbt, Dagster)
stay inside those `main` functions so `auditlake --help` answers at once.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys

# name -> (module, one-line help)
COMMANDS: dict[str, tuple[str, str]] = {
    "demo": ("pipelines.commands.demo", "Run everything on local simulators: ingest, dbt build, checks, report."),
    "run": ("pipelines.commands.run", "Ingest then transform then check, once (what the schedule runs)."),
    "ingest": ("pipelines.commands.ingest", "Load new audit events from ThoughtSpot and/or Mode into the warehouse."),
    "transform": ("pipelines.commands.transform", "Run dbt build on the warehouse."),
    "simulate": ("pipelines.simulators.serve", "Serve local ThoughtSpot and Mode API simulators."),
    "status": ("pipelines.commands.status", "Per source: last load, coverage, gaps, freshness."),
    "query": ("pipelines.commands.query", "Run SQL on the analysts' read-only copy of the warehouse."),
}

# Telemetry off by default: the tool runs on machines with no route to the vendors' collectors.
_QUIET_ENV = {
    "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
    "DAGSTER_DISABLE_TELEMETRY": "1",
    "RUNTIME__DLTHUB_TELEMETRY": "false",
}


def _prepare_environment() -> None:
    for key, value in _QUIET_ENV.items():
        os.environ.setdefault(key, value)
    # dagster-dbt and our transform step call `dbt` from PATH: make the one installed beside us visible.
    bin_dir = os.path.dirname(sys.executable)
    path = os.environ.get("PATH", "")
    if bin_dir not in path.split(os.pathsep):
        os.environ["PATH"] = bin_dir + os.pathsep + path


def build_parser(selected: str | None = None) -> argparse.ArgumentParser:
    """Only the selected command's module is imported, so each command pays for its own imports."""
    parser = argparse.ArgumentParser(prog="auditlake", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, (module_name, help_text) in COMMANDS.items():
        command_parser = sub.add_parser(name, help=help_text, description=help_text)
        if name == selected:
            module = importlib.import_module(module_name)
            module.add_arguments(command_parser)
            command_parser.set_defaults(_module=module)
    return parser


def main(argv: list[str] | None = None) -> int:
    _prepare_environment()
    argv = sys.argv[1:] if argv is None else list(argv)
    selected = next((a for a in argv if not a.startswith("-")), None)
    args = build_parser(selected if selected in COMMANDS else None).parse_args(argv)
    try:
        return int(args._module.main(args) or 0)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
