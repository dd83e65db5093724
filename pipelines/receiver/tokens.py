"""Push token -> ThoughtSpot instance: the one function the receiver asks, and the one to extend for several tenants.

Single tenant: SOURCES__THOUGHTSPOT__PUSH_TOKEN (a dlt secret: env or .dlt/secrets.toml) belongs to the instance
named by SOURCES__THOUGHTSPOT__BASE_URL; with several clusters each has its own push_token
(pipelines/sources/instances.py), as host[:port] exactly as the pull source writes `source_instance`, so a
pushed and a pulled copy of one event share the merge key (source_instance, id).

Rotation without a restart: the receiver re-reads the tokens when `.dlt/secrets.toml` or `.dlt/config.toml` (the
project's or dlt's global one) changes, looking at most every RELOAD_CHECK_SECONDS. Environment variables cannot
change under a running process: a token given as SOURCES__THOUGHTSPOT__PUSH_TOKEN (which also wins over the files)
is rotated by restarting the receiver with the new value.
"""

from __future__ import annotations

import hmac
import logging
import threading
import time
from collections.abc import Callable
from pathlib import Path

from pipelines.settings import ConfigurationError

log = logging.getLogger(__name__)

ENV_PUSH_TOKEN = "SOURCES__THOUGHTSPOT__PUSH_TOKEN"
# How often a request may trigger a look at the configuration files (a stat each; a re-read only when they changed).
RELOAD_CHECK_SECONDS = 2.0
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


class TokensUnavailable(Exception):
    """The configuration changed and its tokens could not be read: answered 503 (retried) until it is fixed."""


def config_files() -> list[Path]:
    """The TOML files dlt reads settings from (project `.dlt/` first, then dlt's global folder)."""
    import dlt

    context = dlt.current.run_context()
    return [Path(folder) / name for folder in (context.settings_dir, context.global_dir) for name in _TOML_NAMES]


_TOML_NAMES = ("secrets.toml", "config.toml")
_Signature = tuple[tuple[int, int, int] | None, ...]


def _signature(files: list[Path]) -> _Signature:
    stamps: list[tuple[int, int, int] | None] = []
    for path in files:
        try:
            stat = path.stat()
        except OSError:
            stamps.append(None)
        else:
            stamps.append((stat.st_mtime_ns, stat.st_size, stat.st_ino))
    return tuple(stamps)


def _reread_dlt_configuration() -> None:
    # dlt parses each TOML file once per process; a fresh provider set reads them again.
    from dlt.common.configuration.container import Container
    from dlt.common.configuration.specs.pluggable_run_context import PluggableRunContext

    Container()[PluggableRunContext].reload_providers()


class ReloadingTokens:
    """The receiver's token table, re-resolved (push_tokens) when a configuration file changes.

    Fails closed: when the changed configuration cannot be read (a file caught half-written, a token too short, a
    TOML error), no token is accepted, neither old nor new, and every push is answered 503, which all senders retry,
    so nothing is lost and a token being rotated out is not honoured in the meantime. The next check reads again.
    """

    def __init__(
        self,
        tokens: dict[str, str],
        files: list[Path] | None = None,
        check_seconds: float = RELOAD_CHECK_SECONDS,
        resolve: Callable[[], dict[str, str]] = push_tokens,
    ) -> None:
        self._files = config_files() if files is None else files
        self._signature = _signature(self._files)
        self._table = TokenTable(tokens)
        self._check_seconds = check_seconds
        self._resolve = resolve
        self._checked_at = time.monotonic()
        self._problem: str | None = None
        self._lock = threading.Lock()

    def __bool__(self) -> bool:
        return bool(self._table)

    def instance_for(self, presented: str) -> str | None:
        self._refresh()
        if self._problem is not None:
            raise TokensUnavailable(self._problem)
        return self._table.instance_for(presented)

    def _refresh(self) -> None:
        if time.monotonic() - self._checked_at < self._check_seconds:
            return
        with self._lock:
            if time.monotonic() - self._checked_at < self._check_seconds:
                return  # another request just looked
            self._checked_at = time.monotonic()
            signature = _signature(self._files)  # taken before reading: a change during the read is seen next time
            if signature == self._signature and self._problem is None:
                return
            try:
                _reread_dlt_configuration()
                tokens = self._resolve()
            except ConfigurationError as exc:
                self._fail(str(exc))  # our own messages name the setting and the fix, never a token
                return
            except Exception as exc:  # any unreadable configuration fails closed the same way
                # Only the kind of error: a TOML parser's message quotes the offending line, which may be a secret.
                self._fail(f"{type(exc).__name__} while reading {', '.join(map(str, self._files))}")
                return
            self._table, self._signature, self._problem = TokenTable(tokens), signature, None
            log.warning("push tokens re-read after a configuration change: %d token(s)", len(tokens))

    def _fail(self, problem: str) -> None:
        self._problem = problem
        log.error("push tokens could not be re-read; answering 503 until the configuration is fixed: %s", problem)
