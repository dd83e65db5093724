"""How an ingest failure or interrupt reads on the console: our own message (cause and fix), else the innermost
cause of dlt's wrappers, secrets scrubbed; and whether a wrapped error was really Ctrl-C."""

from __future__ import annotations

from collections.abc import Callable


def unwrap_source_error(exc: BaseException) -> BaseException:
    """dlt wraps errors raised in a source (PipelineStepFailed, ResourceExtractionError...): find ours."""
    from pipelines.sources.common.errors import SourceError, SourceNotConfigured

    seen = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        if isinstance(current, (SourceError, SourceNotConfigured)):
            return current
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return exc


class IngestInterrupted(KeyboardInterrupt):
    """Ctrl-C or SIGTERM during an ingest; the message says what was committed before it."""


def was_interrupted(exc: BaseException) -> bool:
    """dlt wraps a Ctrl-C raised inside a source (PipelineStepFailed from KeyboardInterrupt): an interrupt,
    not a failure."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        if isinstance(current, KeyboardInterrupt):
            return True
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return False


def error_line(exc: BaseException) -> str:
    """One line for the console: our own message (cause and fix), else the innermost cause, secrets scrubbed."""
    from pipelines.sources.common.redaction import scrub

    return scrubbed_error_line(exc, scrub)


def scrubbed_error_line(exc: BaseException, scrub: Callable[[str], str]) -> str:
    """One line for the summary: our own message, else the innermost cause (dlt's wrappers say little)."""
    inner = unwrap_source_error(exc)
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
