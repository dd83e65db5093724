"""Alert settings: the webhook (a secret), the severity threshold, per-kind severity overrides and retries.

Each is read from the environment first, then from dlt's configuration (`.dlt/config.toml` / `.dlt/secrets.toml`,
section [auditlake.alerts]), at call time.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from pipelines.settings import ConfigurationError

ENV_WEBHOOK_URL = "AUDITLAKE_ALERT_WEBHOOK_URL"
ENV_MIN_SEVERITY = "AUDITLAKE_ALERT_MIN_SEVERITY"
ENV_MAX_ATTEMPTS = "AUDITLAKE_ALERT_MAX_ATTEMPTS"
ENV_BACKOFF_SECONDS = "AUDITLAKE_ALERT_BACKOFF_SECONDS"
# AUDITLAKE_ALERT_SEVERITY__BRUTE_FORCE_BY_IP=critical overrides one kind's severity
ENV_SEVERITY_PREFIX = "AUDITLAKE_ALERT_SEVERITY__"

SEVERITIES = ("info", "low", "medium", "high", "critical")


@dataclass(frozen=True)
class AlertSettings:
    webhook_url: str | None
    min_severity: str = "medium"
    severity_overrides: dict[str, str] = field(default_factory=dict)
    max_attempts: int = 4
    backoff_seconds: float = 1.0

    def severity_of(self, kind: str, default: str) -> str:
        return self.severity_overrides.get(kind, default)

    def alerts(self, severity: str) -> bool:
        return SEVERITIES.index(severity) >= SEVERITIES.index(self.min_severity) if severity in SEVERITIES else True


def _dlt_value(key: str) -> Any:
    try:
        import dlt

        return dlt.config.get(f"auditlake.alerts.{key}") or dlt.secrets.get(f"auditlake.alerts.{key}")
    except Exception:  # no .dlt folder, or a malformed one: the environment is the only source then
        return None


def _severity(value: str, where: str) -> str:
    value = value.strip().lower()
    if value not in SEVERITIES:
        raise ConfigurationError(f"{where}={value!r} is not a severity: use one of {', '.join(SEVERITIES)}")
    return value


def severity_overrides() -> dict[str, str]:
    """kind -> configured severity (the environment wins over [auditlake.alerts.severity]); what alerts send and
    `auditlake findings` shows instead of the seed's default."""
    overrides: dict[str, str] = {}
    configured = _dlt_value("severity")
    if isinstance(configured, dict):
        overrides.update({k: _severity(str(v), f"[auditlake.alerts.severity] {k}") for k, v in configured.items()})
    for name, value in os.environ.items():
        if name.startswith(ENV_SEVERITY_PREFIX):
            overrides[name[len(ENV_SEVERITY_PREFIX) :].lower()] = _severity(value, name)
    return overrides


def load_settings() -> AlertSettings:
    url = os.environ.get(ENV_WEBHOOK_URL) or _dlt_value("webhook_url") or None
    if url and urlsplit(str(url)).scheme not in ("http", "https"):
        raise ConfigurationError(f"{ENV_WEBHOOK_URL} must be an http(s) URL (got a value starting {redact(str(url))})")
    minimum = _severity(
        str(os.environ.get(ENV_MIN_SEVERITY) or _dlt_value("min_severity") or "medium"), ENV_MIN_SEVERITY
    )
    overrides = severity_overrides()
    try:
        attempts = int(os.environ.get(ENV_MAX_ATTEMPTS) or _dlt_value("max_attempts") or 4)
        backoff = float(os.environ.get(ENV_BACKOFF_SECONDS) or _dlt_value("backoff_seconds") or 1.0)
    except ValueError:
        raise ConfigurationError(f"{ENV_MAX_ATTEMPTS} must be an integer and {ENV_BACKOFF_SECONDS} a number") from None
    return AlertSettings(str(url) if url else None, minimum, overrides, max(1, attempts), max(0.0, backoff))


def redact(url: str) -> str:
    """What may be shown of the webhook: scheme and host. Slack-style URLs carry their secret in the path."""
    parts = urlsplit(url)
    host = parts.hostname or "?"
    return f"{parts.scheme or '?'}://{host}/***"
