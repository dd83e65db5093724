"""dlt source: Mode workspace members (admin flag), groups and group memberships -> raw_mode_entitlements.

Configuration: the audit source's (SOURCES__MODE__WORKSPACE, __API_TOKEN, __API_SECRET, optional __BASE_URL). Use a
Workspace API token: it acts as a workspace admin, which listing members and groups requires.

Paging as observed (entitlements-api.md §2.1): `per_page` is capped at 30 silently, some lists ignore `page` and
repeat everything, `_links.next_page` is emitted past the end; so pages are walked by the `pagination` counters
(`total_pages`), and without them until a page is empty or repeats the previous one; never on a short page.
Memberships: the documented `/memberships` first, `/memberships/lite` when it answers 404 (as the live API is reported
to). Items live under `_embedded.<key>`; anything else is an unknown shape and fails the snapshot.
"""

from __future__ import annotations

from typing import Any

import dlt
import orjson
from requests import RequestException, Response

from pipelines.sources.common.errors import SourceError, SourceNotConfigured
from pipelines.sources.common.redaction import register_basic_auth, scrub
from pipelines.sources.common.url_safety import require_safe_url
from pipelines.sources.common.windows import as_utc
from pipelines.sources.entitlement_snapshot import (
    MAX_PAGES,
    Snapshot,
    column_hints,
    http_client,
    snapshot_resources,
    snapshot_time,
)
from pipelines.sources.registry import BUILT_IN

SOURCE_NAME = "mode_entitlements"
DEFAULT_BASE_URL = "https://app.mode.com"
PER_PAGE = 30
REQUIRED_VARIABLES = ("SOURCES__MODE__WORKSPACE", "SOURCES__MODE__API_TOKEN", "SOURCES__MODE__API_SECRET")
TOKEN_NEEDED = (
    "a Workspace API token (it acts as a workspace admin; member tokens cannot list members or groups): "
    "set SOURCES__MODE__API_TOKEN / __API_SECRET to one"
)
COLUMNS = {
    "mode_memberships": column_hints(
        "source_instance text, member_token text, username text, email text, display_name text, is_admin bool, "
        "state text, activated_at timestamp, managed_by_scim bool"
    ),
    "mode_groups": column_hints("source_instance text, group_token text, group_name text, group_type text, state text"),
    "mode_group_memberships": column_hints("source_instance text, group_token text, member_token text"),
}


class ModeStateClient:
    def __init__(self, base_url: str, workspace: str, token: str, secret: str) -> None:
        self.base = f"{base_url}/api/{workspace}"
        self.workspace = workspace
        self._auth = (token, secret)
        self._http = http_client()
        register_basic_auth(token, secret)

    def get(self, path: str, params: dict[str, Any] | None = None) -> Response:
        try:
            return self._http.get(
                self.base + path, params=params, auth=self._auth, headers={"Accept": "application/hal+json"}
            )
        except RequestException as exc:
            raise SourceError(
                f"could not reach Mode at {self.base} ({type(exc).__name__}: {scrub(str(exc))[:200]}): "
                "check SOURCES__MODE__BASE_URL and the network"
            ) from None

    def body(self, response: Response, path: str, lists_ok: bool = False) -> Any:
        if response.status_code == 401:
            raise SourceError(f"Mode answered 401 to {path}: check SOURCES__MODE__API_TOKEN and __API_SECRET")
        if response.status_code == 403:
            raise SourceError(f"Mode refused {path} (HTTP 403): listing members and groups needs {TOKEN_NEEDED}")
        if response.status_code == 404 and path in ("", "/groups"):
            raise SourceError(
                f"Mode answered 404 to {path or 'the workspace'}: check SOURCES__MODE__WORKSPACE "
                f"({self.workspace!r}); groups also need the Business plan"
            )
        if response.status_code >= 400:
            retried = " after retries" if response.status_code == 429 or response.status_code >= 500 else ""
            raise SourceError(
                f"Mode {path} failed with HTTP {response.status_code}{retried}; the snapshot is not recorded"
            )
        try:
            body = orjson.loads(response.content)
        except orjson.JSONDecodeError:
            raise SourceError(
                f"Mode {path} returned a body that is not JSON: is SOURCES__MODE__BASE_URL right?"
            ) from None
        if not isinstance(body, dict) and not (lists_ok and isinstance(body, list)):
            raise SourceError(
                f"Mode {path} returned a JSON {type(body).__name__}, expected a HAL object: unknown shape"
            )
        return body

    @staticmethod
    def items(body: Any, key: str, path: str) -> list[dict[str, Any]]:
        if isinstance(body, list):  # the lite listing as a bare array of member objects: unambiguous
            body = {"_embedded": {key: body}}
        embedded = body.get("_embedded")
        if not isinstance(embedded, dict):
            raise SourceError(f"Mode {path} has no `_embedded` object: unknown shape, the snapshot is not recorded")
        rows = embedded.get(key)
        if rows is None and len(embedded) == 1:  # the sole list under _embedded (undocumented keys)
            rows = next(iter(embedded.values()))
        if not isinstance(rows, list) or not all(isinstance(r, dict) for r in rows):
            raise SourceError(f"Mode {path} has no `_embedded.{key}` list: unknown shape, the snapshot is not recorded")
        return rows

    def listing(self, path: str, key: str, identity: str) -> list[dict[str, Any]]:
        """Every item of a paged collection, de-duplicated on `identity`."""
        seen: dict[str, dict[str, Any]] = {}
        previous: list[Any] | None = None
        for page in range(1, MAX_PAGES + 1):
            body = self.body(self.get(path, {"page": page, "per_page": PER_PAGE}), path)
            rows = self.items(body, key, path)
            for row in rows:
                if not isinstance(row.get(identity), str):
                    raise SourceError(f"Mode {path} returned an item without a string `{identity}`: unknown shape")
                seen[row[identity]] = row
            pagination = body.get("pagination")
            if isinstance(pagination, dict) and isinstance(pagination.get("total_pages"), (int, str)):
                if page >= int(pagination["total_pages"]):
                    return list(seen.values())
                continue
            keys = [row[identity] for row in rows]
            if not rows or keys == previous:  # `page` ignored: the whole list again
                return list(seen.values())
            previous = keys
        raise SourceError(f"Mode {path} returned more than {MAX_PAGES} pages: paging does not end")

    def memberships(self) -> tuple[str, list[dict[str, Any]]]:
        response = self.get("/memberships", {"page": 1, "per_page": PER_PAGE})
        if response.status_code == 404:
            body = self.body(self.get("/memberships/lite"), "/memberships/lite", lists_ok=True)
            return "memberships/lite", self.items(body, "memberships", "/memberships/lite")
        self.body(response, "/memberships")
        return "memberships", self.listing("/memberships", "memberships", "member_token")


