"""ThoughtSpot Cloud REST v2: bearer token lifecycle and one `logs/fetch` call per window.

HTTP goes through dlt's RESTClient, whose session (dlt.sources.helpers.requests.Client) retries
429, 5xx and dropped connections with exponential backoff and honours Retry-After. Tune it
with dlt's runtime settings (RUNTIME__REQUEST_MAX_ATTEMPTS, RUNTIME__REQUEST_BACKOFF_FACTOR,
RUNTIME__REQUEST_TIMEOUT).
"""

from __future__ import annotations

import time
from typing import Any

import orjson
from requests import PreparedRequest, RequestException, Response
from requests.auth import AuthBase

from dlt.sources.helpers.rest_client import RESTClient

from pipelines.sources.common import json_decode
from pipelines.sources.common.errors import SourceError
from pipelines.sources.common.redaction import register_secret, scrub
from pipelines.sources.common.windows import Window, to_epoch_ms

TOKEN_PATH = "/api/rest/2.0/auth/token/full"
LOGS_PATH = "/api/rest/2.0/logs/fetch"

ENV_BASE_URL = "SOURCES__THOUGHTSPOT__BASE_URL"
ENV_USERNAME = "SOURCES__THOUGHTSPOT__USERNAME"
ENV_SECRET_KEY = "SOURCES__THOUGHTSPOT__SECRET_KEY"
ENV_PASSWORD = "SOURCES__THOUGHTSPOT__PASSWORD"

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


def _logs_body(window: Window) -> bytes:
    """logs/fetch request body: both bounds inclusive, epoch milliseconds, filtered on the records' `date`."""
    return orjson.dumps(
        {
            "log_type": "SECURITY_AUDIT",
            "start_epoch_time_in_millis": to_epoch_ms(window.start),
            "end_epoch_time_in_millis": to_epoch_ms(window.end),
            "get_all_logs": True,
        }
    )


# ThoughtSpot refuses username/password token requests for accounts with multi-factor authentication.
_MFA_HINT = (f"; if the account uses multi-factor authentication, password logins are refused: enable trusted "
             f"authentication, set {ENV_SECRET_KEY} to its secret key and unset {ENV_PASSWORD}")

_NOT_LOADED = "nothing of this window was loaded and the cursor did not move"


def logs_records(status: int, content: bytes) -> list[Any]:
    """The records of a logs/fetch answer, which the spec defines as a bare JSON array of {date, log} objects.

    Any other body is an error, never "no events": reading it as empty would mark the window done and move
    the cursor past events never loaded. Single malformed records among good ones are quarantined later.
    """
    if status == 204:  # "No Content", listed among REST v2's answers: an empty window
        return []
    if not content.strip():
        raise SourceError(f"ThoughtSpot logs/fetch answered HTTP {status} with an empty body, not a JSON array; "
                          f"{_NOT_LOADED}. Is {ENV_BASE_URL} the ThoughtSpot Cloud URL?")
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
        seen = f"objects with keys {', '.join(map(str, list(first)[:10]))}" if isinstance(first, dict) \
            else f"{type(first).__name__} values"
        raise SourceError(
            f"ThoughtSpot logs/fetch returned an array of {len(records)} {seen}, none a {{date, log}} record; "
            f"{_NOT_LOADED}. ThoughtSpot may have changed its API: upgrade auditlake or report this message"
        )
    return records


