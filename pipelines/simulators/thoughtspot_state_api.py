"""ThoughtSpot `users/search`, `groups/search` and `roles/search` as documented (entitlements-api.md §1.4-1.6).

- POST with a JSON body, answer a bare array; `record_offset` (default 0) / `record_size` (default 10) page, sorted
  by `sort_options` (default NAME ASC); past the end an empty array; `record_size: -1` (all) is honoured but warned
  against by the vendor. The state served is the directory at the simulator clock's now (thoughtspot_directory.py).
- Org scoping: the token's org decides. An Org 0 token lists every user with `orgs[]`; an Org N token the users of
  Org N. Groups are per org: a token lists its own org's groups only.
- `response_shape` "logs_object" wraps a page in an object, "html" answers a sign-in page (both 200).
- Privileges ([I] for the shapes): `groups/search` by a non-admin token answers 403 naming GROUP_ADMINISTRATION;
  `users/search` is "available to all users", so a non-admin gets its rows with `complete_detail: false` and no
  groups or privileges (a client must refuse such partial rows). `roles/search` answers 400: RBAC is off here.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from .http_server import Response
from .thoughtspot_directory import ThoughtSpotDirectory, TsAccount, TsState, first_login_ms

if TYPE_CHECKING:
    from .thoughtspot_api import ThoughtSpotSimulator, _Token

USERS_PATH = "/api/rest/2.0/users/search"
GROUPS_PATH = "/api/rest/2.0/groups/search"
ROLES_PATH = "/api/rest/2.0/roles/search"
STATE_ROUTES = {USERS_PATH: "POST", GROUPS_PATH: "POST", ROLES_PATH: "POST"}


def _page(body: dict[str, Any], rows: list[dict[str, Any]]) -> list[dict[str, Any]] | str:
    offset, size = body.get("record_offset", 0), body.get("record_size", 10)
    for name, value in (("record_offset", offset), ("record_size", size)):
        if isinstance(value, bool) or not isinstance(value, int):
            return f"{name} must be an integer."
    if offset < 0 or size == 0 or size < -1:
        return "record_offset must be >= 0 and record_size positive (or -1 for all)."
    sort = body.get("sort_options") or {}
    field = {
        "NAME": "name",
        "DISPLAY_NAME": "display_name",
        "CREATED": "creation_time_in_millis",
        "MODIFIED": "modification_time_in_millis",
    }.get(sort.get("field_name") or "NAME", "name")
    rows = sorted(rows, key=lambda r: (r.get(field) or "", r["id"]), reverse=sort.get("order") == "DESC")
    return rows[offset:] if size == -1 else rows[offset : offset + size]


def _ref(state: TsState, guids: list[str] | set[str]) -> list[dict[str, str]]:
    return [{"id": g, "name": state.groups[g].name} for g in sorted(guids) if g in state.groups]


def user_row(sim: ThoughtSpotSimulator, state: TsState, account: TsAccount, complete: bool) -> dict[str, Any]:
    orgs = sim.org_directory
    created_ms = account.created_us // 1000
    row: dict[str, Any] = {
        "id": account.guid,
        "name": account.name,
        "display_name": account.name.replace(".", " ").title(),
        "visibility": "SHARABLE",
        "author_id": None,
        "can_change_password": account.account_type == "LOCAL_USER",
        "complete_detail": complete,
        "creation_time_in_millis": created_ms,
        "current_org": {},
        "deleted": False,
        "deprecated": False,
        "account_type": account.account_type,
        "account_status": account.status,
        "email": account.email,
        "expiration_time_in_millis": None,
        "external": False,
        "favorite_metadata": [],
        "first_login_time_in_millis": first_login_ms(account, state),
        "group_mask": 0,
        "hidden": False,
        "home_liveboard": None,
        "incomplete_details": [],
        "is_first_login": False,
        "modification_time_in_millis": created_ms,
        "modifier_id": None,
        "orgs": [{"id": account.org, "name": orgs.name(account.org)}] if orgs.enabled else None,
        "owner_id": None,
        "parent_type": "USER",
        "super_user": False,
        "system_user": account.system,
        "tags": [],
        "tenant_id": "982d6da9-0000-4000-8000-000000000000",
        "welcome_email_sent": False,
        "org_privileges": None,
        "preferred_locale": "en-US",
        "extended_properties": None,
        "extended_preferences": None,
    }
    if complete:
        row["user_groups"] = _ref(state, account.groups)
        row["user_inherited_groups"] = _ref(state, state.inherited_groups(account))
        row["privileges"] = state.privileges(account)
    else:
        row.update(
            user_groups=[],
            user_inherited_groups=[],
            privileges=[],
            incomplete_details=[{"reason": "USER_ADMINISTRATION privilege required for details"}],
        )
    return row


def group_row(sim: ThoughtSpotSimulator, state: TsState, guid: str) -> dict[str, Any]:
    group = state.groups[guid]
    members = sorted(u.guid for u in state.users.values() if guid in u.groups)
    return {
        "id": group.guid,
        "name": group.name,
        "display_name": group.name,
        "description": None,
        "type": "LOCAL_GROUP",
        "visibility": "SHARABLE",
        "privileges": sorted(group.privileges),
        "roles": None,
        "users": [{"id": u, "name": state.users[u].name} for u in members],
        "sub_groups": _ref(state, group.sub_groups),
        "orgs": [{"id": str(group.org), "name": sim.org_directory.name(group.org)}],
        "default_liveboards": [],
        "tags": [],
        "system_group": group.name == "ALL_GROUP",
        "deleted": False,
        "deprecated": False,
        "hidden": False,
        "external": False,
        "author_id": None,
        "owner_id": None,
        "modifier_id": None,
        "creation_time_in_millis": sim.timeline.start_us // 1000,
        "modification_time_in_millis": sim.timeline.start_us // 1000,
        "parent_type": "GROUP",
        "complete_detail": True,
    }


def handle_state(
    sim: ThoughtSpotSimulator, directory: ThoughtSpotDirectory, route: str, body: dict[str, Any], token: _Token
) -> Response:
    error: Callable[..., Response] = sim.error
    if route == ROLES_PATH:
        return error(
            400,
            "Role-based access control (RBAC) is not enabled on this cluster: roles/search is "
            "available only with RBAC.",
        )
    state = directory.state_at(sim.clock.now())
    if route == GROUPS_PATH:
        if not token.admin:
            return error(403, "GROUP_ADMINISTRATION (or ADMINISTRATION) privilege required to search groups.")
        rows = [group_row(sim, state, g) for g, group in state.groups.items() if group.org == token.org_id]
    else:
        broken_from = sim.users_search_fails_from_offset
        if broken_from is not None and int(body.get("record_offset") or 0) >= broken_from:
            return error(500, f"Simulated failure of users/search at record_offset >= {broken_from}.")
        wanted_orgs = {str(o) for o in body.get("org_identifiers") or []}
        rows = [
            user_row(sim, state, u, token.admin)
            for u in state.users.values()
            if (token.org_id == 0 or u.org == token.org_id)
            and (not wanted_orgs or str(u.org) in wanted_orgs or sim.org_directory.name(u.org) in wanted_orgs)
        ]
    page = _page(body, rows)
    if isinstance(page, str):
        return error(400, page)
    # `response_shape` applies here too: a body a client must refuse rather than read as "nobody holds access".
    if sim.response_shape == "logs_object":
        return Response(200, json.dumps({"records": page}).encode())
    if sim.response_shape == "html":
        return Response(
            200,
            b"<!DOCTYPE html><html><body>Sign in to ThoughtSpot</body></html>",
            content_type="text/html; charset=utf-8",
        )
    return Response(200, json.dumps(page).encode())


def expected_users(sim: ThoughtSpotSimulator, org: int | None = None) -> dict[str, dict[str, Any]]:
    """Ground truth for tests: every account a cluster administrator lists now (optionally of one org), by GUID."""
    state = sim.directory.state_at(sim.clock.now())
    return {u.guid: user_row(sim, state, u, True) for u in state.users.values() if org is None or u.org == org}
