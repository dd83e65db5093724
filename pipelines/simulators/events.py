"""Deterministic event histories of ThoughtSpot and Mode, generated lazily one UTC day at a time.

Design (why it is shaped like this):
- Volume goes up to millions of events, so a day is generated only when a request touches it, kept
  pre-serialised (bytes, exactly as served) in arrays sorted by time, and cached in a bounded LRU.
  A request window is then a bisect and a join, not a scan.
- Each UTC day is seeded from (seed, product, day number) alone, so the same seed gives the same ids and
  payloads whatever `end` is, and two simulators with overlapping histories agree on the overlap.
- Planted scenarios (compliance findings with known ground truth) are generated once, merged into their days,
  and never made malformed. `HistoryConfig.malformed_every` only corrupts background events.

Every record has a filter time (ThoughtSpot `date`, Mode `timestamp`) and a reveal time (filter time plus a
deterministic delay up to `late_minutes`): it is served only once the simulator clock has reached its reveal time.
"""

from __future__ import annotations

import bisect
import gc
import hashlib
import random
import threading
from array import array
from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any, Callable, Iterable, NamedTuple

try:  # orjson is a project dependency; the fallback keeps the simulators importable anywhere.
    import orjson

    def _dumps(value: Any) -> bytes:
        return orjson.dumps(value)

except ImportError:  # pragma: no cover - exercised only without orjson
    import json

    def _dumps(value: Any) -> bytes:
        return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode()


US = 1_000_000
DAY_US = 86_400 * US
MINUTE_US = 60 * US
HOUR_US = 60 * MINUTE_US
TS_RETENTION = timedelta(days=30)  # ThoughtSpot keeps security events 30 days
_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)

# ---------------------------------------------------------------------------------------------------------------
# Vocabularies. The dbt catalogue (dbt_project/seeds/audit_event_catalog.csv) must list exactly these names.
# ---------------------------------------------------------------------------------------------------------------

# ThoughtSpot "Collect security logs" page (seeds/thoughtspot-collect-security-logs.txt), in page order, then the
# extra names the developer docs' tables and examples use (reference/thoughtspot-api.md section 3).
THOUGHTSPOT_EVENT_TYPES: tuple[str, ...] = (
    "ACCOUNT_LOCKED", "AUTH_TOKEN_CREATED_SUCCESSFULLY", "CREATE_ANSWER", "CREATE_CONNECTION",
    "CREATE_CONNECTION_ATTEMPTED", "CREATE_RELATIONSHIP", "CREATE_PINBOARD", "CREATE_MODEL", "CREATE_RLS_RULE",
    "CREATE_TABLES", "CREATE_VIEW", "CSV_UPLOAD_FINISHED", "CSV_UPLOAD_STARTED", "DATA_UPLOAD_CONFIGURED",
    "DELETE_ANSWERS", "DELETE_CONNECTION", "DELETE_CONNECTION_ATTEMPTED", "DELETE_RELATIONSHIP", "DELETE_MODEL",
    "DELETE_PINBOARDS", "DELETE_RLS_RULES", "DELETE_VIEW", "EDIT_CONNECTION", "EDIT_CONNECTION_ATTEMPTED",
    "FAILED_TO_CREATE_AUTH_TOKEN", "LOGIN_FAILED", "LOGIN_SUCCESSFUL", "LOGOUT_FAILED", "LOGOUT_SUCCESSFUL",
    "PRINCIPALS_IN_GROUP_UPDATE", "PRIVILEGE_CHANGES", "ROLE_CREATED", "ROLE_DELETED", "ROLE_UPDATED",
    "ROLES_ASSIGNED", "ROLES_IMPORTED", "ROLES_REMOVED", "UPDATE_ANSWERS", "UPDATE_RELATIONSHIP", "UPDATE_MODEL",
    "UPDATE_PASSWORD", "UPDATE_PASSWORD_FAILED", "UPDATE_PINBOARDS", "UPDATE_VIEW", "UPDATE_RLS_RULE",
    "USER_ACTIVATE", "USER_GROUPS_CREATED", "USER_GROUPS_DELETED", "USER_GROUP_MODIFIED", "USERS_CREATED",
    "USERS_DELETED", "USERS_MODIFIED", "TRIAL_USER_CREATE", "TRIAL_USER_DELETE", "TRIAL_USER_END",
    "TRIAL_USER_EXPIRE", "TRIAL_USER_EXTEND", "USER_INVITED", "TEAM_CHANGE_SUBSCRIPTION",
    "TEAMS_EDITION_USER_DELETE", "TEAM_EDITION_USER_EXPIRE", "USER_CHANGE_SUBSCRIPTION",
    "ORG_ACCESS_GRANTED_TO_USER", "ORG_CREATION_FAILED", "ORG_CREATION_SUCCESSFUL", "ORG_DELETION_FAILED",
    "ORG_DELETION_SUCCESSFUL", "ORG_SWITCH_FAILED", "ORG_SWITCH_SUCCESSFUL",
    # developer-docs names not on the page
    "UPDATE_VIEWS", "DELETE_VIEWS", "CREATE_JOIN", "UPDATE_JOIN", "DELETE_JOIN", "SHARE_OBJECTS",
    "CREATE_CONFIGURATION", "CREATE_CONFIGURATION_ATTEMPTED", "EDIT_CONFIGURATION", "EDIT_CONFIGURATION_ATTEMPTED",
    "DELETE_CONFIGURATION", "DELETE_CONFIGURATION_ATTEMPTED", "DIGEST_FREQUENCY_CHANGED", "UPDATE_PASSWORD_FAILURE",
    "ORG_ACCESS_REVOKED_FROM_USER", "TEAM_EDITION_USER_DELETE",
)

