"""A local Mode simulator for `GET /api/{workspace}/audit_logs` (reference/mode-api.md).

Order of checks, as the reference describes the live endpoint: `Accept: application/hal+json` -> 406 with an
empty body even without credentials; then Basic auth with the workspace token:secret, else 401 with an empty body
and `WWW-Authenticate: Basic realm="Application"`; then an unknown workspace -> 404; then the query.

Fixed here where Mode documents nothing:
- `start_timestamp` <= timestamp <= `end_timestamp` (both inclusive); naive timestamps are UTC;
- pages hold `page_size` entries in a stable order (by id, which is unrelated to time) and are linked by an
  opaque `next_token` that pins the snapshot: events revealed or added after the first page (including this
  read's own `audit_log_accessed`) are not slipped into later pages of the same walk;
- `envelope` picks where the cursor and items live: "top_level" {"audit_logs":[...],"next_token":...|null},
  "pagination" {"audit_logs":[...],"pagination":{"next_token":...|null}}, "embedded"
  {"_embedded":{"audit_logs":[...]},"next_token":...} with the key absent on the last page, "hal"
  {"_embedded":{"audit_logs":[...]},"_links":{"self":{"href"},"next":{"href"}}} (next absent on the last page; the
  href is relative and carries every original parameter plus next_token); two shapes a client must refuse,
  "unknown_data_items" {"data":{"items":[...]},"next_token":...} and "unknown_results" {"results":[...],"count":n};
  and "empty" {"audit_logs":[],"next_token":null} for every window;
- filters match exactly: action, entity_id/entity_type/entity_name against `entity`, username/ip against
  `actor`, event_source against `context.event_source`; unknown parameters are ignored;
- with `log_own_access`, each successful first-page read appends an `audit_log_accessed` entry at clock now whose
  actor is the API token (user_id = first 12 hex of sha256(token), username "api-token-<that>"; never the token).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import secrets
import threading
from collections import OrderedDict
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs, urlencode

from .clock import SimClock
from .faults import FaultPlan
from .history_primitives import HistoryConfig, to_us
from .http_server import Response
from .mode_directory import ModeDirectory
from .mode_history import ModeTimeline
from .mode_state_api import STATE_RESOURCES, handle_state
from .simulator_base import AuditLogSimulator
from .timeline import Record
from .vendor_samples import mode_samples

# Where the items and the cursor live. ENVELOPES are the flat forms mode-api.md recognises; HAL is Mode's own style
# for collections (`_embedded` + `_links.next`); the UNKNOWN ones are shapes no client can justify reading (it must
# fail the window, not read "0 events"); EMPTY is a recognised envelope with no entries at all.
ENVELOPES = ("top_level", "pagination", "embedded")
HAL_ENVELOPE = "hal"
UNKNOWN_ENVELOPES = ("unknown_data_items", "unknown_results")
EMPTY_ENVELOPE = "empty"
ALL_ENVELOPES = (*ENVELOPES, HAL_ENVELOPE, *UNKNOWN_ENVELOPES, EMPTY_ENVELOPE)
FILTERS = ("action", "entity_id", "entity_type", "entity_name", "username", "ip", "event_source")
_FILTER_INDEX = {name: i for i, name in enumerate(FILTERS)}  # position in Record.keys
_ERROR_IDS = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    429: "too_many_requests",
    500: "internal_server_error",
    502: "bad_gateway",
    503: "service_unavailable",
}


def _parse_timestamp(text: str) -> datetime:
    value = text.strip()
    if value.endswith(("Z", "z")):
        value = value[:-1] + "+00:00"
    parsed = datetime.fromisoformat(value)
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


class ModeSimulator(AuditLogSimulator):
    product = "mode"
    timeline: ModeTimeline
    rate_limit_message = "Too many API requests"

    def __init__(
        self,
        history: HistoryConfig | None = None,
        faults: FaultPlan | None = None,
        clock: SimClock | None = None,
        workspace: str = "acme",
        api_token: str | None = None,
        api_secret: str | None = None,
        page_size: int = 100,
        envelope: str = "top_level",
        log_own_access: bool = True,
        late_minutes: float = 0,
        host: str = "127.0.0.1",
        port: int = 0,
        include_vendor_samples: bool = False,
        admin_token: bool = True,
        memberships_listing: bool = False,
    ) -> None:
        super().__init__(history, faults, clock, host, port, late_minutes)
        if envelope not in ALL_ENVELOPES:
            raise ValueError(f"envelope={envelope!r} is unknown: use one of {ALL_ENVELOPES}")
        if page_size < 1:
            raise ValueError(f"page_size={page_size} must be at least 1")
        self.workspace = workspace
        self.api_token = api_token if api_token is not None else secrets.token_hex(6)
        self.api_secret = api_secret if api_secret is not None else secrets.token_urlsafe(24)
        self.page_size = page_size
        self.envelope = envelope
        self.log_own_access = log_own_access
        self.timeline = ModeTimeline(self.history, self.history_end(), late_minutes, workspace)
        if include_vendor_samples:
            self._plant_vendor_samples(mode_samples)
        # Members, admins and groups on any date, derived from the history (mode_state_api.py).
        self.directory = ModeDirectory(self.timeline)
        self.admin_token = admin_token  # False: a token without workspace-admin rights (listings answer 403)
        self.memberships_listing = memberships_listing  # True: the documented /memberships list answers too
        self.state_max_per_page = 30  # Mode's silent per_page cap; tests lower it to exercise paging
        self.memberships_lite_shape = "hal"  # or "array", or "unknown" (mode_state_api.py)
        self._token_id = hashlib.sha256(self.api_token.encode()).hexdigest()[:12]
        self._expected_auth = "Basic " + base64.b64encode(f"{self.api_token}:{self.api_secret}".encode()).decode()
        self._pages: OrderedDict[tuple, list[bytes]] = OrderedDict()
        self._pages_lock = threading.Lock()

    # -- public helpers ---------------------------------------------------------------------------------------------
    @property
    def host_id(self) -> str:
        return self.workspace

    # -- HTTP --------------------------------------------------------------------------------------------------------
    @staticmethod
    def _json(status: int, body: Any, headers: dict[str, str] | None = None) -> Response:
        return Response(status, json.dumps(body).encode(), headers or {})

    def error(self, status: int, message: str, headers: dict[str, str] | None = None) -> Response:
        return self._json(status, {"id": _ERROR_IDS.get(status, "error"), "message": message}, headers)

    def handle(self, request, method: str, path: str, query: str, body: bytes) -> Response:
        parts = [p for p in path.split("/") if p]
        if len(parts) >= 2 and parts[0] == "api" and (len(parts) == 2 or parts[2] in STATE_RESOURCES):
            return self._state(request, method, parts, query)
        if len(parts) != 3 or parts[0] != "api" or parts[2] != "audit_logs":
            return self.error(404, f"No route matches {path}")
        if method not in ("GET", "HEAD"):
            return self.error(405, f"{method} is not allowed: use GET", {"Allow": "GET"})
        # The audit-log endpoint speaks neither HAL nor Mode's error shape: HAL is refused before authentication.
        accept = [item.split(";")[0].strip().lower() for item in (request.headers.get("Accept") or "").split(",")]
        if "application/hal+json" in accept:
            return Response(406, b"", content_type=None)
        given = request.headers.get("Authorization") or ""
        if not secrets.compare_digest(given.encode(), self._expected_auth.encode()):
            return Response(401, b"", {"WWW-Authenticate": 'Basic realm="Application"'}, content_type=None)
        if parts[1] != self.workspace:
            return self.error(404, f"Workspace {parts[1]!r} not found")
        params = {k: v[0] for k, v in parse_qs(query, keep_blank_values=True).items()}
        return self._audit_logs(request, params)

    def _state(self, request, method: str, parts: list[str], query: str) -> Response:
        """Memberships and groups: HAL resources (Basic auth, then the workspace, then the listing)."""
        if method not in ("GET", "HEAD"):
            return self.error(405, f"{method} is not allowed: use GET", {"Allow": "GET"})
        given = request.headers.get("Authorization") or ""
        if not secrets.compare_digest(given.encode(), self._expected_auth.encode()):
            return self._json(401, {"id": "unauthorized", "message": "unauthorized"})
        if parts[1] != self.workspace:
            return self.error(404, f"Workspace {parts[1]!r} not found")
        return handle_state(self, parts[2:], query)

    def _bad(self, *messages: str) -> Response:
        return self._json(400, {"errors": list(messages)})

    def _audit_logs(self, request, params: dict[str, str]) -> Response:
        missing = [f"{name} is required" for name in ("start_timestamp", "end_timestamp") if not params.get(name)]
        if missing:
            return self._bad(*missing)
        bounds = {}
        for name in ("start_timestamp", "end_timestamp"):
            try:
                bounds[name] = _parse_timestamp(params[name])
            except ValueError:
                return self._bad(f"{name} is not a valid ISO 8601 timestamp: {params[name]!r}")
        start, end = bounds["start_timestamp"], bounds["end_timestamp"]
        if end < start:
            return self._bad("end_timestamp must not be before start_timestamp")
        refused, window_fault = self.window_fault(end - start)
        if refused is not None:
            return refused
        filters = {name: params[name] for name in FILTERS if params.get(name)}
        query_key = hashlib.sha256(
            json.dumps([params["start_timestamp"], params["end_timestamp"], sorted(filters.items())]).encode()
        ).hexdigest()[:16]
        cursor = params.get("next_token")
        if cursor:
            try:
                state = json.loads(base64.urlsafe_b64decode(cursor.encode() + b"=" * (-len(cursor) % 4)))
                offset, as_of_us, max_seq, key = int(state["o"]), int(state["a"]), int(state["s"]), state["q"]
            except (ValueError, KeyError, TypeError, binascii.Error):
                return self._bad("next_token is invalid: pass the value from the previous response unchanged")
            if key != query_key:
                return self._bad("next_token belongs to a different query: repeat the original parameters")
        else:
            offset, as_of_us = 0, to_us(self.clock.now())
            max_seq = self.timeline.current_seq + 1
        items = self._matching(to_us(start), to_us(end), as_of_us, max_seq, filters, query_key)
        page = items[offset : offset + self.page_size]
        next_offset = offset + self.page_size
        next_token = None
        if next_offset < len(items):
            raw = json.dumps({"o": next_offset, "a": as_of_us, "s": max_seq, "q": query_key}).encode()
            next_token = base64.urlsafe_b64encode(raw).decode().rstrip("=")
        if not cursor and self.log_own_access:
            self.timeline.add_record(
                self.timeline.own_access_record(
                    to_us(self.clock.now()),
                    request.client_address[0],
                    request.headers.get("User-Agent") or "",
                    self._token_id,
                    params["start_timestamp"],
                    params["end_timestamp"],
                    self.timeline.next_seq(),
                )
            )
        return Response(200, self._envelope(page, next_token, params), fault=window_fault)

    def _matching(
        self, start_us: int, end_us: int, as_of_us: int, max_seq: int, filters: dict[str, str], query_key: str
    ) -> list[bytes]:
        cache_key = (query_key, as_of_us, max_seq)
        with self._pages_lock:
            cached = self._pages.get(cache_key)
            if cached is not None:
                self._pages.move_to_end(cache_key)
                return cached
        records = self.timeline.records_between(start_us, end_us, as_of_us, max_seq=max_seq)
        if filters:
            wanted = [(_FILTER_INDEX[name], value) for name, value in filters.items()]
            records = [r for r in records if r.keys is not None and all(r.keys[i] == value for i, value in wanted)]
        records.sort(key=_stable_key)
        payloads = [r.payload for r in records]
        with self._pages_lock:
            self._pages[cache_key] = payloads
            while len(self._pages) > 8:
                self._pages.popitem(last=False)
        return payloads

    def _envelope(self, page: list[bytes], next_token: str | None, params: dict[str, str]) -> bytes:
        """The body for one page. `envelope` is read per request, so a test may switch it between pages."""
        envelope = self.envelope
        if envelope == EMPTY_ENVELOPE:
            return b'{"audit_logs":[],"next_token":null}'
        items = b"[" + b",".join(page) + b"]"
        token = json.dumps(next_token).encode()
        if envelope == "top_level":
            return b'{"audit_logs":' + items + b',"next_token":' + token + b"}"
        if envelope == "pagination":
            return b'{"audit_logs":' + items + b',"pagination":{"next_token":' + token + b"}}"
        if envelope == "embedded":
            tail = b',"next_token":' + token if next_token else b""
            return b'{"_embedded":{"audit_logs":' + items + b"}" + tail + b"}"
        if envelope == HAL_ENVELOPE:
            # Relative hrefs, as Mode's HAL resources use; the next link repeats every original parameter.
            base = {k: v for k, v in params.items() if k != "next_token"}
            links: dict[str, Any] = {"self": {"href": self._href(params)}}
            if next_token:
                links["next"] = {"href": self._href({**base, "next_token": next_token})}
            return b'{"_embedded":{"audit_logs":' + items + b'},"_links":' + json.dumps(links).encode() + b"}"
        if envelope == "unknown_data_items":
            return b'{"data":{"items":' + items + b'},"next_token":' + token + b"}"
        return b'{"results":' + items + b',"count":' + str(len(page)).encode() + b"}"

    def _href(self, params: dict[str, str]) -> str:
        return f"/api/{self.workspace}/audit_logs?{urlencode(params)}"

    def expected_event_ids(self, as_of: datetime | None = None, orgs: Iterable[int] | None = None) -> set[str]:
        """As for every simulator; with envelope "empty" nothing is ever served, so nothing is expected."""
        return set() if self.envelope == EMPTY_ENVELOPE else super().expected_event_ids(as_of, orgs)


def _stable_key(record: Record) -> bytes:
    return record.event_id.encode() if record.event_id else record.payload


__all__ = [
    "ModeSimulator",
    "ENVELOPES",
    "HAL_ENVELOPE",
    "UNKNOWN_ENVELOPES",
    "EMPTY_ENVELOPE",
    "ALL_ENVELOPES",
    "FILTERS",
]
