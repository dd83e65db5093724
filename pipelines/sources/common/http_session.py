"""HTTP sessions for the vendor clients: dlt's retrying session, with our timeout and dlt's runtime settings.

dlt's RESTClient builds its own session with library defaults (60 s timeout, 5 attempts) whatever
RUNTIME__REQUEST_* says; here the runtime settings are resolved and the timeout is the source's own
(SOURCES__<SOURCE>__REQUEST_TIMEOUT_SECONDS: ThoughtSpot's own tools wait 300 s for one window).
Sessions are per thread (dlt's Client keeps one per thread), so windows can be fetched concurrently.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from pipelines.sources.common.errors import SourceError

DEFAULT_REQUEST_TIMEOUT_SECONDS = 300.0


def check_timeout(seconds: float, variable: str) -> float:
    try:
        value = float(seconds)
    except (TypeError, ValueError):
        raise SourceError(f"{variable} must be a number of seconds (got {seconds!r})") from None
    if not 0 < value <= 3600:
        raise SourceError(f"{variable} must be between 0 and 3600 seconds (got {seconds!r})")
    return value


def retrying_client(timeout_seconds: float) -> Any:
    """dlt's requests Client: retries 429/5xx/timeouts/dropped connections with backoff, honours Retry-After."""
    from dlt.common.configuration import resolve_configuration
    from dlt.common.configuration.specs.runtime_configuration import RuntimeConfiguration
    from dlt.sources.helpers.requests.retry import Client

    runtime = resolve_configuration(RuntimeConfiguration())
    from pipelines.sources.common.url_safety import CONNECT_TIMEOUT_SECONDS

    return Client(
        # A short connect timeout (an unreachable host fails fast), the long read timeout for one window.
        request_timeout=(min(CONNECT_TIMEOUT_SECONDS, timeout_seconds), timeout_seconds),
        raise_for_status=False,  # the clients explain each status themselves
        request_max_attempts=runtime.request_max_attempts,
        request_backoff_factor=runtime.request_backoff_factor,
        request_max_retry_delay=runtime.request_max_retry_delay,
    )


class PerThread:
    """One object per thread, built on first use by `factory` (e.g. a RESTClient on that thread's session)."""

    def __init__(self, factory: Callable[[], Any]):
        self._factory = factory
        self._local = threading.local()

    def get(self) -> Any:
        value = getattr(self._local, "value", None)
        if value is None:
            value = self._local.value = self._factory()
        return value