# Mode "Audit Logs" help page (seeds/mode-audit-logs.txt), in page order: action -> (description, entity_type).
MODE_ACTION_INFO: dict[str, tuple[str, str]] = {
    "org_user_role_changed": ("member role changed", "workspace_user"),
    "org_user_invited": ("member invited", "workspace_user"),
    "org_user_invitation_resent": ("invite resent", "workspace_user"),
    "org_user_reinvited": ("former member reinvited", "workspace_user"),
    "group_created": ("group created", "group"),
    "group_member_added": ("member added to group", "group"),
    "group_member_removed": ("member removed from group", "group"),
    "group_deleted": ("group deleted", "group"),
    "workspace_default_access_changed": ("default workspace access changed", "workspace"),
    "collection_created": ("collection created", "collection"),
    "collection_deleted": ("collection deleted", "collection"),
    "collection_member_added": ("member added to collection", "collection"),
    "collection_member_removed": ("member removed from collection", "collection"),
    "collection_member_access_changed": ("collection access changed for member", "collection"),
    "collection_group_added": ("group added to collection", "collection"),
    "collection_group_removed": ("group removed from collection", "collection"),
    "collection_group_access_changed": ("collection access changed for group", "collection"),
    "connection_created": ("connection created", "workspace_connection"),
    "connection_deleted": ("connection deleted", "workspace_connection"),
    "connection_member_added_with_role": ("member added to connection", "workspace_connection"),
    "connection_member_removed": ("member removed from connection", "workspace_connection"),
    "connection_group_added_with_role": ("group added to connection", "workspace_connection"),
    "connection_group_removed": ("group removed from connection", "workspace_connection"),
    "connection_member_access_changed": ("connection access changed for member", "workspace_connection"),
    "connection_group_access_changed": ("connection access changed for group", "workspace_connection"),
    "export_data_sql_exported": ("sql editor output exported", "query"),
    "export_data_report_exported_csv": ("report exported as csv", "report"),
    "export_data_report_exported_pdf": ("report exported as pdf", "report"),
    "report_activity_report_created": ("report created", "report"),
    "report_activity_report_edited": ("report edited", "report"),
    "report_activity_report_deleted": ("report deleted", "report"),
    "report_activity_report_moved": ("report moved", "report"),
    "report_activity_sql_added": ("sql added to report", "report"),
    "report_activity_sql_deleted": ("sql deleted from report", "report"),
    "report_activity_visualization_added": ("visualization added to report", "report"),
    "report_activity_visualization_deleted": ("visualization deleted from report", "report"),
    "report_activity_python_notebook_added": ("python notebook added to report", "report"),
    "report_activity_r_notebook_added": ("r notebook added to report", "report"),
    "report_schedule_created": ("report schedule created", "report_schedule"),
    "report_schedule_edited": ("report schedule edited", "report_schedule"),
    "report_schedule_deleted": ("report schedule deleted", "report_schedule"),
    "report_schedule_user_email_added": ("user email added to schedule", "report_schedule"),
    "report_schedule_user_email_removed": ("user email removed from schedule", "report_schedule"),
    "report_schedule_channel_added": ("slack channel added to schedule", "report_schedule"),
    "report_schedule_channel_removed": ("slack channel removed from schedule", "report_schedule"),
    "api_token_workspace_created": ("workspace api token created", "api_token"),
    "api_token_member_key_generated": ("member api key generated", "api_token"),
    "api_token_member_key_revoked": ("member api key revoked", "api_token"),
    "api_token_workspace_revoked": ("workspace api token revoked", "api_token"),
    "audit_log_accessed": ("audit log accessed", "workspace"),
}
MODE_ACTIONS: tuple[str, ...] = tuple(MODE_ACTION_INFO)

_TS_DESC_OVERRIDES = {
    "LOGIN_SUCCESSFUL": "User login successful",
    "LOGIN_FAILED": "User login failed",
    "LOGOUT_SUCCESSFUL": "User logout successful",
    "LOGOUT_FAILED": "User logout failed",
    "ACCOUNT_LOCKED": "User account locked after repeated authentication failures",
    "USERS_CREATED": "A user account was created",
    "USERS_DELETED": "A user account was deleted",
    "AUTH_TOKEN_CREATED_SUCCESSFULLY": "Auth token created successfully",
    "FAILED_TO_CREATE_AUTH_TOKEN": "Failed to create auth token",
}
THOUGHTSPOT_EVENT_DESCRIPTIONS: dict[str, str] = {
    name: _TS_DESC_OVERRIDES.get(name, name.replace("_", " ").capitalize()) for name in THOUGHTSPOT_EVENT_TYPES
}

# Background mix. Logins dominate; every name keeps enough weight (>= 0.15 of ~100) to appear in a default
# 30-day x 300/day history. Names a scenario needs to control (API tokens in Mode) are left to the scenarios.
_TS_WEIGHTS: dict[str, float] = {name: 0.15 for name in THOUGHTSPOT_EVENT_TYPES}
_TS_WEIGHTS.update({
    "LOGIN_SUCCESSFUL": 34.0, "LOGOUT_SUCCESSFUL": 14.0, "LOGIN_FAILED": 4.0, "AUTH_TOKEN_CREATED_SUCCESSFULLY": 6.0,
    "CREATE_ANSWER": 4.0, "UPDATE_ANSWERS": 4.0, "DELETE_ANSWERS": 1.0, "CREATE_PINBOARD": 2.5,
    "UPDATE_PINBOARDS": 3.5, "DELETE_PINBOARDS": 0.8, "SHARE_OBJECTS": 2.0, "CREATE_MODEL": 0.8, "UPDATE_MODEL": 1.2,
    "CSV_UPLOAD_STARTED": 0.6, "CSV_UPLOAD_FINISHED": 0.6, "ORG_SWITCH_SUCCESSFUL": 1.5, "USERS_MODIFIED": 0.8,
    "PRINCIPALS_IN_GROUP_UPDATE": 0.6, "UPDATE_PASSWORD": 0.5, "EDIT_CONNECTION": 0.4,
})
_MODE_SCENARIO_ONLY = {"api_token_workspace_created", "api_token_workspace_revoked",
                       "api_token_member_key_generated", "api_token_member_key_revoked"}
_MODE_WEIGHTS: dict[str, float] = {name: 0.6 for name in MODE_ACTIONS if name not in _MODE_SCENARIO_ONLY}
_MODE_WEIGHTS.update({
    "report_activity_report_edited": 18.0, "report_activity_sql_added": 8.0, "report_activity_report_created": 6.0,
    "report_activity_visualization_added": 6.0, "export_data_sql_exported": 4.0,
    "export_data_report_exported_csv": 3.0, "export_data_report_exported_pdf": 1.5, "report_schedule_edited": 2.0,
    "collection_member_added": 1.5, "group_member_added": 1.5, "audit_log_accessed": 1.0,
})
_TS_ADMIN_PREFIXES = ("ORG_", "ROLE", "PRIVILEGE", "USER_GROUP", "USERS_")
_TS_CLUSTER_PREFIXES = ("ORG_CREATION", "ORG_DELETION", "ORG_ACCESS")  # orgId -1 (cluster-level) events
_TS_ANONYMOUS = frozenset({"LOGIN_FAILED", "ACCOUNT_LOCKED"})  # userGUID/userName null; name in data.userName
_TS_CONNECTION_TYPES = frozenset(n for n in THOUGHTSPOT_EVENT_TYPES if "CONNECTION" in n or "CONFIGURATION" in n)
_MODE_CONNECTION_ACTIONS = frozenset(n for n in MODE_ACTIONS if n.startswith("connection_"))
# Background connection changes happen in office hours so the planted off-hours changes are the only findings.
BUSINESS_HOURS_UTC = (9, 17)


