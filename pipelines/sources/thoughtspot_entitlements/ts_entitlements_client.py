"""ThoughtSpot REST v2 for entitlement snapshots: one token per org (the token sets the org), paged searches.

Org context is always explicit: every token is minted with `org_id` (the docs and the spec disagree on the default).
Every refusal names the privilege the API user needs.
"""

from __future__ import annotations

from typing import Any

import orjson
from requests import RequestException, Response

from pipelines.sources.common.errors import SourceError
from pipelines.sources.common.redaction import register_secret, scrub
from pipelines.sources.entitlement_snapshot import MAX_PAGES, http_client

TOKEN_PATH = "/api/rest/2.0/auth/token/full"
ORGS_PATH = "/api/rest/2.0/orgs/search"
USERS_PATH = "/api/rest/2.0/users/search"
GROUPS_PATH = "/api/rest/2.0/groups/search"
ROLES_PATH = "/api/rest/2.0/roles/search"
ENV_USERNAME = "SOURCES__THOUGHTSPOT__USERNAME"
ENV_ORG_IDS = "SOURCES__THOUGHTSPOT__ORG_IDS"
# What each listing needs, for the one-line refusal (entitlements-api.md §1.3-1.6).
PRIVILEGE_NEEDED = {
    USERS_PATH: "ADMINISTRATION (with RBAC: USER_ADMINISTRATION)",
    GROUPS_PATH: "ADMINISTRATION (with RBAC: GROUP_ADMINISTRATION)",
    ORGS_PATH: f"ORG_ADMINISTRATION (Can administer Org), or list the orgs to read in {ENV_ORG_IDS}",
    ROLES_PATH: "ROLE_ADMINISTRATION (Can manage roles)",
}


def _detail(response: Response) -> str:
    try:
        message = (orjson.loads(response.content) or {}).get("error", {}).get("message", {})
    except (orjson.JSONDecodeError, AttributeError):
        return ""
    debug = message.get("debug") if isinstance(message, dict) else message
    if isinstance(debug, dict):
        debug = debug.get("debug")
    return f" ({scrub(str(debug))[:200]})" if debug else ""


