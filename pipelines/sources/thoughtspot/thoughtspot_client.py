"""ThoughtSpot Cloud REST v2: an org-scoped bearer token, one `logs/fetch` call per window, the org lists.

Every token is minted with an explicit `org_id`: without it the token lands in Org 0 (developer docs)
or in the key's / previous session's org (OpenAPI spec), and logs/fetch reads only the token's org.

HTTP goes through dlt's RESTClient on a retrying session (common/http_session.py): 429, 5xx, timeouts
and dropped connections are retried with backoff, Retry-After honoured (RUNTIME__REQUEST_MAX_ATTEMPTS,
RUNTIME__REQUEST_BACKOFF_FACTOR); the timeout is SOURCES__THOUGHTSPOT__REQUEST_TIMEOUT_SECONDS.
"""

from __future__ import annotations

import hashlib
import threading
import time
from typing import Any

import orjson
from dlt.sources.helpers.rest_client import RESTClient
from requests import ConnectTimeout, PreparedRequest, ReadTimeout, RequestException, Response
from requests.auth import AuthBase

from pipelines.sources.common import json_decode
from pipelines.sources.common.errors import SourceError, WindowUnavailable
from pipelines.sources.common.http_session import DEFAULT_REQUEST_TIMEOUT_SECONDS, PerThread, retrying_client
from pipelines.sources.common.redaction import register_secret, scrub
from pipelines.sources.common.windows import Window, to_epoch_ms

TOKEN_PATH = "/api/rest/2.0/auth/token/full"
LOGS_PATH = "/api/rest/2.0/logs/fetch"
ORGS_PATH = "/api/rest/2.0/orgs/search"
SESSION_PATH = "/api/rest/2.0/auth/session/user"

ENV_BASE_URL = "SOURCES__THOUGHTSPOT__BASE_URL"
ENV_USERNAME = "SOURCES__THOUGHTSPOT__USERNAME"
ENV_SECRET_KEY = "SOURCES__THOUGHTSPOT__SECRET_KEY"
ENV_PASSWORD = "SOURCES__THOUGHTSPOT__PASSWORD"
ENV_ORG_IDS = "SOURCES__THOUGHTSPOT__ORG_IDS"

# Ask for an hour; ThoughtSpot may grant less, and we renew from what it actually granted.
DEFAULT_TOKEN_VALIDITY_SECONDS = 3600


def _error_detail(response: Response) -> str:
    """ThoughtSpot's `error.message.debug` (sometimes nested one level deeper), scrubbed and short."""
    try:
        message = (orjson.loads(response.content) or {}).get("error", {}).get("message", {})
    except (orjson.JSONDecodeError, AttributeError):
        return ""
    if isinstance(message, dict):
        debug = message.get("debug")
        if isinstance(debug, dict):
            debug = debug.get("debug")
        detail = debug if isinstance(debug, str) else ""
    else:
        detail = str(message)
    return f" ({scrub(detail)[:200]})" if detail else ""


def _logs_body(window: Window, get_all_logs: bool = True) -> bytes:
    """logs/fetch request body: both bounds inclusive, epoch milliseconds, filtered on the records' `date`.

    `get_all_logs` is sent explicitly: true reads every org only for an Org 0 administrator's Org 0 token.
    """
    return orjson.dumps(
        {
            "log_type": "SECURITY_AUDIT",
            "start_epoch_time_in_millis": to_epoch_ms(window.start),
            "end_epoch_time_in_millis": to_epoch_ms(window.end),
            "get_all_logs": get_all_logs,
        }
    )


# ThoughtSpot refuses username/password token requests for accounts with multi-factor authentication.
_MFA_HINT = (
    f"; if the account uses multi-factor authentication, password logins are refused: enable trusted "
    f"authentication, set {ENV_SECRET_KEY} to its secret key and unset {ENV_PASSWORD}"
)

_NOT_LOADED = "nothing of this window was loaded and the cursor did not move"


