"""The ThoughtSpot security-audit history: background traffic shaped like the developer-docs examples, plus
the planted findings (`scenarios`) the demo and the dbt tests look for."""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from datetime import datetime
from functools import partial
from itertools import accumulate
from typing import Any

from .event_vocabulary import (
    THOUGHTSPOT_EVENT_DESCRIPTIONS,
    THOUGHTSPOT_EVENT_TYPES,
    TS_ADMIN_PREFIXES,
    TS_ANONYMOUS,
    TS_CLUSTER_PREFIXES,
    TS_OFFICE_TYPES,
    TS_WEIGHTS,
)
from .history_primitives import (
    DAY_US,
    HOUR_US,
    US,
    HistoryConfig,
    Person,
    day_seed,
    dumps,
    people,
    reveal_delay_us,
    utc_second_text,
    uuid4_from,
)
from .thoughtspot_orgs import CLUSTER_ORG, DEFAULT_ORGS, remap_population_orgs
from .time_formats import TIME_FORMATS, render_times
from .timeline import Record, Timeline


def _jlist(values: list[str]) -> str:
    """ThoughtSpot stringifies some list values inside `data` (e.g. "pinboardIds":"[\\"...\\"]")."""
    return dumps(values).decode()


DATE_LAG_MAX_US = 1_500_000


def _named_object(rng: random.Random, actor: Person, key: str, noun: str) -> dict:
    return {key: f"{noun.lower()}-{rng.randrange(1000)}"}


