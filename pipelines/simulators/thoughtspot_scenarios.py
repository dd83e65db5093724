"""The ThoughtSpot simulator's planted findings: brute force, self-grants, leavers, off-hours changes and the rest
that the marts must find, placed at fixed points of the history (`ThoughtSpotSimulator.scenarios`)."""

from __future__ import annotations

import random

from .event_vocabulary import (
    BUSINESS_HOURS_UTC,
)
from .history_primitives import (
    DAY_US,
    MINUTE_US,
    US,
    Person,
    day_seed,
    iso_us,
    uuid4_from,
)
from .thoughtspot_history import ThoughtSpotTimeline, _jlist
from .timeline import Record


def plant_findings(self: ThoughtSpotTimeline) -> list[Record]:
    """The findings the demo and the tests look for, at fixed places in the history (`sim.scenarios`)."""
    rng = random.Random(day_seed(self.history.seed, "thoughtspot:scenarios", 0))
    out: list[Record] = []

    def at(moment_us: int, etype: str, actor: Person | None, data: dict, **kw) -> Record:
        record = self._render(rng, self._clamp(moment_us) + rng.randrange(US), etype, actor, data, **kw)
        out.append(record)
        return record

    def stamp(us: int) -> str:
        return iso_us(us)

    # 1. Brute force: 30 failed logins for one account from one IP inside 40 minutes, then a success.
    victim, attacker_ip = self.users[7], "185.220.101.47"
    t0 = self._anchor(0.6, hour=3)
    failures = [
        at(t0 + i * 80 * US, "LOGIN_FAILED", None, {"userName": victim.name}, ip=attacker_ip) for i in range(30)
    ]
    success = at(t0 + 30 * 80 * US + 60 * US, "LOGIN_SUCCESSFUL", victim, {"userName": victim.name}, ip=attacker_ip)
    self.scenarios["brute_force"] = {
        "description": "30 LOGIN_FAILED for one user name from one IP within 40 minutes, then LOGIN_SUCCESSFUL",
        "user_name": victim.name,
        "user_guid": victim.guid,
        "ip": attacker_ip,
        "failed_event_ids": [r.event_id for r in failures],
        "success_event_id": success.event_id,
        "first_failure": stamp(failures[0].time_us),
        "success_at": stamp(success.time_us),
    }
    # 2. Account lockout: five failures then ACCOUNT_LOCKED (userGUID/userName null; name in data.userName).
    locked = self.users[11]
    t1 = self._anchor(0.45, hour=14)
    for i in range(5):
        at(t1 + i * 20 * US, "LOGIN_FAILED", None, {"userName": locked.name})
    lock = at(t1 + 5 * 20 * US, "ACCOUNT_LOCKED", None, {"userName": locked.name})
    self.scenarios["account_locked"] = {
        "description": "ACCOUNT_LOCKED after 5 LOGIN_FAILED",
        "user_name": locked.name,
        "event_id": lock.event_id,
        "at": stamp(lock.time_us),
    }
    # 3. Self-grant: an admin adds themselves to a group, then grants that group ADMINISTRATION.
    granter = self.admins[2]
    group_guid, group_name = self.groups[4]
    t2 = self._anchor(0.35, hour=16)
    join = at(
        t2,
        "PRINCIPALS_IN_GROUP_UPDATE",
        granter,
        {"groupID": group_guid, "requestedUsersInGroup": [{"id": granter.guid}]},
    )
    grant = at(
        t2 + 10 * MINUTE_US,
        "PRIVILEGE_CHANGES",
        granter,
        {
            "modifiedPrivileges": ["ADMINISTRATION"],
            "currentPrivileges": ["AUTHORING"],
            "groupIdentity": {
                "id": {"id": group_guid},
                "name": group_name,
                "owner": {"id": granter.guid},
                "type": "UserGroup",
            },
        },
    )
    roles = at(t2 + 12 * MINUTE_US, "ROLES_ASSIGNED", granter, {"groupNames": group_name, "roleIds": []})
    self.scenarios["self_grant"] = {
        "description": "actor adds their own GUID to a group (PRINCIPALS_IN_GROUP_UPDATE.requestedUsersInGroup), "
        "then changes that group's privileges (PRIVILEGE_CHANGES.groupIdentity) and roles",
        "user_name": granter.name,
        "user_guid": granter.guid,
        "group_guid": group_guid,
        "group_name": group_name,
        "membership_event_id": join.event_id,
        "privilege_event_id": grant.event_id,
        "roles_event_id": roles.event_id,
    }
    # 4. Deleted user still active: USERS_DELETED names the user, who later logs in and creates content.
    leaver = Person(uuid4_from(rng), "former.employee", ["10.9.8.7"], org=0)
    t3 = self._anchor(0.7, hour=10)
    before = at(t3 - DAY_US, "LOGIN_SUCCESSFUL", leaver, {"userName": leaver.name})
    deletion = at(t3, "USERS_DELETED", self.admins[0], {"userGUIDs": [{"id": leaver.guid}]})
    after = [
        at(self._anchor(0.3, hour=22), "LOGIN_SUCCESSFUL", leaver, {"userName": leaver.name}),
        at(self._anchor(0.3, hour=22, minute=5), "CREATE_ANSWER", leaver, {"answerName": "payroll-extract"}),
    ]
    self.scenarios["deleted_user_activity"] = {
        "description": "USERS_DELETED(userGUIDs[].id) followed by events whose userGUID is that user",
        "user_name": leaver.name,
        "user_guid": leaver.guid,
        "deletion_event_id": deletion.event_id,
        "deleted_at": stamp(deletion.time_us),
        "activity_before_event_ids": [before.event_id],
        "activity_after_event_ids": [r.event_id for r in after],
    }
    # 5. Connection changes off hours (02:00-03:00 UTC); background ones are all 09:00-17:00 UTC.
    changer = self.admins[1]
    t4 = self._anchor(0.2, hour=2, minute=10)
    changes = [
        at(
            t4,
            "CREATE_CONNECTION",
            changer,
            {
                "connectionName": "exfil-snowflake",
                "connectionType": "RDBMS_SNOWFLAKE",
                "requestId": "-1",
                "connectionCreation": "Done",
            },
        ),
        at(
            t4 + 15 * MINUTE_US,
            "EDIT_CONNECTION",
            changer,
            {"EditConnection": "Done", "connectionName": "exfil-snowflake"},
        ),
        at(
            t4 + 40 * MINUTE_US,
            "DELETE_CONNECTION",
            changer,
            {"connectionDeletion": "Done", "DeletedIds ": _jlist([uuid4_from(rng)])},
        ),
    ]
    self.scenarios["off_hours_connection_changes"] = {
        "description": f"connection changes outside {BUSINESS_HOURS_UTC[0]:02d}:00-{BUSINESS_HOURS_UTC[1]:02d}:00"
        " UTC (background connection events are always inside)",
        "user_name": changer.name,
        "event_ids": [r.event_id for r in changes],
    }
    return out
