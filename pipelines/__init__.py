"""auditlake: security audit events from ThoughtSpot Cloud and Mode, kept for years in DuckDB."""

__version__ = "0.1.0"
