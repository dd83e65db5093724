"""`auditlake simulate`: serve the ThoughtSpot and/or Mode simulators until Ctrl-C (or --duration).

Prints the base URLs and the exact `export` lines that point auditlake at them. The credentials are throwaway
simulator credentials (generated, or given with flags), so printing them is the point.
"""

from __future__ import annotations

import argparse
import shlex
import signal
import sys
import threading
import time
from datetime import datetime, timedelta

from pipelines.commands.arguments import add_listen_arguments

from .clock import SimClock
from .faults import FaultPlan
from .history_primitives import HistoryConfig
from .mode_api import ALL_ENVELOPES, ModeSimulator
from .thoughtspot_api import RESPONSE_SHAPES, ThoughtSpotSimulator
from .thoughtspot_orgs import DEFAULT_ORG_MODES
from .time_formats import TIME_FORMATS

# The environment variables the dlt sources read (dlt's SOURCES__<source>__<key> convention).
ENV_NAMES = {
    "thoughtspot": {
        "base_url": "SOURCES__THOUGHTSPOT__BASE_URL",
        "username": "SOURCES__THOUGHTSPOT__USERNAME",
        "secret_key": "SOURCES__THOUGHTSPOT__SECRET_KEY",
    },
    "mode": {
        "base_url": "SOURCES__MODE__BASE_URL",
        "workspace": "SOURCES__MODE__WORKSPACE",
        "api_token": "SOURCES__MODE__API_TOKEN",
        "api_secret": "SOURCES__MODE__API_SECRET",
    },
}
DEFAULT_PORTS = {"thoughtspot": 8470, "mode": 8471}


def _utc(text: str) -> datetime:
    from pipelines.settings import parse_utc  # one ISO parser for the whole project

    return parse_utc(text)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--product", choices=("thoughtspot", "mode", "both"), default="both")
    add_listen_arguments(
        parser,
        {
            "--thoughtspot-port": (DEFAULT_PORTS["thoughtspot"], "0 = a free port"),
            "--mode-port": (DEFAULT_PORTS["mode"], "0 = a free port"),
        },
        free_port_allowed=True,
    )
    history = parser.add_argument_group("history")
    history.add_argument("--seed", type=int, default=42)
    history.add_argument("--days", type=int, default=30)
    history.add_argument("--events-per-day", type=int, default=300)
    history.add_argument("--end", type=_utc, default=None, help="end of the history (ISO, UTC); default now")
    history.add_argument("--malformed-every", type=int, default=0, help="every Nth record malformed (0 = never)")
    history.add_argument(
        "--late-minutes", type=float, default=30, help="ThoughtSpot: max delay before an event is visible (0 = none)"
    )
    history.add_argument("--mode-late-minutes", type=float, default=0, help="Mode: max reveal delay")
    history.add_argument(
        "--vendor-samples",
        action="store_true",
        help="also serve the records the vendors publish (docs/vendor/samples), verbatim",
    )
    history.add_argument(
        "--clock-offset-minutes", type=float, default=0, help="run the simulator clock this far from real time"
    )
    faults = parser.add_argument_group("faults (data endpoints only)")
    faults.add_argument("--error-rate", type=float, default=0.0, help="probability of a 429/500/503")
    faults.add_argument("--error-statuses", default="429,500,503", help="comma-separated statuses to draw from")
    faults.add_argument("--drop-rate", type=float, default=0.0, help="probability of closing without a response")
    faults.add_argument("--slow-rate", type=float, default=0.0, help="probability of a slow response")
    faults.add_argument("--slow-seconds", type=float, default=0.5)
    faults.add_argument("--retry-after", type=int, default=1, help="Retry-After seconds on 429/503")
    faults.add_argument("--fault-seed", type=int, default=0)
    faults.add_argument(
        "--slow-windows-longer-than-minutes",
        type=float,
        default=None,
        help="stall every request whose window is longer than this (see --window-slow-seconds)",
    )
    faults.add_argument("--window-slow-seconds", type=float, default=5.0)
    faults.add_argument(
        "--fail-windows-longer-than-minutes",
        type=float,
        default=None,
        help="answer every request whose window is longer than this with --window-fail-status",
    )
    faults.add_argument("--window-fail-status", type=int, default=503)
    creds = parser.add_argument_group("credentials (generated when omitted)")
    creds.add_argument("--thoughtspot-username", default="auditlake-svc")
    creds.add_argument("--thoughtspot-secret-key", default=None)
    creds.add_argument("--thoughtspot-password", default=None)
    creds.add_argument("--max-token-validity-seconds", type=int, default=None)
    creds.add_argument("--mode-workspace", default="acme")
    creds.add_argument("--mode-token", default=None)
    creds.add_argument("--mode-secret", default=None)
    ts = parser.add_argument_group("thoughtspot")
    ts.add_argument("--orgs", default="0,1,2", help="comma-separated org ids of the cluster (must include 0)")
    ts.add_argument(
        "--default-org", choices=DEFAULT_ORG_MODES, default="zero", help="where a token lands when org_id is not sent"
    )
    ts.add_argument("--time-format", choices=TIME_FORMATS, default="iso", help="how ts and date are written")
    ts.add_argument("--response-shape", choices=RESPONSE_SHAPES, default="array", help="logs/fetch 200 body")
    mode = parser.add_argument_group("mode")
    mode.add_argument("--mode-page-size", type=int, default=100)
    mode.add_argument("--mode-envelope", choices=ALL_ENVELOPES, default="top_level")
    mode.add_argument("--no-log-own-access", action="store_true", help="do not append audit_log_accessed entries")
    push = parser.add_argument_group("push (ThoughtSpot's SIEM output, to `auditlake receive`)")
    push.add_argument("--push-to", default=None, help="receiver base URL, e.g. http://127.0.0.1:8088 (default: none)")
    push.add_argument("--push-token", default=None, help="the receiver's SOURCES__THOUGHTSPOT__PUSH_TOKEN")
    push.add_argument("--push-format", choices=("hec", "http"), default="hec", help="Splunk HEC or plain HTTP")
    push.add_argument("--push-interval", type=float, default=5.0, help="seconds between batches (ThoughtSpot: 5)")
    push.add_argument("--push-live-events", type=int, default=2, help="new events made up per batch")
    push.add_argument("--push-no-gzip", action="store_true", help="send bodies uncompressed")
    parser.add_argument("--duration", type=float, default=None, help="stop after this many seconds (for scripts)")


