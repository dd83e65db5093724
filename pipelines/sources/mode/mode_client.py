"""Mode audit logs: Basic auth with a Workspace API token, pages within a window (mode_envelopes.py).

HTTP goes through dlt's RESTClient on a retrying session (common/http_session.py): 429, 5xx, timeouts and
dropped connections retried, Retry-After honoured (RUNTIME__REQUEST_MAX_ATTEMPTS /
RUNTIME__REQUEST_BACKOFF_FACTOR); the timeout is SOURCES__MODE__REQUEST_TIMEOUT_SECONDS.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from dlt.sources.helpers.rest_client import RESTClient
from dlt.sources.helpers.rest_client.auth import HttpBasicAuth
from dlt.sources.helpers.rest_client.paginators import BaseReferencePaginator
from requests import ConnectTimeout, HTTPError, ReadTimeout, Request, RequestException, Response

from pipelines.sources.common import json_decode
from pipelines.sources.common.errors import SourceError, WindowUnavailable
from pipelines.sources.common.http_session import DEFAULT_REQUEST_TIMEOUT_SECONDS, PerThread, retrying_client
from pipelines.sources.common.redaction import register_basic_auth, scrub
from pipelines.sources.common.windows import Window, iso_z
from pipelines.sources.mode.mode_envelopes import read_page, same_origin_next

ENV_BASE_URL = "SOURCES__MODE__BASE_URL"
ENV_WORKSPACE = "SOURCES__MODE__WORKSPACE"
ENV_API_TOKEN = "SOURCES__MODE__API_TOKEN"
ENV_API_SECRET = "SOURCES__MODE__API_SECRET"
DEFAULT_BASE_URL = "https://app.mode.com"


def page_items(body: Any) -> list[Any]:
    """Entries of one page (see mode_envelopes for the shapes read)."""
    return read_page(body).items


def page_next_token(body: Any) -> str | None:
    return read_page(body).next_token


class ModeNextPagePaginator(BaseReferencePaginator):
    """Follows `next_token` (top level or under `pagination`, sent back as a query parameter with the original
    filters) or a HAL `_links.next.href` (followed as given, on the same host).

    Stops when neither is present, or on one already used (a repeat would loop forever).
    """

    def __init__(self, base_url: str) -> None:
        super().__init__()
        self._base_url = base_url
        self._used: set[str] = set()
        self._href: str | None = None

    def update_state(self, response: Response, data: list[Any] | None = None) -> None:
        try:
            page = read_page(data[0] if data else None)
        except SourceError:
            page = None  # the caller raises it for this page; there is no next page to ask for
        token = page.next_token if page else None
        href = page.next_href if page and token is None else None
        reference = token or href
        if reference is not None and reference in self._used:
            token = href = reference = None
        if reference is not None:
            self._used.add(reference)
        self._href = same_origin_next(response.url, href, self._base_url) if href else None
        self._next_reference = token or self._href

    def update_request(self, request: Request) -> None:
        if self._href is not None:
            request.url = self._href
            request.params = None  # the link carries every parameter
            return
        params: dict[str, Any] = dict(request.params or {})  # type: ignore[arg-type]
        params["next_token"] = self._next_reference
        request.params = params


class _FastJsonRESTClient(RESTClient):
    """dlt's RESTClient (session, retries, auth, paginators) decoding whole pages with orjson.

    requests' `response.json()` uses the standard library parser, several times slower on pages of
    a thousand entries. Only the whole-body selector ("$") is taken over; anything else is dlt's.
    An undecodable body raises orjson.JSONDecodeError, a ValueError like requests' own.
    """

    def extract_response(self, response: Response, data_selector: Any) -> list[Any]:
        if data_selector != "$":
            return super().extract_response(response, data_selector)
        body = json_decode.loads(response.content)
        return [] if body is None else [body]


class ModeClient:
    def __init__(
        self,
        base_url: str,
        workspace: str,
        api_token: str,
        api_secret: str,
        request_timeout_seconds: float = DEFAULT_REQUEST_TIMEOUT_SECONDS,
    ):
        self.base_url = base_url.rstrip("/")
        self.workspace = workspace
        register_basic_auth(api_token, api_secret)
        http = retrying_client(request_timeout_seconds)
        self._rest = PerThread(
            lambda: _FastJsonRESTClient(
                base_url=f"{self.base_url}/api/{workspace}",
                # The audit_logs endpoint answers HAL (Mode's usual default) with 406.
                headers={"Accept": "application/json"},
                auth=HttpBasicAuth(username=api_token, password=api_secret),
                session=http.session,
            )
        )

    def fetch_window(self, window: Window) -> Iterator[list[Any]]:
        """Pages of raw entries for [start, end] (ISO-8601 UTC `Z`)."""
        params = {"start_timestamp": iso_z(window.start), "end_timestamp": iso_z(window.end)}
        try:
            for page in self._rest.get().paginate(
                "audit_logs", params=params, paginator=ModeNextPagePaginator(self.base_url), data_selector="$"
            ):
                yield page_items(page[0] if page else None)
        except HTTPError as exc:
            raise self._explain(exc.response) from None
        except ReadTimeout as exc:
            if isinstance(exc, ConnectTimeout):
                raise self._unreachable(exc) from None
            raise WindowUnavailable(
                "Mode did not answer audit_logs within the request timeout after retries "
                "(SOURCES__MODE__REQUEST_TIMEOUT_SECONDS)"
            ) from None
        except RequestException as exc:
            raise self._unreachable(exc) from None
        except ValueError as exc:  # JSON decoding (requests raises a ValueError subclass)
            raise SourceError(
                f"Mode audit_logs returned a body that is not JSON ({scrub(str(exc))[:200]}): "
                f"is {ENV_BASE_URL} the Mode URL?"
            ) from None

    def _unreachable(self, exc: RequestException) -> SourceError:
        return SourceError(
            f"could not reach Mode at {self.base_url} ({type(exc).__name__}: {scrub(str(exc))[:300]}): "
            f"check {ENV_BASE_URL} and the network"
        )

    def _explain(self, response: Response | None) -> SourceError:
        status = response.status_code if response is not None else 0
        if status == 401:
            return SourceError(
                f"Mode rejected the credentials (HTTP 401): check {ENV_API_TOKEN} and {ENV_API_SECRET} "
                "(audit logs need a Workspace API token, not a member or personal token)"
            )
        if status == 403:
            return SourceError(
                f"Mode refused access to audit logs (HTTP 403): use a Workspace API token in {ENV_API_TOKEN}"
            )
        if status == 404:
            return SourceError(f"Mode has no workspace {self.workspace!r} (HTTP 404): check {ENV_WORKSPACE}")
        if status == 406:
            return SourceError(
                "Mode answered 406 Not Acceptable: the audit_logs endpoint needs Accept: application/json"
            )
        detail = ""
        if response is not None and status == 400:
            detail = f": {scrub(response.text)[:200]}"
        retried = " after retries" if status == 429 or status >= 500 else ""
        if status >= 500:
            return WindowUnavailable(f"Mode audit_logs failed with HTTP {status}{retried}")
        return SourceError(f"Mode audit_logs failed with HTTP {status}{retried}{detail}")
