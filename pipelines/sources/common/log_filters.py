"""Logging filters an entry point installs once (CLI, ingest runner, Dagster definitions), never an import.

Importing a source must not change a host application's logging; running auditlake must never log a
secret. So each entry point calls `install_log_filters()`; calling it again does nothing.
"""

from __future__ import annotations

import logging
import threading

from pipelines.sources.common.redaction import ScrubFilter

_installed = False
_lock = threading.Lock()

# Loggers whose records may carry request details: dlt's own and ours.
REDACTED_LOGGERS = ("dlt", "auditlake")


class ExpectedArrowHintFilter(logging.Filter):
    """Drops dlt's warning that our JSON column hints differ from the Arrow string type: that is by design."""

    def __init__(self, resources: tuple[str, ...]):
        super().__init__()
        self.resources = resources

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        return not (
            "when merging arrow schema with dlt schema" in message
            and any(f"resource: {name}," in message for name in self.resources)
        )


def install_log_filters() -> None:
    """Scrub secrets from dlt / auditlake log records and drop dlt's expected Arrow-hint warning. Idempotent."""
    global _installed
    with _lock:
        if _installed:
            return
        from pipelines.sources import raw_tables  # pyarrow: not at import, so `auditlake --help` stays fast

        for name in REDACTED_LOGGERS:
            logging.getLogger(name).addFilter(ScrubFilter())
        logging.getLogger("dlt").addFilter(ExpectedArrowHintFilter(raw_tables.EVENT_TABLES))
        _installed = True