def logs_records(status: int, content: bytes) -> list[Any]:
    """The records of a logs/fetch answer, which the spec defines as a bare JSON array of {date, log} objects.

    Any other body is an error, never "no events": reading it as empty would mark the window done and move
    the cursor past events never loaded. Single malformed records among good ones are quarantined later.
    """
    if status == 204:  # "No Content", listed among REST v2's answers: an empty window
        return []
    if not content.strip():
        raise SourceError(
            f"ThoughtSpot logs/fetch answered HTTP {status} with an empty body, not a JSON array; "
            f"{_NOT_LOADED}. Is {ENV_BASE_URL} the ThoughtSpot Cloud URL?"
        )
    try:
        records = json_decode.loads(content)
    except orjson.JSONDecodeError:
        raise SourceError(
            f"ThoughtSpot logs/fetch returned a body that is not JSON ({len(content)} bytes): "
            f"is {ENV_BASE_URL} the ThoughtSpot Cloud URL? ({_NOT_LOADED})"
        ) from None
    if not isinstance(records, list):
        keys = f" with keys {', '.join(map(str, list(records)[:10]))}" if isinstance(records, dict) else ""
        raise SourceError(
            f"ThoughtSpot logs/fetch returned a JSON {type(records).__name__}{keys}, expected an array of "
            f"{{date, log}} objects; {_NOT_LOADED}. Is {ENV_BASE_URL} the ThoughtSpot Cloud URL? If it is, "
            "ThoughtSpot changed its API: upgrade auditlake or report this message"
        )
    if records and not any(type(r) is dict and "date" in r and "log" in r for r in records):
        first = records[0]
        seen = (
            f"objects with keys {', '.join(map(str, list(first)[:10]))}"
            if isinstance(first, dict)
            else f"{type(first).__name__} values"
        )
        raise SourceError(
            f"ThoughtSpot logs/fetch returned an array of {len(records)} {seen}, none a {{date, log}} record; "
            f"{_NOT_LOADED}. ThoughtSpot may have changed its API: upgrade auditlake or report this message"
        )
    return records


# Tokens outlive one client: the runner builds a source per batch of windows, and each would otherwise mint
# its own. Keyed by cluster, account, org and a digest of the credential; values are (token, renew at).
_shared_tokens: dict[tuple[str, str, int, str], tuple[str, float]] = {}
_shared_lock = threading.Lock()


class ThoughtSpotTokenAuth(AuthBase):
    """Adds `Authorization: Bearer`, fetching a full-access token when none is valid.

    Expiry is tracked on our monotonic clock from the validity the server granted
    (expiration - creation), so it does not depend on the two clocks agreeing.
    """

    def __init__(self, client: ThoughtSpotClient):
        self._client = client
        self._key = client.token_key()

    def invalidate(self, token: str | None = None) -> None:
        """Forget the token (only if it still is `token`: another thread may have renewed it already)."""
        with _shared_lock:
            held = _shared_tokens.get(self._key)
            if held is not None and (token is None or held[0] == token):
                del _shared_tokens[self._key]

    def token(self) -> str:
        # One lock for all: windows are fetched from several threads; mint one token, not four.
        with _shared_lock:
            held = _shared_tokens.get(self._key)
            if held is None or time.monotonic() >= held[1]:
                token, validity = self._client.request_token()
                # Renew ahead of expiry: a fifth of the validity, at most 60 s early.
                held = _shared_tokens[self._key] = (token, time.monotonic() + validity - min(60.0, validity / 5))
            return held[0]

    def __call__(self, request: PreparedRequest) -> PreparedRequest:
        request.headers["Authorization"] = f"Bearer {self.token()}"
        return request


