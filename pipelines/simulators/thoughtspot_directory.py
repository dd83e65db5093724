"""ThoughtSpot users, groups and privileges on any date, consistent with the security-audit history.

The state at a moment is: a seeded starting directory (the history's population, the groups it names, a few accounts
that never act) plus every audit event up to that moment applied in time order (USERS_CREATED adds an account,
USERS_DELETED removes one, PRINCIPALS_IN_GROUP_UPDATE adds members, PRIVILEGE_CHANGES adds a group privilege), plus
the planted changes no event records (`scenarios["unlogged_grant"]`: the drift a state-vs-log reconciliation must find).
So a user created in the events exists in the snapshot afterwards, the planted leaver is gone after USERS_DELETED, and
the planted self-grant holds ADMINISTRATION through the group it joined.

Inferred where the vendor is silent (entitlements-api.md §4): an Org 0 (cluster administrator) token lists every
user of the cluster with `orgs[]`; an Org N token lists the users of Org N only. Groups belong to one org. RBAC is off
(roles reach nobody; `roles` is null on groups, as documented for clusters without RBAC).
"""

from __future__ import annotations

import hashlib
import json
import random
import threading
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from .history_primitives import DAY_US, HOUR_US, day_seed, iso_us, to_us, uuid4_from
from .thoughtspot_history import ThoughtSpotTimeline

EMAIL_DOMAIN = "example.com"
ALL_GROUP = "ALL_GROUP"
ADMIN_GROUP = "Administrator"
# Group privileges of the starting directory (the event-named groups keep the history's names).
_GROUP_PRIVILEGES = {
    "analysts": {"AUTHORING"},
    "finance-viewers": set(),
    "sales-ops": {"DATADOWNLOADING"},
    "data-eng": {"DATAMANAGEMENT", "CAN_CREATE_OR_EDIT_CONNECTIONS"},
    "execs": {"AUTHORING"},
    "support": set(),
    "marketing": {"DATADOWNLOADING"},
}
_APPLIED = (b"USERS_CREATED", b"USERS_DELETED", b"PRINCIPALS_IN_GROUP_UPDATE", b"PRIVILEGE_CHANGES")


def email_of(name: str) -> str:
    """The work e-mail both simulators derive from a person's name (`alice.kim` / `alice_kim`), so people match."""
    return f"{name.replace('_', '.').lower()}@{EMAIL_DOMAIN}"


def guid_of(text: str) -> str:
    return str(uuid.UUID(bytes=hashlib.blake2b(text.encode(), digest_size=16).digest(), version=4))


@dataclass
class TsAccount:
    guid: str
    name: str
    email: str
    account_type: str
    created_us: int
    org: int
    status: str = "ACTIVE"
    groups: set[str] = field(default_factory=set)  # direct group GUIDs
    system: bool = False


@dataclass
class TsGroup:
    guid: str
    name: str
    org: int
    privileges: set[str] = field(default_factory=set)
    sub_groups: list[str] = field(default_factory=list)  # child group GUIDs: their members inherit this group


@dataclass
class TsState:
    at_us: int
    users: dict[str, TsAccount]
    groups: dict[str, TsGroup]

    def inherited_groups(self, account: TsAccount) -> list[str]:
        """Groups reached through nesting: a member of a sub-group inherits its parent (transitively)."""
        seen: set[str] = set()
        frontier = set(account.groups)
        while frontier:
            parents = {g.guid for g in self.groups.values() if set(g.sub_groups) & frontier} - seen - account.groups
            seen |= parents
            frontier = parents
        return sorted(seen)

    def privileges(self, account: TsAccount) -> list[str]:
        """Effective privileges: the union over direct, inherited and ALL groups of the account's org."""
        held: set[str] = set()
        for guid in (*account.groups, *self.inherited_groups(account), *self._all_groups(account.org)):
            group = self.groups.get(guid)
            if group is not None:
                held |= group.privileges
        return sorted(held)

    def _all_groups(self, org: int) -> list[str]:
        return [g.guid for g in self.groups.values() if g.name == ALL_GROUP and g.org == org]


