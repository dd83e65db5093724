"""A local ThoughtSpot Cloud REST v2 simulator: `auth/token/full` and `logs/fetch` (reference/thoughtspot-api.md).

Behaviour where the vendor documents nothing (marked [I] in the reference) is fixed here and documented:
- window > 24 h -> 400 10002; end < start -> 400 10002; bounds are inclusive at millisecond resolution
  (a record whose `date` truncated to the ms equals start or end is returned);
- only start -> [start, min(start + 24 h, now)]; only end -> [end - 24 h, end]; neither -> [now - 24 h, now];
- records are filtered on `date`, limited to the 30-day retention, and returned as a bare JSON array in a
  deterministic shuffled order (ThoughtSpot promises no order);
- epochs may be JSON numbers or numeric strings; anything else -> 400;
- orgs (`orgs`, `admin_orgs`, `member_orgs`, `default_org`, `key_org`): see thoughtspot_orgs.py; a token reads its
  own org's records only, an Org 0 token with `get_all_logs` true (the default) every org's;
- error bodies use the SPEC shape {"error":{"message":{"code","incident_id_guid","trace_id_guid","debug"}}}, or
  the nested live variant with `error_shape="nested"`. Codes: 400/415 10002, 401 10097, 403 10023, 500 10038,
  anything else 10000;
- 401 for a missing, unknown or expired bearer token; 403 for a token of the non-admin `viewer_username`.
"""

from __future__ import annotations

import json
import math
import random
import secrets
import threading
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from .clock import SimClock
from .faults import FaultPlan
from .history_primitives import TS_RETENTION, US, HistoryConfig, to_us
from .http_server import Response
from .simulator_base import AuditLogSimulator
from .thoughtspot_directory import ThoughtSpotDirectory
from .thoughtspot_history import ThoughtSpotTimeline
from .thoughtspot_orgs import DEFAULT_ORGS, OrgDirectory
from .thoughtspot_state_api import STATE_ROUTES, handle_state
from .vendor_samples import thoughtspot_samples

TOKEN_PATH = "/api/rest/2.0/auth/token/full"
LOGS_PATH = "/api/rest/2.0/logs/fetch"
ORGS_PATH = "/api/rest/2.0/orgs/search"
SESSION_PATH = "/api/rest/2.0/auth/session/user"
# What logs/fetch answers with status 200: the documented bare array, or a body a client must refuse rather than read
# as "no events": an object wrapping the array (as other vendors do), or an HTML page (an SSO or proxy login page).
RESPONSE_SHAPES = ("array", "logs_object", "html")
_HTML_PAGE = (
    b'<!DOCTYPE html><html><head><title>ThoughtSpot</title></head><body><div id="login">'
    b"Sign in to ThoughtSpot</div></body></html>"
)
_ROUTES = {TOKEN_PATH: "POST", LOGS_PATH: "POST", ORGS_PATH: "POST", SESSION_PATH: "GET", **STATE_ROUTES}
DEFAULT_TOKEN_VALIDITY_SECONDS = 300
MAX_WINDOW_MS = 86_400_000
_ERROR_CODES = {400: 10002, 415: 10002, 401: 10097, 403: 10023, 500: 10038}


@dataclass
class _Token:
    username: str
    user_guid: str
    org_id: int
    issued_ms: int
    expires_ms: int
    serial: int
    admin: bool


