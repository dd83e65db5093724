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


CONNECT_TIMEOUT_SECONDS = 10.0


def require_reachable(url: str, variable: str, timeout: float = CONNECT_TIMEOUT_SECONDS) -> None:
    """One TCP connection before any request: a wrong or unresolvable host fails at once with one line naming the
    host and the variable, instead of after every retry of every window (dlt retries dropped connections)."""
    import socket

    parts = urlsplit(url)
    host = parts.hostname or ""
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return
    except socket.gaierror:
        raise SourceError(
            f"cannot resolve {host} (from {variable}): check the URL in {variable} and this machine's DNS"
        ) from None
    except TimeoutError:
        raise SourceError(
            f"no answer from {host}:{port} within {timeout:.0f} s (from {variable}): check the URL in "
            f"{variable}, the network and any proxy or firewall"
        ) from None
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise SourceError(
            f"cannot connect to {host}:{port} ({reason}) (from {variable}): check the URL in "
            f"{variable} and that the service is up"
        ) from None
