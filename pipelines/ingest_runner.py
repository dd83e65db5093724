"""Run the registered dlt sources into the warehouse: the glue `auditlake ingest` and the Dagster assets share.

One dlt pipeline per source, writing its raw dataset in the DuckDB file from AUDITLAKE_WAREHOUSE.
The sources themselves know nothing of this module.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Callable, Iterable, Optional

from pipelines import settings
from pipelines.sources import registry


@dataclass
class IngestSummary:
    source: str
    source_instance: Optional[str] = None
    new_events: int = 0
    duplicates: int = 0
    quarantined: int = 0
    windows: int = 0
    window_start: Optional[datetime] = None
    window_end: Optional[datetime] = None
    error: Optional[str] = None  # None on success
    skipped: bool = False  # credentials absent: nothing attempted
    notice: str = ""  # for a skipped source: which variables to set
    snapshot: Optional[str] = None  # state sources: what the complete snapshot held

    @property
    def ok(self) -> bool:
        return self.error is None

    def line(self) -> str:
        if self.skipped:
            return self.notice or f"{self.source}: skipped, not configured"
        name = f"{self.source} ({self.source_instance})" if self.source_instance else self.source
        if self.error:
            return f"{name}: FAILED: {self.error}"
        if self.snapshot:
            return f"{name}: {self.snapshot}"
        span = ""
        if self.window_start and self.window_end:
            span = f" ({_fmt(self.window_start)} .. {_fmt(self.window_end)})"
        return (
            f"{name}: {self.new_events} new events, {self.duplicates} re-read duplicates absorbed, "
            f"{self.quarantined} quarantined records, {self.windows} windows covered{span}"
        )


def _fmt(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def make_pipeline(source: str):  # -> dlt.Pipeline
    import dlt

    spec = registry.get(source)
    warehouse = settings.warehouse_path()
    warehouse.parent.mkdir(parents=True, exist_ok=True)
    return dlt.pipeline(
        pipeline_name=f"auditlake_{source}",
        destination=dlt.destinations.duckdb(str(warehouse)),
        dataset_name=spec.dataset,
        pipelines_dir=str(settings.pipelines_dir()),
    )


def _source_factory(source: str) -> Callable[..., Any]:
    return registry.get(source).factory()


def _unwrap(exc: BaseException) -> BaseException:
    """dlt wraps errors raised in a source (PipelineStepFailed, ResourceExtractionError...): find ours."""
    from pipelines.sources.common.errors import SourceError, SourceNotConfigured

    seen = set()
    current: Optional[BaseException] = exc
    while current is not None and id(current) not in seen:
        if isinstance(current, (SourceError, SourceNotConfigured)):
            return current
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return exc


def was_interrupted(exc: BaseException) -> bool:
    """dlt wraps a Ctrl-C raised inside a source (PipelineStepFailed from KeyboardInterrupt): an interrupt, not a failure."""
    seen: set[int] = set()
    current: Optional[BaseException] = exc
    while current is not None and id(current) not in seen:
        if isinstance(current, KeyboardInterrupt):
            return True
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return False


def error_line(exc: BaseException) -> str:
    """One line for the console: our own message (cause and fix), else the innermost cause, secrets scrubbed."""
    from pipelines.sources.common.redaction import scrub

    return _error_line(exc, scrub)


def _error_line(exc: BaseException, scrub: Callable[[str], str]) -> str:
    """One line for the summary: our own message, else the innermost cause (dlt's wrappers say little)."""
    inner = _unwrap(exc)
    if inner is exc:
        while inner.__cause__ is not None:
            inner = inner.__cause__
    text = scrub(str(inner)).strip()
    first = text.splitlines()[0] if text else ""
    if inner is not exc and not isinstance(inner, _own_errors()):
        first = f"{type(inner).__name__}: {first}"
    return (first or type(inner).__name__)[:500]


def _own_errors() -> tuple[type, ...]:
    from pipelines.sources.common.errors import SourceError, SourceNotConfigured

    return (SourceError, SourceNotConfigured)


def build_source(
    source: str,
    progress: Callable[[str], None] = print,
    since: Optional[str] = None,
    until: Optional[str] = None,
    **overrides: Any,
):  # -> DltSource | None
    """The configured dlt source, or None (after a one-line notice) when its credentials are absent.

    since: re-read (backfill) [since, until or now] without moving the saved cursor; already-loaded
        events are counted as duplicates and not loaded twice. None: the normal incremental run.
    until: end of the last window (default now).
    Misconfiguration other than absence (http:// to a remote host, bad values, a since older than the
    vendor's retention or after until) raises SourceError.
    Other `overrides` go to the source function (e.g. start=..., overlap_minutes=...).
    """
    from pipelines.sources.common.errors import SourceNotConfigured

    factory = _source_factory(source)
    if since is not None:
        overrides["since"] = since
    if until is not None:
        overrides["until"] = until
    try:
        return factory(**overrides)
    except Exception as exc:  # dlt may wrap what the source function raised
        inner = _unwrap(exc)
        if isinstance(inner, SourceNotConfigured):
            progress(str(inner))
            return None
        if inner is not exc:
            raise inner from None
        raise


class _WindowCollector(logging.Handler):
    """Receives the sources' per-window records: forwards the text, keeps the numbers."""

    def __init__(self, progress: Callable[[str], None]):
        super().__init__(level=logging.INFO)
        self.progress = progress
        self.windows: list[Any] = []
        self.snapshots: list[Any] = []

    def emit(self, record: logging.LogRecord) -> None:
        stats = getattr(record, "window_stats", None)
        if stats is not None:
            self.windows.append(stats)
        snapshot = getattr(record, "snapshot_stats", None)
        if snapshot is not None:
            self.snapshots.append(snapshot)
        try:
            self.progress(record.getMessage())
        except Exception:  # progress display must never break a load
            pass


def run_ingest(
    sources: Iterable[str] | None = None,
    progress: Callable[[str], None] = print,
    **overrides: Any,
) -> list[IngestSummary]:
    """Run each configured source's pipeline in turn; never raises for one source's failure."""
    from pipelines.sources.common.log_filters import install_log_filters
    from pipelines.sources.common.redaction import scrub
    from pipelines.sources.common.reread_accounting import enable_load_ids, settle_reread_counts
    from pipelines.sources.common.window_report import progress_logger

    install_log_filters()
    summaries = []
    for source in registry.names() if sources is None else sources:
        summary = IngestSummary(source=source)
        collector = _WindowCollector(progress)
        progress_logger.addHandler(collector)
        previous_level = progress_logger.level
        progress_logger.setLevel(logging.INFO)
        try:
            notices: list[str] = []

            def notice(line: str) -> None:
                notices.append(line)
                progress(line)

            dlt_source = build_source(source, progress=notice, **overrides)
            if dlt_source is None:
                summary.skipped = True
                summary.notice = " ".join(notices)
                summaries.append(summary)
                continue
            pipeline = make_pipeline(source)
            enable_load_ids()
            # Arrow items are written as parquet; the few dict items (dlt's own state) likewise.
            info = pipeline.run(dlt_source, loader_file_format="parquet")
            settle_reread_counts(pipeline, info.loads_ids, collector.windows)
        except Exception as exc:  # one source failing must not stop the other
            if was_interrupted(exc):
                raise KeyboardInterrupt from None
            summary.error = _error_line(exc, scrub)
        finally:
            progress_logger.removeHandler(collector)
            progress_logger.setLevel(previous_level)
        _fill(summary, collector.windows)
        if collector.snapshots and not summary.error:
            snap = collector.snapshots[-1]
            summary.source_instance = snap.source_instance
            counts = ", ".join(f"{len(rows)} {table}" for table, rows in snap.tables.items())
            summary.snapshot = f"complete snapshot at {_fmt(snap.snapshot_at)}: {counts}"
        summaries.append(summary)
    return summaries


def _fill(summary: IngestSummary, windows: list[Any]) -> None:
    # A failed run loads nothing (state and rows are committed together), so report no counts.
    if not windows or summary.error:
        summary.windows = len(windows) if not summary.error else 0
        return
    summary.source_instance = windows[0].source_instance
    summary.windows = len(windows)
    summary.new_events = sum(w.new_events for w in windows)
    summary.duplicates = sum(w.duplicates for w in windows)
    summary.quarantined = sum(w.quarantined for w in windows)
    summary.window_start = min(w.window.start for w in windows)
    summary.window_end = max(w.window.end for w in windows)
