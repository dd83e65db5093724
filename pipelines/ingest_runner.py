"""Run the registered dlt sources into the warehouse: the glue `auditlake ingest` and the Dagster assets share.

One dlt pipeline per source, writing its raw dataset in the DuckDB file from AUDITLAKE_WAREHOUSE.
The sources themselves know nothing of this module.
"""

from __future__ import annotations

import contextlib
import inspect
import logging
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pipelines import settings
from pipelines.ingest_batches import BATCHING_ARGUMENTS, batch_windows
from pipelines.ingest_errors import IngestInterrupted, scrubbed_error_line, unwrap_source_error, was_interrupted
from pipelines.ingest_recovery import drop_retried_copies
from pipelines.sources import registry
from pipelines.sources.instances import SourceInstance, select_instances


@dataclass
class IngestSummary:
    source: str
    source_instance: str | None = None
    instance: str | None = None  # the configured instance's name (None: the implicit single instance)
    fetched: int = 0
    new_events: int = 0
    duplicates: int = 0
    quarantined: int = 0
    windows: int = 0
    window_start: datetime | None = None
    window_end: datetime | None = None
    error: str | None = None  # None on success
    skipped: bool = False  # credentials absent: nothing attempted
    notice: str = ""  # for a skipped source: which variables to set
    snapshot: str | None = None  # state sources: what the complete snapshot held

    @property
    def ok(self) -> bool:
        return self.error is None

    def line(self) -> str:
        if self.skipped:
            return self.notice or f"{self.source}: skipped, not configured"
        name = self.source if self.instance is None else f"{self.source} {self.instance}"
        name = f"{name} ({self.source_instance})" if self.source_instance else name
        if self.error:
            kept = (
                f" (kept {self.windows} windows up to {_fmt(self.window_end)})"
                if self.windows and self.window_end
                else ""
            )
            return f"{name}: FAILED{kept}: {self.error}"
        if self.snapshot:
            return f"{name}: {self.snapshot}"
        span = ""
        if self.window_start and self.window_end:
            span = f" ({_fmt(self.window_start)} .. {_fmt(self.window_end)})"
        return (
            f"{name}: {self.new_events} new events, {self.duplicates} re-read duplicates absorbed, "
            f"{self.quarantined} quarantined records, {self.windows} windows covered{span}"
        )

    def metadata(self) -> dict[str, Any]:
        """What Dagster records on the source's assets (and `auditlake run` prints)."""
        named = {} if self.instance is None else {"instance": self.instance}
        if self.snapshot:  # a state source: the complete snapshot, no windows
            return {"source": self.source, **named, "source_instance": self.source_instance, "snapshot": self.snapshot}
        return {
            "source": self.source,
            **named,
            "windows": self.windows,
            "fetched": self.fetched,
            "new_events": self.new_events,
            "duplicates_absorbed": self.duplicates,
            "quarantined": self.quarantined,
            "covered_from": self.window_start.isoformat() if self.window_start else None,
            "covered_until": self.window_end.isoformat() if self.window_end else None,
        }


