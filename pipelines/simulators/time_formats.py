"""How the ThoughtSpot simulator writes `ts` and `date`: ISO as the API examples, or the mix a tenant can show.

ThoughtSpot's "Collect security logs" page documents the event time as "Timestamp (in UTC) yyyy/mm/dd:hh:mm:ss"
while every API example is ISO-8601 with `Z` (`ts` to the second, `date` to the microsecond). A client must read both,
and ISO with an offset and with 0-9 fractional digits. The instant is the same whatever the form: only the text
changes (the documented form has no sub-second digits, so `date` then loses them).

`time_format`:
- "iso" (default): `ts` 2024-07-01T05:04:09Z, `date` 2024-07-01T05:04:09.290175Z (the API examples);
- "documented": both as 2024/07/01:05:04:09 (UTC);
- "mixed": per record, `ts` and `date` each take one of TIME_VARIANTS, chosen from the event id (deterministic).
"""

from __future__ import annotations

from .history_primitives import utc_second_text

TIME_FORMATS = ("iso", "documented", "mixed")
TIME_VARIANTS = ("iso_z", "documented", "offset", "fraction")
OFFSETS_MINUTES = (120, -330, 0, 840)  # +02:00, -05:30, +00:00, +14:00


def _documented(second: int) -> str:
    text = utc_second_text(second)
    return f"{text[0:4]}/{text[5:7]}/{text[8:10]}:{text[11:]}"


def _offset(second: int, micro: int | None, minutes: int) -> str:
    sign = "+" if minutes >= 0 else "-"
    hours, mins = divmod(abs(minutes), 60)
    fraction = f".{micro:06d}" if micro is not None else ""
    return f"{utc_second_text(second + minutes * 60)}{fraction}{sign}{hours:02d}:{mins:02d}"


def _fraction(second: int, micro: int, digits: int) -> str:
    if digits == 0:
        return utc_second_text(second) + "Z"
    return f"{utc_second_text(second)}.{f'{micro:06d}{0:03d}'[:digits]}Z"


def variant_text(variant: str, second: int, micro: int | None, pick: int) -> str:
    """One time as `variant`; `micro` None means a to-the-second field (`ts`); `pick` chooses digits/offsets."""
    if variant == "documented":
        return _documented(second)
    if variant == "offset":
        return _offset(second, micro, OFFSETS_MINUTES[pick % len(OFFSETS_MINUTES)])
    if variant == "fraction":
        return _fraction(second, micro or 0, pick % 10)
    return utc_second_text(second) + (f".{micro:06d}Z" if micro is not None else "Z")


def render_times(time_format: str, event_id: str, ts_second: int, date_second: int, micro: int) -> tuple[str, str]:
    """(`ts`, `date`) text for one record."""
    if time_format == "documented":
        return _documented(ts_second), _documented(date_second)
    if time_format == "iso":
        return variant_text("iso_z", ts_second, None, 0), variant_text("iso_z", date_second, micro, 0)
    n = int(event_id[-6:], 16) if len(event_id) >= 6 else sum(map(ord, event_id))
    count = len(TIME_VARIANTS)
    ts_variant, date_variant = TIME_VARIANTS[n % count], TIME_VARIANTS[(n // count) % count]
    pick = n // (count * count)
    return variant_text(ts_variant, ts_second, None, pick), variant_text(date_variant, date_second, micro, pick // 7)
