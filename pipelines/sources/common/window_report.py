"""Per-window counts: the ingest_windows row (coverage evidence) and the progress log line."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

import pyarrow as pa

from pipelines.sources import raw_tables
from pipelines.sources.common.windows import Window

# Per-window progress goes here; the ingest runner listens to it, a plain script can too.
progress_logger = logging.getLogger("auditlake.ingest")


@dataclass
class WindowStats:
    """What one window yielded. In a re-read (`reread`), `new_events` and `duplicates` count only what
    this run saw twice; `common.reread_accounting` corrects them from the load once it is committed."""

    source: str
    source_instance: str
    window: Window
    events_table: str = ""
    time_column: str = ""
    reread: bool = False
    org_id: int | None = None  # the vendor org read; None: the whole instance (every org at once, or no orgs)
    fetched: int = 0
    new_events: int = 0
    duplicates: int = 0
    quarantined: int = 0

    def table(self, now: datetime) -> pa.Table:
        return pa.Table.from_pylist(
            [
                {
                    "source_instance": self.source_instance,
                    "org_id": self.org_id,
                    "window_start": self.window.start,
                    "window_end": self.window.end,
                    "fetched": self.fetched,
                    "new_events": self.new_events,
                    "duplicates": self.duplicates,
                    "quarantined": self.quarantined,
                    "fetched_at": now,
                }
            ],
            schema=raw_tables.WINDOWS_SCHEMA,
        )

    def report(self) -> None:
        progress_logger.info(
            "%s %s%s window %s .. %s: fetched %d, %s %d, duplicates %d, quarantined %d",
            self.source,
            self.source_instance,
            "" if self.org_id is None else f" org {self.org_id}",
            self.window.start.strftime("%Y-%m-%dT%H:%M:%SZ"),
            self.window.end.strftime("%Y-%m-%dT%H:%M:%SZ"),
            self.fetched,
            "emitted" if self.reread else "new",
            self.new_events,
            self.duplicates,
            self.quarantined,
            extra={"window_stats": self},
        )
