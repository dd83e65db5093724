"""The two exceptions a source raises on purpose; every other failure is a bug or the network."""

from __future__ import annotations

from collections.abc import Sequence


class SourceNotConfigured(Exception):
    """Credentials are absent: the source is skipped, not failed."""

    def __init__(self, source: str, variables: Sequence[str]):
        self.source = source
        self.variables = tuple(variables)
        super().__init__(f"{source}: not configured, skipped (set {', '.join(self.variables)})")


class SourceError(Exception):
    """A failure the operator can act on; the message names the problem and the fix, never a secret."""


def require_configuration(source: str, variables: dict[str, object]) -> None:
    """Every required variable has a value, or the source is skipped naming only the variables still missing.

    `variables` maps each required variable's name (or "A (or B)" for alternatives) to its value.
    """
    missing = [name for name, value in variables.items() if not value]
    if missing:
        raise SourceNotConfigured(source, missing)


class WindowUnavailable(SourceError):
    """The vendor timed out or failed (5xx) on one window even after retries: smaller windows may succeed."""
