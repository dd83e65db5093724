"""Mode workspace members, admins and groups on any date, consistent with the audit-log history.

State at a moment = a seeded starting workspace (the history's population, its groups) plus every audit entry up to
that moment applied in time order: `org_user_role_changed` (new_role admin -> admin, removed -> no longer a member,
anything else -> a plain member), `group_member_added` / `group_member_removed` (context.member_id into the group
entity), plus planted changes no entry records, or entries the state ignores (`scenarios`):
- `unlogged_admin_grant`: a member becomes admin with no audit entry;
- `removal_not_applied`: a `group_member_removed` entry the next snapshot contradicts (the member is still there).
The planted leaver leaves at its removal entry; the self-granter is admin from its role change; the ThoughtSpot
leaver (`former.employee`) still holds an active Mode membership (a cross-product leaver).
"""

from __future__ import annotations

import json
import random
import threading
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from .history_primitives import DAY_US, day_seed, hex12_from, iso_us, to_us
from .mode_history import ModeTimeline
from .thoughtspot_directory import email_of

_APPLIED = (b'"org_user_role_changed"', b'"group_member_added"', b'"group_member_removed"')


@dataclass
class ModeMember:
    token: str  # member_token (the user's 12-hex token)
    username: str
    email: str
    activated_us: int
    admin: bool = False
    state: str = "active"
    groups: set[str] = field(default_factory=set)  # group tokens


@dataclass
class ModeState:
    at_us: int
    members: dict[str, ModeMember]
    groups: dict[str, str]  # token -> name


class ModeDirectory:
    def __init__(self, timeline: ModeTimeline) -> None:
        self.timeline = timeline
        self.scenarios: dict[str, Any] = {}
        self._changes: list[tuple[int, int, str, tuple]] | None = None
        self._lock = threading.Lock()
        rng = random.Random(day_seed(timeline.history.seed, "mode:directory", 0))
        start = timeline.start_us
        self.group_names = dict(timeline.entities["group"])
        group_tokens = list(self.group_names)
        self._base: list[ModeMember] = []
        for i, person in enumerate(timeline.users):
            activated = start - rng.randrange(10, 600) * DAY_US
            member = ModeMember(
                person.guid,
                person.name,
                email_of(person.name),
                activated,
                admin=i < 3,
                groups=set(rng.sample(group_tokens, rng.choice((0, 1, 2)))),
            )
            self._base.append(member)
        leaver = timeline.scenarios["leaver_activity"]
        self._base.append(
            ModeMember(
                leaver["user_id"],
                leaver["username"],
                email_of(leaver["username"]),
                start - 200 * DAY_US,
                groups={group_tokens[0]},
            )
        )
        for name, days in (("former_employee", 320), ("idle_viewer", 150)):
            self._base.append(ModeMember(hex12_from(rng), name, email_of(name), start - days * DAY_US))
        self._planted: list[tuple[int, int, str, tuple]] = []
        grantee = self._base[14]
        at_us = timeline._anchor(0.3, hour=5)
        self._planted.append((at_us, -1, "admin", (grantee.token, True)))
        self.scenarios["unlogged_admin_grant"] = {
            "description": "a member becomes workspace admin with no audit log entry",
            "member_token": grantee.token,
            "username": grantee.username,
            "at": iso_us(at_us),
        }
        self._ignored: str | None = None

    def _derive(self) -> list[tuple[int, int, str, tuple]]:
        changes: list[tuple[int, int, str, tuple]] = []
        far = self.timeline.end_us + 400 * DAY_US
        removals: list[tuple[int, int, str, tuple, str]] = []
        for seq, record in enumerate(self.timeline.all_records(far)):
            if record.event_id is None or not any(kind in record.payload for kind in _APPLIED):
                continue
            entry = json.loads(record.payload)
            action, entity, context = entry["action"], entry.get("entity") or {}, entry.get("context") or {}
            if action == "org_user_role_changed":
                role = context.get("new_role")
                kind = "remove" if role == "removed" else "admin"
                changes.append((record.time_us, seq, kind, (entity.get("entity_id"), role == "admin")))
            elif action in ("group_member_added", "group_member_removed") and context.get("member_id"):
                kind = "join" if action.endswith("added") else "leave"
                change = (record.time_us, seq, kind, (context["member_id"], entity.get("entity_id")))
                changes.append(change)
                if kind == "leave":
                    removals.append((*change, record.event_id))
        # Contradiction: a removal entry (the middle one of those never followed by a re-add of the same member to
        # the same group) is not applied, and its member is made a member of that group in the starting state, so
        # every snapshot after the entry still shows the membership.
        joins = [(c[0], c[3]) for c in changes if c[2] == "join"]
        removals = [r for r in removals if not any(t > r[0] and args == r[3] for t, args in joins)]
        if removals:
            time_us, seq, kind, (member, group), event_id = removals[len(removals) // 2]
            changes.remove((time_us, seq, kind, (member, group)))
            for base in self._base:
                if base.token == member:
                    base.groups.add(group)
            self.scenarios["removal_not_applied"] = {
                "description": "group_member_removed logged, but the member is still in the group in later snapshots",
                "event_id": event_id,
                "member_token": member,
                "group_token": group,
                "at": iso_us(time_us),
            }
        changes += self._planted
        changes.sort(key=lambda c: (c[0], c[1]))
        return changes

    def changes(self) -> list[tuple[int, int, str, tuple]]:
        with self._lock:
            if self._changes is None:
                self._changes = self._derive()
            return self._changes

    def state_at(self, moment: datetime | int) -> ModeState:
        at_us = moment if isinstance(moment, int) else to_us(moment)
        changes = self.changes()
        members = {
            m.token: ModeMember(**{**m.__dict__, "groups": set(m.groups)})
            for m in self._base
            if m.activated_us <= at_us
        }
        for time_us, _, kind, args in changes:
            if time_us > at_us:
                break
            member = members.get(args[0])
            if member is None:
                continue
            if kind == "remove":
                members.pop(args[0])
            elif kind == "admin":
                member.admin = bool(args[1])
            elif kind == "join" and args[1] in self.group_names:
                member.groups.add(args[1])
            elif kind == "leave":
                member.groups.discard(args[1])
        return ModeState(at_us, members, dict(self.group_names))


__all__ = ["ModeDirectory", "ModeState", "ModeMember"]
