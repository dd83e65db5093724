"""The fast path from a pushed event to its alert: after the push spool is drained, build only the models between
ThoughtSpot's staging and compliance.findings, then send the new findings.

The scheduled refresh still builds and tests everything every 15 minutes; this path exists so that a brute force
or a self-grant that arrives by push is alerted within about a minute, not at the next refresh. It runs only when
alerts are on (AUDITLAKE_ALERT_WEBHOOK_URL) and the drain loaded something new. `dbt run` (not build) on this
selection: the data tests run in the refresh; a finding alerted here is the same row (same key) the refresh keeps.
"""

from __future__ import annotations

from collections.abc import Callable

from pipelines import settings
from pipelines.evidence.alert_webhook import AlertReport

# Models downstream of the pushed table's staging and upstream of the findings: the incremental fact, the marts
# the findings read, the findings.
FAST_PATH_SELECTION = "stg_thoughtspot__security_audit_events+,+findings"


def alert_on_drained(progress: Callable[[str], None] = print) -> AlertReport | None:
    """Build the findings from what was just drained and send the new ones; None when alerts are off."""
    from pipelines.evidence.alert_config import load_settings
    from pipelines.evidence.alert_webhook import run_alerts
    from pipelines.warehouse.dbt_runner import run_dbt
    from pipelines.warehouse.locks import warehouse_write_lock

    alert_settings = load_settings()
    if not alert_settings.webhook_url:
        return None
    # Its own target folder: the evidence pack reads the refresh's run_results.json, not this partial run's.
    target = settings.DBT_PROJECT_DIR / "target" / "fast_alerts"
    with warehouse_write_lock():
        run_dbt(["run", "--select", FAST_PATH_SELECTION, "--target-path", str(target)])
    report = run_alerts(settings=alert_settings)
    progress(f"fast path: {report.line()}")
    return report
