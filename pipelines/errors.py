"""Errors every part of auditlake may raise to the command line: each message names the problem and the fix."""

from __future__ import annotations


class ConfigurationError(Exception):
    """A setting, path or argument that cannot work as given; the CLI prints the message and exits 2."""