def _timestamp(value: Any, username: str) -> Any:
    if value in (None, ""):
        return None
    try:
        return as_utc(str(value))
    except ValueError:
        raise SourceError(
            f"Mode membership {username!r} has activated_at {str(value)[:40]!r}, not ISO-8601: unknown shape"
        ) from None


def member_row(instance: str, row: dict[str, Any]) -> dict[str, Any]:
    username = row.get("member_username") or row.get("username")
    if not isinstance(username, str) or not isinstance(row.get("member_token"), str):
        raise SourceError("Mode membership without member_username/username and member_token: unknown shape")
    if not isinstance(row.get("admin"), bool):
        raise SourceError(f"Mode membership {username!r} has no boolean `admin` (documented, required): unknown shape")
    return {
        "source_instance": instance,
        "member_token": row["member_token"],
        "username": username,
        "email": (row.get("email") or None),
        "display_name": row.get("name"),
        "is_admin": row["admin"],
        "state": row.get("state"),
        "activated_at": _timestamp(row.get("activated_at"), username),
        "managed_by_scim": row.get("managed_by_scim"),
    }


@dlt.source(name=SOURCE_NAME, section="mode")
def mode_entitlements_source(
    workspace: str | None = dlt.config.value,
    api_token: str | None = dlt.secrets.value,
    api_secret: str | None = dlt.secrets.value,
    base_url: str = DEFAULT_BASE_URL,
    snapshot_at: str | None = None,
    **_ignored: Any,  # since/until of the audit sources: a snapshot is always "now"
) -> Any:
    if not workspace or not api_token or not api_secret:
        raise SourceNotConfigured(SOURCE_NAME, REQUIRED_VARIABLES)
    base_url = require_safe_url(base_url or DEFAULT_BASE_URL, "SOURCES__MODE__BASE_URL")
    at = snapshot_time(snapshot_at)
    client = ModeStateClient(base_url, workspace, api_token, api_secret)

    def fetch() -> Snapshot:
        listing, members = client.memberships()
        snapshot = Snapshot(SOURCE_NAME, workspace, at, scope=[f"workspace {workspace}", listing])
        snapshot.tables["mode_memberships"] = [member_row(workspace, m) for m in members]
        groups = client.listing("/groups", "groups", "token")
        snapshot.tables["mode_groups"] = [
            {
                "source_instance": workspace,
                "group_token": g["token"],
                "group_name": g.get("name"),
                "group_type": g.get("group_type"),
                "state": g.get("state"),
            }
            for g in groups
        ]
        snapshot.tables["mode_group_memberships"] = []
        for group in groups:
            path = f"/groups/{group['token']}/memberships"
            for row in client.listing(path, "group_memberships", "member_token"):
                snapshot.tables["mode_group_memberships"].append(
                    {"source_instance": workspace, "group_token": group["token"], "member_token": row["member_token"]}
                )
        return snapshot

    spec = next(s for s in BUILT_IN if s.name == SOURCE_NAME)
    return snapshot_resources(fetch, spec.state_tables, at, COLUMNS)
