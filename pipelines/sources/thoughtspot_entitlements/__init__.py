"""dlt source: ThoughtSpot entitlements (orgs, users, group memberships, privileges, groups).

Loads raw_thoughtspot_entitlements.

    import dlt
    from pipelines.sources.thoughtspot_entitlements import thoughtspot_entitlements_source
    dlt.pipeline("tse", destination="duckdb", dataset_name="raw_thoughtspot_entitlements").run(
        thoughtspot_entitlements_source())

Configuration: the audit source's (SOURCES__THOUGHTSPOT__BASE_URL, __USERNAME, __SECRET_KEY or __PASSWORD), plus
optional __ORG_IDS (comma-separated org ids to read; default every org orgs/search lists, or Org 0 on a cluster
without Orgs) and __ENTITLEMENTS_PAGE_SIZE (record_size, default 500; the vendor warns against -1).

Plan (entitlements-api.md §1.8): users/search once, in Org 0 (users carry `orgs[]`); groups/search in every org with a
token minted in that org (groups are org-scoped); roles/search only where RBAC is on (400 = off). Partial rows
(`complete_detail: false`: the caller lacks the privilege to see details) fail the snapshot: a review must not read
"no groups" where the API hid them.
"""

from __future__ import annotations

from typing import Any

import dlt

from pipelines.sources.common.errors import SourceError, SourceNotConfigured
from pipelines.sources.common.url_safety import host_with_port, require_safe_url
from pipelines.sources.entitlement_snapshot import (
    Snapshot,
    as_json,
    column_hints,
    ms_to_utc,
    snapshot_resources,
    snapshot_time,
)
from pipelines.sources.registry import BUILT_IN
from pipelines.sources.thoughtspot_entitlements.ts_entitlements_client import (
    ENV_ORG_IDS,
    GROUPS_PATH,
    PRIVILEGE_NEEDED,
    USERS_PATH,
    ThoughtSpotStateClient,
)

SOURCE_NAME = "thoughtspot_entitlements"
REQUIRED_VARIABLES = (
    "SOURCES__THOUGHTSPOT__BASE_URL",
    "SOURCES__THOUGHTSPOT__USERNAME",
    "SOURCES__THOUGHTSPOT__SECRET_KEY (or __PASSWORD)",
)

COLUMNS = {
    "ts_orgs": column_hints("source_instance text, org_id bigint, org_name text"),
    "ts_users": column_hints(
        "source_instance text, user_id text, user_name text, display_name text, email text, account_type text, "
        "account_status text, is_deleted bool, is_super_user bool, is_system_user bool, created_at timestamp, "
        "first_login_at timestamp, expires_at timestamp, org_ids text"
    ),
    "ts_user_groups": column_hints(
        "source_instance text, user_id text, group_id text, group_name text, membership text"
    ),
    "ts_user_privileges": column_hints("source_instance text, user_id text, privilege text"),
    "ts_groups": column_hints(
        "source_instance text, org_id bigint, group_id text, group_name text, display_name text, group_type text, "
        "privileges text, roles text, sub_group_ids text, is_system_group bool"
    ),
}


def _refs(row: dict[str, Any], key: str, where: str) -> list[dict[str, Any]]:
    value = row.get(key)
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, dict) and isinstance(v.get("id"), str) for v in value):
        raise SourceError(f"ThoughtSpot {where} `{key}` is not a list of {{id, name}}: unknown shape")
    return value


def _strings(row: dict[str, Any], key: str, where: str) -> list[str]:
    value = row.get(key) or []
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise SourceError(f"ThoughtSpot {where} `{key}` is not a list of strings: unknown shape")
    return sorted(set(value))


def _org_ids(value: Any) -> list[int]:
    out = []
    for item in value or []:
        try:
            out.append(int(item["id"] if isinstance(item, dict) else item))
        except (KeyError, TypeError, ValueError):
            raise SourceError(f"ThoughtSpot returned an org id that is not an integer ({str(item)[:40]!r})") from None
    return sorted(set(out))