class ThoughtSpotStateClient:
    def __init__(
        self,
        base_url: str,
        username: str,
        secret_key: str | None,
        password: str | None,
        page_size: int = 500,
        token_validity_seconds: int = 3600,
    ) -> None:
        self.base_url = base_url
        self._username = username
        self._secret_key = secret_key
        self._password = password
        self._validity = token_validity_seconds
        self.page_size = page_size
        self._tokens: dict[int, str] = {}
        self._http = http_client()
        register_secret(secret_key, password)

    def _send(self, path: str, body: dict[str, Any], org: int | None) -> Response:
        response = self._post(path, body, org)
        if response.status_code == 401 and org is not None:
            # The token expired or was revoked mid-snapshot: mint a new one in the same org and ask again, once.
            self._tokens.pop(org, None)
            response = self._post(path, body, org)
        return response

    def _post(self, path: str, body: dict[str, Any], org: int | None) -> Response:
        headers = {"Content-Type": "application/json", "Accept": "application/json"}
        if org is not None:
            headers["Authorization"] = f"Bearer {self.token(org)}"
        try:
            return self._http.post(self.base_url + path, data=orjson.dumps(body), headers=headers)
        except RequestException as exc:
            raise SourceError(
                f"could not reach ThoughtSpot at {self.base_url} ({type(exc).__name__}: "
                f"{scrub(str(exc))[:200]}): check SOURCES__THOUGHTSPOT__BASE_URL and the "
                "network"
            ) from None

    def token(self, org: int) -> str:
        """A full-access token minted in `org` (sent explicitly). Tokens live an hour; a snapshot takes minutes."""
        if org not in self._tokens:
            body: dict[str, Any] = {"username": self._username, "validity_time_in_sec": self._validity, "org_id": org}
            body["secret_key" if self._secret_key else "password"] = self._secret_key or self._password
            response = self._send(TOKEN_PATH, body, None)
            if response.status_code in (400, 401, 403):
                raise SourceError(
                    f"ThoughtSpot refused a token for Org {org} (HTTP {response.status_code})"
                    f"{_detail(response)}: check {ENV_USERNAME}, its secret, and that the user is a "
                    f"member of Org {org} (or drop it from {ENV_ORG_IDS})"
                )
            self._check(response, TOKEN_PATH, org)
            try:
                token = orjson.loads(response.content)["token"]
            except (orjson.JSONDecodeError, KeyError, TypeError):
                raise SourceError(
                    "ThoughtSpot auth/token/full answered without a token: is "
                    "SOURCES__THOUGHTSPOT__BASE_URL the ThoughtSpot Cloud URL?"
                ) from None
            register_secret(token)
            self._tokens[org] = token
        return self._tokens[org]

    def _check(self, response: Response, path: str, org: int) -> None:
        what = path.rsplit("/", 2)[-2] + "/" + path.rsplit("/", 1)[-1]
        if response.status_code == 401:
            self._tokens.pop(org, None)
            raise SourceError(
                f"ThoughtSpot answered 401 to {what} in Org {org}{_detail(response)}: check that "
                f"{ENV_USERNAME} may use the REST API"
            )
        if response.status_code == 403:
            raise SourceError(
                f"ThoughtSpot refused {what} in Org {org} (HTTP 403){_detail(response)}: the API user "
                f"in {ENV_USERNAME} needs {PRIVILEGE_NEEDED.get(path, 'ADMINISTRATION')}"
            )
        if response.status_code >= 400:
            retried = " after retries" if response.status_code == 429 or response.status_code >= 500 else ""
            raise SourceError(
                f"ThoughtSpot {what} in Org {org} failed with HTTP {response.status_code}"
                f"{_detail(response)}{retried}; the snapshot is not recorded"
            )

    def _array(self, response: Response, path: str, org: int) -> list[dict[str, Any]]:
        self._check(response, path, org)
        try:
            body = orjson.loads(response.content)
        except orjson.JSONDecodeError:
            raise SourceError(
                f"ThoughtSpot {path} in Org {org} returned a body that is not JSON: is "
                "SOURCES__THOUGHTSPOT__BASE_URL the ThoughtSpot Cloud URL?"
            ) from None
        if not isinstance(body, list) or not all(isinstance(row, dict) for row in body):
            raise SourceError(
                f"ThoughtSpot {path} in Org {org} returned a JSON {type(body).__name__}, expected an "
                "array of objects (documented): unknown shape, the snapshot is not recorded"
            )
        return body

    def orgs(self, refusal_ok: bool = False) -> list[dict[str, Any]] | None:
        """orgs/search from Org 0; None when the cluster has no Orgs feature (the call answers 400), or, with
        `refusal_ok` (the orgs are configured), when the user may not list orgs (403)."""
        response = self._send(ORGS_PATH, {}, 0)
        if response.status_code == 400 or (refusal_ok and response.status_code == 403):
            return None
        return self._array(response, ORGS_PATH, 0)

    def search(self, path: str, org: int, extra: dict[str, Any] | None = None) -> list[dict[str, Any]]:
        """Every row of a paged search in `org`: offsets until an empty page, de-duplicated by id (large offsets
        can repeat rows), in a stable NAME order."""
        rows: dict[str, dict[str, Any]] = {}
        for page in range(MAX_PAGES):
            body = {
                "record_offset": page * self.page_size,
                "record_size": self.page_size,
                "sort_options": {"field_name": "NAME", "order": "ASC"},
                **(extra or {}),
            }
            batch = self._array(self._send(path, body, org), path, org)
            if not batch:
                return list(rows.values())
            for row in batch:
                key = row.get("id")
                if not isinstance(key, str) or not isinstance(row.get("name"), str):
                    raise SourceError(
                        f"ThoughtSpot {path} in Org {org} returned a row without a string id and name "
                        "(both documented as required): unknown shape, the snapshot is not recorded"
                    )
                rows[key] = row
        raise SourceError(f"ThoughtSpot {path} in Org {org} returned more than {MAX_PAGES} pages: paging does not end")
