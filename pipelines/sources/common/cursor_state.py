"""Where a source instance has read up to, and one run over its windows.

The cursor and the ids seen inside the overlap horizon live in dlt resource state, which dlt commits
in the same load package as the rows: the cursor moves only when the data it covers is loaded.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import dlt
import pyarrow as pa

from pipelines import settings
from pipelines.sources import raw_tables
from pipelines.sources.common.arrow_batches import drop_repeated
from pipelines.sources.common.quarantine import Quarantined, quarantine_table, unseen_quarantined
from pipelines.sources.common.table_hints import emit
from pipelines.sources.common.window_report import WindowStats, progress_logger
from pipelines.sources.common.windows import RunBounds, Window, iso_z, plan_windows, to_epoch_ms, within_retention

_UNWORTHY_OF_WARNING = timedelta(minutes=5)


@dataclass
class InstanceState:
    """The per-instance cursor and the ids seen inside the overlap horizon, kept in dlt resource state."""

    raw: dict[str, Any]
    overlap: timedelta
    seen: dict[str, int] = field(init=False)  # event id (or "sha256:<hash>" of a quarantined record) -> epoch ms

    def __post_init__(self) -> None:
        self.seen = dict(self.raw.get("seen") or {})

    @classmethod
    def for_instance(cls, state_key: str, overlap: timedelta) -> InstanceState:
        """Must be called while dlt extracts (resource state exists only then)."""
        state = dlt.current.resource_state()
        instances = state.setdefault("instances", {})
        return cls(instances.setdefault(state_key, {}), overlap)

    @property
    def cursor(self) -> datetime | None:
        value = self.raw.get("cursor")
        return settings.parse_utc(value) if value else None

    def first_window_start(self, backfill_start: datetime) -> datetime:
        cursor = self.cursor
        return backfill_start if cursor is None else cursor - self.overlap

    def window_done(self, window: Window) -> None:
        """Advance the cursor past a fully fetched window and forget ids older than the next overlap."""
        horizon = to_epoch_ms(window.end - self.overlap)
        self.seen = {event_id: at for event_id, at in self.seen.items() if at >= horizon}
        self.raw["cursor"] = iso_z(window.end)
        self.raw["seen"] = self.seen


class WindowRun:
    """One run of a source over one instance: which windows to read and what in them to emit.

    Incremental (no `since`): from the saved cursor minus the overlap (first run: `first_start`) to
    `until`/now; the cursor and the overlap ids live in dlt resource state and move with each window.

    Re-read (`since`): every window of [since, until/now], for backfilling a gap or restoring deleted
    rows. Resource state is neither read nor written, so the cursor and its overlap ids stay exactly
    as they were. Every fetched event is emitted (only repeats inside this run are dropped) and the
    insert-only merge on (source_instance, id) absorbs what is already loaded; how many that was is
    counted after the load, from the load itself (`common.reread_accounting`). Nothing here reads the
    warehouse: data flows one way.

    Must be created inside the resource function (dlt's resource state exists only during extract).
    """

    def __init__(
        self,
        source: str,
        source_instance: str,
        events_table: str,
        time_column: str,
        bounds: RunBounds,
        state: InstanceState | None = None,
        state_key: str | None = None,
        org_id: int | None = None,
    ):
        """`state`: the saved state; default: read from dlt's resource state under `state_key` (default the
        source instance). `org_id`: the vendor org this run reads (None: the whole instance)."""
        self.source = source
        self.source_instance = source_instance
        self.org_id = org_id
        self.events_table = events_table
        self.time_column = time_column
        self.bounds = bounds
        self.reread = bounds.since is not None
        self._run_seen: dict[str, int] = {}
        if self.reread:
            self._state = None
        else:
            self._state = state or InstanceState.for_instance(state_key or source_instance, bounds.overlap)

    @property
    def seen(self) -> dict[str, int]:
        return self._run_seen if self._state is None else self._state.seen

    def windows(self) -> list[Window]:
        now = self.bounds.asked_at
        end = self.bounds.until or now
        if self._state is None:
            assert self.bounds.since is not None
            # Refused earlier when beyond retention.
            return self._batch(plan_windows(self.bounds.since, end, self.bounds.window))
        if self.bounds.resume and self._state.cursor is not None:
            begin = self._state.cursor
        else:
            begin = self._state.first_window_start(self.bounds.first_start or settings.backfill_start(end))
        wanted = begin
        begin, horizon = within_retention(begin, self.bounds.retention, now)
        # The default first start is the horizon itself (computed a moment earlier): nothing to warn about.
        if horizon is not None and horizon - wanted > _UNWORTHY_OF_WARNING:
            self._warn_unrecoverable(horizon)
        return self._batch(plan_windows(begin, end, self.bounds.window))

    def _batch(self, windows: list[Window]) -> list[Window]:
        limit = self.bounds.max_windows
        return windows if limit is None else windows[:limit]

    def _warn_unrecoverable(self, horizon: datetime) -> None:
        retention = self.bounds.retention
        days = retention.days if retention is not None else 0
        if self._state is not None and self._state.cursor is not None:
            what = f"the saved cursor ({iso_z(self._state.cursor)})"
        elif self.bounds.first_start is not None:
            what = f"start ({iso_z(self.bounds.first_start)})"
        else:
            what = f"{settings.ENV_START}"
        progress_logger.warning(
            "%s %s: %s is older than the vendor's %d-day retention: events before %s are unrecoverable; "
            "reading (and coverage) starts there",
            self.source,
            self.source_instance,
            what,
            days,
            iso_z(horizon),
        )

    def settle(
        self, window: Window, events: pa.Table, quarantined: list[Quarantined], fetched: int, loaded_at: datetime
    ) -> Iterator[Any]:
        """Emit one fully fetched window: its new events, its new quarantined records, its ingest_windows
        row; then move the cursor past it and report it. Call only once the whole window is in hand."""
        keep_from = to_epoch_ms(window.end - self.bounds.overlap)
        events, duplicates = drop_repeated(events, self.time_column, self.seen, keep_from)
        quarantined = unseen_quarantined(quarantined, self.seen, window)
        stats = WindowStats(
            self.source,
            self.source_instance,
            window,
            self.events_table,
            self.time_column,
            self.reread,
            org_id=self.org_id,
            fetched=fetched,
            new_events=events.num_rows,
            duplicates=duplicates,
            quarantined=len(quarantined),
        )
        if events.num_rows:
            yield emit(events, self.events_table)
        if quarantined:
            yield emit(
                quarantine_table(self.source_instance, quarantined, window, loaded_at), raw_tables.QUARANTINE_TABLE
            )
        yield emit(stats.table(loaded_at), raw_tables.WINDOWS_TABLE)
        self._window_done(window)
        stats.report()

    def _window_done(self, window: Window) -> None:
        if self._state is not None:
            self._state.window_done(window)
        else:  # a re-read only needs the ids a following window may serve again
            horizon = to_epoch_ms(window.end - self.bounds.overlap)
            self._run_seen = {key: at for key, at in self._run_seen.items() if at >= horizon}