class ThoughtSpotDirectory:
    """The seeded starting directory, the changes derived from the history, and `state_at(moment)`."""

    def __init__(self, timeline: ThoughtSpotTimeline, orgs: tuple[int, ...]) -> None:
        self.timeline = timeline
        self.orgs = orgs
        self.scenarios: dict[str, Any] = {}
        self._changes: list[tuple[int, int, str, tuple]] | None = None
        self._lock = threading.Lock()
        rng = random.Random(day_seed(timeline.history.seed, "thoughtspot:directory", 0))
        start = timeline.start_us
        self._base_users: list[TsAccount] = []
        self._base_groups: list[TsGroup] = []
        for org in orgs:
            self._base_groups.append(TsGroup(guid_of(f"all:{org}"), ALL_GROUP, org, {"AUTHORING"}))
        for guid, name in timeline.groups:
            self._base_groups.append(TsGroup(guid, name, 0, set(_GROUP_PRIVILEGES.get(name, set()))))
        admin_group = TsGroup(guid_of("admin-group"), ADMIN_GROUP, 0, {"ADMINISTRATION"})
        user_admins = TsGroup(guid_of("user-admins"), "user-admins", 0, {"USER_ADMINISTRATION", "GROUP_ADMINISTRATION"})
        self._base_groups += [admin_group, user_admins]
        for org in orgs[1:]:
            self._base_groups.append(TsGroup(guid_of(f"org-analysts:{org}"), f"analysts-{org}", org, {"AUTHORING"}))
        # execs is a member of finance-viewers: execs inherit its (view) access. Exercises user_inherited_groups.
        by_name = {g.name: g for g in self._base_groups}
        by_name["finance-viewers"].sub_groups.append(by_name["execs"].guid)
        event_groups = [g for g in self._base_groups if g.org == 0 and g.name in _GROUP_PRIVILEGES]
        for i, person in enumerate(timeline.users):
            account_type = "LOCAL_USER" if i in (0, 13, 27) else "SAML_USER"
            created = start - rng.randrange(20, 700) * DAY_US
            account = TsAccount(person.guid, person.name, email_of(person.name), account_type, created, person.org)
            if person.org == 0:
                account.groups = {g.guid for g in rng.sample(event_groups, rng.choice((1, 2)))}
            else:
                account.groups = {guid_of(f"org-analysts:{person.org}")} if person.org in orgs else set()
            self._base_users.append(account)
        # admins[0..1] administer the cluster; admins[2] (the self-granter) manages users and groups, no more.
        self._base_users[0].groups.add(admin_group.guid)
        self._base_users[1].groups.add(admin_group.guid)
        self._base_users[2].groups.add(user_admins.guid)
        self._base_users[19].status = "INACTIVE"
        # Accounts that never act: dormant (one never logged in at all, one local service account).
        for name, kind, days in (("dormant.contractor", "SAML_USER", 200), ("svc.reporting", "LOCAL_USER", 400)):
            self._base_users.append(
                TsAccount(
                    guid_of(name),
                    name,
                    email_of(name),
                    kind,
                    start - days * DAY_US,
                    0,
                    groups={by_name["analysts"].guid},
                )
            )
        # The leaver of the history exists until USERS_DELETED; the Mode leaver still has a ThoughtSpot account.
        leaver = timeline.scenarios["deleted_user_activity"]
        self._base_users.append(
            TsAccount(
                leaver["user_guid"],
                leaver["user_name"],
                email_of(leaver["user_name"]),
                "SAML_USER",
                start - 300 * DAY_US,
                0,
                groups={by_name["sales-ops"].guid},
            )
        )
        self._base_users.append(
            TsAccount(
                guid_of("departed.analyst"),
                "departed.analyst",
                email_of("departed.analyst"),
                "SAML_USER",
                start - 250 * DAY_US,
                0,
                groups={by_name["analysts"].guid},
            )
        )
        # Drift: a user joins the Administrator group with no audit event (an unlogged grant).
        grantee = self._base_users[15]
        unlogged_us = timeline._anchor(0.3, hour=6)
        self._planted = [(unlogged_us, "join", (grantee.guid, admin_group.guid))]
        self.scenarios["unlogged_grant"] = {
            "description": "a user is added to the Administrator group (ADMINISTRATION) with no audit event",
            "user_guid": grantee.guid,
            "user_name": grantee.name,
            "group_guid": admin_group.guid,
            "group_name": ADMIN_GROUP,
            "at": iso_us(unlogged_us),
        }

    # -- history -> changes ---------------------------------------------------------------------------------------
    def _derive_changes(self) -> list[tuple[int, int, str, tuple]]:
        changes: list[tuple[int, int, str, tuple]] = []
        far = self.timeline.end_us + 400 * DAY_US
        for seq, record in enumerate(self.timeline.all_records(far)):
            if record.event_id is None or not any(kind in record.payload for kind in _APPLIED):
                continue
            log = json.loads(json.loads(record.payload)["log"])
            etype, data = log.get("type"), log.get("data") or {}
            if etype == "USERS_CREATED":
                for name in str(data.get("userNames") or "").split(","):
                    if name.strip():
                        changes.append((record.time_us, seq, "create", (name.strip(),)))
            elif etype == "USERS_DELETED":
                for item in data.get("userGUIDs") or []:
                    changes.append((record.time_us, seq, "delete", (item.get("id"),)))
            elif etype == "PRINCIPALS_IN_GROUP_UPDATE":
                for item in data.get("requestedUsersInGroup") or []:
                    changes.append((record.time_us, seq, "join", (item.get("id"), data.get("groupID"))))
            elif etype == "PRIVILEGE_CHANGES":
                group = ((data.get("groupIdentity") or {}).get("id") or {}).get("id")
                for privilege in data.get("modifiedPrivileges") or []:
                    changes.append((record.time_us, seq, "privilege", (group, privilege)))
        changes += [(at, -1, kind, args) for at, kind, args in self._planted]
        changes.sort(key=lambda c: (c[0], c[1]))
        return changes

    def changes(self) -> list[tuple[int, int, str, tuple]]:
        with self._lock:
            if self._changes is None:
                self._changes = self._derive_changes()
            return self._changes

    def state_at(self, moment: datetime | int) -> TsState:
        at_us = moment if isinstance(moment, int) else to_us(moment)
        users = {
            u.guid: TsAccount(**{**u.__dict__, "groups": set(u.groups)})
            for u in self._base_users
            if u.created_us <= at_us
        }
        groups = {
            g.guid: TsGroup(g.guid, g.name, g.org, set(g.privileges), list(g.sub_groups)) for g in self._base_groups
        }
        for time_us, _, kind, args in self.changes():
            if time_us > at_us:
                break
            if kind == "create":
                name = args[0]
                users[guid_of(name)] = TsAccount(guid_of(name), name, email_of(name), "LOCAL_USER", time_us, 0)
            elif kind == "delete":
                users.pop(args[0], None)
            elif kind == "join" and args[0] in users and args[1] in groups:
                users[args[0]].groups.add(args[1])
            elif kind == "privilege" and args[0] in groups:
                groups[args[0]].privileges.add(args[1])
        return TsState(at_us, users, groups)


def first_login_ms(account: TsAccount, state: TsState) -> int:
    """`first_login_time_in_millis`: 0 for accounts that never log in (the doc example's value), else an hour after
    creation (the history does not say; only the presence of a login matters to a review)."""
    if account.name in ("dormant.contractor", "svc.reporting"):
        return 0
    return (account.created_us + HOUR_US) // 1000


__all__ = [
    "ThoughtSpotDirectory",
    "TsState",
    "TsAccount",
    "TsGroup",
    "email_of",
    "guid_of",
    "first_login_ms",
    "uuid4_from",
]
