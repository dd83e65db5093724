"""The event-name constants cover every name on the product pages the project is built from."""

from __future__ import annotations

import re
from pathlib import Path

from pipelines.simulators import MODE_ACTIONS, THOUGHTSPOT_EVENT_TYPES

SEEDS = Path(__file__).resolve().parents[2] / "docs" / "vendor"
MODE_AREAS = (
    "org_user|group|workspace|collection|connection|export_data|report_activity|report_schedule|api_token|audit_log"
)


def _seed(name: str) -> str:
    path = SEEDS / name
    assert path.exists(), f"{path} is missing: the product pages the vocabularies come from must be there"
    return path.read_text()


def test_thoughtspot_types_cover_the_collect_security_logs_page_and_docs_extras():
    page = [
        line.strip()[2:]
        for line in _seed("thoughtspot-collect-security-logs.txt").splitlines()
        if re.fullmatch(r"- [A-Z_]+", line.strip())
    ]
    assert len(page) == 69
    assert set(page) <= set(THOUGHTSPOT_EVENT_TYPES)
    extras = {
        "SHARE_OBJECTS",
        "CREATE_JOIN",
        "UPDATE_JOIN",
        "DELETE_JOIN",
        "UPDATE_VIEWS",
        "DELETE_VIEWS",
        "CREATE_CONFIGURATION_ATTEMPTED",
        "DIGEST_FREQUENCY_CHANGED",
        "UPDATE_PASSWORD_FAILURE",
        "ORG_ACCESS_REVOKED_FROM_USER",
        "TEAM_EDITION_USER_DELETE",
    }
    assert extras <= set(THOUGHTSPOT_EVENT_TYPES)
    assert len(THOUGHTSPOT_EVENT_TYPES) == len(set(THOUGHTSPOT_EVENT_TYPES))


def test_mode_actions_are_exactly_the_help_page_actions():
    page = [
        m.group(1)
        for line in _seed("mode-audit-logs.txt").splitlines()
        if (m := re.search(rf"((?:{MODE_AREAS})_[a-z_]+)\s*$", line))
    ]
    # The page glues the event text to the action name ("Invite a memberorg_user_invited"); strip the glue.
    page = [next(a for a in MODE_ACTIONS if name.endswith(a)) if name not in MODE_ACTIONS else name for name in page]
    assert page == list(MODE_ACTIONS)
    assert len(MODE_ACTIONS) == 50