def build_simulators(args: argparse.Namespace) -> list[ThoughtSpotSimulator | ModeSimulator]:
    history = HistoryConfig(
        seed=args.seed,
        days=args.days,
        events_per_day=args.events_per_day,
        end=args.end,
        malformed_every=args.malformed_every,
    )
    statuses = tuple(int(s) for s in str(args.error_statuses).split(",") if s.strip())
    clock = SimClock(timedelta(minutes=args.clock_offset_minutes))

    def minutes(value: float | None) -> timedelta | None:
        return None if value is None else timedelta(minutes=value)

    def plan(offset: int) -> FaultPlan:
        return FaultPlan(
            error_rate=args.error_rate,
            statuses=statuses,
            retry_after_seconds=args.retry_after,
            drop_rate=args.drop_rate,
            slow_rate=args.slow_rate,
            slow_seconds=args.slow_seconds,
            seed=args.fault_seed + offset,
            slow_windows_longer_than=minutes(args.slow_windows_longer_than_minutes),
            window_slow_seconds=args.window_slow_seconds,
            fail_windows_longer_than=minutes(args.fail_windows_longer_than_minutes),
            window_fail_status=args.window_fail_status,
        )

    sims: list[ThoughtSpotSimulator | ModeSimulator] = []
    if args.product in ("thoughtspot", "both"):
        sims.append(
            ThoughtSpotSimulator(
                history=history,
                faults=plan(0),
                clock=clock,
                username=args.thoughtspot_username,
                secret_key=args.thoughtspot_secret_key,
                password=args.thoughtspot_password,
                late_minutes=args.late_minutes,
                max_token_validity_seconds=args.max_token_validity_seconds,
                host=args.host,
                port=args.thoughtspot_port,
                include_vendor_samples=args.vendor_samples,
                orgs=tuple(int(o) for o in str(args.orgs).split(",") if o.strip()),
                default_org=args.default_org,
                time_format=args.time_format,
                response_shape=args.response_shape,
            )
        )
    if args.product in ("mode", "both"):
        sims.append(
            ModeSimulator(
                history=history,
                faults=plan(1),
                clock=clock,
                workspace=args.mode_workspace,
                api_token=args.mode_token,
                api_secret=args.mode_secret,
                page_size=args.mode_page_size,
                envelope=args.mode_envelope,
                log_own_access=not args.no_log_own_access,
                late_minutes=args.mode_late_minutes,
                host=args.host,
                port=args.mode_port,
                include_vendor_samples=args.vendor_samples,
            )
        )
    return sims


