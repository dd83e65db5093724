"""Send queued findings to AUDITLAKE_ALERT_WEBHOOK_URL: POST JSON, retried with exponential backoff, at most once
per finding key (alert_outbox); the URL is a secret and appears in no log, error or table.

The run's order: queue new findings and claim them under the warehouse writer lock (short), POST without holding
it (a slow webhook never blocks loads), then record the outcome under the lock again. A process killed between a
successful POST and that record would resend the finding on the next run: each request therefore carries the
finding key as `Idempotency-Key`, so a receiver can drop such a repeat.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import requests

from pipelines.evidence import alert_outbox
from pipelines.evidence.alert_config import AlertSettings, load_settings, redact

log = logging.getLogger(__name__)


class DeliveryError(Exception):
    """One POST failed; the message names the status or error, never the URL."""


@dataclass
class AlertReport:
    enabled: bool
    queued: list[str] = field(default_factory=list)
    sent: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)

    def line(self) -> str:
        if not self.enabled:
            return "alerts: off (set AUDITLAKE_ALERT_WEBHOOK_URL to post new findings)"
        failed = f", {len(self.failed)} failed (retried next run)" if self.failed else ""
        return f"alerts: {len(self.queued)} new finding(s) queued, {len(self.sent)} sent{failed}"


def post_once(url: str, payload: str, key: str, timeout: float = 10.0) -> None:
    try:
        response = requests.post(
            url,
            data=payload.encode(),
            headers={"Content-Type": "application/json", "Idempotency-Key": key, "User-Agent": "auditlake-alerts"},
            timeout=timeout,
        )
    except requests.RequestException as exc:
        # requests puts the URL in most of its messages: name the kind of failure and the host only
        raise DeliveryError(f"{type(exc).__name__} posting to {redact(url)}") from None
    if response.status_code >= 300:
        raise DeliveryError(f"{redact(url)} answered HTTP {response.status_code}")


def post_with_retries(
    url: str, payload: str, key: str, attempts: int, backoff: float, sleep: Callable[[float], None] = time.sleep
) -> tuple[int, str | None]:
    """(attempts made, last error or None when delivered)."""
    error: str | None = None
    for attempt in range(1, attempts + 1):
        try:
            post_once(url, payload, key)
            return attempt, None
        except DeliveryError as exc:
            error = str(exc)
            log.warning("alert %s: attempt %d/%d failed: %s", key[:12], attempt, attempts, error)
            if attempt < attempts:
                sleep(backoff * 2 ** (attempt - 1))
    return attempts, error


def run_alerts(warehouse: Path | None = None, settings: AlertSettings | None = None) -> AlertReport:
    """Queue the new open findings and post every pending one. Call after dbt built compliance.findings."""
    from pipelines.warehouse.write_connection import open_for_writing

    settings = settings or load_settings()
    if not settings.webhook_url:
        # nothing is queued either: findings found while alerts were off must still alert once they are switched on
        return AlertReport(enabled=False)
    report = AlertReport(enabled=True)
    with open_for_writing(warehouse) as con:
        report.queued = alert_outbox.queue_new_findings(con, settings)
        claimed = alert_outbox.claim_pending(con)
    outcomes = []
    for key, payload, previous in claimed:
        made, error = post_with_retries(
            settings.webhook_url, payload, key, settings.max_attempts, settings.backoff_seconds
        )
        outcomes.append((key, previous + made, error))
        if error is None:
            report.sent.append(key)
        else:
            report.failed[key] = error
    if outcomes:
        with open_for_writing(warehouse) as con:
            for key, attempts, error in outcomes:
                alert_outbox.record_attempt(con, key, attempts, error)
    return report