class ThoughtSpotTimeline(Timeline):
    product = "thoughtspot"

    def __init__(
        self,
        history: HistoryConfig,
        end: datetime,
        late_minutes: float,
        orgs: Sequence[int] = DEFAULT_ORGS,
        time_format: str = "iso",
    ) -> None:
        super().__init__(history, end, late_minutes)
        if time_format not in TIME_FORMATS:
            raise ValueError(f"time_format={time_format!r}: use one of {TIME_FORMATS}")
        self.time_format = time_format
        rng = random.Random(day_seed(history.seed, "thoughtspot:population", 0))
        self.users = people(rng, 40, ".", uuid4_from)
        self.admins = self.users[:4]
        for admin in self.admins:
            admin.org = 0
        self.groups = [
            (uuid4_from(rng), name)
            for name in ("analysts", "finance-viewers", "sales-ops", "data-eng", "execs", "support", "marketing")
        ]
        self.org_ids = tuple(orgs)
        if self.org_ids != DEFAULT_ORGS:
            remap_population_orgs(self.users[len(self.admins) :], self.org_ids)
        # Cluster-level records carry orgId -1; on a cluster without orgs there is nothing above Org 0.
        self._cluster_org = CLUSTER_ORG if len(self.org_ids) > 1 else 0
        self._builders = self._payload_builders()
        self._types = list(TS_WEIGHTS)
        self._cum_weights = list(accumulate(TS_WEIGHTS.values()))
        self.plant(self._build_scenarios())

    # -- rendering ---------------------------------------------------------------------------------------------
    def _render(
        self,
        rng: random.Random,
        date_us: int,
        etype: str,
        actor: Person | None,
        data: dict,
        org: int | None = None,
        ip: str | None | bool = True,
        seq: int = -1,
        malformed: int = 0,
        event_id: str | None = None,
        ts_us: int | None = None,
    ) -> Record:
        """One `{date, log}` element. `ts` is `ts_us` (default: `date_us`) truncated to the second."""
        event_id = event_id or "TS-" + uuid4_from(rng)
        if ip is True:
            ip = self._client_ip(rng, actor)
        org_id = org if org is not None else (actor.org if actor else 0)
        second, micro = divmod(date_us, US)
        ts_second = second if ts_us is None else ts_us // US
        if self.time_format == "iso":
            second_text = utc_second_text(second)
            ts_text = (second_text if ts_second == second else utc_second_text(ts_second)) + "Z"
            date_text = f"{second_text}.{micro:06d}Z"
        else:
            ts_text, date_text = render_times(self.time_format, event_id, ts_second, second, micro)
        log = {
            "version": "1.1",
            "id": event_id,
            "ts": ts_text,
            "orgId": org_id,
            "userGUID": actor.guid if actor else None,
            "userName": actor.name if actor else None,
            "cIP": ip,
            "type": etype,
            "desc": THOUGHTSPOT_EVENT_DESCRIPTIONS.get(etype, etype),
            "data": data,
        }
        valid_id: str | None = event_id
        if malformed:
            valid_id = None
            variant = (malformed - 1) % 3
            if variant == 0:  # `log` is not valid JSON (truncated)
                text = dumps(log).decode()
                log_value: Any = text[: len(text) // 2]
            elif variant == 1:  # valid JSON, no `id`
                del log["id"]
                log_value = dumps(log).decode()
            else:  # `log` is an object, not a string
                log_value = log
        else:
            log_value = dumps(log).decode()
        payload = f'{{"date":"{date_text}","log":'.encode() + dumps(log_value) + b"}"
        return Record(date_us, date_us + reveal_delay_us(rng, self.late_minutes), payload, valid_id, org_id, None, seq)

    @staticmethod
    def _client_ip(rng: random.Random, actor: Person | None) -> str | None:
        """`cIP` as the published records show it: the cluster sees its own proxies, so mostly 127.0.0.1 or a
        10.x address, often null or "". A user's own address shows through now and then."""
        roll = rng.random()
        if roll < 0.10:
            return None
        if roll < 0.16:
            return ""
        if roll < 0.46:
            return "127.0.0.1"
        if actor is not None:
            return actor.ips[int(rng.random() * len(actor.ips))]
        # Anonymous (failed-login) traffic spreads over many internal addresses, so that background failures never
        # look like one source hammering the login page (that is the planted brute force).
        return f"10.253.{int(rng.random() * 65024) // 254}.{1 + int(rng.random() * 254)}"

    def _payload_builders(self) -> dict[str, Callable[[random.Random, Person], dict]]:
        """`data` per event type, shaped like the developer-docs examples; built once (closures are not free)."""
        users, admins, groups = self.users, self.admins, self.groups
        other_orgs = [o for o in self.org_ids if o != 0] or [0]
        guid = uuid4_from

        def group(rng: random.Random) -> tuple[str, str]:
            return groups[rng.randrange(len(groups))]

        def other(rng: random.Random) -> Person:
            return users[rng.randrange(len(users))]

        def members(rng: random.Random, actor: Person) -> list[dict]:
            # Background membership changes never add the actor (that is the planted self-grant).
            return [{"id": u.guid} for u in rng.sample(users[4:], 2) if u is not actor]

        def privileges(rng: random.Random, actor: Person) -> dict:
            group_guid, group_name = group(rng)
            return {
                "modifiedPrivileges": [rng.choice(["AUTHORING", "DATADOWNLOADING", "USERDATAUPLOADING"])],
                "currentPrivileges": [],
                "groupIdentity": {
                    "id": {"id": group_guid},
                    "name": group_name,
                    "owner": {"id": admins[0].guid},
                    "type": "UserGroup",
                },
            }

        def rls(rng: random.Random, actor: Person) -> dict:
            return {"ruleName": f"rule-{rng.randrange(100)}", "ruleId": guid(rng), "ownerId": {"id": guid(rng)}}

        Build = Callable[[random.Random, Person], dict]
        login: Build = lambda rng, a: {"userName": a.name}  # noqa: E731
        empty: Build = lambda rng, a: {}  # noqa: E731
        builders: dict[str, Build] = {
            "LOGIN_SUCCESSFUL": login,
            "LOGIN_FAILED": login,
            "ACCOUNT_LOCKED": login,
            "AUTH_TOKEN_CREATED_SUCCESSFULLY": login,
            "FAILED_TO_CREATE_AUTH_TOKEN": login,
            "LOGOUT_SUCCESSFUL": empty,
            "LOGOUT_FAILED": empty,
            "USERS_CREATED": lambda rng, a: {"userNames": f"new.user{rng.randrange(10_000)}"},
            "USERS_MODIFIED": lambda rng, a: {
                "action": "Add/Edit email id for an existing user attempted",
                "emailId": None,
                "userId": other(rng).guid,
            },
            # Background deletions name accounts that never act, so only the planted leaver is a finding.
            "USERS_DELETED": lambda rng, a: {"userGUIDs": [{"id": guid(rng)}]},
            "UPDATE_PASSWORD_FAILURE": lambda rng, a: {
                "error": f"Error Code: WEAK_PASSWORD_CANNOT_USE_FIRST_LAST_NAME Incident Id: {guid(rng)}\n"
                "Error Message: Cannot use first or last name in the password.",
                "userId": a.guid,
            },
            "UPDATE_PASSWORD_FAILED": lambda rng, a: {"userId": a.guid},
            "UPDATE_PASSWORD": lambda rng, a: {"userId": a.guid},
            "ORG_CREATION_SUCCESSFUL": lambda rng, a: {"OrgName": f"org-{rng.randrange(1000)}"},
            "ORG_CREATION_FAILED": lambda rng, a: {"OrgName": f"org-{rng.randrange(1000)}"},
            "ORG_ACCESS_GRANTED_TO_USER": lambda rng, a: {
                "UserId": other(rng).guid,
                "Attempted to Grant Org Access": "[0]",
            },
            "ORG_ACCESS_REVOKED_FROM_USER": lambda rng, a: {
                "UserId": other(rng).guid,
                "Attempted to Revoke Org Access": "[1]",
            },
            "ORG_SWITCH_SUCCESSFUL": lambda rng, a: {"userGuid": {"id": a.guid}, "org": rng.choice(other_orgs)},
            "ORG_SWITCH_FAILED": lambda rng, a: {"userGuid": {"id": a.guid}, "org": rng.choice(other_orgs)},
            "ORG_DELETION_SUCCESSFUL": lambda rng, a: {"OrgId": rng.randrange(10**9)},
            "ORG_DELETION_FAILED": lambda rng, a: {"OrgId": rng.randrange(10**9)},
            "ROLES_ASSIGNED": lambda rng, a: {"groupNames": group(rng)[1], "roleIds": []},
            "ROLES_REMOVED": lambda rng, a: {"groupNames": group(rng)[1], "roleIds": [guid(rng)]},
            "USER_GROUPS_CREATED": lambda rng, a: {"groupNames": group(rng)[1]},
            "USER_GROUPS_DELETED": lambda rng, a: {"groupGUIDs": [{"id": guid(rng)}]},
            "USER_GROUP_MODIFIED": lambda rng, a: dict(zip(("groupGUID", "groupName"), group(rng), strict=True)),
            "PRINCIPALS_IN_GROUP_UPDATE": lambda rng, a: {
                "groupID": group(rng)[0],
                "requestedUsersInGroup": members(rng, a),
            },
            "PRIVILEGE_CHANGES": privileges,
            "CREATE_CONNECTION": lambda rng, a: {
                "connectionName": f"conn-{rng.randrange(100)}",
                "connectionType": rng.choice(["RDBMS_SNOWFLAKE", "RDBMS_DATABRICKS", "RDBMS_REDSHIFT"]),
                "requestId": "-1",
                "connectionCreation": "Done",
            },
            "EDIT_CONNECTION": lambda rng, a: {"EditConnection": "Done", "connectionId": guid(rng)},
            "DELETE_CONNECTION": lambda rng, a: {"connectionDeletion": "Done", "DeletedIds ": _jlist([guid(rng)])},
            "SHARE_OBJECTS": lambda rng, a: {
                "objIds": _jlist([guid(rng)]),
                "objType": "PINBOARD_ANSWER_BOOK",
                "permissions": '{"permissions":{}}',
                "discoverability": True,
            },
            "DATA_UPLOAD_CONFIGURED": lambda rng, a: {
                "dataUploadEnabledFlag": True,
                "connection": guid(rng),
                "userGuid": a.guid,
                "userName": a.name,
            },
            "CREATE_RLS_RULE": rls,
            "UPDATE_RLS_RULE": rls,
            "DELETE_RLS_RULES": lambda rng, a: {"rlsRuleIds": _jlist([guid(rng)])},
            "CREATE_ANSWER": lambda rng, a: {"answerName": f"answer-{rng.randrange(5000)}"},
            "UPDATE_ANSWERS": lambda rng, a: {"answerName": f"answer-{rng.randrange(5000)}"},
            "DELETE_ANSWERS": lambda rng, a: {"answerIds": _jlist([guid(rng)])},
            "CREATE_PINBOARD": lambda rng, a: {"pinboardName": f"liveboard-{rng.randrange(500)}"},
            "UPDATE_PINBOARDS": lambda rng, a: {"pinboardName": f"liveboard-{rng.randrange(500)}"},
            "DELETE_PINBOARDS": lambda rng, a: {"pinboardIds": _jlist([guid(rng)])},
            "CSV_UPLOAD_STARTED": lambda rng, a: {"fileName": f"upload-{rng.randrange(100)}.csv"},
            "CSV_UPLOAD_FINISHED": lambda rng, a: {
                "fileName": f"upload-{rng.randrange(100)}.csv",
                "rows": rng.randrange(10, 100_000),
            },
            "DIGEST_FREQUENCY_CHANGED": lambda rng, a: {"frequency": rng.choice(["DAILY", "WEEKLY"])},
        }
        for name in THOUGHTSPOT_EVENT_TYPES:
            if name in builders:
                continue
            if name.endswith("_ATTEMPTED"):
                builders[name] = empty
            elif name.startswith(("TRIAL_", "TEAM", "USER_")):
                builders[name] = login
            else:
                noun = "".join(w.capitalize() for w in name.split("_")[1:])
                key = noun[:1].lower() + noun[1:] + "Name"
                builders[name] = partial(_named_object, key=key, noun=noun)
        return builders

    def _event_for(
        self, rng: random.Random, date_us: int, etype: str, seq: int = -1, malformed: int = 0, ts_us: int | None = None
    ) -> Record:
        pool = self.admins if etype.startswith(TS_ADMIN_PREFIXES) else self.users
        actor = pool[int(rng.random() * len(pool))]
        build = self._builders.get(etype)
        data = build(rng, actor) if build is not None else {}
        org = self._cluster_org if etype.startswith(TS_CLUSTER_PREFIXES) else None
        shown = None if etype in TS_ANONYMOUS else actor
        return self._render(rng, date_us, etype, shown, data, org=org, seq=seq, malformed=malformed, ts_us=ts_us)

    def _generate_day(self, day: int) -> list[Record]:
        rng = random.Random(day_seed(self.history.seed, self.product, day))
        n = self.history.events_per_day
        kinds = rng.choices(self._types, cum_weights=self._cum_weights, k=n)
        kinds = self._weekday_work(
            rng, day, kinds, TS_OFFICE_TYPES, lambda: rng.choices(self._types, cum_weights=self._cum_weights)[0]
        )
        times = self._day_times(rng, day, kinds, TS_OFFICE_TYPES)
        rand = rng.random
        # `date` (ingest time) = `ts` + 0..1.5 s, as in the published records (09:42:50Z -> 09:42:51.001346Z).
        offsets = [int(rand() * DATE_LAG_MAX_US) for _ in range(n)]
        seconds = [t // US * US for t in times]
        records = [
            self._event_for(
                rng, seconds[i] + offsets[i], kinds[i], malformed=self._is_malformed(day, i), ts_us=seconds[i]
            )
            for i in range(n)
        ]
        if n:
            records.extend(self.straddlers(day))
        return records

    def straddlers(self, day: int) -> list[Record]:
        """Two events of `day` whose `ts` and `date` fall on either side of a boundary: `ts` 23:59:59 of the day
        before and `date` just after midnight, and `ts` hh:59:59 and `date` just after the next hour. Their own rng,
        so the rest of the day does not change; types that no finding looks at (logins and logouts)."""
        rng = random.Random(day_seed(self.history.seed, "thoughtspot:straddle", day))
        hour = 1 + int(rng.random() * 22)
        out = []
        boundaries = ((day * DAY_US, "LOGIN_SUCCESSFUL"), (day * DAY_US + hour * HOUR_US, "LOGOUT_SUCCESSFUL"))
        for boundary_us, etype in boundaries:
            ts_us = boundary_us - US
            date_us = boundary_us + int(rng.random() * 490_000)  # lag 1.0-1.49 s, inside the usual 1.5 s
            out.append(self._event_for(rng, date_us, etype, ts_us=ts_us))
        return out

    def _random_record(self, rng: random.Random, time_us: int, seq: int) -> Record:
        etype = rng.choices(self._types, cum_weights=self._cum_weights)[0]
        return self._event_for(rng, time_us, etype, seq=seq)

    # -- planted findings ----------------------------------------------------------------------------------------
    def _build_scenarios(self) -> list[Record]:
        from .thoughtspot_scenarios import plant_findings

        return plant_findings(self)
