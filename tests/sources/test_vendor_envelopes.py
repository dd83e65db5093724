"""Response shapes: the ones the vendors document (or mode-sdk reads) parse; any other fails loud (pure)."""

from __future__ import annotations

import pytest

from pipelines.sources.common.errors import SourceError
from pipelines.sources.mode.mode_envelopes import Page, read_page, same_origin_next
from pipelines.sources.thoughtspot.thoughtspot_client import logs_records

ENTRY = {"id": "e1", "timestamp": "2026-11-01T00:00:00Z"}


@pytest.mark.parametrize(
    "body, page",
    [
        ({"audit_logs": [ENTRY], "next_token": "c2"}, Page([ENTRY], "c2")),
        ({"audit_logs": [ENTRY], "next_token": None}, Page([ENTRY])),
        ({"audit_logs": [], "pagination": {"next_token": "c3"}}, Page([], "c3")),
        ({"_embedded": {"audit_logs": [ENTRY]}, "next_token": "c4"}, Page([ENTRY], "c4")),
        (
            {
                "_embedded": {"audit_logs": [ENTRY]},
                "_links": {"self": {"href": "/a"}, "next": {"href": "/a?next_token=x"}},
            },
            Page([ENTRY], None, "/a?next_token=x"),
        ),
        ({"_embedded": {"audit_logs": []}, "_links": {"self": {"href": "/a"}}}, Page([])),
    ],
)
def test_mode_recognised_envelopes(body, page):
    assert read_page(body) == page


@pytest.mark.parametrize(
    "body, named",
    [
        ({"data": {"items": [ENTRY]}, "next_token": "c"}, "keys: data {items}, next_token"),
        ({"results": [ENTRY], "count": 1}, "keys: results, count"),
        ({}, "keys: none"),
        ({"audit_logs": None}, "`audit_logs` is a JSON NoneType"),
        ({"audit_logs": {"0": ENTRY}}, "`audit_logs` is a JSON dict"),
        ([ENTRY], "a JSON list, not an object"),
        (None, "a JSON NoneType"),
    ],
)
def test_mode_unknown_envelopes_fail_naming_what_was_seen(body, named):
    with pytest.raises(SourceError) as failed:
        read_page(body)
    message = str(failed.value)
    assert named in message and "cursor did not move" in message and "_embedded" in message
    assert "e1" not in message  # keys only, never values


def test_mode_next_link_stays_on_the_configured_host():
    assert (
        same_origin_next(
            "http://127.0.0.1:9/api/acme/audit_logs?x=1", "/api/acme/audit_logs?next_token=t", "http://127.0.0.1:9"
        )
        == "http://127.0.0.1:9/api/acme/audit_logs?next_token=t"
    )
    with pytest.raises(SourceError, match="another host"):
        same_origin_next(
            "https://app.mode.com/api/acme/audit_logs", "https://evil.example/steal", "https://app.mode.com"
        )


RECORD = {"date": "2026-11-01T00:00:00.1Z", "log": "{}"}


def test_thoughtspot_arrays_parse_and_an_empty_one_is_fine():
    assert logs_records(200, b'[{"date":"2026-11-01T00:00:00.1Z","log":"{}"}]') == [RECORD]
    assert logs_records(200, b"[]") == []
    assert logs_records(204, b"") == []
    # One malformed element among records is quarantined later, not a failed window.
    assert logs_records(200, b'[{"date":"d","log":"{}"}, "junk"]') == [{"date": "d", "log": "{}"}, "junk"]


@pytest.mark.parametrize(
    "content, named",
    [
        (b"", "empty body"),
        (b"<html>", "not JSON"),
        (b'{"logs": []}', "JSON dict with keys logs"),
        (b"null", "JSON NoneType"),
        (b'"[]"', "JSON str"),
        (b'[{"timestamp": "t", "event": {}}]', "objects with keys timestamp, event"),
        (b"[1, 2]", "int values"),
    ],
)
def test_thoughtspot_bodies_that_are_not_record_arrays_fail(content, named):
    with pytest.raises(SourceError) as failed:
        logs_records(200, content)
    assert named in str(failed.value) and "cursor did not move" in str(failed.value)