def environment(sim: ThoughtSpotSimulator | ModeSimulator) -> dict[str, str]:
    """The variables (name -> value) that point auditlake's source at a running simulator."""
    if isinstance(sim, ThoughtSpotSimulator):
        names = ENV_NAMES["thoughtspot"]
        return {names["base_url"]: sim.base_url, names["username"]: sim.username, names["secret_key"]: sim.secret_key}
    names = ENV_NAMES["mode"]
    return {
        names["base_url"]: sim.base_url,
        names["workspace"]: sim.workspace,
        names["api_token"]: sim.api_token,
        names["api_secret"]: sim.api_secret,
    }


def _start_pusher(args: argparse.Namespace, sims: list):  # -> ThoughtSpotPusher | None
    push_to = getattr(args, "push_to", None)
    if not push_to:
        return None
    from .thoughtspot_pusher import ThoughtSpotPusher

    simulator = next((sim for sim in sims if isinstance(sim, ThoughtSpotSimulator)), None)
    if simulator is None or not args.push_token:
        raise SystemExit("auditlake simulate: --push-to needs --push-token and the ThoughtSpot simulator")
    pusher = ThoughtSpotPusher(
        simulator,
        push_to,
        args.push_token,
        args.push_format,
        compress=not args.push_no_gzip,
        interval_seconds=args.push_interval,
        live_events_per_batch=args.push_live_events,
    )
    pusher.start()
    print(f"# pushing ThoughtSpot events to {push_to} ({args.push_format}) every {args.push_interval:g} s")
    return pusher


def main(args: argparse.Namespace) -> int:
    try:
        sims = build_simulators(args)
    except ValueError as exc:
        print(f"auditlake simulate: {exc}", file=sys.stderr)
        return 2
    started: list[ThoughtSpotSimulator | ModeSimulator] = []
    try:
        for sim in sims:
            sim.start()
            started.append(sim)
    except OSError as exc:
        for sim in started:
            sim.stop()
        print(f"auditlake simulate: {exc}", file=sys.stderr)
        return 1
    history = sims[0].history
    print(f"# auditlake simulators: seed {history.seed}, {history.days} days x {history.events_per_day} events/day")
    for sim in sims:
        print(f"# {sim.product}: {sim.base_url}  (source_instance {sim.host_id})")
    print("# point auditlake at them with:")
    for sim in sims:
        for name, value in environment(sim).items():
            print(f"export {name}={shlex.quote(value)}")
    pusher = _start_pusher(args, sims)
    print("# Ctrl-C to stop", flush=True)

    stop = threading.Event()
    previous = signal.getsignal(signal.SIGTERM) if threading.current_thread() is threading.main_thread() else None
    if previous is not None:
        signal.signal(signal.SIGTERM, lambda *_: stop.set())
    deadline = None if args.duration is None else time.monotonic() + args.duration
    try:
        # Short waits: Ctrl-C is acted on within half a second even when the kernel hands the signal to a server
        # thread (the main thread only runs Python's handler when it wakes).
        while not stop.is_set():
            left = None if deadline is None else deadline - time.monotonic()
            if left is not None and left <= 0:
                break
            stop.wait(0.5 if left is None else min(0.5, left))
    except KeyboardInterrupt:
        pass
    finally:
        if pusher is not None:
            pusher.stop()
            print(f"# pushed: {pusher.stats.acknowledged_records} records acknowledged, {pusher.stats.retries} retries")
        for sim in sims:
            sim.stop()
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)
    print("# simulators stopped", flush=True)
    return 0


if __name__ == "__main__":
    _parser = argparse.ArgumentParser(prog="python -m pipelines.simulators.serve", description=__doc__.splitlines()[0])
    add_arguments(_parser)
    sys.exit(main(_parser.parse_args()))
