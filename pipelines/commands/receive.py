"""`auditlake receive`: accept ThoughtSpot's SIEM push (Splunk HEC or plain HTTP) into the durable spool.

Bodies are spooled and acknowledged here; `auditlake ingest` and the Dagster sensor `push_spool_sensor` drain the
spool into raw_thoughtspot. Tokens: SOURCES__THOUGHTSPOT__PUSH_TOKEN (see pipelines/receiver/tokens.py).
"""

from __future__ import annotations

import argparse
import ipaddress
import logging
from typing import Any

from pipelines.commands.arguments import add_listen_arguments, int_between

LOOPBACK_NAMES = ("localhost",)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_listen_arguments(parser, {"--port": (8088, "port (default 8088, HEC's)")})
    parser.add_argument("--tls-cert", help="PEM certificate: required (with --tls-key) to listen beyond loopback")
    parser.add_argument("--tls-key", help="PEM private key of --tls-cert")
    parser.add_argument(
        "--insecure-bind",
        action="store_true",
        help="listen beyond loopback without TLS (only behind a TLS-terminating proxy on the same host)",
    )
    parser.add_argument("--spool-dir", help="spool folder (default AUDITLAKE_SPOOL_DIR or <home>/spool/thoughtspot)")
    parser.add_argument(
        "--max-body-mb", type=int_between(1, 1024), default=32, help="largest body, decompressed (default 32)"
    )
    parser.add_argument(
        "--max-spool-mb",
        type=int_between(1),
        default=2048,
        help="answer 503 once the undrained spool holds this much (default 2048)",
    )
    parser.add_argument(
        "--rate-limit", type=float, default=100.0, help="requests per second per token before 503 (default 100)"
    )
    parser.add_argument("--burst", type=float, default=200.0, help="requests a token may send at once (default 200)")
    parser.add_argument(
        "--allow-query-token",
        action="store_true",
        help="accept ?token= (HEC's allowQueryStringAuth; off by default: URLs end up in proxy logs)",
    )


def _is_loopback(host: str) -> bool:
    if host.lower() in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def main(args: argparse.Namespace) -> int:
    import uvicorn

    from pipelines import settings
    from pipelines.receiver.receiver_app import ReceiverSettings, build_app
    from pipelines.receiver.spool_segments import spool_dir
    from pipelines.receiver.tokens import ENV_PUSH_TOKEN, ReloadingTokens, push_tokens

    tls = bool(args.tls_cert or args.tls_key)
    if tls and not (args.tls_cert and args.tls_key):
        args._parser.error("--tls-cert and --tls-key go together: give both")
    if not _is_loopback(args.host) and not tls and not args.insecure_bind:
        args._parser.error(
            f"--host {args.host} is beyond loopback: the push token would cross the network in clear. Give "
            "--tls-cert and --tls-key, or --insecure-bind when a TLS proxy on this host forwards to it"
        )
    tokens = push_tokens()
    if not tokens:
        raise settings.ConfigurationError(
            f"no push token: set {ENV_PUSH_TOKEN} (a long random value; give it to ThoughtSpot Support) "
            "and SOURCES__THOUGHTSPOT__BASE_URL"
        )
    folder = settings.in_home(args.spool_dir) if args.spool_dir else spool_dir()
    config = ReceiverSettings(
        spool_dir=folder,
        tokens=ReloadingTokens(tokens),  # a token rotated in .dlt/secrets.toml applies without a restart
        max_body_bytes=args.max_body_mb * 1024 * 1024,
        max_spool_bytes=args.max_spool_mb * 1024 * 1024,
        rate_per_second=args.rate_limit,
        burst=args.burst,
        allow_query_token=args.allow_query_token,
    )
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    scheme = "https" if tls else "http"
    instances = ", ".join(sorted(set(tokens.values())))
    print(f"receiving on {scheme}://{args.host}:{args.port} for {instances}; spool {folder}", flush=True)
    print(
        f"  Splunk HEC: {scheme}://{args.host}:{args.port}/services/collector/event  "
        f"plain HTTP: {scheme}://{args.host}:{args.port}/ingest",
        flush=True,
    )
    try:
        _serve(uvicorn, build_app(config), args)
    except KeyboardInterrupt:
        pass  # SIGTERM / Ctrl-C: uvicorn has already answered what was in flight and sealed the spool
    print("receiver stopped; every acknowledged body is in the spool", flush=True)
    return 0


def _serve(uvicorn: Any, app: Any, args: argparse.Namespace) -> None:
    uvicorn.run(
        app,
        host=args.host,
        port=args.port,
        ssl_certfile=args.tls_cert,
        ssl_keyfile=args.tls_key,
        # The access log prints query strings (a `?token=` would be in it) and a line per request: off.
        access_log=False,
        log_level="warning",
        timeout_graceful_shutdown=10,
    )
