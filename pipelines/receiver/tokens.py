"""Push token -> ThoughtSpot instance: the one function the receiver asks, and the one to extend for several tenants.

Single tenant: SOURCES__THOUGHTSPOT__PUSH_TOKEN (a dlt secret: env or .dlt/secrets.toml) belongs to the instance
named by SOURCES__THOUGHTSPOT__BASE_URL; with several clusters each has its own push_token
(pipelines/sources/instances.py), as host[:port] exactly as the pull source writes `source_instance`, so a
pushed and a pulled copy of one event share the merge key (source_instance, id).
"""

from __future__ import annotations

import hmac

from pipelines.settings import ConfigurationError

ENV_PUSH_TOKEN = "SOURCES__THOUGHTSPOT__PUSH_TOKEN"
# Shorter tokens can be guessed by a sender that may retry for ever; ThoughtSpot Support is given this value.
MIN_TOKEN_LENGTH = 16


def push_tokens() -> dict[str, str]:
    """Every accepted push token -> the source_instance its events belong to (empty: push not configured).

    The tokens come from the instance configuration (pipelines/sources/instances.py): the single cluster's
    SOURCES__THOUGHTSPOT__PUSH_TOKEN, or each named cluster's own `push_token` when several are listed.
    """
    from pipelines.sources.common.redaction import register_secret
    from pipelines.sources.instances import thoughtspot_push_tokens

    tokens = {str(token).strip(): instance for token, instance in thoughtspot_push_tokens().items()}
    for token in tokens:
        register_secret(token)
        if len(token) < MIN_TOKEN_LENGTH:
            raise ConfigurationError(
                f"a ThoughtSpot push token ({ENV_PUSH_TOKEN} or an instance's push_token) is shorter than "
                f"{MIN_TOKEN_LENGTH} characters: use a long random value, e.g. "
                "`python -c 'import secrets; print(secrets.token_urlsafe(32))'`"
            )
    return tokens


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
