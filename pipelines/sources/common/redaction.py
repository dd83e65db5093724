"""Secret values we were given or minted, so that no message, log line or table ever shows them.

Sources register what they hold (`register_secret`); `scrub` is applied to every error text we build
and, once an entry point has called `log_filters.install_log_filters()`, to every dlt / auditlake log record.
"""

from __future__ import annotations

import base64
import logging
import threading

_secrets: set[str] = set()
_lock = threading.Lock()


def register_secret(*values: str | None) -> None:
    """Remember secret values so `scrub` can remove them from any text we show or log."""
    # Shorter values would scrub ordinary words out of messages and protect nothing.
    with _lock:
        for value in values:
            if value and len(value) >= 4:
                _secrets.add(value)


def register_basic_auth(user: str | None, password: str | None) -> None:
    """A Basic header carries base64(user:password): scrub that form too."""
    if user and password:
        register_secret(user, password, base64.b64encode(f"{user}:{password}".encode()).decode())


def scrub(text: str) -> str:
    """Replace every registered secret in `text` with ***."""
    with _lock:
        known = sorted(_secrets, key=len, reverse=True)
    # Longest first so a secret that contains another is removed whole.
    for secret in known:
        if secret in text:
            text = text.replace(secret, "***")
    return text


def has_secrets() -> bool:
    return bool(_secrets)


class ScrubFilter(logging.Filter):
    """Removes secrets from log records (dlt logs request headers at DEBUG level)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if _secrets:
            message = record.getMessage()
            cleaned = scrub(message)
            if cleaned != message:
                record.msg, record.args = cleaned, None
        return True
