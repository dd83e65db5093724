"""The event catalogue seed: every event name the products emit, outcomes in the vendor's words, valid OCSF 1.8.0.

tests/dbt/fixtures holds copies of the OCSF 1.8.0 class/activity extract (from ocsf-schema v1.8.0) and of
ThoughtSpot's published sample records, so these tests need nothing outside the repository.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

from pipelines import settings
from pipelines.simulators import MODE_ACTIONS, THOUGHTSPOT_EVENT_TYPES

CATALOG = settings.DBT_PROJECT_DIR / "seeds" / "audit_event_catalog.csv"
CATEGORIES = {
    "authentication",
    "user_management",
    "group_management",
    "privilege_management",
    "access_control",
    "connection_management",
    "content_management",
    "data_export",
    "data_upload",
    "api_token",
    "org_management",
    "audit_access",
}
OCSF_CLASSES = {3001, 3002, 3004, 3005, 3006, 6001, 6003, 6005}
FIXTURES = Path(__file__).parent / "fixtures"
OCSF = json.loads((FIXTURES / "ocsf-1.8.0-classes.json").read_text())


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
        assert (row["is_privileged"] == "true") == bool(row["privilege_reason"].strip()), (
            f"{where}: a privileged type states its privilege_reason, a non-privileged one none"
        )
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
    assert by_name["PRIVILEGE_CHANGES"]["outcome"] == "attempt"  # sample: "Group privilege changes attempted."
    for name, row in by_name.items():
        if name.endswith("_ATTEMPTED"):
            assert row["outcome"] == "attempt", name
        if name.endswith(("_FAILED", "_FAILURE")) or name.startswith("FAILED_"):
            assert row["outcome"] == "failure", name


def test_every_class_activity_pair_exists_in_ocsf_1_8_0() -> None:
    invalid = [
        (row["event_type"], row["ocsf_class_uid"], row["ocsf_activity_id"])
        for row in _rows()
        if row["ocsf_activity_id"] not in OCSF.get(row["ocsf_class_uid"], {}).get("activities", {})
    ]
    assert not invalid, f"not an OCSF 1.8.0 class/activity pair (see {FIXTURES / 'ocsf-1.8.0-classes.json'}): {invalid}"


def test_the_ocsf_seed_is_the_1_8_0_extract() -> None:
    with (settings.DBT_PROJECT_DIR / "seeds" / "ocsf_activities.csv").open(newline="") as handle:
        seeded = {(row["class_uid"], row["activity_id"]) for row in csv.DictReader(handle)}
    expected = {(uid, activity) for uid, cls in OCSF.items() for activity in cls["activities"]}
    assert seeded == expected


def test_outcomes_agree_with_thoughtspots_published_sample_records() -> None:
    by_name = {row["event_type"]: row for row in _rows() if row["source_system"] == "thoughtspot"}
    disagreements = []
    for sample in json.loads((FIXTURES / "thoughtspot-doc-records.json").read_text()):
        log = json.loads(sample["record"]["log"])
        words = log["desc"].lower()
        said = "failure" if "fail" in words else "attempt" if "attempt" in words else None
        if said and by_name[log["type"]]["outcome"] != said:
            disagreements.append((log["type"], log["desc"], by_name[log["type"]]["outcome"]))
    assert not disagreements, f"the catalogue contradicts the vendor's sample records: {disagreements}"


def test_catalogue_fits_the_issue_found_are_fixed() -> None:
    rows = {(row["source_system"], row["event_type"]): row for row in _rows()}
    # session tokens are authentication, not API credentials
    assert rows[("thoughtspot", "AUTH_TOKEN_CREATED_SUCCESSFULLY")]["event_category"] == "authentication"
    assert rows[("thoughtspot", "DIGEST_FREQUENCY_CHANGED")]["event_category"] != "connection_management"
    # the same kind of change is privileged (or not) alike
    assert (
        rows[("thoughtspot", "TEAM_CHANGE_SUBSCRIPTION")]["is_privileged"]
        == rows[("thoughtspot", "USER_CHANGE_SUBSCRIPTION")]["is_privileged"]
    )
    assert (
        rows[("mode", "collection_member_added")]["is_privileged"]
        == rows[("mode", "connection_member_added_with_role")]["is_privileged"]
        == "true"
    )
    assert (
        rows[("mode", "api_token_member_key_generated")]["is_privileged"]
        == rows[("mode", "api_token_member_key_revoked")]["is_privileged"]
        == "true"
    )
