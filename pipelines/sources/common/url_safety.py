"""Checks on configured URLs before any credential is sent to them."""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit

from pipelines.sources.common.errors import SourceError


def require_safe_url(url: str, variable: str) -> str:
    """Refuse plain http:// except to loopback: credentials must not cross a network unencrypted."""
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise SourceError(f"{variable} must be an https:// URL (got a value without scheme or host)")
    if parts.username or parts.password:
        raise SourceError(f"{variable} must not contain credentials: put them in the secret variables")
    if parts.scheme == "http" and not is_loopback(parts.hostname):
        raise SourceError(
            f"{variable} uses plain http:// to {parts.hostname}: credentials would travel unencrypted; "
            "use https:// (plain http is allowed only for localhost / 127.0.0.1 / ::1)"
        )
    return url.strip().rstrip("/")


def is_loopback(host: str) -> bool:
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def host_with_port(url: str) -> str:
    """host[:port] of a URL, lower-cased: the ThoughtSpot source_instance."""
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    return f"{host}:{parts.port}" if parts.port else host
