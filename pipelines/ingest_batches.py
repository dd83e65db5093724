"""How many windows one dlt load commits: a failure or Ctrl-C keeps every batch committed before it."""

from __future__ import annotations

import os

ENV_BATCH_WINDOWS = "AUDITLAKE_BATCH_WINDOWS"
BATCHING_ARGUMENTS = ("max_windows", "resume")
DEFAULT_BATCH_WINDOWS = 8
# Each dlt load on DuckLake has fixed costs (attach, dlt state, the merge over Parquet; extensions load once per
# process, dlt_lake_connections.py): measured at 1M events, loads of 8 windows took 42 s, of 30 windows 26 s.
DEFAULT_BATCH_WINDOWS_DUCKLAKE = 30


def batch_windows() -> int:
    """How many windows (per instance and org) one load commits: a failure keeps every batch before it.

    AUDITLAKE_BATCH_WINDOWS (default 8, about a week of 24 h windows; 30 on DuckLake, whose loads cost more to
    start); 0 commits the whole run at once.
    """
    raw = os.environ.get(ENV_BATCH_WINDOWS, "").strip()
    if not raw:
        from pipelines.warehouse import engine

        try:
            on_ducklake = engine.warehouse().is_ducklake
        except engine.ConfigurationError:  # named, with its fix, when the pipeline opens the warehouse
            on_ducklake = False
        return DEFAULT_BATCH_WINDOWS_DUCKLAKE if on_ducklake else DEFAULT_BATCH_WINDOWS
    if not raw.isdigit():
        raise ValueError(f"{ENV_BATCH_WINDOWS}={raw!r} must be a whole number of windows (0: no batches)")
    return int(raw)
