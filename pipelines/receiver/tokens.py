"""Push token -> ThoughtSpot instance: the one function the receiver asks, and the one to extend for several tenants.

Single tenant: SOURCES__THOUGHTSPOT__PUSH_TOKEN (a dlt secret: env or .dlt/secrets.toml) belongs to the instance
named by SOURCES__THOUGHTSPOT__BASE_URL, as host[:port] exactly as the pull source writes `source_instance`, so a
pushed and a pulled copy of one event share the merge key (source_instance, id).
"""

from __future__ import annotations

import hmac
from typing import Any

from pipelines.settings import ConfigurationError

ENV_PUSH_TOKEN = "SOURCES__THOUGHTSPOT__PUSH_TOKEN"
ENV_BASE_URL = "SOURCES__THOUGHTSPOT__BASE_URL"
# Shorter tokens can be guessed by a sender that may retry for ever; ThoughtSpot Support is given this value.
MIN_TOKEN_LENGTH = 16


def push_tokens() -> dict[str, str]:
    """Every accepted push token -> the source_instance its events belong to (empty: push not configured)."""
    import dlt

    from pipelines.sources.common.redaction import register_secret
    from pipelines.sources.common.url_safety import host_with_port

    token: Any = dlt.secrets.get("sources.thoughtspot.push_token")
    if not token:
        return {}
    token = str(token).strip()
    register_secret(token)
    if len(token) < MIN_TOKEN_LENGTH:
        raise ConfigurationError(
            f"{ENV_PUSH_TOKEN} is shorter than {MIN_TOKEN_LENGTH} characters: use a long random value, e.g. "
            "`python -c 'import secrets; print(secrets.token_urlsafe(32))'`"
        )
    base_url: Any = dlt.config.get("sources.thoughtspot.base_url")
    if not base_url:
        raise ConfigurationError(
            f"{ENV_PUSH_TOKEN} is set but {ENV_BASE_URL} is not: pushed events must be filed under the ThoughtSpot "
            f"instance they come from; set {ENV_BASE_URL} (e.g. https://my-company.thoughtspot.cloud)"
        )
    return {token: host_with_port(str(base_url))}


class TokenTable:
    """Looks a presented token up in constant time (per token): no early exit that would time a guess."""

    def __init__(self, tokens: dict[str, str]) -> None:
        self._pairs = [(token.encode(), instance) for token, instance in tokens.items()]

    def __bool__(self) -> bool:
        return bool(self._pairs)

    def instance_for(self, presented: str) -> str | None:
        candidate = presented.encode()
        found = None
        for token, instance in self._pairs:
            # Every token is compared, even after a match, so the time does not say which one matched.
            if hmac.compare_digest(token, candidate):
                found = instance
        return found
