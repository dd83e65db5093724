"""The field-drift check on a real DuckDB profile table: quiet on steady data, loud on a field going empty or a
new payload key, and silent where counts are too small to say anything."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import duckdb
import pytest

from pipelines.warehouse.health import PROFILE, field_drift

NOW = datetime(2026, 11, 20, 12, tzinfo=timezone.utc)


@pytest.fixture
def con():
    con = duckdb.connect(":memory:")
    con.execute("create schema core")
    con.execute(f"""create table {PROFILE} (source_system varchar, source_instance varchar, event_type varchar,
        event_date date, events bigint, actor_id_filled bigint, actor_name_filled bigint, actor_ip_filled bigint,
        target_id_filled bigint, target_name_filled bigint, org_id_filled bigint, context_keys varchar[],
        last_loaded_at timestamptz)""")
    yield con
    con.close()


def add_day(con, day, events=50, name_filled=None, keys=("userName",), event_type="USER_CREATED"):
    filled = events if name_filled is None else name_filled
    con.execute(
        f"insert into {PROFILE} values ('thoughtspot', 'ts.local', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [event_type, day, events, events, filled, events, events, events, events, list(keys), NOW],
    )


def history(con, **recent):
    for back in range(2, 16):
        add_day(con, (NOW - timedelta(days=back)).date())
    add_day(con, (NOW - timedelta(days=1)).date(), **recent)


def test_steady_data_shows_no_drift(con):
    history(con)
    assert field_drift(con, NOW) == []


def test_a_field_going_empty_is_named(con):
    history(con, name_filled=1)
    assert field_drift(con, NOW) == [
        "thoughtspot USER_CREATED: actor_name filled in 2% of the last day's events, 100% before"
    ]


def test_a_new_payload_key_is_named(con):
    history(con, keys=("userName", "newField"))
    assert field_drift(con, NOW) == ["thoughtspot USER_CREATED: new payload keys newField"]


def test_too_few_recent_events_say_nothing(con):
    history(con, events=3, name_filled=0)
    assert field_drift(con, NOW) == []
