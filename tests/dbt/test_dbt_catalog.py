"""The event catalogue seed covers every event name the products emit (the simulators' vocabularies)."""

from __future__ import annotations

import csv

from pipelines import settings
from pipelines.simulators import MODE_ACTIONS, THOUGHTSPOT_EVENT_TYPES

CATALOG = settings.DBT_PROJECT_DIR / "seeds" / "audit_event_catalog.csv"
CATEGORIES = {
    "authentication", "user_management", "group_management", "privilege_management", "access_control",
    "connection_management", "content_management", "data_export", "data_upload", "api_token", "org_management",
    "audit_access",
}
OCSF_CLASSES = {3001, 3002, 3004, 3005, 3006, 6001, 6003, 6005}


def _rows() -> list[dict[str, str]]:
    with CATALOG.open(newline="") as handle:
        return list(csv.DictReader(handle))


def _names(system: str) -> set[str]:
    return {row["event_type"] for row in _rows() if row["source_system"] == system}


def test_catalogue_lists_every_thoughtspot_event_type() -> None:
    missing = set(THOUGHTSPOT_EVENT_TYPES) - _names("thoughtspot")
    assert not missing, f"add these ThoughtSpot types to {CATALOG.name}: {sorted(missing)}"


def test_catalogue_lists_every_mode_action() -> None:
    missing = set(MODE_ACTIONS) - _names("mode")
    assert not missing, f"add these Mode actions to {CATALOG.name}: {sorted(missing)}"


def test_catalogue_rows_are_unique_and_classified() -> None:
    rows = _rows()
    keys = [(row["source_system"], row["event_type"]) for row in rows]
    assert len(keys) == len(set(keys)), "duplicate (source_system, event_type) rows"
    for row in rows:
        where = f"{row['source_system']}/{row['event_type']}"
        assert row["event_category"] in CATEGORIES, f"{where}: category {row['event_category']!r}"
        assert row["outcome"] in {"success", "failure", "attempt"}, f"{where}: outcome {row['outcome']!r}"
        assert row["is_privileged"] in {"true", "false"}, where
        assert int(row["ocsf_class_uid"]) in OCSF_CLASSES, where
        assert int(row["ocsf_activity_id"]) in set(range(1, 14)) | {99}, where


def test_outcomes_follow_the_documented_descriptions() -> None:
    by_name = {row["event_type"]: row for row in _rows()}
    assert by_name["ROLE_CREATED"]["outcome"] == "attempt"  # "Role creation attempted."
    assert by_name["CREATE_CONNECTION_ATTEMPTED"]["outcome"] == "attempt"
    assert by_name["CREATE_CONNECTION"]["outcome"] == "success"
    assert by_name["LOGIN_FAILED"]["outcome"] == "failure"
    assert by_name["UPDATE_PASSWORD"]["outcome"] == "attempt"  # "successfully or unsuccessfully attempts"
    assert by_name["ORG_CREATION_FAILED"]["outcome"] == "failure"
    for name, row in by_name.items():
        if name.endswith("_ATTEMPTED"):
            assert row["outcome"] == "attempt", name
        if name.endswith(("_FAILED", "_FAILURE")) or name.startswith("FAILED_"):
            assert row["outcome"] == "failure", name
