"""The receiver's HTTP side: Splunk HEC and a plain endpoint, answering so that no sender drops an event.

Status codes follow what the senders do with them (README "Receive the push"): 200 only once the body is fsync'd in
the spool; 503 (+ Retry-After as a hint; no sender honours it) for everything transient, because 503 is the one
code every sender retries while several drop a batch on any 4xx including 429; 401/403 for tokens; 400/413 only for
bodies that can never succeed, and those are kept aside in the spool's rejected/ folder and counted.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import logging
import threading
import time
from collections import defaultdict
from collections.abc import AsyncIterator
from concurrent.futures import Future
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from pipelines.receiver.push_records import BodyTooLarge, BodyUndecodable, decompress, split_values
from pipelines.receiver.spool_segments import (
    SpoolFull,
    SpoolWriter,
    rejected_bytes,
    rejected_count,
    write_rejected,
)
from pipelines.receiver.tokens import ReloadingTokens, TokensUnavailable, TokenTable

log = logging.getLogger("auditlake.receiver")

# A sender that gets no answer within its timeout (60 s for Fluent Bit and Vector) resends: answer 503 well before.
ACK_TIMEOUT_SECONDS = 20.0
RETRY_AFTER_SECONDS = "5"
# Splunk HEC's answers (docs.splunk.com "Possible error codes"); the plain route answers the same JSON.
SUCCESS = (200, "Success", 0)
TOKEN_DISABLED = (403, "Token disabled", 1)
TOKEN_REQUIRED = (401, "Token is required", 2)
INVALID_AUTHORIZATION = (401, "Invalid authorization", 3)
INVALID_TOKEN = (403, "Invalid token", 4)
NO_DATA = (400, "No data", 5)
INVALID_DATA_FORMAT = (400, "Invalid data format", 6)
SERVER_BUSY = (503, "Server is busy", 9)
ACK_DISABLED = (400, "ACK is disabled", 14)
QUERY_AUTH_DISABLED = (400, "Query string authorization is not enabled", 16)
HEALTHY = (200, "HEC is healthy", 17)
QUEUES_FULL = (503, "HEC is unhealthy, queues are full", 18)


@dataclass
class ReceiverSettings:
    spool_dir: Path
    tokens: TokenTable | ReloadingTokens
    max_body_bytes: int = 32 * 1024 * 1024
    max_spool_bytes: int = 2 * 1024 * 1024 * 1024
    rate_per_second: float = 100.0  # requests per token; a Fluent Bit sender flushes every 5 s with 2 workers
    burst: float = 200.0
    allow_query_token: bool = False


@dataclass
class _Bucket:
    tokens: float
    at: float


@dataclass
class ReceiverCounters:
    accepted_bodies: int = 0
    accepted_bytes: int = 0
    rejected_bodies: int = 0
    busy: int = 0
    auth_failures: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)


def answer(status: tuple[int, str, int], detail: str | None = None, retry: bool = False) -> JSONResponse:
    code, text, hec_code = status
    body: dict[str, Any] = {"text": text, "code": hec_code}
    if detail:
        body["detail"] = detail
    headers = {"Retry-After": RETRY_AFTER_SECONDS} if retry else None
    return JSONResponse(body, status_code=code, headers=headers)


def presented_token(request: Request, allow_query: bool) -> tuple[str | None, tuple[int, str, int] | None]:
    """(token, None) or (None, the HEC answer): `Splunk <t>`, `Bearer <t>`, Basic with the token as password
    (or as user when the password is empty), and `?token=` only when enabled (HEC's allowQueryStringAuth)."""
    header = request.headers.get("authorization")
    if header:
        scheme, _, value = header.strip().partition(" ")
        value = value.strip()
        if scheme.lower() in ("splunk", "bearer") and value:
            return value, None
        if scheme.lower() == "basic" and value:
            try:
                user, _, password = base64.b64decode(value, validate=True).decode("utf-8").partition(":")
            except (binascii.Error, UnicodeDecodeError):
                return None, INVALID_AUTHORIZATION
            secret = password or user
            return (secret, None) if secret else (None, INVALID_AUTHORIZATION)
        return None, INVALID_AUTHORIZATION
    for name in ("dd-api-key", "x-auditlake-token"):
        if request.headers.get(name):
            return request.headers[name].strip(), None
    if "token" in request.query_params:
        if not allow_query:
            return None, QUERY_AUTH_DISABLED
        return request.query_params["token"], None
    return None, TOKEN_REQUIRED


class Receiver:
    def __init__(self, config: ReceiverSettings) -> None:
        self.config = config
        self.counters = ReceiverCounters()
        self.spool: SpoolWriter | None = None
        self._buckets: dict[str, _Bucket] = defaultdict(lambda: _Bucket(config.burst, time.monotonic()))

    def _allowed(self, instance: str) -> bool:
        bucket = self._buckets[instance]
        now = time.monotonic()
        bucket.tokens = min(self.config.burst, bucket.tokens + (now - bucket.at) * self.config.rate_per_second)
        bucket.at = now
        if bucket.tokens < 1:
            return False
        bucket.tokens -= 1
        return True

    def _count(self, **increments: int) -> None:
        with self.counters.lock:
            for name, value in increments.items():
                setattr(self.counters, name, getattr(self.counters, name) + value)

    async def health(self, request: Request) -> JSONResponse:
        if self.spool is None or self.spool.over_limit():
            return answer(QUEUES_FULL, retry=True)
        return answer(HEALTHY)

    async def ack(self, request: Request) -> JSONResponse:
        # Every 200 already means fsync'd: indexer acknowledgement has nothing left to confirm.
        return answer(ACK_DISABLED)

    async def hec_event(self, request: Request) -> JSONResponse:
        return await self._receive(request, "hec_event", json_required=True)

    async def hec_raw(self, request: Request) -> JSONResponse:
        # HEC's raw endpoint takes any text (and Splunk wants a channel; the senders ThoughtSpot may run do not use
        # raw by default, so a missing channel is not refused): non-JSON lines are quarantined by the drain.
        return await self._receive(request, "hec_raw", json_required=False)

    async def plain(self, request: Request) -> JSONResponse:
        return await self._receive(request, "plain", json_required=True)

    async def _receive(self, request: Request, route: str, json_required: bool) -> JSONResponse:
        token, problem = presented_token(request, self.config.allow_query_token)
        if problem is not None or token is None:
            self._count(auth_failures=1)
            return answer(problem or TOKEN_REQUIRED)
        try:
            instance = self.config.tokens.instance_for(token)
        except TokensUnavailable:
            self._count(busy=1)
            return answer(SERVER_BUSY, "push tokens are being re-read: retry later", retry=True)
        if instance is None:
            self._count(auth_failures=1)
            return answer(INVALID_TOKEN)
        if not self._allowed(instance):
            self._count(busy=1)
            return answer(SERVER_BUSY, "rate limit for this token: retry later", retry=True)
        spool = self.spool
        if spool is None or spool.over_limit():
            self._count(busy=1)
            return answer(SERVER_BUSY, "spool is full: the drain is behind", retry=True)
        header = {
            "instance": instance,
            "route": route,
            "received_at": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        }
        limit = self.config.max_body_bytes
        declared = request.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > limit:
            return await self._reject(header, b"", 413, f"Content-Length {declared} is over {limit} bytes")
        raw = bytearray()
        try:
            async for chunk in request.stream():
                raw += chunk
                if len(raw) > limit:
                    return await self._reject(header, bytes(raw[: 1024 * 1024]), 413, f"body is over {limit} bytes")
        except Exception:  # client went away mid-body: nothing to acknowledge
            self._count(busy=1)
            return answer(SERVER_BUSY, "body was cut short", retry=True)
        try:
            body = decompress(bytes(raw), request.headers.get("content-encoding", ""), limit)
        except BodyTooLarge as exc:
            return await self._reject(header, bytes(raw[: 1024 * 1024]), 413, str(exc))
        except BodyUndecodable as exc:
            return await self._reject(header, bytes(raw), 400, str(exc))
        if not body.strip():
            return answer(NO_DATA)
        if json_required:
            try:
                values = split_values(body) if len(body) < 1_000_000 else await asyncio.to_thread(split_values, body)
            except BodyUndecodable as exc:
                return await self._reject(header, body, 400, str(exc))
            if not values:
                return answer(SUCCESS)  # `[]`: a valid batch of nothing
        try:
            future: Future[None] = spool.submit(header, body)
            await asyncio.wait_for(asyncio.wrap_future(future), ACK_TIMEOUT_SECONDS)
        except SpoolFull:
            self._count(busy=1)
            return answer(SERVER_BUSY, "spool is full: the drain is behind", retry=True)
        except (TimeoutError, OSError) as exc:
            self._count(busy=1)
            log.error("spool write failed (%s): answered 503, the sender retries", type(exc).__name__)
            return answer(SERVER_BUSY, "spool write failed: retry", retry=True)
        self._count(accepted_bodies=1, accepted_bytes=len(body))
        return answer(SUCCESS)

    async def _reject(self, header: dict[str, Any], body: bytes, status: int, reason: str) -> JSONResponse:
        header = dict(header, status=status, reason=reason, truncated=status == 413)
        try:
            kept = await asyncio.to_thread(self._keep_rejected, header, body)
        except OSError:
            # Could not keep it aside: a 4xx would lose it, so let the sender try again.
            self._count(busy=1)
            return answer(SERVER_BUSY, "could not keep the refused body: retry", retry=True)
        self._count(rejected_bodies=1)
        where = "kept in rejected/" if kept else "NOT kept: rejected/ is over its limit, empty it"
        log.warning("refused a body from %s with %s: %s (%s)", header["instance"], status, reason, where)
        if status == 413:
            return JSONResponse({"text": "Content too large", "code": 6, "detail": reason}, status_code=413)
        return answer(INVALID_DATA_FORMAT, reason)

    def _keep_rejected(self, header: dict[str, Any], body: bytes) -> bool:
        """Bodies that can never succeed are kept for the operator, up to a tenth of the spool's limit: a sender
        looping on a broken body must not fill the disk the acknowledged events need."""
        if rejected_bytes(self.config.spool_dir) + len(body) > self.config.max_spool_bytes // 10:
            return False
        write_rejected(self.config.spool_dir, header, body)
        return True

    def stats_line(self) -> str:
        c = self.counters
        return (
            f"receiver: {c.accepted_bodies} bodies accepted ({c.accepted_bytes} bytes), {c.rejected_bodies} refused "
            f"(kept: {rejected_count(self.config.spool_dir)} in rejected/), {c.busy} answered busy, "
            f"{c.auth_failures} refused for their token"
        )

    @asynccontextmanager
    async def lifespan(self, app: Starlette) -> AsyncIterator[None]:
        self.spool = SpoolWriter(self.config.spool_dir, self.config.max_spool_bytes)
        reporter = asyncio.create_task(self._report())
        try:
            yield
        finally:
            reporter.cancel()
            await asyncio.to_thread(self.spool.close)
            log.info(self.stats_line())

    async def _report(self) -> None:
        while True:
            await asyncio.sleep(60)
            log.info(self.stats_line())


HEC_EVENT_PATHS = ("/services/collector", "/services/collector/event", "/services/collector/event/1.0")
HEC_RAW_PATHS = ("/services/collector/raw", "/services/collector/raw/1.0")
HEC_HEALTH_PATHS = ("/services/collector/health", "/services/collector/health/1.0")
PLAIN_PATHS = ("/", "/ingest", "/api/v2/logs")


def build_app(config: ReceiverSettings) -> Starlette:
    receiver = Receiver(config)
    routes = [Route(path, receiver.hec_event, methods=["POST"]) for path in HEC_EVENT_PATHS]
    routes += [Route(path, receiver.hec_raw, methods=["POST"]) for path in HEC_RAW_PATHS]
    routes += [Route(path, receiver.health, methods=["GET"]) for path in (*HEC_HEALTH_PATHS, "/healthz")]
    routes += [Route("/services/collector/ack", receiver.ack, methods=["POST"])]
    routes += [Route(path, receiver.plain, methods=["POST", "PUT"]) for path in PLAIN_PATHS]
    app = Starlette(routes=routes, lifespan=receiver.lifespan)
    app.state.receiver = receiver
    return app
