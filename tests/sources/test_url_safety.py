"""Configured URLs: credentials never go over plain http to another machine."""

from __future__ import annotations

import pytest

from pipelines.sources.common.errors import SourceError
from pipelines.sources.common.url_safety import host_with_port, is_loopback, require_safe_url


@pytest.mark.parametrize(
    "url", ["https://x.thoughtspot.cloud/", "http://localhost:8080", "http://127.0.0.1:1", "http://[::1]:9"]
)
def test_safe_urls_pass_without_trailing_slash(url):
    assert require_safe_url(f"  {url} ", "VAR") == url.rstrip("/")


@pytest.mark.parametrize(
    "url, fragment",
    [
        ("http://example.com", "plain http:// to example.com"),
        ("ftp://example.com", "must be an https:// URL"),
        ("example.com", "must be an https:// URL"),
        ("https://user:pw@example.com", "must not contain credentials"),
    ],
)
def test_unsafe_urls_are_refused_naming_the_variable(url, fragment):
    with pytest.raises(SourceError) as refused:
        require_safe_url(url, "SOURCES__X__BASE_URL")
    assert fragment in str(refused.value) and "SOURCES__X__BASE_URL" in str(refused.value)
    assert "pw" not in str(refused.value)


def test_loopback_and_host_with_port():
    assert is_loopback("LOCALHOST") and is_loopback("127.0.0.2") and is_loopback("[::1]")
    assert not is_loopback("10.0.0.1") and not is_loopback("example.com")
    assert host_with_port("https://My.ThoughtSpot.cloud/path") == "my.thoughtspot.cloud"
    assert host_with_port("http://127.0.0.1:8443") == "127.0.0.1:8443"
