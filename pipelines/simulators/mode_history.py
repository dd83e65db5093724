"""The Mode audit-log history: background workspace activity from the help page's action list, plus the planted
findings (`scenarios`) the demo and the dbt tests look for."""

from __future__ import annotations

import random
from datetime import datetime
from itertools import accumulate
from typing import Any

from .event_vocabulary import BUSINESS_HOURS_UTC, MODE_ACTION_INFO, MODE_OFFICE_ACTIONS, MODE_WEIGHTS
from .history_primitives import (
    DAY_US,
    HOUR_US,
    MINUTE_US,
    US,
    USER_AGENTS,
    HistoryConfig,
    Person,
    day_seed,
    dumps,
    from_us,
    hex12_from,
    iso_us,
    people,
    reveal_delay_us,
    uuid4_from,
)
from .timeline import Record, Timeline


class ModeTimeline(Timeline):
    product = "mode"

    def __init__(self, history: HistoryConfig, end: datetime, late_minutes: float, workspace: str) -> None:
        super().__init__(history, end, late_minutes)
        self.workspace = workspace
        rng = random.Random(day_seed(history.seed, "mode:population", 0))
        self.users = people(rng, 30, "_", hex12_from)
        self.admins = self.users[:3]
        self.entities = {
            "group": [(hex12_from(rng), n) for n in ("analysts", "finance", "growth", "data-eng", "leadership")],
            "collection": [
                (hex12_from(rng), n) for n in ("Star Space", "Finance", "Growth", "Ops", "Sandbox", "Board Decks")
            ],
            "workspace_connection": [
                (hex12_from(rng), n) for n in ("Primary Warehouse", "Postgres Replica", "BigQuery Marketing")
            ],
            "report": [(hex12_from(rng), f"Report {i}") for i in range(40)],
            "query": [(hex12_from(rng), f"Query {i}") for i in range(40)],
            "report_schedule": [(hex12_from(rng), f"Schedule {i}") for i in range(10)],
            "workspace": [(hex12_from(rng), workspace)],
        }
        self._actions = list(MODE_WEIGHTS)
        self._cum_weights = list(accumulate(MODE_WEIGHTS.values()))
        self.plant(self._build_scenarios())

    def render(
        self,
        rng: random.Random,
        time_us: int,
        action: str,
        actor: Person | None,
        entity: tuple[str, str],
        context: dict | None,
        event_source: str = "web",
        seq: int = -1,
        malformed: int = 0,
        actor_override: dict | None = None,
    ) -> Record:
        description, entity_type = MODE_ACTION_INFO.get(action, (action.replace("_", " "), "workspace"))
        event_id = uuid4_from(rng)
        if context is not None:
            context = {**context, "event_source": event_source, "correlation_id": uuid4_from(rng)}
        actor_obj = (
            actor_override
            if actor_override is not None
            else None
            if actor is None
            else {
                "ip": rng.choice(actor.ips),
                "user_agent": actor.user_agent,
                "user_id": actor.guid,
                "username": actor.name,
            }
        )
        entry: dict[str, Any] = {
            "id": event_id,
            "action": action,
            "description": description,
            "timestamp": iso_us(time_us),
            "workspace_username": self.workspace,
            "context": context,
            "actor": actor_obj,
            "entity": {"entity_name": entity[1], "entity_type": entity_type, "entity_id": entity[0]},
        }
        valid_id: str | None = event_id
        if malformed:
            valid_id = None
            if (malformed - 1) % 2 == 0:
                del entry["id"]
            else:
                entry["timestamp"] = iso_us(time_us).replace("T", " ")[:-8] + "99:99 UTC"
        keys = (
            action,
            entity[0],
            entity_type,
            entity[1],
            actor_obj and actor_obj.get("username"),
            actor_obj and actor_obj.get("ip"),
            event_source,
        )
        return Record(time_us, time_us + reveal_delay_us(rng, self.late_minutes), dumps(entry), valid_id, 0, keys, seq)

    def _context(self, rng: random.Random, action: str, actor: Person) -> dict | None:
        other = rng.choice([u for u in self.users if u is not actor][:10])
        group_token, group_name = rng.choice(self.entities["group"])
        role = rng.choice(["view", "query", "manage"])
        if action == "org_user_role_changed":
            return {"previous_role": "member", "new_role": rng.choice(["member", "viewer"])}
        if action.startswith("org_user_"):
            return {"role": "member"}
        if action == "workspace_default_access_changed":
            return {"previous_access": "view", "new_access": rng.choice(["view", "none"])}
        if "_group_" in action and not action.startswith("group_"):
            return {"group_id": group_token, "group_name": group_name, "role": role}
        if "member" in action:
            return {"member_id": other.guid, "member_username": other.name, "role": role}
        if action.startswith("export_data_"):
            return {
                "format": action.rsplit("_", 1)[-1] if "report" in action else "csv",
                "row_count": rng.randrange(1, 200_000),
            }
        if action.startswith("report_schedule_"):
            return {"cadence": rng.choice(["daily", "weekly", "monthly"])}
        if action == "audit_log_accessed":
            return None  # Mode may omit nested objects; clients must cope
        return {}

    def _entity(self, rng: random.Random, action: str) -> tuple[str, str]:
        entity_type = MODE_ACTION_INFO[action][1]
        if entity_type == "workspace_user":
            person = rng.choice(self.users[3:])
            return person.guid, person.name
        return rng.choice(self.entities[entity_type])

    def _event_for(self, rng: random.Random, time_us: int, action: str, seq: int = -1, malformed: int = 0) -> Record:
        actor = (
            rng.choice(self.admins)
            if action.startswith(("org_user_", "workspace_", "connection_", "group_"))
            else rng.choice(self.users)
        )
        system = action.endswith("_removed") and rng.random() < 0.2
        return self.render(
            rng,
            time_us,
            action,
            None if system else actor,
            self._entity(rng, action),
            self._context(rng, action, actor),
            event_source="system" if system else "web",
            seq=seq,
            malformed=malformed,
        )

    def _generate_day(self, day: int) -> list[Record]:
        rng = random.Random(day_seed(self.history.seed, self.product, day))
        n = self.history.events_per_day
        kinds = rng.choices(self._actions, cum_weights=self._cum_weights, k=n)
        kinds = self._weekday_work(
            rng, day, kinds, MODE_OFFICE_ACTIONS, lambda: rng.choices(self._actions, cum_weights=self._cum_weights)[0]
        )
        times = self._day_times(rng, day, kinds, MODE_OFFICE_ACTIONS)
        return [self._event_for(rng, times[i], kinds[i], malformed=self._is_malformed(day, i)) for i in range(n)]

    def _random_record(self, rng: random.Random, time_us: int, seq: int) -> Record:
        return self._event_for(rng, time_us, rng.choices(self._actions, cum_weights=self._cum_weights)[0], seq=seq)

    def own_access_record(
        self, time_us: int, ip: str, user_agent: str, token_id: str, start: str, end: str, seq: int
    ) -> Record:
        """The `audit_log_accessed` entry a successful first-page read leaves behind (actor = the API token)."""
        rng = random.Random(day_seed(self.history.seed, "mode:access", seq))
        actor = {"ip": ip, "user_agent": user_agent, "user_id": token_id, "username": f"api-token-{token_id}"}
        return self.render(
            rng,
            time_us,
            "audit_log_accessed",
            None,
            self.entities["workspace"][0],
            {"start_timestamp": start, "end_timestamp": end},
            event_source="api",
            seq=seq,
            actor_override=actor,
        )

    def _build_scenarios(self) -> list[Record]:
        rng = random.Random(day_seed(self.history.seed, "mode:scenarios", 0))
        out: list[Record] = []

        def at(
            moment_us: int,
            action: str,
            actor: Person | None,
            entity: tuple[str, str],
            context: dict | None,
            source: str = "web",
        ) -> Record:
            record = self.render(
                rng, self._clamp(moment_us) + rng.randrange(US), action, actor, entity, context, source
            )
            out.append(record)
            return record

        # 1. Self-grant: a member promotes themselves to admin (actor.user_id == entity.entity_id).
        climber = self.users[5]
        grant = at(
            self._anchor(0.4, hour=15),
            "org_user_role_changed",
            climber,
            (climber.guid, climber.name),
            {"previous_role": "member", "new_role": "admin"},
        )
        self.scenarios["self_grant"] = {
            "description": "org_user_role_changed where actor.user_id == entity.entity_id (member -> admin)",
            "username": climber.name,
            "user_id": climber.guid,
            "event_id": grant.event_id,
        }
        # 2. Leaver still active. The help page lists no removal action, so removal is modelled as a role change to
        #    "removed" (context.new_role); the user later exports data.
        leaver = Person(hex12_from(rng), "departed_analyst", ["10.1.2.3"], user_agent=USER_AGENTS[0])
        report = self.entities["report"][3]
        before = at(
            self._anchor(0.8, hour=11),
            "export_data_report_exported_csv",
            leaver,
            report,
            {"format": "csv", "row_count": 120},
        )
        removal = at(
            self._anchor(0.6, hour=12),
            "org_user_role_changed",
            self.admins[0],
            (leaver.guid, leaver.name),
            {"previous_role": "member", "new_role": "removed"},
        )
        after = [
            at(
                self._anchor(0.25, hour=21, minute=m),
                "export_data_sql_exported",
                leaver,
                self.entities["query"][m],
                {"format": "csv", "row_count": 50_000 + m},
            )
            for m in (1, 7)
        ]
        self.scenarios["leaver_activity"] = {
            "description": "org_user_role_changed with context.new_role='removed', then activity by that actor",
            "username": leaver.name,
            "user_id": leaver.guid,
            "removal_event_id": removal.event_id,
            "activity_before_event_ids": [before.event_id],
            "activity_after_event_ids": [r.event_id for r in after],
        }
        # 3. Export burst: one exporter averages about one export a day, then exports 40 times in one day.
        exporter = self.users[9]
        baseline = []
        burst_day = self._anchor(0.5, hour=0) // DAY_US
        for day in range(self.first_day, self.last_day + 1):
            moment = day * DAY_US + 13 * HOUR_US
            if day != burst_day and self.start_us < moment < self.end_us - 3 * HOUR_US:
                baseline.append(
                    at(
                        moment,
                        "export_data_report_exported_csv",
                        exporter,
                        rng.choice(self.entities["report"]),
                        {"format": "csv", "row_count": 300},
                    )
                )
        burst = [
            at(
                burst_day * DAY_US + 8 * HOUR_US + i * 6 * MINUTE_US,
                ("export_data_sql_exported", "export_data_report_exported_csv")[i % 2],
                exporter,
                rng.choice(self.entities["report"] if i % 2 else self.entities["query"]),
                {"format": "csv", "row_count": 10_000 + i},
            )
            for i in range(40)
        ]
        self.scenarios["export_burst"] = {
            "description": "40 export_data_* by one user in one UTC day against a baseline of about 2 per day",
            "username": exporter.name,
            "user_id": exporter.guid,
            "burst_day": from_us(burst_day * DAY_US).date().isoformat(),
            "burst_event_ids": [r.event_id for r in burst],
            "baseline_event_ids": [r.event_id for r in baseline],
        }
        # 4. API tokens: one workspace token created and never revoked; a created+revoked pair and a member key
        #    generated+revoked as controls (these are the only api_token_* events in the history).
        admin = self.admins[1]
        orphan_token = (hex12_from(rng), "legacy-etl")
        control_token = (hex12_from(rng), "quarterly-audit")
        member_key = (hex12_from(rng), f"{self.users[12].name} personal key")
        orphan = at(
            self._anchor(0.75, hour=10),
            "api_token_workspace_created",
            admin,
            orphan_token,
            {"token_name": orphan_token[1]},
        )
        # A revocation lands at least an hour after its issuance: anchors a fraction of the history apart can fall on
        # the same day and hour, and the sub-second jitter `at` adds would then put the revocation first about half
        # the time (the control token looked never revoked on runs started at some hours of the day).
        control_created = self._anchor(0.65, hour=10)
        at(control_created, "api_token_workspace_created", admin, control_token, {"token_name": control_token[1]})
        at(
            max(self._anchor(0.55, hour=10), control_created + HOUR_US),
            "api_token_workspace_revoked",
            admin,
            control_token,
            {"token_name": control_token[1]},
        )
        key_generated = self._anchor(0.5, hour=11)
        at(key_generated, "api_token_member_key_generated", self.users[12], member_key, {})
        at(
            max(self._anchor(0.45, hour=11), key_generated + HOUR_US),
            "api_token_member_key_revoked",
            admin,
            member_key,
            {},
        )
        self.scenarios["api_token_never_revoked"] = {
            "description": "api_token_workspace_created with no later api_token_workspace_revoked for that entity_id",
            "entity_id": orphan_token[0],
            "token_name": orphan_token[1],
            "created_event_id": orphan.event_id,
            "revoked_controls": [control_token[0], member_key[0]],
        }
        # 5. Connection changes off hours (background connection_* are 09:00-17:00 UTC).
        conn = self.entities["workspace_connection"][0]
        t = self._anchor(0.15, hour=1, minute=30)
        group_token, group_name = self.entities["group"][0]
        changes = [
            at(
                t,
                "connection_group_added_with_role",
                self.admins[2],
                conn,
                {"group_id": group_token, "group_name": group_name, "role": "manage"},
            ),
            at(
                t + 20 * MINUTE_US,
                "connection_member_access_changed",
                self.admins[2],
                conn,
                {"member_id": self.users[20].guid, "member_username": self.users[20].name, "role": "manage"},
            ),
        ]
        self.scenarios["off_hours_connection_changes"] = {
            "description": f"connection_* outside {BUSINESS_HOURS_UTC[0]:02d}:00-{BUSINESS_HOURS_UTC[1]:02d}:00 UTC",
            "username": self.admins[2].name,
            "event_ids": [r.event_id for r in changes],
        }
        return out
