"""The two exceptions a source raises on purpose; every other failure is a bug or the network."""

from __future__ import annotations

from typing import Sequence


class SourceNotConfigured(Exception):
    """Credentials are absent: the source is skipped, not failed."""

    def __init__(self, source: str, variables: Sequence[str]):
        self.source = source
        self.variables = tuple(variables)
        super().__init__(f"{source}: not configured, skipped (set {', '.join(self.variables)})")


class SourceError(Exception):
    """A failure the operator can act on; the message names the problem and the fix, never a secret."""