@dataclass(frozen=True)
class HistoryConfig:
    """What history a simulator serves. `end=None` means the simulator clock's now at construction."""

    seed: int = 42
    days: int = 30
    events_per_day: int = 300
    end: datetime | None = None
    malformed_every: int = 0  # every Nth background record is malformed (0 = never)

    def __post_init__(self) -> None:
        if self.days < 1:
            raise ValueError(f"HistoryConfig.days={self.days}: a history needs at least 1 day")
        if self.events_per_day < 0:
            raise ValueError(f"HistoryConfig.events_per_day={self.events_per_day} must be 0 or more")
        if self.malformed_every < 0:
            raise ValueError(f"HistoryConfig.malformed_every={self.malformed_every}: use 0 (never) or N >= 1")
        if self.end is not None and self.end.tzinfo is None:
            raise ValueError("HistoryConfig.end must be timezone-aware (UTC): use datetime(..., tzinfo=timezone.utc)")


# ---------------------------------------------------------------------------------------------------------------
# Small helpers
# ---------------------------------------------------------------------------------------------------------------

def to_us(moment: datetime) -> int:
    if moment.tzinfo is None:
        raise ValueError(f"{moment!r} is naive: simulator times must be timezone-aware UTC")
    delta = moment - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * US + delta.microseconds


def from_us(value: int) -> datetime:
    return _EPOCH + timedelta(microseconds=value)


_SECOND_TEXT_CACHE: dict[int, str] = {}


def _second_text(second: int) -> str:
    """'YYYY-MM-DDTHH:MM:SS' for an epoch second; day prefixes are cached because strftime is slow."""
    day, rest = divmod(second, 86_400)
    prefix = _SECOND_TEXT_CACHE.get(day)
    if prefix is None:
        prefix = (_EPOCH + timedelta(days=day)).strftime("%Y-%m-%dT")
        _SECOND_TEXT_CACHE[day] = prefix
    hours, rest = divmod(rest, 3600)
    minutes, seconds = divmod(rest, 60)
    return f"{prefix}{hours:02d}:{minutes:02d}:{seconds:02d}"


def iso_us(value: int) -> str:
    """Microsecond ISO-8601 with Z, e.g. 2024-07-01T05:04:09.290175Z (ThoughtSpot `date`, Mode `timestamp`)."""
    second, micro = divmod(value, US)
    return f"{_second_text(second)}.{micro:06d}Z"


def _uuid4(rng: random.Random) -> str:
    """A random (version 4) UUID drawn from `rng`; formatted by hand because uuid.UUID is slow at volume."""
    h = "%032x" % rng.getrandbits(128)
    return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-{'89ab'[int(h[16], 16) & 3]}{h[17:20]}-{h[20:]}"


def _hex12(rng: random.Random) -> str:
    return f"{rng.getrandbits(48):012x}"


def _day_seed(seed: int, product: str, day: int) -> int:
    digest = hashlib.blake2b(f"{seed}:{product}:{day}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big")


def reveal_delay_us(rng: random.Random, late_minutes: float) -> int:
    """How long after its time an event becomes visible: mostly under 2 minutes, a tail up to the maximum."""
    if late_minutes <= 0:
        return 0
    cap = int(late_minutes * MINUTE_US)
    roll = rng.random()
    if roll < 0.80:
        return int(rng.random() * min(cap, 2 * MINUTE_US))
    if roll < 0.95:
        return int(rng.random() * cap)
    return int(cap * (0.8 + 0.2 * rng.random()))


class Record(NamedTuple):
    time_us: int            # ThoughtSpot `date` / Mode `timestamp`, the field windows filter on
    reveal_us: int          # visible once clock >= reveal_us
    payload: bytes          # the array element exactly as served
    event_id: str | None    # None for malformed records (not expected from a perfect client)
    org: int                # ThoughtSpot orgId (0 for Mode)
    keys: tuple | None      # Mode filter values (mode.FILTERS order); None for ThoughtSpot
    seq: int                # insertion order for runtime-added events; -1 for generated history


class _Chunk:
    __slots__ = ("times", "records")

    def __init__(self, records: list[Record]) -> None:
        records.sort(key=lambda r: r.time_us)
        self.records = records
        self.times = array("q", (r.time_us for r in records))

    def between(self, start_us: int, end_us: int) -> list[Record]:
        lo = bisect.bisect_left(self.times, start_us)
        hi = bisect.bisect_right(self.times, end_us)
        return self.records[lo:hi]


# ---------------------------------------------------------------------------------------------------------------
# Timeline: day chunks (lazy, cached) + planted scenario records + events added at runtime
# ---------------------------------------------------------------------------------------------------------------

