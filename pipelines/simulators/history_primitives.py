"""Values every generated history is built from: the history settings, time units, seeded ids and the population.

Ids and names are drawn from seeded `random.Random` instances (never the global one) so a seed repeats a history.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

try:  # orjson is a project dependency; the fallback keeps the simulators importable anywhere.
    import orjson

    def dumps(value: Any) -> bytes:
        return orjson.dumps(value)

except ImportError:  # pragma: no cover - exercised only without orjson
    import json

    def dumps(value: Any) -> bytes:
        return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode()


US = 1_000_000
DAY_US = 86_400 * US
MINUTE_US = 60 * US
HOUR_US = 60 * MINUTE_US
TS_RETENTION = timedelta(days=30)  # ThoughtSpot keeps security events 30 days
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


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


def to_us(moment: datetime) -> int:
    if moment.tzinfo is None:
        raise ValueError(f"{moment!r} is naive: simulator times must be timezone-aware UTC")
    delta = moment - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * US + delta.microseconds


def from_us(value: int) -> datetime:
    return _EPOCH + timedelta(microseconds=value)


_SECOND_TEXT_CACHE: dict[int, str] = {}


def utc_second_text(second: int) -> str:
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
    return f"{utc_second_text(second)}.{micro:06d}Z"


def uuid4_from(rng: random.Random) -> str:
    """A random (version 4) UUID drawn from `rng`; formatted by hand because uuid.UUID is slow at volume."""
    h = f"{rng.getrandbits(128):032x}"
    return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-{'89ab'[int(h[16], 16) & 3]}{h[17:20]}-{h[20:]}"


def hex12_from(rng: random.Random) -> str:
    return f"{rng.getrandbits(48):012x}"


def day_seed(seed: int, product: str, day: int) -> int:
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


_FIRST = [
    "alice",
    "bob",
    "carol",
    "dan",
    "erin",
    "frank",
    "grace",
    "heidi",
    "ivan",
    "judy",
    "ken",
    "lena",
    "mike",
    "nora",
    "oscar",
    "peggy",
    "quinn",
    "rosa",
    "sam",
    "tina",
    "uma",
    "victor",
    "wendy",
    "xena",
    "yusuf",
    "zoe",
]
_LAST = ["nguyen", "smith", "garcia", "kim", "patel", "mueller", "rossi", "silva", "tanaka", "okafor", "dubois"]
USER_AGENTS = [
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/133.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/17.4 Safari/605.1.15",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:128.0) Gecko/20100101 Firefox/128.0",
    "python-requests/2.32.3",
]


@dataclass
class Person:
    guid: str  # ThoughtSpot user GUID / Mode 12-hex user token
    name: str
    ips: list[str]
    org: int = 0
    user_agent: str = ""


def people(rng: random.Random, count: int, sep: str, guid: Callable[[random.Random], str]) -> list[Person]:
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
        people.append(
            Person(
                guid(rng), name, ips, org=rng.choices((0, 1, 2), (70, 20, 10))[0], user_agent=rng.choice(USER_AGENTS)
            )
        )
    return people
