"""Mode workspace memberships and groups (entitlements-api.md §2.1-2.3), HAL collections.

- `GET /api/{ws}/memberships` answers 404 (as the unofficial SDK reports for the live API) unless
  `memberships_listing=True`; `GET /api/{ws}/memberships/lite` lists every member in one response and ignores
  `page`/`per_page` (rows: email, name, username, admin, state, member_token; no membership token).
  `GET /api/{ws}` advertises it as `_links.memberships_lite`.
- `GET /api/{ws}/groups` and `/groups/{token}/memberships`: `per_page` silently capped at 30, a `pagination` block
  {page, per_page, count, total_pages, total_count}, `_links.next_page` emitted unconditionally (past the end it
  points at an empty page); items under `_embedded.groups` / `_embedded.group_memberships`.
- `memberships_lite_shape`: "hal" (default), "array" (a bare array of the rows) or "unknown" ({"data":{"items":[...]}},
  a shape a client must refuse).
- A token that is not a workspace admin token (`admin_token=False`) gets 403 `forbidden` on every listing.
- The state is the directory at the simulator clock's now (mode_directory.py).
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs

from .history_primitives import iso_us
from .http_server import Response
from .mode_directory import ModeState

if TYPE_CHECKING:
    from .mode_api import ModeSimulator

MAX_PER_PAGE = 30
STATE_RESOURCES = ("memberships", "groups")


def _hal(body: dict[str, Any]) -> Response:
    return Response(200, json.dumps(body).encode(), content_type="application/hal+json")


def _paged(sim: ModeSimulator, path: str, key: str, rows: list[dict[str, Any]], query: str) -> Response:
    params = {k: v[0] for k, v in parse_qs(query).items()}
    try:
        page = max(1, int(params.get("page", "1")))
        cap = min(MAX_PER_PAGE, sim.state_max_per_page)
        per_page = max(1, min(cap, int(params.get("per_page", str(cap)))))
    except ValueError:
        return sim.error(400, "page and per_page must be integers")
    total_pages = max(1, -(-len(rows) // per_page))
    items = rows[(page - 1) * per_page : page * per_page]
    return _hal(
        {
            "pagination": {
                "page": page,
                "per_page": per_page,
                "count": len(items),
                "total_pages": total_pages,
                "total_count": len(rows),
            },
            "_links": {
                "self": {"href": f"{path}?page={page}&per_page={per_page}", "templated": False},
                "next_page": {"href": f"{path}?page={page + 1}&per_page={per_page}", "templated": False},
            },
            "_embedded": {key: items},
        }
    )


def handle_state(sim: ModeSimulator, parts: list[str], query: str) -> Response:
    """parts: the path after /api/{workspace} (empty for the workspace itself)."""
    workspace = sim.workspace
    base = f"/api/{workspace}"
    if not parts:
        return _hal(
            {
                "username": workspace,
                "_links": {
                    "self": {"href": base},
                    "memberships_lite": {"href": f"{base}/memberships/lite"},
                    "groups": {"href": f"{base}/groups"},
                },
            }
        )
    if not sim.admin_token:
        return sim.error(
            403, "forbidden: a workspace API token (workspace admin) is required to list members and groups"
        )
    state: ModeState = sim.directory.state_at(sim.clock.now())
    members = sorted(state.members.values(), key=lambda m: m.username)
    if parts == ["memberships"]:
        if not sim.memberships_listing:
            return sim.error(404, f"No route matches {base}/memberships")
        rows = [
            {
                "admin": m.admin,
                "invited": False,
                "state": m.state,
                "member_username": m.username,
                "member_token": m.token,
                "activated_at": iso_us(m.activated_us),
                "managed_by_scim": False,
                "email": m.email,
                "_links": {"user": {"href": f"/api/{m.username}"}},
            }
            for m in members
        ]
        return _paged(sim, f"{base}/memberships", "memberships", rows, query)
    if parts == ["memberships", "lite"]:
        rows = [
            {
                "email": m.email,
                "name": m.username.replace("_", " ").title(),
                "username": m.username,
                "member_token": m.token,
                "state": m.state,
                "admin": m.admin,
            }
            for m in members
        ]
        if sim.memberships_lite_shape == "array":
            return Response(200, json.dumps(rows).encode())
        if sim.memberships_lite_shape == "unknown":
            return Response(200, json.dumps({"data": {"items": rows}}).encode())
        return _hal({"_links": {"self": {"href": f"{base}/memberships/lite"}}, "_embedded": {"memberships": rows}})
    if parts == ["groups"]:
        rows = [
            {
                "token": token,
                "group_type": "custom",
                "name": name,
                "description": None,
                "state": "active",
                "member_count": str(sum(token in m.groups for m in members)),
                "managed": False,
                "_links": {"group_memberships": {"href": f"{base}/groups/{token}/memberships"}},
            }
            for token, name in sorted(state.groups.items(), key=lambda g: g[1])
        ]
        return _paged(sim, f"{base}/groups", "groups", rows, query)
    if len(parts) == 3 and parts[0] == "groups" and parts[2] == "memberships":
        group = parts[1]
        if group not in state.groups:
            return sim.error(404, f"Group {group!r} not found")
        rows = [
            {
                "token": f"{group[:6]}{m.token[:6]}",
                "member_token": m.token,
                "_links": {"member": {"href": f"/api/{m.username}"}},
            }
            for m in members
            if group in m.groups
        ]
        return _paged(sim, f"{base}/groups/{group}/memberships", "group_memberships", rows, query)
    return sim.error(404, f"No route matches {base}/{'/'.join(parts)}")
