"""Secret scrubbing: what is registered never shows; the log filters are installed by entry points only."""

from __future__ import annotations

import base64
import logging
import subprocess
import sys

from pipelines import settings
from pipelines.sources.common import log_filters
from pipelines.sources.common.redaction import ScrubFilter, register_basic_auth, register_secret, scrub


def test_scrub_removes_registered_secrets_longest_first():
    register_secret("tok-abcdef", "tok-abcdef-longer", None, "abc")  # "abc" is too short to register
    assert scrub("a tok-abcdef-longer and tok-abcdef") == "a *** and ***"
    assert scrub("abc stays") == "abc stays"


def test_basic_auth_header_form_is_scrubbed_too():
    register_basic_auth("user-token-1", "secret-value-1")
    header = base64.b64encode(b"user-token-1:secret-value-1").decode()
    assert scrub(f"Authorization: Basic {header}") == "Authorization: Basic ***"


def test_scrub_filter_rewrites_the_formatted_message():
    register_secret("hunter2-secret")
    record = logging.LogRecord("dlt", logging.DEBUG, __file__, 1, "header %s", ("Bearer hunter2-secret",), None)
    assert ScrubFilter().filter(record) is True
    assert record.getMessage() == "header Bearer ***"


def test_install_log_filters_is_idempotent():
    log_filters.install_log_filters()
    before = list(logging.getLogger("dlt").filters)
    log_filters.install_log_filters()
    assert logging.getLogger("dlt").filters == before
    kinds = {type(f) for f in before}
    assert {ScrubFilter, log_filters.ExpectedArrowHintFilter} <= kinds
    assert any(isinstance(f, ScrubFilter) for f in logging.getLogger("auditlake").filters)


def test_expected_arrow_hint_warning_is_dropped_only_for_our_resources():
    hint = log_filters.ExpectedArrowHintFilter(("audit_logs",))
    ours = logging.LogRecord(
        "dlt",
        logging.WARNING,
        __file__,
        1,
        "In resource: audit_logs, when merging arrow schema with dlt schema, ...",
        (),
        None,
    )
    theirs = logging.LogRecord(
        "dlt",
        logging.WARNING,
        __file__,
        1,
        "In resource: other, when merging arrow schema with dlt schema, ...",
        (),
        None,
    )
    assert hint.filter(ours) is False and hint.filter(theirs) is True


def test_importing_the_sources_installs_no_log_filter():
    code = (
        "import logging, pipelines.sources.thoughtspot, pipelines.sources.mode; "
        "print(len(logging.getLogger('dlt').filters), len(logging.getLogger('auditlake').filters))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, cwd=settings.PROJECT_ROOT
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.split() == ["0", "0"]