class Timeline:
    """Storage and window queries shared by both products. Subclasses generate one UTC day of records."""

    product = "abstract"

    def __init__(self, history: HistoryConfig, end: datetime, late_minutes: float) -> None:
        self.history = history
        self.late_minutes = late_minutes
        self.end_us = to_us(end)
        self.start_us = self.end_us - history.days * DAY_US
        self.first_day = self.start_us // DAY_US
        self.last_day = self.end_us // DAY_US
        self._cache: OrderedDict[int, _Chunk] = OrderedDict()
        # Keep about 200k records in memory whatever the daily volume (at least 3 days: a window spans 2).
        self._cache_days = max(3, 200_000 // max(1, history.events_per_day))
        self._lock = threading.RLock()
        self._added: list[Record] = []        # sorted by time
        self._added_times: list[int] = []
        self._added_seq = 0
        self._add_calls = 0
        self._scenario_by_day: dict[int, list[Record]] = {}
        self.scenarios: dict[str, Any] = {}

    # -- generation hooks ---------------------------------------------------------------------------------------
    def _generate_day(self, day: int) -> list[Record]:
        raise NotImplementedError

    def _random_record(self, rng: random.Random, time_us: int, seq: int) -> Record:
        raise NotImplementedError

    # -- storage ------------------------------------------------------------------------------------------------
    def _plant(self, records: Iterable[Record]) -> None:
        for record in records:
            if not (self.start_us <= record.time_us <= self.end_us):
                raise AssertionError(f"planted {self.product} event outside the history: {iso_us(record.time_us)}")
            self._scenario_by_day.setdefault(record.time_us // DAY_US, []).append(record)

    def _day_chunk(self, day: int) -> _Chunk:
        with self._lock:
            chunk = self._cache.get(day)
            if chunk is not None:
                self._cache.move_to_end(day)
                return chunk
            records = self._day_records(day)
            chunk = _Chunk(records)
            self._cache[day] = chunk
            while len(self._cache) > self._cache_days:
                self._cache.popitem(last=False)
            return chunk

    def _day_records(self, day: int) -> list[Record]:
        # Generated records hold no reference cycles: pausing the cyclic GC saves it scanning 10^5 new tuples.
        was_enabled = gc.isenabled()
        gc.disable()
        try:
            records = [r for r in self._generate_day(day) if self.start_us <= r.time_us <= self.end_us]
        finally:
            if was_enabled:
                gc.enable()
        records.extend(self._scenario_by_day.get(day, ()))
        return records

    def records_between(self, start_us: int, end_us: int, as_of_us: int, max_seq: int | None = None) -> list[Record]:
        """Records with start <= time <= end (both inclusive) revealed at `as_of_us`.

        `max_seq` excludes runtime-added records added after a paging snapshot was taken.
        """
        start_us = max(start_us, self.start_us)
        out: list[Record] = []
        if start_us <= end_us:
            for day in range(max(start_us // DAY_US, self.first_day), min(end_us // DAY_US, self.last_day) + 1):
                out.extend(r for r in self._day_chunk(day).between(start_us, end_us) if r.reveal_us <= as_of_us)
        with self._lock:
            lo = bisect.bisect_left(self._added_times, start_us)
            hi = bisect.bisect_right(self._added_times, end_us)
            added = self._added[lo:hi]
        out.extend(r for r in added if r.reveal_us <= as_of_us and (max_seq is None or r.seq < max_seq))
        return out

    def all_records(self, as_of_us: int) -> Iterable[Record]:
        """Every record (generated, planted, added) revealed at `as_of_us`, day by day without filling the cache."""
        for day in range(self.first_day, self.last_day + 1):
            with self._lock:
                chunk = self._cache.get(day)
            records = chunk.records if chunk is not None else self._day_records(day)
            yield from (r for r in records if r.reveal_us <= as_of_us)
        with self._lock:
            added = list(self._added)
        yield from (r for r in added if r.reveal_us <= as_of_us)

    def add_record(self, record: Record) -> None:
        with self._lock:
            index = bisect.bisect_right(self._added_times, record.time_us)
            self._added_times.insert(index, record.time_us)
            self._added.insert(index, record)

    def next_seq(self) -> int:
        with self._lock:
            self._added_seq += 1
            return self._added_seq

    @property
    def current_seq(self) -> int:
        with self._lock:
            return self._added_seq

    def add_events(self, count: int, start: datetime, end: datetime) -> list[str]:
        """Append `count` new valid background-like events with times spread over [start, end]."""
        start_us, end_us = to_us(start), to_us(end)
        if count < 0 or end_us < start_us:
            raise ValueError(f"add_events(count={count}, start={start}, end={end}): need count >= 0 and start <= end")
        with self._lock:
            self._add_calls += 1
            rng = random.Random(_day_seed(self.history.seed, f"{self.product}:added", self._add_calls))
        ids = []
        for time_us in sorted(rng.randint(start_us, end_us) for _ in range(count)):
            record = self._random_record(rng, time_us, self.next_seq())
            self.add_record(record)
            ids.append(record.event_id)
        return ids

    # -- per-day framing ------------------------------------------------------------------------------------------
    def _day_times(self, rng: random.Random, day: int, kinds: list[str], office_hours: frozenset) -> list[int]:
        """One time per event in the UTC day; connection changes are kept inside business hours."""
        day_us = day * DAY_US
        open_us, close_us = BUSINESS_HOURS_UTC[0] * HOUR_US, BUSINESS_HOURS_UTC[1] * HOUR_US
        rand = rng.random
        office_us = close_us - open_us
        return [
            day_us + (open_us + int(rand() * office_us) if kind in office_hours else int(rand() * DAY_US))
            for kind in kinds
        ]

    def _is_malformed(self, day: int, index: int) -> int:
        """0 if valid, else 1 + the malformation variant number."""
        every = self.history.malformed_every
        if not every:
            return 0
        ordinal = day * self.history.events_per_day + index
        if (ordinal + 1) % every:
            return 0
        return 1 + (ordinal // every)

    def _clamp(self, moment_us: int) -> int:
        """Keep a planted event inside the history and visible from the start (matters for 1-2 day histories,
        where the scenarios still exist but their relative order is not guaranteed)."""
        latest = self.end_us - 2 * US - int(self.late_minutes * MINUTE_US)
        return max(self.start_us + 1, min(moment_us, latest))

    def _anchor(self, fraction: float, hour: int | None = None, minute: int = 0) -> int:
        """A moment `fraction` of the way back through the history (capped to the 30-day horizon), at least
        two hours plus the late-reveal maximum before the end so planted events are visible from the start."""
        span = min(self.end_us - self.start_us, 29 * DAY_US)
        latest = self.end_us - 2 * HOUR_US - int(self.late_minutes * MINUTE_US)
        moment = min(self.end_us - int(span * fraction), latest)
        if hour is not None:
            candidate = (moment // DAY_US) * DAY_US + hour * HOUR_US + minute * MINUTE_US
            if candidate > latest:
                candidate -= DAY_US
            moment = max(candidate, self.start_us + HOUR_US)
        return max(moment, self.start_us + 1)


# ---------------------------------------------------------------------------------------------------------------
# ThoughtSpot
# ---------------------------------------------------------------------------------------------------------------

_FIRST = ["alice", "bob", "carol", "dan", "erin", "frank", "grace", "heidi", "ivan", "judy", "ken", "lena", "mike",
          "nora", "oscar", "peggy", "quinn", "rosa", "sam", "tina", "uma", "victor", "wendy", "xena", "yusuf", "zoe"]
_LAST = ["nguyen", "smith", "garcia", "kim", "patel", "mueller", "rossi", "silva", "tanaka", "okafor", "dubois"]
_USER_AGENTS = [
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/133.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/17.4 Safari/605.1.15",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:128.0) Gecko/20100101 Firefox/128.0",
    "python-requests/2.32.3",
]


@dataclass
class _Person:
    guid: str       # ThoughtSpot user GUID / Mode 12-hex user token
    name: str
    ips: list[str]
    org: int = 0
    user_agent: str = ""


def _people(rng: random.Random, count: int, sep: str, guid: Callable[[random.Random], str]) -> list[_Person]:
    names: list[str] = []
    while len(names) < count:
        name = f"{rng.choice(_FIRST)}{sep}{rng.choice(_LAST)}"
        if name not in names:
            names.append(name)
    people = []
    for name in names:
        ips = [f"10.{rng.randrange(250)}.{rng.randrange(256)}.{rng.randrange(1, 255)}"]
        if rng.random() < 0.5:
            ips.append(f"203.0.113.{rng.randrange(1, 255)}")
        people.append(_Person(guid(rng), name, ips, org=rng.choices((0, 1, 2), (70, 20, 10))[0],
                              user_agent=rng.choice(_USER_AGENTS)))
    return people


def _jlist(values: list[str]) -> str:
    """ThoughtSpot stringifies some list values inside `data` (e.g. "pinboardIds":"[\\"...\\"]")."""
    return _dumps(values).decode()


class ThoughtSpotTimeline(Timeline):
    product = "thoughtspot"

    def __init__(self, history: HistoryConfig, end: datetime, late_minutes: float) -> None:
        super().__init__(history, end, late_minutes)
        rng = random.Random(_day_seed(history.seed, "thoughtspot:population", 0))
        self.users = _people(rng, 40, ".", _uuid4)
        self.admins = self.users[:4]
        for admin in self.admins:
            admin.org = 0
        self.groups = [(_uuid4(rng), name) for name in
                       ("analysts", "finance-viewers", "sales-ops", "data-eng", "execs", "support", "marketing")]
        self.orgs = {1: "emea-org", 2: "apac-org"}
        self._builders = self._payload_builders()
        self._types = list(_TS_WEIGHTS)
        self._cum_weights = []
        total = 0.0
        for name in self._types:
            total += _TS_WEIGHTS[name]
            self._cum_weights.append(total)
        self._plant(self._build_scenarios())

    # -- rendering ---------------------------------------------------------------------------------------------
    def _render(self, rng: random.Random, date_us: int, etype: str, actor: _Person | None, data: dict,
                org: int | None = None, ip: str | None | bool = True, seq: int = -1, malformed: int = 0,
                event_id: str | None = None) -> Record:
        event_id = event_id or "TS-" + _uuid4(rng)
        if ip is True:
            roll = rng.random()
            if roll < 0.04:
                ip = None
            elif roll < 0.06:
                ip = ""
            elif actor is not None:
                ips = actor.ips
                ip = ips[int(rng.random() * len(ips))]
            else:
                ip = f"198.51.100.{1 + int(rng.random() * 254)}"
        org_id = org if org is not None else (actor.org if actor else 0)
        second, micro = divmod(date_us, US)
        second_text = _second_text(second)
        log = {
            "version": "1.1",
            "id": event_id,
            "ts": second_text + "Z",
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
            if variant == 0:    # `log` is not valid JSON (truncated)
                text = _dumps(log).decode()
                log_value: Any = text[: len(text) // 2]
            elif variant == 1:  # valid JSON, no `id`
                del log["id"]
                log_value = _dumps(log).decode()
            else:               # `log` is an object, not a string
                log_value = log
        else:
            log_value = _dumps(log).decode()
        payload = f'{{"date":"{second_text}.{micro:06d}Z","log":'.encode() + _dumps(log_value) + b"}"
        return Record(date_us, date_us + reveal_delay_us(rng, self.late_minutes), payload, valid_id, org_id, None, seq)

    def _payload_builders(self) -> dict[str, Callable[[random.Random, _Person], dict]]:
        """`data` per event type, shaped like the developer-docs examples; built once (closures are not free)."""
        users, admins, groups = self.users, self.admins, self.groups
        guid = _uuid4

        def group(rng: random.Random) -> tuple[str, str]:
            return groups[rng.randrange(len(groups))]

        def other(rng: random.Random) -> _Person:
            return users[rng.randrange(len(users))]

        def members(rng: random.Random, actor: _Person) -> list[dict]:
            # Background membership changes never add the actor (that is the planted self-grant).
            return [{"id": u.guid} for u in rng.sample(users[4:], 2) if u is not actor]

        def privileges(rng: random.Random, actor: _Person) -> dict:
            group_guid, group_name = group(rng)
            return {"modifiedPrivileges": [rng.choice(["AUTHORING", "DATADOWNLOADING", "USERDATAUPLOADING"])],
                    "currentPrivileges": [],
                    "groupIdentity": {"id": {"id": group_guid}, "name": group_name, "owner": {"id": admins[0].guid},
                                      "type": "UserGroup"}}

        def rls(rng: random.Random, actor: _Person) -> dict:
            return {"ruleName": f"rule-{rng.randrange(100)}", "ruleId": guid(rng), "ownerId": {"id": guid(rng)}}

        login = lambda rng, a: {"userName": a.name}  # noqa: E731
        empty = lambda rng, a: {}  # noqa: E731
        builders: dict[str, Callable[[random.Random, _Person], dict]] = {
            "LOGIN_SUCCESSFUL": login, "LOGIN_FAILED": login, "ACCOUNT_LOCKED": login,
            "AUTH_TOKEN_CREATED_SUCCESSFULLY": login, "FAILED_TO_CREATE_AUTH_TOKEN": login,
            "LOGOUT_SUCCESSFUL": empty, "LOGOUT_FAILED": empty,
            "USERS_CREATED": lambda rng, a: {"userNames": f"new.user{rng.randrange(10_000)}"},
            "USERS_MODIFIED": lambda rng, a: {"action": "Add/Edit email id for an existing user attempted",
                                              "emailId": None, "userId": other(rng).guid},
            # Background deletions name accounts that never act, so only the planted leaver is a finding.
            "USERS_DELETED": lambda rng, a: {"userGUIDs": [{"id": guid(rng)}]},
            "UPDATE_PASSWORD_FAILURE": lambda rng, a: {
                "error": f"Error Code: WEAK_PASSWORD_CANNOT_USE_FIRST_LAST_NAME Incident Id: {guid(rng)}\n"
                         "Error Message: Cannot use first or last name in the password.", "userId": a.guid},
            "UPDATE_PASSWORD_FAILED": lambda rng, a: {"userId": a.guid},
            "UPDATE_PASSWORD": lambda rng, a: {"userId": a.guid},
            "ORG_CREATION_SUCCESSFUL": lambda rng, a: {"OrgName": f"org-{rng.randrange(1000)}"},
            "ORG_CREATION_FAILED": lambda rng, a: {"OrgName": f"org-{rng.randrange(1000)}"},
            "ORG_ACCESS_GRANTED_TO_USER": lambda rng, a: {"UserId": other(rng).guid,
                                                          "Attempted to Grant Org Access": "[0]"},
            "ORG_ACCESS_REVOKED_FROM_USER": lambda rng, a: {"UserId": other(rng).guid,
                                                            "Attempted to Revoke Org Access": "[1]"},
            "ORG_SWITCH_SUCCESSFUL": lambda rng, a: {"userGuid": {"id": a.guid}, "org": rng.choice([1, 2])},
            "ORG_SWITCH_FAILED": lambda rng, a: {"userGuid": {"id": a.guid}, "org": rng.choice([1, 2])},
            "ORG_DELETION_SUCCESSFUL": lambda rng, a: {"OrgId": rng.randrange(10**9)},
            "ORG_DELETION_FAILED": lambda rng, a: {"OrgId": rng.randrange(10**9)},
            "ROLES_ASSIGNED": lambda rng, a: {"groupNames": group(rng)[1], "roleIds": []},
            "ROLES_REMOVED": lambda rng, a: {"groupNames": group(rng)[1], "roleIds": [guid(rng)]},
            "USER_GROUPS_CREATED": lambda rng, a: {"groupNames": group(rng)[1]},
            "USER_GROUPS_DELETED": lambda rng, a: {"groupGUIDs": [{"id": guid(rng)}]},
            "USER_GROUP_MODIFIED": lambda rng, a: dict(zip(("groupGUID", "groupName"), group(rng))),
            "PRINCIPALS_IN_GROUP_UPDATE": lambda rng, a: {"groupID": group(rng)[0],
                                                          "requestedUsersInGroup": members(rng, a)},
            "PRIVILEGE_CHANGES": privileges,
            "CREATE_CONNECTION": lambda rng, a: {
                "connectionName": f"conn-{rng.randrange(100)}",
                "connectionType": rng.choice(["RDBMS_SNOWFLAKE", "RDBMS_DATABRICKS", "RDBMS_REDSHIFT"]),
                "requestId": "-1", "connectionCreation": "Done"},
            "EDIT_CONNECTION": lambda rng, a: {"EditConnection": "Done", "connectionId": guid(rng)},
            "DELETE_CONNECTION": lambda rng, a: {"connectionDeletion": "Done", "DeletedIds ": _jlist([guid(rng)])},
            "SHARE_OBJECTS": lambda rng, a: {"objIds": _jlist([guid(rng)]), "objType": "PINBOARD_ANSWER_BOOK",
                                             "permissions": '{"permissions":{}}', "discoverability": True},
            "DATA_UPLOAD_CONFIGURED": lambda rng, a: {"dataUploadEnabledFlag": True, "connection": guid(rng),
                                                      "userGuid": a.guid, "userName": a.name},
            "CREATE_RLS_RULE": rls, "UPDATE_RLS_RULE": rls,
            "DELETE_RLS_RULES": lambda rng, a: {"rlsRuleIds": _jlist([guid(rng)])},
            "CREATE_ANSWER": lambda rng, a: {"answerName": f"answer-{rng.randrange(5000)}"},
            "UPDATE_ANSWERS": lambda rng, a: {"answerName": f"answer-{rng.randrange(5000)}"},
            "DELETE_ANSWERS": lambda rng, a: {"answerIds": _jlist([guid(rng)])},
            "CREATE_PINBOARD": lambda rng, a: {"pinboardName": f"liveboard-{rng.randrange(500)}"},
            "UPDATE_PINBOARDS": lambda rng, a: {"pinboardName": f"liveboard-{rng.randrange(500)}"},
            "DELETE_PINBOARDS": lambda rng, a: {"pinboardIds": _jlist([guid(rng)])},
            "CSV_UPLOAD_STARTED": lambda rng, a: {"fileName": f"upload-{rng.randrange(100)}.csv"},
            "CSV_UPLOAD_FINISHED": lambda rng, a: {"fileName": f"upload-{rng.randrange(100)}.csv",
                                                   "rows": rng.randrange(10, 100_000)},
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
                builders[name] = lambda rng, a, key=key, noun=noun: {key: f"{noun.lower()}-{rng.randrange(1000)}"}
        return builders

    def _event_for(self, rng: random.Random, date_us: int, etype: str, seq: int = -1, malformed: int = 0) -> Record:
        pool = self.admins if etype.startswith(_TS_ADMIN_PREFIXES) else self.users
        actor = pool[int(rng.random() * len(pool))]
        build = self._builders.get(etype)
        data = build(rng, actor) if build is not None else {}
        org = -1 if etype.startswith(_TS_CLUSTER_PREFIXES) else None
        shown = None if etype in _TS_ANONYMOUS else actor
        return self._render(rng, date_us, etype, shown, data, org=org, seq=seq, malformed=malformed)

    def _generate_day(self, day: int) -> list[Record]:
        rng = random.Random(_day_seed(self.history.seed, self.product, day))
        n = self.history.events_per_day
        kinds = rng.choices(self._types, cum_weights=self._cum_weights, k=n)
        times = self._day_times(rng, day, kinds, _TS_CONNECTION_TYPES)
        rand = rng.random
        offsets = [int(rand() * US) for _ in range(n)]  # `date` = `ts` + 0..999 ms of ingest jitter
        return [self._event_for(rng, times[i] // US * US + offsets[i], kinds[i], malformed=self._is_malformed(day, i))
                for i in range(n)]

    def _random_record(self, rng: random.Random, time_us: int, seq: int) -> Record:
        etype = rng.choices(self._types, cum_weights=self._cum_weights)[0]
        return self._event_for(rng, time_us, etype, seq=seq)

    # -- planted findings ----------------------------------------------------------------------------------------
    def _build_scenarios(self) -> list[Record]:
        rng = random.Random(_day_seed(self.history.seed, "thoughtspot:scenarios", 0))
        out: list[Record] = []

        def at(moment_us: int, etype: str, actor: _Person | None, data: dict, **kw) -> Record:
            record = self._render(rng, self._clamp(moment_us) + rng.randrange(US), etype, actor, data, **kw)
            out.append(record)
            return record

        def stamp(us: int) -> str:
            return iso_us(us)

        # 1. Brute force: 30 failed logins for one account from one IP inside 40 minutes, then a success.
        victim, attacker_ip = self.users[7], "185.220.101.47"
        t0 = self._anchor(0.6, hour=3)
        failures = [at(t0 + i * 80 * US, "LOGIN_FAILED", None, {"userName": victim.name}, ip=attacker_ip)
                    for i in range(30)]
        success = at(t0 + 30 * 80 * US + 60 * US, "LOGIN_SUCCESSFUL", victim, {"userName": victim.name},
                     ip=attacker_ip)
        self.scenarios["brute_force"] = {
            "description": "30 LOGIN_FAILED for one user name from one IP within 40 minutes, then LOGIN_SUCCESSFUL",
            "user_name": victim.name, "user_guid": victim.guid, "ip": attacker_ip,
            "failed_event_ids": [r.event_id for r in failures], "success_event_id": success.event_id,
            "first_failure": stamp(failures[0].time_us), "success_at": stamp(success.time_us),
        }
        # 2. Account lockout: five failures then ACCOUNT_LOCKED (userGUID/userName null; name in data.userName).
        locked = self.users[11]
        t1 = self._anchor(0.45, hour=14)
        for i in range(5):
            at(t1 + i * 20 * US, "LOGIN_FAILED", None, {"userName": locked.name})
        lock = at(t1 + 5 * 20 * US, "ACCOUNT_LOCKED", None, {"userName": locked.name})
        self.scenarios["account_locked"] = {
            "description": "ACCOUNT_LOCKED after 5 LOGIN_FAILED", "user_name": locked.name,
            "event_id": lock.event_id, "at": stamp(lock.time_us)}
        # 3. Self-grant: an admin adds themselves to a group, then grants that group ADMINISTRATION.
        granter = self.admins[2]
        group_guid, group_name = self.groups[4]
        t2 = self._anchor(0.35, hour=16)
        join = at(t2, "PRINCIPALS_IN_GROUP_UPDATE", granter,
                  {"groupID": group_guid, "requestedUsersInGroup": [{"id": granter.guid}]})
        grant = at(t2 + 10 * MINUTE_US, "PRIVILEGE_CHANGES", granter, {
            "modifiedPrivileges": ["ADMINISTRATION"], "currentPrivileges": ["AUTHORING"],
            "groupIdentity": {"id": {"id": group_guid}, "name": group_name, "owner": {"id": granter.guid},
                              "type": "UserGroup"}})
        roles = at(t2 + 12 * MINUTE_US, "ROLES_ASSIGNED", granter, {"groupNames": group_name, "roleIds": []})
        self.scenarios["self_grant"] = {
            "description": "actor adds their own GUID to a group (PRINCIPALS_IN_GROUP_UPDATE.requestedUsersInGroup), "
                           "then changes that group's privileges (PRIVILEGE_CHANGES.groupIdentity) and roles",
            "user_name": granter.name, "user_guid": granter.guid, "group_guid": group_guid, "group_name": group_name,
            "membership_event_id": join.event_id, "privilege_event_id": grant.event_id,
            "roles_event_id": roles.event_id}
        # 4. Deleted user still active: USERS_DELETED names the user, who later logs in and creates content.
        leaver = _Person(_uuid4(rng), "former.employee", ["10.9.8.7"], org=0)
        t3 = self._anchor(0.7, hour=10)
        before = at(t3 - DAY_US, "LOGIN_SUCCESSFUL", leaver, {"userName": leaver.name})
        deletion = at(t3, "USERS_DELETED", self.admins[0], {"userGUIDs": [{"id": leaver.guid}]})
        after = [at(self._anchor(0.3, hour=22), "LOGIN_SUCCESSFUL", leaver, {"userName": leaver.name}),
                 at(self._anchor(0.3, hour=22, minute=5), "CREATE_ANSWER", leaver, {"answerName": "payroll-extract"})]
        self.scenarios["deleted_user_activity"] = {
            "description": "USERS_DELETED(userGUIDs[].id) followed by events whose userGUID is that user",
            "user_name": leaver.name, "user_guid": leaver.guid, "deletion_event_id": deletion.event_id,
            "deleted_at": stamp(deletion.time_us), "activity_before_event_ids": [before.event_id],
            "activity_after_event_ids": [r.event_id for r in after]}
        # 5. Connection changes off hours (02:00-03:00 UTC); background ones are all 09:00-17:00 UTC.
        changer = self.admins[1]
        t4 = self._anchor(0.2, hour=2, minute=10)
        changes = [
            at(t4, "CREATE_CONNECTION", changer, {"connectionName": "exfil-snowflake",
                                                  "connectionType": "RDBMS_SNOWFLAKE", "requestId": "-1",
                                                  "connectionCreation": "Done"}),
            at(t4 + 15 * MINUTE_US, "EDIT_CONNECTION", changer, {"EditConnection": "Done",
                                                                 "connectionName": "exfil-snowflake"}),
            at(t4 + 40 * MINUTE_US, "DELETE_CONNECTION", changer, {"connectionDeletion": "Done",
                                                                   "DeletedIds ": _jlist([_uuid4(rng)])}),
        ]
        self.scenarios["off_hours_connection_changes"] = {
            "description": f"connection changes outside {BUSINESS_HOURS_UTC[0]:02d}:00-{BUSINESS_HOURS_UTC[1]:02d}:00"
                           " UTC (background connection events are always inside)",
            "user_name": changer.name, "event_ids": [r.event_id for r in changes]}
        return out


# ---------------------------------------------------------------------------------------------------------------
# Mode
# ---------------------------------------------------------------------------------------------------------------

class ModeTimeline(Timeline):
    product = "mode"

    def __init__(self, history: HistoryConfig, end: datetime, late_minutes: float, workspace: str) -> None:
        super().__init__(history, end, late_minutes)
        self.workspace = workspace
        rng = random.Random(_day_seed(history.seed, "mode:population", 0))
        self.users = _people(rng, 30, "_", _hex12)
        self.admins = self.users[:3]
        self.entities = {
            "group": [(_hex12(rng), n) for n in ("analysts", "finance", "growth", "data-eng", "leadership")],
            "collection": [(_hex12(rng), n) for n in ("Star Space", "Finance", "Growth", "Ops", "Sandbox",
                                                      "Board Decks")],
            "workspace_connection": [(_hex12(rng), n) for n in ("Primary Warehouse", "Postgres Replica",
                                                                "BigQuery Marketing")],
            "report": [(_hex12(rng), f"Report {i}") for i in range(40)],
            "query": [(_hex12(rng), f"Query {i}") for i in range(40)],
            "report_schedule": [(_hex12(rng), f"Schedule {i}") for i in range(10)],
            "workspace": [(_hex12(rng), workspace)],
        }
        self._actions = list(_MODE_WEIGHTS)
        self._cum_weights = []
        total = 0.0
        for name in self._actions:
            total += _MODE_WEIGHTS[name]
            self._cum_weights.append(total)
        self._plant(self._build_scenarios())

    def render(self, rng: random.Random, time_us: int, action: str, actor: _Person | None, entity: tuple[str, str],
               context: dict | None, event_source: str = "web", seq: int = -1, malformed: int = 0,
               actor_override: dict | None = None) -> Record:
        description, entity_type = MODE_ACTION_INFO.get(action, (action.replace("_", " "), "workspace"))
        event_id = _uuid4(rng)
        if context is not None:
            context = {**context, "event_source": event_source, "correlation_id": _uuid4(rng)}
        actor_obj = actor_override if actor_override is not None else None if actor is None else {
            "ip": rng.choice(actor.ips), "user_agent": actor.user_agent, "user_id": actor.guid,
            "username": actor.name}
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
        keys = (action, entity[0], entity_type, entity[1], actor_obj and actor_obj.get("username"),
                actor_obj and actor_obj.get("ip"), event_source)
        return Record(time_us, time_us + reveal_delay_us(rng, self.late_minutes), _dumps(entry), valid_id, 0,
                      keys, seq)

    def _context(self, rng: random.Random, action: str, actor: _Person) -> dict | None:
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
            return {"format": action.rsplit("_", 1)[-1] if "report" in action else "csv",
                    "row_count": rng.randrange(1, 200_000)}
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
        actor = rng.choice(self.admins) if action.startswith(("org_user_", "workspace_", "connection_", "group_")) \
            else rng.choice(self.users)
        system = action.endswith("_removed") and rng.random() < 0.2
        return self.render(rng, time_us, action, None if system else actor, self._entity(rng, action),
                           self._context(rng, action, actor), event_source="system" if system else "web",
                           seq=seq, malformed=malformed)

    def _generate_day(self, day: int) -> list[Record]:
        rng = random.Random(_day_seed(self.history.seed, self.product, day))
        n = self.history.events_per_day
        kinds = rng.choices(self._actions, cum_weights=self._cum_weights, k=n)
        times = self._day_times(rng, day, kinds, _MODE_CONNECTION_ACTIONS)
        return [self._event_for(rng, times[i], kinds[i], malformed=self._is_malformed(day, i)) for i in range(n)]

    def _random_record(self, rng: random.Random, time_us: int, seq: int) -> Record:
        return self._event_for(rng, time_us, rng.choices(self._actions, cum_weights=self._cum_weights)[0], seq=seq)

    def own_access_record(self, time_us: int, ip: str, user_agent: str, token_id: str, start: str, end: str,
                          seq: int) -> Record:
        """The `audit_log_accessed` entry a successful first-page read leaves behind (actor = the API token)."""
        rng = random.Random(_day_seed(self.history.seed, "mode:access", seq))
        actor = {"ip": ip, "user_agent": user_agent, "user_id": token_id, "username": f"api-token-{token_id}"}
        return self.render(rng, time_us, "audit_log_accessed", None, self.entities["workspace"][0],
                           {"start_timestamp": start, "end_timestamp": end}, event_source="api", seq=seq,
                           actor_override=actor)

    def _build_scenarios(self) -> list[Record]:
        rng = random.Random(_day_seed(self.history.seed, "mode:scenarios", 0))
        out: list[Record] = []

        def at(moment_us: int, action: str, actor: _Person | None, entity: tuple[str, str], context: dict | None,
               source: str = "web") -> Record:
            record = self.render(rng, self._clamp(moment_us) + rng.randrange(US), action, actor, entity, context,
                                 source)
            out.append(record)
            return record

        # 1. Self-grant: a member promotes themselves to admin (actor.user_id == entity.entity_id).
        climber = self.users[5]
        grant = at(self._anchor(0.4, hour=15), "org_user_role_changed", climber, (climber.guid, climber.name),
                   {"previous_role": "member", "new_role": "admin"})
        self.scenarios["self_grant"] = {
            "description": "org_user_role_changed where actor.user_id == entity.entity_id (member -> admin)",
            "username": climber.name, "user_id": climber.guid, "event_id": grant.event_id}
        # 2. Leaver still active. The help page lists no removal action, so removal is modelled as a role change to
        #    "removed" (context.new_role); the user later exports data.
        leaver = _Person(_hex12(rng), "departed_analyst", ["10.1.2.3"], user_agent=_USER_AGENTS[0])
        report = self.entities["report"][3]
        before = at(self._anchor(0.8, hour=11), "export_data_report_exported_csv", leaver, report,
                    {"format": "csv", "row_count": 120})
        removal = at(self._anchor(0.6, hour=12), "org_user_role_changed", self.admins[0], (leaver.guid, leaver.name),
                     {"previous_role": "member", "new_role": "removed"})
        after = [at(self._anchor(0.25, hour=21, minute=m), "export_data_sql_exported", leaver,
                    self.entities["query"][m], {"format": "csv", "row_count": 50_000 + m}) for m in (1, 7)]
        self.scenarios["leaver_activity"] = {
            "description": "org_user_role_changed with context.new_role='removed', then activity by that actor",
            "username": leaver.name, "user_id": leaver.guid, "removal_event_id": removal.event_id,
            "activity_before_event_ids": [before.event_id], "activity_after_event_ids": [r.event_id for r in after]}
        # 3. Export burst: one exporter averages about one export a day, then exports 40 times in one day.
        exporter = self.users[9]
        baseline = []
        burst_day = self._anchor(0.5, hour=0) // DAY_US
        for day in range(self.first_day, self.last_day + 1):
            moment = day * DAY_US + 13 * HOUR_US
            if day != burst_day and self.start_us < moment < self.end_us - 3 * HOUR_US:
                baseline.append(at(moment, "export_data_report_exported_csv", exporter,
                                   rng.choice(self.entities["report"]), {"format": "csv", "row_count": 300}))
        burst = [at(burst_day * DAY_US + 8 * HOUR_US + i * 6 * MINUTE_US,
                    ("export_data_sql_exported", "export_data_report_exported_csv")[i % 2], exporter,
                    rng.choice(self.entities["report"] if i % 2 else self.entities["query"]),
                    {"format": "csv", "row_count": 10_000 + i}) for i in range(40)]
        self.scenarios["export_burst"] = {
            "description": "40 export_data_* by one user in one UTC day against a baseline of about 2 per day",
            "username": exporter.name, "user_id": exporter.guid, "burst_day": from_us(burst_day * DAY_US).date()
            .isoformat(), "burst_event_ids": [r.event_id for r in burst],
            "baseline_event_ids": [r.event_id for r in baseline]}
        # 4. API tokens: one workspace token created and never revoked; a created+revoked pair and a member key
        #    generated+revoked as controls (these are the only api_token_* events in the history).
        admin = self.admins[1]
        orphan_token = (_hex12(rng), "legacy-etl")
        control_token = (_hex12(rng), "quarterly-audit")
        member_key = (_hex12(rng), f"{self.users[12].name} personal key")
        orphan = at(self._anchor(0.75, hour=10), "api_token_workspace_created", admin, orphan_token,
                    {"token_name": orphan_token[1]})
        at(self._anchor(0.65, hour=10), "api_token_workspace_created", admin, control_token,
           {"token_name": control_token[1]})
        at(self._anchor(0.55, hour=10), "api_token_workspace_revoked", admin, control_token,
           {"token_name": control_token[1]})
        at(self._anchor(0.5, hour=11), "api_token_member_key_generated", self.users[12], member_key, {})
        at(self._anchor(0.45, hour=11), "api_token_member_key_revoked", admin, member_key, {})
        self.scenarios["api_token_never_revoked"] = {
            "description": "api_token_workspace_created with no later api_token_workspace_revoked for that entity_id",
            "entity_id": orphan_token[0], "token_name": orphan_token[1], "created_event_id": orphan.event_id,
            "revoked_controls": [control_token[0], member_key[0]]}
        # 5. Connection changes off hours (background connection_* are 09:00-17:00 UTC).
        conn = self.entities["workspace_connection"][0]
        t = self._anchor(0.15, hour=1, minute=30)
        group_token, group_name = self.entities["group"][0]
        changes = [
            at(t, "connection_group_added_with_role", self.admins[2], conn,
               {"group_id": group_token, "group_name": group_name, "role": "manage"}),
            at(t + 20 * MINUTE_US, "connection_member_access_changed", self.admins[2], conn,
               {"member_id": self.users[20].guid, "member_username": self.users[20].name, "role": "manage"}),
        ]
        self.scenarios["off_hours_connection_changes"] = {
            "description": f"connection_* outside {BUSINESS_HOURS_UTC[0]:02d}:00-{BUSINESS_HOURS_UTC[1]:02d}:00 UTC",
            "username": self.admins[2].name, "event_ids": [r.event_id for r in changes]}
        return out


__all__ = [
    "HistoryConfig", "THOUGHTSPOT_EVENT_TYPES", "THOUGHTSPOT_EVENT_DESCRIPTIONS", "MODE_ACTIONS", "MODE_ACTION_INFO",
    "ThoughtSpotTimeline", "ModeTimeline", "Record", "iso_us", "to_us", "from_us", "TS_RETENTION",
    "BUSINESS_HOURS_UTC",
]
