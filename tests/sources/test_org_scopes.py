"""Which ThoughtSpot orgs a run reads (configuration parsing; the HTTP side is tested in tests/ingest)."""

from __future__ import annotations

import pytest

from pipelines.sources.common.errors import SourceError
from pipelines.sources.thoughtspot.org_scopes import OrgRead, parse_org_ids


@pytest.mark.parametrize(
    "value, ids",
    [
        (None, None),
        ("", None),
        ("  ", None),
        ("0", [0]),
        ("583464508, 0", [0, 583464508]),
        ("[0,1,1]", [0, 1]),
        ([2, "0"], [0, 2]),
        (7, [7]),
    ],
)
def test_org_ids_parse(value, ids):
    assert parse_org_ids(value) == ids


@pytest.mark.parametrize("value", ["emea", "0,x", "-1", ",", "1.5"])
def test_bad_org_ids_name_the_variable(value):
    with pytest.raises(SourceError, match="SOURCES__THOUGHTSPOT__ORG_IDS"):
        parse_org_ids(value)


def test_state_keys_keep_the_instance_key_for_the_all_orgs_read():
    assert OrgRead(None, None).state_key("acme.thoughtspot.cloud") == "acme.thoughtspot.cloud"  # type: ignore[arg-type]
    assert OrgRead(5, None).state_key("acme.thoughtspot.cloud") == "acme.thoughtspot.cloud/org/5"  # type: ignore[arg-type]