def _fmt(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def make_pipeline(source: str, instance: SourceInstance | None = None):  # -> dlt.Pipeline
    """The dlt pipeline (and its state) of one instance of a source; all instances write the same raw dataset."""
    import dlt

    from pipelines.warehouse import catalog_guard, engine

    spec = registry.get(source)
    # Fails here, before anything is fetched, on an unreachable catalog or an unwritable data path.
    warehouse = catalog_guard.prepare_for_writing()
    warehouse.home.mkdir(parents=True, exist_ok=True)
    return dlt.pipeline(
        pipeline_name=instance.pipeline_name(source) if instance else f"auditlake_{source}",
        destination=engine.dlt_destination(warehouse),
        dataset_name=spec.dataset,
        pipelines_dir=str(settings.pipelines_dir()),
    )


def _source_factory(source: str) -> Callable[..., Any]:
    return registry.get(source).factory()


def _kept_line(source: str, kept: list[Any]) -> str:
    if not kept:
        return f"{source}: no window had been committed in this run; the next run starts from the saved cursor"
    end = max(w.window.end for w in kept)
    return f"{source}: kept {len(kept)} finished windows up to {_fmt(end)}; the next run resumes there"


def build_source(
    source: str,
    progress: Callable[[str], None] = print,
    since: str | None = None,
    until: str | None = None,
    instance: SourceInstance | None = None,
    **overrides: Any,
):  # -> DltSource | None
    """The configured dlt source, or None (after a one-line notice) when its credentials are absent.

    since: re-read (backfill) [since, until or now] without moving the saved cursor; already-loaded
        events are counted as duplicates and not loaded twice. None: the normal incremental run.
    until: end of the last window (default now).
    Misconfiguration other than absence (http:// to a remote host, bad values, a since older than the
    vendor's retention or after until) raises SourceError.
    instance: a named instance's own settings are passed explicitly (the implicit one lets dlt resolve them); a
        named instance missing its credentials is an error, not a skip: it was listed to be read.
    Other `overrides` go to the source function (e.g. start=..., overlap_minutes=...).
    """
    from pipelines.sources.common.errors import SourceError, SourceNotConfigured

    factory = _source_factory(source)
    if instance is not None:
        overrides = {**instance.factory_arguments(inspect.signature(factory).parameters), **overrides}
    if since is not None:
        overrides["since"] = since
    if until is not None:
        overrides["until"] = until
    # Batching is optional for a source: one whose factory takes no `max_windows` / `resume` loads in one go.
    accepted = inspect.signature(factory).parameters
    for optional in BATCHING_ARGUMENTS:
        if optional not in accepted:
            overrides.pop(optional, None)
    try:
        return factory(**overrides)
    except Exception as exc:  # dlt may wrap what the source function raised
        inner = unwrap_source_error(exc)
        if isinstance(inner, SourceNotConfigured):
            if instance is not None and instance.name is not None:
                raise SourceError(
                    instance.localize(f"instance {instance.name!r} is listed but {str(inner).partition(': ')[2]}")
                ) from None
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

    def emit(self, record: logging.LogRecord) -> None:
        stats = getattr(record, "window_stats", None)
        if stats is not None:
            self.windows.append(stats)
        try:
            self.progress(record.getMessage())
        except Exception:  # progress display must never break a load
            pass


@contextlib.contextmanager
def window_accounting(pipeline: Any, progress: Callable[[str], None] = lambda _: None) -> Iterator[list[Any]]:
    """Around one `pipeline.run` of a source (also dagster-dlt's `dlt.run`): secrets scrubbed from logs, dlt
    told to stamp `_dlt_load_id`, each window's stats collected (the yielded list), and after the load a
    re-read's counts corrected from the load itself. Without it a re-read reports emitted rows as new."""
    from pipelines.sources.common.log_filters import install_log_filters
    from pipelines.sources.common.reread_accounting import enable_load_ids, settle_reread_counts
    from pipelines.sources.common.window_report import progress_logger

    install_log_filters()
    enable_load_ids()
    collector = _WindowCollector(progress)
    progress_logger.addHandler(collector)
    previous_level = progress_logger.level
    progress_logger.setLevel(logging.INFO)
    try:
        yield collector.windows
    finally:
        progress_logger.removeHandler(collector)
        progress_logger.setLevel(previous_level)
    trace = pipeline.last_trace
    info = trace.last_load_info if trace is not None else None
    if info is not None:
        settle_reread_counts(pipeline, info.loads_ids, collector.windows)


def run_ingest(
    sources: Iterable[str] | None = None,
    progress: Callable[[str], None] = print,
    instance: str | None = None,
    **overrides: Any,
) -> list[IngestSummary]:
    """Run each configured source's pipeline in turn, one per instance (tenant); never raises for one source's or
    one instance's failure: each gets its own summary. `instance`: only the instances with that name.

    Each source is loaded in batches of `batch_windows()` windows, one dlt load (rows and cursor together)
    per batch, so a failure or Ctrl-C at window 9 of 30 keeps 8 and the next run resumes after them.
    """
    from pipelines.sources.common.log_filters import install_log_filters

    install_log_filters()
    batch = batch_windows()
    with _loads_share_one_connection():
        return _ingest_each(sources, progress, instance, batch, overrides)


def _loads_share_one_connection() -> contextlib.AbstractContextManager[None]:
    """On the DuckDB file engine, every load of this run through one connection (dlt_duckdb_direct)."""
    from pipelines.warehouse import engine
    from pipelines.warehouse.dlt_duckdb_direct import one_connection_for_loads

    try:
        wh = engine.warehouse()
    except engine.ConfigurationError:  # named, with its fix, when the pipeline opens the warehouse
        return contextlib.nullcontext()
    return one_connection_for_loads(None if wh.is_ducklake else str(wh.location))


def _ingest_each(
    sources: Iterable[str] | None,
    progress: Callable[[str], None],
    instance: str | None,
    batch: int,
    overrides: dict[str, Any],
) -> list[IngestSummary]:
    from pipelines.sources.common.redaction import scrub
    from pipelines.sources.common.window_report import progress_logger

    summaries = []
    for source, tenant in select_instances(sources, instance):
        summary = IngestSummary(source=source, instance=tenant.name, source_instance=tenant.data_instance)
        label = source if tenant.name is None else f"{source} {tenant.name}"
        kept: list[Any] = []
        notices: list[str] = []

        def notice(line: str, notices: list[str] = notices) -> None:
            if "not configured" in line:
                notices.append(line)
            progress(line)

        snapshots = _SnapshotCatcher()
        progress_logger.addHandler(snapshots)
        try:
            if not _load_in_batches(source, tenant, notice, batch, overrides, kept):
                summary.skipped = True
                summary.notice = " ".join(notices)
        except KeyboardInterrupt:
            raise IngestInterrupted(_kept_line(label, kept)) from None
        except Exception as exc:  # one source (or tenant) failing must not stop the others
            if was_interrupted(exc):
                raise IngestInterrupted(_kept_line(label, kept)) from None
            summary.error = tenant.localize(scrubbed_error_line(exc, scrub))
        finally:
            progress_logger.removeHandler(snapshots)
        _fill(summary, kept)
        if snapshots.taken and not summary.error:
            snap = snapshots.taken[-1]
            summary.source_instance = snap.source_instance
            counts = ", ".join(f"{len(rows)} {table}" for table, rows in snap.tables.items())
            summary.snapshot = f"complete snapshot at {_fmt(snap.snapshot_at)}: {counts}"
        summaries.append(summary)
    return summaries


class _SnapshotCatcher(logging.Handler):
    """Keeps the state sources' "snapshot complete" records (their `snapshot_stats`) for the summary line."""

    def __init__(self) -> None:
        super().__init__(level=logging.INFO)
        self.taken: list[Any] = []

    def emit(self, record: logging.LogRecord) -> None:
        snapshot = getattr(record, "snapshot_stats", None)
        if snapshot is not None:
            self.taken.append(snapshot)


def _load_in_batches(
    source: str,
    instance: SourceInstance,
    progress: Callable[[str], None],
    batch: int,
    overrides: dict[str, Any],
    kept: list[Any],
) -> bool:
    """Load `source` batch after batch into `kept` (the committed windows); False when it is not configured."""
    from collections import Counter

    from pipelines.sources.common.windows import iso_z

    # One end for every batch, so the batches together read exactly what one run would.
    arguments = dict(overrides, until=overrides.get("until") or iso_z(settings.utc_now()))
    if "max_windows" not in inspect.signature(_source_factory(source)).parameters:
        batch = 0  # a source without batching support commits its whole run at once
    if batch:
        arguments["max_windows"] = batch
    pipeline = None
    while True:
        dlt_source = build_source(source, progress=progress, instance=instance, **arguments)
        if dlt_source is None:
            return False
        if pipeline is None:
            pipeline = make_pipeline(source, instance)
            if pipeline.has_pending_data:
                pipeline = _finish_interrupted_load(source, instance, pipeline, progress)
        with window_accounting(pipeline, progress) as windows:
            # Arrow items are written as parquet; the few dict items (dlt's own state) likewise.
            pipeline.run(dlt_source, loader_file_format="parquet")
        kept.extend(windows)
        per_read = Counter((w.source_instance, w.org_id) for w in windows)
        if not batch or not per_read or max(per_read.values()) < batch:
            return True
        if arguments.get("since"):  # a re-read keeps no cursor: the next batch starts where this one ended
            arguments["since"] = iso_z(max(w.window.end for w in windows))
        else:  # continue at the cursor this batch committed, without re-reading the overlap again
            arguments["resume"] = True


def _finish_interrupted_load(
    source: str, instance: SourceInstance, pipeline: Any, progress: Callable[[str], None]
) -> Any:
    """A killed run left a package extracted or normalized but not loaded: finish it first (else dlt loads
    only that and extracts nothing of this batch). A package cut short mid-write cannot be finished: then
    the local working folder is dropped and dlt restores the cursor from the warehouse (state of completed
    loads only), so its windows are read again and the merge keys absorb any rows already loaded."""
    try:
        with window_accounting(pipeline, progress):
            pipeline.run(loader_file_format="parquet")
        drop_retried_copies(source, pipeline)
        return pipeline
    except Exception as exc:
        progress(
            f"{source}: the interrupted load cannot be finished ({type(exc).__name__}); discarding it, "
            "its windows are read again from the cursor saved in the warehouse"
        )
        pipeline.drop()
        return make_pipeline(source, instance)


def _fill(summary: IngestSummary, windows: list[Any]) -> None:
    # Only committed batches are counted: a failed batch loads nothing (state and rows commit together).
    summary.windows = len(windows)
    if not windows:
        return
    summary.source_instance = windows[0].source_instance
    summary.fetched = sum(w.fetched for w in windows)
    summary.new_events = sum(w.new_events for w in windows)
    summary.duplicates = sum(w.duplicates for w in windows)
    summary.quarantined = sum(w.quarantined for w in windows)
    summary.window_start = min(w.window.start for w in windows)
    summary.window_end = max(w.window.end for w in windows)
