"""`auditlake` command line: demo | run | ingest | receive | transform | simulate | status | query | report |
findings | docs | migrate.

Each subcommand lives in the module that owns the work; that module exposes
`add_arguments(parser)` and `main(args) -> int`. Heavy imports (dlt, dbt, Dagster)
stay inside those `main` functions so `auditlake --help` answers at once.
"""

from __future__ import annotations

import argparse
import importlib
import os
import signal
import sys

from pipelines import settings

# name -> (module, one-line help)
COMMANDS: dict[str, tuple[str, str]] = {
    "demo": ("pipelines.commands.demo", "Run everything on local simulators: ingest, dbt build, checks, report."),
    "run": ("pipelines.commands.run", "Ingest then transform then check, once (what the schedule runs)."),
    "ingest": ("pipelines.commands.ingest", "Load new audit events from ThoughtSpot and/or Mode into the warehouse."),
    "transform": ("pipelines.commands.transform", "Run dbt build on the warehouse."),
    "receive": ("pipelines.commands.receive", "Receive ThoughtSpot's SIEM push (Splunk HEC or HTTP) into the spool."),
    "simulate": ("pipelines.simulators.serve", "Serve local ThoughtSpot and Mode API simulators."),
    "status": ("pipelines.commands.status", "Per source: last load, coverage, gaps, freshness."),
    "query": ("pipelines.commands.query", "Run SQL on the analysts' read-only copy of the warehouse."),
    "report": ("pipelines.commands.report", "Write the evidence pack for a period: HTML, PDF, CSVs, manifest."),
    "findings": ("pipelines.commands.findings", "List open findings (compliance.findings) in the terminal."),
    "docs": ("pipelines.commands.docs", "Generate dbt's documentation of the models and serve it on 127.0.0.1."),
    "migrate": ("pipelines.commands.migrate", "Copy a DuckDB-file warehouse into an empty DuckLake."),
}

# Telemetry off by default: the tool runs on machines with no route to the vendors' collectors.
_QUIET_ENV = {
    "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
    "DAGSTER_DISABLE_TELEMETRY": "1",
    "RUNTIME__DLTHUB_TELEMETRY": "false",
    # dlt would hold Ctrl-C until its load finished (minutes on a backfill). A load interrupted here is safe:
    # rows and cursor are committed together, and the next run loads the pending package first.
    "RUNTIME__INTERCEPT_SIGNALS": "false",
}
EXIT_USAGE = 2  # configuration or usage: nothing was started
EXIT_INTERRUPTED = 130


def _terminate_like_interrupt(signum: int, frame: object) -> None:
    """SIGTERM (systemd, docker stop, cron timeouts) stops as Ctrl-C does: finished work kept, locks released."""
    raise KeyboardInterrupt


def _prepare_environment() -> None:
    for key, value in _QUIET_ENV.items():
        os.environ.setdefault(key, value)
    # dagster-dbt and our transform step call `dbt` from PATH: make the one installed beside us visible.
    bin_dir = os.path.dirname(sys.executable)
    path = os.environ.get("PATH", "")
    if bin_dir not in path.split(os.pathsep):
        os.environ["PATH"] = bin_dir + os.pathsep + path


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("auditlake")
    except PackageNotFoundError:  # running from a checkout that was never installed
        return "unknown"


def build_parser(selected: str | None = None) -> argparse.ArgumentParser:
    """Only the selected command's module is imported, so each command pays for its own imports."""
    parser = argparse.ArgumentParser(prog="auditlake", description=__doc__.splitlines()[0])
    parser.add_argument("--version", action="version", version=f"auditlake {_version()}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, (module_name, help_text) in COMMANDS.items():
        command_parser = sub.add_parser(name, help=help_text, description=help_text)
        if name == selected:
            module = importlib.import_module(module_name)
            module.add_arguments(command_parser)
            command_parser.set_defaults(_module=module, _parser=command_parser)
    return parser


def main(argv: list[str] | None = None) -> int:
    _prepare_environment()
    settings.apply_project_environment()
    argv = sys.argv[1:] if argv is None else list(argv)
    selected = next((a for a in argv if not a.startswith("-")), None)
    args = build_parser(selected if selected in COMMANDS else None).parse_args(argv)
    signal.signal(signal.SIGTERM, _terminate_like_interrupt)
    # Secrets are scrubbed from every log record from here on (installed by the entry point, not by an import).
    importlib.import_module("pipelines.sources.common.log_filters").install_log_filters()
    from pipelines.settings import ConfigurationError

    try:
        return int(args._module.main(args) or 0)
    except ConfigurationError as exc:
        print(f"auditlake {args.command}: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt as exc:
        kept = str(exc) or "work already committed is kept; the next run continues from there"
        print(f"interrupted: {kept}", file=sys.stderr)
        return EXIT_INTERRUPTED


if __name__ == "__main__":
    sys.exit(main())
