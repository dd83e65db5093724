"""Argument types shared by the commands: a bad value is refused by argparse (exit 2) before anything starts."""

from __future__ import annotations

import argparse
from datetime import datetime

from pipelines import settings


def utc_moment(text: str) -> str:
    """A UTC date or timestamp (2026-11-01, 2026-11-01T06:00:00Z); returned normalised to ISO-8601."""
    try:
        return settings.parse_utc(text).isoformat()
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a date or time: use e.g. 2026-11-01 or 2026-11-01T06:00:00Z (UTC)"
        ) from None


def int_between(low: int, high: int | None = None):
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
        if value < low or (high is not None and value > high):
            bound = f"between {low} and {high}" if high is not None else f"at least {low}"
            raise argparse.ArgumentTypeError(f"{value} is out of range: use a number {bound}")
        return value

    return parse


def check_range(
    parser: argparse.ArgumentParser, since: str | None, until: str | None, until_needs_since: bool = True
) -> None:
    """since <= until <= now, refused through the parser (exit 2) with the fix."""
    now = settings.utc_now()
    start = datetime.fromisoformat(since) if since else None
    end = datetime.fromisoformat(until) if until else None
    if end is not None and end > now:
        parser.error(f"--until {until} is in the future: leave it out to read up to now")
    if start is not None and start > (end or now):
        what = f"until ({until})" if end else "now"
        parser.error(f"--since {since} is after {what}: pass a --since earlier than that")
    if until_needs_since and end is not None and start is None:
        parser.error("--until needs --since (a backfill re-reads a range); leave both out for the normal run")


def add_progress_flags(parser: argparse.ArgumentParser) -> None:
    group = parser.add_mutually_exclusive_group()
    group.add_argument(
        "--progress",
        dest="progress",
        action="store_true",
        default=None,
        help="print progress as work goes (default when the output is a terminal)",
    )
    group.add_argument(
        "--quiet",
        dest="progress",
        action="store_false",
        help="print only the summary (default when the output is not a terminal, e.g. cron)",
    )


def wants_progress(args: argparse.Namespace) -> bool:
    import sys

    chosen = getattr(args, "progress", None)
    return sys.stdout.isatty() if chosen is None else bool(chosen)


def add_listen_arguments(
    parser: argparse.ArgumentParser, ports: dict[str, tuple[int, str]], free_port_allowed: bool = False
) -> None:
    """--host (loopback by default: nothing is exposed unless asked) and one port flag per `ports` entry
    ({"--port": (default, help)}); with `free_port_allowed`, 0 means any free port."""
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1, loopback only)")
    port_type = int_between(0 if free_port_allowed else 1, 65535)
    for flag, (default, text) in ports.items():
        parser.add_argument(flag, type=port_type, default=default, help=text)