class ThoughtSpotSimulator(AuditLogSimulator):
    product = "thoughtspot"
    timeline: ThoughtSpotTimeline
    retention_us = int(TS_RETENTION.total_seconds()) * US
    rate_limit_message = "Too many requests: the public API rate limit was exceeded. Retry later."

    def __init__(
        self,
        history: HistoryConfig | None = None,
        faults: FaultPlan | None = None,
        clock: SimClock | None = None,
        username: str = "auditlake-svc",
        secret_key: str | None = None,
        password: str | None = None,
        late_minutes: float = 30,
        max_token_validity_seconds: int | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        viewer_username: str = "auditlake-viewer",
        error_shape: str = "spec",
        include_vendor_samples: bool = False,
        orgs: Sequence[int] = DEFAULT_ORGS,
        admin_orgs: Sequence[int] | None = None,
        member_orgs: Sequence[int] = (),
        default_org: str = "zero",
        key_org: int | None = None,
        response_shape: str = "array",
        time_format: str = "iso",
    ) -> None:
        super().__init__(history, faults, clock, host, port, late_minutes)
        if error_shape not in ("spec", "nested"):
            raise ValueError(f"error_shape={error_shape!r}: use 'spec' or 'nested'")
        self.username = username
        self.secret_key = secret_key if secret_key is not None else secrets.token_urlsafe(24)
        self.password = password
        self.viewer_username = viewer_username
        self.max_token_validity_seconds = max_token_validity_seconds
        self.error_shape = error_shape
        if response_shape not in RESPONSE_SHAPES:
            raise ValueError(f"response_shape={response_shape!r}: use one of {RESPONSE_SHAPES}")
        self.response_shape = response_shape  # read per request: a test may switch it between windows
        self.org_directory = OrgDirectory(orgs, admin_orgs, member_orgs, default_org, key_org)
        self.timeline = ThoughtSpotTimeline(
            self.history, self.history_end(), late_minutes, self.org_directory.orgs, time_format
        )
        if include_vendor_samples:
            self._plant_vendor_samples(thoughtspot_samples)
        # Users, groups and privileges on any date, derived from the history (users/groups/roles search).
        self.directory = ThoughtSpotDirectory(self.timeline, self.org_directory.orgs)
        # A page that always fails: users/search from this record_offset on answers 500 (a snapshot must then fail).
        self.users_search_fails_from_offset: int | None = None
        self._tokens: dict[str, _Token] = {}
        self._token_lock = threading.Lock()
        self._token_serial = 0
        self._expired_through = 0  # tokens with serial <= this are expired (expire_tokens)
        self._user_guid = str(uuid.UUID(int=random.Random(f"{self.history.seed}:svc").getrandbits(128), version=4))

    # -- public helpers ---------------------------------------------------------------------------------------------
    @property
    def host_id(self) -> str:
        """What a client stores as source_instance: host:port for a loopback simulator."""
        return f"{self.host}:{self.port}"

    def straddling_events(self) -> list[dict[str, Any]]:
        """Events whose `ts` and `date` lie on either side of a UTC day or hour boundary (two a day): `id`, `ts` and
        `date` as served, and `date_us` (what windows filter on). A window ending at the boundary does not return
        them, although their `ts` is inside it; the next window does."""
        out = []
        for day in range(self.timeline.first_day, self.timeline.last_day + 1):
            if not self.history.events_per_day:
                break
            for record in self.timeline.straddlers(day):
                if self.timeline.start_us <= record.time_us <= self.timeline.end_us:
                    element = json.loads(record.payload)
                    log = json.loads(element["log"])
                    out.append({"id": log["id"], "ts": log["ts"], "date": element["date"], "date_us": record.time_us})
        return out

    def expire_tokens(self) -> None:
        """Every token issued so far answers 401 from now on."""
        with self._token_lock:
            self._expired_through = self._token_serial

    # -- HTTP --------------------------------------------------------------------------------------------------------
    def is_token_endpoint(self, method: str, path: str) -> bool:
        return path.rstrip("/") == TOKEN_PATH

    def error(self, status: int, debug: str, headers: dict[str, str] | None = None) -> Response:
        message = {
            "code": _ERROR_CODES.get(status, 10000),
            "incident_id_guid": str(uuid.uuid4()),
            "trace_id_guid": str(uuid.uuid4()),
            "debug": debug,
        }
        if self.error_shape == "nested":
            message = {"debug": message}
        return Response(status, json.dumps({"error": {"message": message}}).encode(), headers or {})

    def handle(self, request, method: str, path: str, query: str, body: bytes) -> Response:
        route = path.rstrip("/")
        allowed = _ROUTES.get(route)
        if allowed is None:
            return self.error(404, f"No API endpoint at {path}.")
        if method != allowed:
            return self.error(405, f"{method} is not supported on {path}: use {allowed}.", {"Allow": allowed})
        if route == TOKEN_PATH:
            payload = self._json_body(request, body)
            return payload if isinstance(payload, Response) else self._issue_token(payload)
        token = self._authorise(request.headers.get("Authorization"), need_admin=route == LOGS_PATH)
        if isinstance(token, Response):
            return token
        if route == SESSION_PATH:
            return self._session_user(token)
        payload = self._json_body(request, body)
        if isinstance(payload, Response):
            return payload
        if route == ORGS_PATH:
            return self._search_orgs(payload, token)
        if route in STATE_ROUTES:
            return handle_state(self, self.directory, route, payload, token)
        return self._fetch_logs(payload, token)

    def _json_body(self, request, body: bytes) -> dict[str, Any] | Response:
        if not body:  # no body means no media type to refuse: the required body is simply missing
            return self.error(400, "The request body is required: send a JSON object.")
        content_type = (request.headers.get("Content-Type") or "").split(";")[0].strip().lower()
        if content_type != "application/json":
            return self.error(415, f"Unsupported media type {content_type or '(none)'!r}: send application/json.")
        try:
            payload = json.loads(body)
        except (ValueError, UnicodeDecodeError):
            return self.error(400, "The request body is not valid JSON.")
        if not isinstance(payload, dict):
            return self.error(400, "The request body must be a JSON object.")
        return payload

    # -- orgs --------------------------------------------------------------------------------------------------------
    def _search_orgs(self, body: dict[str, Any], token: _Token) -> Response:
        orgs = self.org_directory
        if not orgs.enabled:
            return self.error(400, "Orgs are not enabled on this cluster: it has only the Primary Org (0).")
        if token.username != self.username or not orgs.is_cluster_admin():
            return self.error(403, "Cluster administration (Can administer Org) privilege required to search orgs.")
        return Response(200, json.dumps(orgs.search(token.org_id, body)).encode())

    def _session_user(self, token: _Token) -> Response:
        orgs = self.org_directory
        member = orgs.orgs if token.username == self.viewer_username else sorted(orgs.member_orgs)
        body = {
            "id": token.user_guid,
            "name": token.username,
            "display_name": token.username,
            "current_org": {"id": token.org_id, "name": orgs.name(token.org_id)},
            "orgs": [{"id": o, "name": orgs.name(o)} for o in member],
        }
        return Response(200, json.dumps(body).encode())

    # -- auth --------------------------------------------------------------------------------------------------------
    def _now_ms(self) -> int:
        return to_us(self.clock.now()) // 1000

    def _issue_token(self, body: dict[str, Any]) -> Response:
        username = body.get("username")
        if not isinstance(username, str):  # "" is well formed (the spec allows it), just not a known user
            return self.error(400, "username is required and must be a string.")
        password, secret_key = body.get("password", ""), body.get("secret_key", "")
        if not isinstance(password, str) or not isinstance(secret_key, (str, type(None))):
            return self.error(400, "password and secret_key must be strings.")
        if not password and not secret_key:
            return self.error(400, "Either secret_key or password must be provided.")
        validity = body.get("validity_time_in_sec", DEFAULT_TOKEN_VALIDITY_SECONDS)
        if isinstance(validity, bool) or not isinstance(validity, int):
            return self.error(400, "validity_time_in_sec must be an integer number of seconds.")
        org_id = body.get("org_id")  # absent or null: the org is the cluster's default (see default_org)
        if org_id is not None and (
            isinstance(org_id, bool) or not isinstance(org_id, int) or not -(2**31) <= org_id <= 2**31 - 1
        ):
            return self.error(400, "org_id must be an integer.")
        # SPEC: secret_key takes precedence over password when both are sent.
        if secret_key:
            valid = secrets.compare_digest(secret_key.encode(), self.secret_key.encode())
        else:
            valid = self.password is not None and secrets.compare_digest(password.encode(), self.password.encode())
        if username not in (self.username, self.viewer_username) or not valid:
            return self.error(401, "Invalid credentials. The provided secret key or password is incorrect.")
        if not 0 < validity <= 2**31 - 1:
            return self.error(400, "validity_time_in_sec must be a positive number of seconds.")
        directory = self.org_directory
        if org_id is not None:
            refusal = directory.refusal(org_id, username == self.viewer_username or org_id in directory.member_orgs)
            if refusal is not None:
                return self.error(*refusal)
        org_id = directory.landing(username, org_id)
        if username != self.viewer_username and org_id not in directory.member_orgs:
            return self.error(
                403,
                f"The user is not a member of Org {org_id}, where a token lands when org_id is not sent. Send org_id.",
            )
        directory.remember(username, org_id)
        if self.max_token_validity_seconds is not None:
            validity = min(validity, self.max_token_validity_seconds)
        now_ms = self._now_ms()
        token_text = secrets.token_urlsafe(32)
        with self._token_lock:
            self._token_serial += 1
            admin = username == self.username and org_id in self.org_directory.admin_orgs
            self._tokens[token_text] = _Token(
                username, self._user_guid, org_id, now_ms, now_ms + validity * 1000, self._token_serial, admin=admin
            )
        body_out = {
            "token": token_text,
            "creation_time_in_millis": now_ms,
            "expiration_time_in_millis": now_ms + validity * 1000,
            "scope": {"access_type": "FULL", "org_id": org_id, "metadata_id": None},
            "valid_for_user_id": self._user_guid,
            "valid_for_username": username,
        }
        return Response(200, json.dumps(body_out).encode())

    def _authorise(self, header: str | None, need_admin: bool) -> _Token | Response:
        scheme, _, value = (header or "").partition(" ")
        if scheme.lower() != "bearer" or not value.strip():
            return self.error(
                401, "Authentication required: send Authorization: Bearer <token> from /api/rest/2.0/auth/token/full."
            )
        with self._token_lock:
            token = self._tokens.get(value.strip())
            expired_through = self._expired_through
        if token is None:
            return self.error(401, "The bearer token is not valid. Request a new token.")
        if token.serial <= expired_through or self._now_ms() >= token.expires_ms:
            return self.error(401, "The bearer token has expired. Request a new token.")
        if need_admin and not token.admin:
            return self.error(
                403,
                f"ADMINISTRATION privilege required to fetch security audit logs (in Org "
                f"{token.org_id}, the token's org).",
            )
        return token

    # -- logs --------------------------------------------------------------------------------------------------------
    @staticmethod
    def _epoch(body: dict[str, Any], name: str) -> int | str | None:
        """Milliseconds as int, None if absent, or an error message (null is not allowed: not nullable)."""
        if name not in body:
            return None
        value = body[name]
        if value is None:
            return f"{name} must be a number of milliseconds since the epoch, not null."
        if isinstance(value, str):
            try:
                value = float(value.strip())
            except ValueError:
                return f"{name} must be a number of milliseconds since the epoch, got {value!r}."
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            return f"{name} must be a number of milliseconds since the epoch."
        # Far-off epochs are well formed; clamp them so they simply select nothing.
        return math.floor(min(max(value, -(2**53)), 2**53))

    def _fetch_logs(self, body: dict[str, Any], token: _Token) -> Response:
        log_type = body.get("log_type")
        if log_type != "SECURITY_AUDIT":
            return self.error(400, f"log_type must be SECURITY_AUDIT, got {log_type!r}.")
        get_all = body.get("get_all_logs", True)
        if get_all is not None and not isinstance(get_all, bool):
            return self.error(400, "get_all_logs must be a boolean.")
        given_start = self._epoch(body, "start_epoch_time_in_millis")
        given_end = self._epoch(body, "end_epoch_time_in_millis")
        for value in (given_start, given_end):
            if isinstance(value, str):
                return self.error(400, value)
        now_ms = self._now_ms()
        start_ms: int
        end_ms: int
        if isinstance(given_start, int) and isinstance(given_end, int):
            start_ms, end_ms = given_start, given_end
        elif isinstance(given_start, int):
            start_ms, end_ms = given_start, min(given_start + MAX_WINDOW_MS, now_ms)
        elif isinstance(given_end, int):
            start_ms, end_ms = given_end - MAX_WINDOW_MS, given_end
        else:
            start_ms, end_ms = now_ms - MAX_WINDOW_MS, now_ms
        if end_ms < start_ms and body.get("end_epoch_time_in_millis") is not None:
            return self.error(400, "end_epoch_time_in_millis is before start_epoch_time_in_millis.")
        if end_ms - start_ms > MAX_WINDOW_MS:
            return self.error(400, "The log duration exceeds 24 hours. Make multiple requests of at most 24 hours.")
        refused, window_fault = self.window_fault(timedelta(milliseconds=end_ms - start_ms))
        if refused is not None:
            return refused
        now_us = now_ms * 1000
        horizon_us = now_us - int(TS_RETENTION.total_seconds()) * US
        records = self.timeline.records_between(max(start_ms * 1000, horizon_us), end_ms * 1000 + 999, now_us)
        # The filter field is `date` (ingest time): ThoughtSpot documents no other, and `ts` (event time) can be up
        # to 1.5 s earlier, so an event near a bound may have its `ts` outside the window it is returned in.
        visible = self.org_directory.visible_orgs(token.org_id, get_all is not False)
        if visible is not None:
            records = [r for r in records if r.org in visible]
        payloads = [r.payload for r in records]
        # No promised order: a deterministic shuffle per window, so clients cannot rely on sorting.
        random.Random(start_ms * 31 + end_ms + self.history.seed).shuffle(payloads)
        array = b"[" + b",".join(payloads) + b"]"
        if self.response_shape == "logs_object":
            return Response(200, b'{"logs":' + array + b"}", fault=window_fault)
        if self.response_shape == "html":
            return Response(200, _HTML_PAGE, content_type="text/html; charset=utf-8", fault=window_fault)
        return Response(200, array, fault=window_fault)


__all__ = [
    "ThoughtSpotSimulator",
    "TOKEN_PATH",
    "LOGS_PATH",
    "ORGS_PATH",
    "SESSION_PATH",
    "MAX_WINDOW_MS",
    "RESPONSE_SHAPES",
]