class ThoughtSpotTokenAuth(AuthBase):
    """Adds `Authorization: Bearer`, fetching a full-access token when none is valid.

    Expiry is tracked on our monotonic clock from the validity the server granted
    (expiration - creation), so it does not depend on the two clocks agreeing.
    """

    def __init__(self, client: "ThoughtSpotClient"):
        self._client = client
        self._token: str | None = None
        self._renew_at = 0.0

    def invalidate(self) -> None:
        self._token = None

    def token(self) -> str:
        if self._token is None or time.monotonic() >= self._renew_at:
            self._token, validity = self._client.request_token()
            # Renew ahead of expiry: a fifth of the validity, at most 60 s early.
            self._renew_at = time.monotonic() + validity - min(60.0, validity / 5)
        return self._token

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
    ):
        self.base_url = base_url.rstrip("/")
        self._username = username
        self._secret_key = secret_key
        self._password = password
        self._token_validity_seconds = token_validity_seconds
        register_secret(secret_key, password)
        self.auth = ThoughtSpotTokenAuth(self)
        self._rest = RESTClient(
            base_url=self.base_url,
            headers={"Accept": "application/json", "Content-Type": "application/json"},
            auth=self.auth,
        )
        self.token_requests = 0

    # -- token ---------------------------------------------------------------

    def request_token(self) -> tuple[str, float]:
        """POST auth/token/full; returns (token, validity seconds granted)."""
        body: dict[str, Any] = {"username": self._username, "validity_time_in_sec": self._token_validity_seconds}
        if self._secret_key:
            body["secret_key"] = self._secret_key
        else:
            body["password"] = self._password
        credential_var = ENV_SECRET_KEY if self._secret_key else ENV_PASSWORD
        # Not through RESTClient.request: that would apply this very auth and recurse.
        response = self._send(
            "POST", TOKEN_PATH, data=orjson.dumps(body), headers={"Content-Type": "application/json",
                                                                   "Accept": "application/json"},
            use_auth=False,
        )
        self.token_requests += 1
        if response.status_code in (400, 401):
            raise SourceError(
                f"ThoughtSpot rejected the credentials (HTTP {response.status_code}){_error_detail(response)}: "
                f"check {ENV_USERNAME} and {credential_var}" + ("" if self._secret_key else _MFA_HINT)
            )
        if response.status_code == 403:
            raise SourceError(
                f"ThoughtSpot refused a token (HTTP 403){_error_detail(response)}: the account in "
                f"{ENV_USERNAME} needs trusted authentication or ADMINISTRATION; fix the account or the variable"
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
        """All security audit records in [start, end] (both inclusive, epoch ms), parsed, as the vendor sent them."""
        body = _logs_body(window)
        response = self._send("POST", LOGS_PATH, data=body)
        if response.status_code == 401:
            # Expired or revoked before our own renewal time: renew once and try again.
            self.auth.invalidate()
            response = self._send("POST", LOGS_PATH, data=body)
        if response.status_code == 401:
            raise SourceError(
                f"ThoughtSpot answered 401 to logs/fetch even with a fresh token{_error_detail(response)}: "
                f"check that {ENV_USERNAME} may use the REST API"
            )
        if response.status_code == 403:
            raise SourceError(
                f"ThoughtSpot refused logs/fetch (HTTP 403){_error_detail(response)}: the account in "
                f"{ENV_USERNAME} needs the ADMINISTRATION privilege"
            )
        self._raise_for_status(response, "logs/fetch")
        return logs_records(response.status_code, response.content)

    def fetch_window_bytes(self, window: Window) -> bytes:
        """The raw response body of one window (for benchmarks comparing against DuckDB's own JSON reader)."""
        response = self._send("POST", LOGS_PATH, data=_logs_body(window))
        self._raise_for_status(response, "logs/fetch")
        return response.content

    # -- plumbing ----------------------------------------------------------------

    def _send(self, method: str, path: str, use_auth: bool = True, **kwargs: Any) -> Response:
        try:
            if use_auth:
                return self._rest.request(path, method=method, **kwargs)
            return self._rest.session.request(method, self.base_url + path, **kwargs)
        except RequestException as exc:
            # After dlt's retries; the exception text carries the URL only (no credentials in URLs).
            raise SourceError(
                f"could not reach ThoughtSpot at {self.base_url} ({type(exc).__name__}: {scrub(str(exc))[:300]}): "
                f"check {ENV_BASE_URL} and the network"
            ) from None

    def _raise_for_status(self, response: Response, what: str) -> None:
        if response.status_code >= 400:
            raise SourceError(
                f"ThoughtSpot {what} failed with HTTP {response.status_code}{_error_detail(response)}"
                + (" after retries" if response.status_code == 429 or response.status_code >= 500 else "")
            )