def user_tables(instance: str, users: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    accounts, memberships, privileges = [], [], []
    for user in users:
        if user.get("complete_detail") is False:
            raise SourceError(
                "ThoughtSpot users/search returned partial rows (complete_detail false): the API user "
                f"needs {PRIVILEGE_NEEDED[USERS_PATH]} to read groups and privileges"
            )
        uid = user["id"]
        accounts.append(
            {
                "source_instance": instance,
                "user_id": uid,
                "user_name": user["name"],
                "display_name": user.get("display_name"),
                "email": (user.get("email") or None),
                "account_type": user.get("account_type"),
                "account_status": user.get("account_status"),
                "is_deleted": bool(user.get("deleted")),
                "is_super_user": bool(user.get("super_user")),
                "is_system_user": bool(user.get("system_user")),
                "created_at": ms_to_utc(user.get("creation_time_in_millis"), "creation_time_in_millis"),
                "first_login_at": ms_to_utc(user.get("first_login_time_in_millis"), "first_login_time_in_millis"),
                "expires_at": ms_to_utc(user.get("expiration_time_in_millis"), "expiration_time_in_millis"),
                # null orgs = a cluster without Orgs: every account is in the Primary Org (as cs_tools reads it).
                "org_ids": as_json(_org_ids(user.get("orgs")) or [0]),
            }
        )
        for kind, key in (("direct", "user_groups"), ("inherited", "user_inherited_groups")):
            for group in _refs(user, key, "users/search"):
                memberships.append(
                    {
                        "source_instance": instance,
                        "user_id": uid,
                        "group_id": group["id"],
                        "group_name": group.get("name"),
                        "membership": kind,
                    }
                )
        for privilege in _strings(user, "privileges", "users/search"):
            privileges.append({"source_instance": instance, "user_id": uid, "privilege": privilege})
    return {"ts_users": accounts, "ts_user_groups": memberships, "ts_user_privileges": privileges}


def group_rows(instance: str, org: int, groups: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [
        {
            "source_instance": instance,
            "org_id": org,
            "group_id": g["id"],
            "group_name": g["name"],
            "display_name": g.get("display_name"),
            "group_type": g.get("type"),
            "privileges": as_json(_strings(g, "privileges", "groups/search")),
            "roles": as_json(sorted(r["id"] for r in _refs(g, "roles", "groups/search"))),
            "sub_group_ids": as_json(sorted(s["id"] for s in _refs(g, "sub_groups", "groups/search"))),
            "is_system_group": bool(g.get("system_group")),
        }
        for g in groups
    ]


@dlt.source(name=SOURCE_NAME, section="thoughtspot")
def thoughtspot_entitlements_source(
    base_url: str | None = dlt.config.value,
    username: str | None = dlt.config.value,
    secret_key: str | None = dlt.secrets.value,
    password: str | None = dlt.secrets.value,
    org_ids: str | None = None,
    entitlements_page_size: int = 500,
    snapshot_at: str | None = None,
    **_ignored: Any,  # since/until of the audit sources: a snapshot is always "now"
) -> Any:
    if not base_url or not username or not (secret_key or password):
        raise SourceNotConfigured(SOURCE_NAME, REQUIRED_VARIABLES)
    base_url = require_safe_url(base_url, "SOURCES__THOUGHTSPOT__BASE_URL")
    if not 1 <= entitlements_page_size <= 100_000:
        raise SourceError(
            "SOURCES__THOUGHTSPOT__ENTITLEMENTS_PAGE_SIZE must be 1..100000 (the vendor warns against -1: page instead)"
        )
    wanted: list[int] | None = None
    if org_ids:
        try:
            wanted = sorted({int(part) for part in str(org_ids).split(",") if part.strip()})
        except ValueError:
            raise SourceError(f"{ENV_ORG_IDS} must be comma-separated integers (org ids), e.g. 0,583464508") from None
    at = snapshot_time(snapshot_at)
    instance = host_with_port(base_url)
    client = ThoughtSpotStateClient(base_url, username, secret_key, password, page_size=entitlements_page_size)

    def fetch() -> Snapshot:
        listed = client.orgs(refusal_ok=wanted is not None)
        if listed is None and wanted is not None:  # configured orgs, not listable by this user: take them as given
            orgs = {o: ("Primary" if o == 0 else None) for o in wanted}
        elif listed is None:  # no Orgs feature: everything is the Primary Org
            orgs = {0: "Primary"}
        else:
            orgs = {_org_ids([o])[0]: o.get("name") for o in listed}
        if wanted is not None and listed is not None:
            unknown = sorted(set(wanted) - set(orgs))
            if unknown:
                raise SourceError(
                    f"{ENV_ORG_IDS} names orgs {unknown} that orgs/search does not list "
                    f"({sorted(orgs)}): fix the variable"
                )
        if wanted is not None:
            orgs = {o: orgs.get(o) for o in wanted}
        snapshot = Snapshot(SOURCE_NAME, instance, at, scope=[f"org {o}" for o in orgs])
        snapshot.tables["ts_orgs"] = [
            {"source_instance": instance, "org_id": o, "org_name": name} for o, name in sorted(orgs.items())
        ]
        # An Org 0 (cluster administrator) token lists every account with its orgs[]; without Org 0 in scope, each
        # org's own token lists its members (merged by id).
        users: dict[str, dict[str, Any]] = {}
        for org in [0] if 0 in orgs else sorted(orgs):
            users.update((u["id"], u) for u in client.search(USERS_PATH, org))
        snapshot.tables.update(user_tables(instance, list(users.values())))
        snapshot.tables["ts_groups"] = []
        for org in sorted(orgs):
            snapshot.tables["ts_groups"] += group_rows(instance, org, client.search(GROUPS_PATH, org))
        # Roles reach users only through groups (`groups.roles`); their privileges are already in each user's
        # effective `privileges`. roles/search is not read: RBAC off answers 400 and on needs ROLE_ADMINISTRATION.
        return snapshot

    spec = next(s for s in BUILT_IN if s.name == SOURCE_NAME)
    return snapshot_resources(fetch, spec.state_tables, at, COLUMNS)