class ThoughtSpotClient:
    def __init__(
        self,
        base_url: str,
        username: str,
        secret_key: str | None = None,
        password: str | None = None,
        token_validity_seconds: int = DEFAULT_TOKEN_VALIDITY_SECONDS,
        org_id: int = 0,
        get_all_logs: bool = True,
        request_timeout_seconds: float = DEFAULT_REQUEST_TIMEOUT_SECONDS,
    ):
        """A client whose token is in `org_id` (always sent). `get_all_logs` goes to logs/fetch as given."""
        self._settings: dict[str, Any] = dict(
            base_url=base_url,
            username=username,
            secret_key=secret_key,
            password=password,
            token_validity_seconds=token_validity_seconds,
            request_timeout_seconds=request_timeout_seconds,
        )
        self.base_url = base_url.rstrip("/")
        self.org_id = org_id
        self.get_all_logs = get_all_logs
        self._username = username
        self._secret_key = secret_key
        self._password = password
        self._token_validity_seconds = token_validity_seconds
        register_secret(secret_key, password)
        self.auth = ThoughtSpotTokenAuth(self)
        http = retrying_client(request_timeout_seconds)
        self._rest = PerThread(
            lambda: RESTClient(
                base_url=self.base_url,
                headers={"Accept": "application/json", "Content-Type": "application/json"},
                auth=self.auth,
                session=http.session,
            )
        )
        self.token_requests = 0

    def token_key(self) -> tuple[str, str, int, str]:
        credential = hashlib.sha256(f"{self._secret_key or ''}\0{self._password or ''}".encode()).hexdigest()
        return (self.base_url, self._username, self.org_id, credential)

    def for_org(self, org_id: int, get_all_logs: bool) -> ThoughtSpotClient:
        """The same account and settings with its own token in `org_id`."""
        return ThoughtSpotClient(**{**self._settings, "org_id": org_id, "get_all_logs": get_all_logs})

    # -- token ---------------------------------------------------------------

    def request_token(self) -> tuple[str, float]:
        """POST auth/token/full; returns (token, validity seconds granted)."""
        body: dict[str, Any] = {
            "username": self._username,
            "validity_time_in_sec": self._token_validity_seconds,
            "org_id": self.org_id,
        }
        if self._secret_key:
            body["secret_key"] = self._secret_key
        else:
            body["password"] = self._password
        credential_var = ENV_SECRET_KEY if self._secret_key else ENV_PASSWORD
        in_org = f" for Org {self.org_id}" if self.org_id else ""
        # Not through RESTClient.request: that would apply this very auth and recurse.
        response = self._send(
            "POST",
            TOKEN_PATH,
            data=orjson.dumps(body),
            headers={"Content-Type": "application/json", "Accept": "application/json"},
            use_auth=False,
        )
        self.token_requests += 1
        if response.status_code in (400, 401):
            raise SourceError(
                f"ThoughtSpot refused a token{in_org} (HTTP {response.status_code}){_error_detail(response)}: "
                f"check {ENV_USERNAME} and {credential_var}"
                + (f", and that Org {self.org_id} exists ({ENV_ORG_IDS})" if self.org_id else "")
                + ("" if self._secret_key else _MFA_HINT)
            )
        if response.status_code == 403:
            raise SourceError(
                f"ThoughtSpot refused a token{in_org} (HTTP 403){_error_detail(response)}: the account in "
                f"{ENV_USERNAME} needs trusted authentication or ADMINISTRATION"
                + (f" and membership of Org {self.org_id} (or leave it out of {ENV_ORG_IDS})" if self.org_id else "")
                + "; fix the account or the variable"
                + ("" if self._secret_key else _MFA_HINT)
            )
        self._raise_for_status(response, "auth/token/full")
        try:
            payload = orjson.loads(response.content)
            token = payload["token"]
            created = float(payload.get("creation_time_in_millis") or 0)
            expires = float(payload.get("expiration_time_in_millis") or 0)
        except (orjson.JSONDecodeError, KeyError, TypeError, ValueError):
            raise SourceError(
                f"ThoughtSpot auth/token/full at {self.base_url} answered without a token: "
                f"is {ENV_BASE_URL} the ThoughtSpot Cloud URL?"
            ) from None
        if not isinstance(token, str) or not token:
            raise SourceError(f"ThoughtSpot auth/token/full at {self.base_url} returned an empty token")
        register_secret(token)
        granted = (expires - created) / 1000 if expires > created else float(self._token_validity_seconds)
        return token, granted

    # -- logs ------------------------------------------------------------------

    def fetch_window(self, window: Window) -> list[Any]:
        """All security audit records in [start, end] (both inclusive, epoch ms) of this client's org scope,
        parsed, as the vendor sent them. WindowUnavailable when ThoughtSpot keeps timing out or failing (5xx)."""
        response = self._authed("POST", LOGS_PATH, data=_logs_body(window, self.get_all_logs), splittable=True)
        if response.status_code == 401:
            raise SourceError(
                f"ThoughtSpot answered 401 to logs/fetch even with a fresh token{_error_detail(response)}: "
                f"check that {ENV_USERNAME} may use the REST API"
            )
        if response.status_code == 403:
            raise SourceError(
                f"ThoughtSpot refused logs/fetch in Org {self.org_id} (HTTP 403){_error_detail(response)}: the "
                f"account in {ENV_USERNAME} needs the ADMINISTRATION privilege there"
                + (f" (or leave Org {self.org_id} out of {ENV_ORG_IDS})" if self.org_id else "")
            )
        if response.status_code >= 500:
            raise WindowUnavailable(
                f"ThoughtSpot logs/fetch failed with HTTP {response.status_code} after retries{_error_detail(response)}"
            )
        self._raise_for_status(response, "logs/fetch")
        return logs_records(response.status_code, response.content)

    # -- orgs ------------------------------------------------------------------

    def search_orgs(self) -> list[int] | None:
        """Ids from orgs/search {} with this client's token, or None when refused (the account lacks cluster
        administration, or Orgs are off). From Org 0 a cluster administrator sees every org."""
        response = self._authed("POST", ORGS_PATH, data=b"{}")
        if response.status_code in (400, 403, 404):
            return None
        self._raise_for_status(response, "orgs/search")
        return _org_ids(response, "orgs/search", lambda body: body if isinstance(body, list) else None)

    def session_orgs(self) -> list[int] | None:
        """Ids of the orgs the account belongs to (auth/session/user `orgs`); None when Orgs are off."""
        response = self._authed("GET", SESSION_PATH)
        if response.status_code in (400, 403, 404):
            return None
        self._raise_for_status(response, "auth/session/user")
        return _org_ids(
            response, "auth/session/user", lambda body: body.get("orgs") if isinstance(body, dict) else None
        )

    def fetch_window_bytes(self, window: Window) -> bytes:
        """The raw response body of one window (for benchmarks comparing against DuckDB's own JSON reader)."""
        response = self._send("POST", LOGS_PATH, data=_logs_body(window, self.get_all_logs))
        self._raise_for_status(response, "logs/fetch")
        return response.content

    # -- plumbing ----------------------------------------------------------------

    def _authed(self, method: str, path: str, **kwargs: Any) -> Response:
        """A bearer-token request; a token expired or revoked before our own renewal time is renewed once."""
        token = self.auth.token()
        response = self._send(method, path, **kwargs)
        if response.status_code == 401:
            self.auth.invalidate(token)
            response = self._send(method, path, **kwargs)
        return response

    def _send(self, method: str, path: str, use_auth: bool = True, splittable: bool = False, **kwargs: Any) -> Response:
        rest = self._rest.get()
        try:
            if use_auth:
                return rest.request(path, method=method, **kwargs)
            return rest.session.request(method, self.base_url + path, **kwargs)
        except ReadTimeout as exc:
            if not splittable or isinstance(exc, ConnectTimeout):
                raise self._unreachable(exc) from None
            raise WindowUnavailable(
                f"ThoughtSpot did not answer {path} within the request timeout after retries "
                f"(SOURCES__THOUGHTSPOT__REQUEST_TIMEOUT_SECONDS)"
            ) from None
        except RequestException as exc:
            raise self._unreachable(exc) from None

    def _unreachable(self, exc: RequestException) -> SourceError:
        # After dlt's retries; the exception text carries the URL only (no credentials in URLs).
        return SourceError(
            f"could not reach ThoughtSpot at {self.base_url} ({type(exc).__name__}: {scrub(str(exc))[:300]}): "
            f"check {ENV_BASE_URL} and the network"
        )

    def _raise_for_status(self, response: Response, what: str) -> None:
        if response.status_code >= 400:
            raise SourceError(
                f"ThoughtSpot {what} failed with HTTP {response.status_code}{_error_detail(response)}"
                + (" after retries" if response.status_code == 429 or response.status_code >= 500 else "")
            )


def _org_ids(response: Response, what: str, pick: Any) -> list[int] | None:
    """The integer `id`s of the org objects `pick(body)` finds; None when it finds no list (Orgs off)."""
    try:
        rows = pick(orjson.loads(response.content))
    except orjson.JSONDecodeError:
        raise SourceError(
            f"ThoughtSpot {what} returned a body that is not JSON: is {ENV_BASE_URL} the ThoughtSpot Cloud URL?"
        ) from None
    if rows is None:
        return None
    ids = []
    for row in rows:
        value = row.get("id") if isinstance(row, dict) else None
        if isinstance(value, str) and value.lstrip("-").isdigit():
            value = int(value)  # the roles example shows ids as strings
        if type(value) is not int:
            raise SourceError(
                f"ThoughtSpot {what} listed an org without an integer id (keys: "
                f"{', '.join(map(str, row)) if isinstance(row, dict) else type(row).__name__}): set "
                f"{ENV_ORG_IDS} to the org ids to read"
            )
        ids.append(value)
    return sorted(set(ids))
