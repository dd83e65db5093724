"""How many windows one dlt load commits: a failure or Ctrl-C keeps every batch committed before it."""

from __future__ import annotations

import os

ENV_BATCH_WINDOWS = "AUDITLAKE_BATCH_WINDOWS"
BATCHING_ARGUMENTS = ("max_windows", "resume")
# Thirty 24 h windows: ThoughtSpot's whole retention in one load. Every load has fixed costs on both engines, and
# on the file engine each load also leaves a partly filled row group that DuckDB's checkpoint then merges by
# rewriting its neighbours. Measured at 1M events: DuckLake loads of 8 windows took 42 s, of 30 windows 26 s; on
# the file the process used 41 s of CPU with 8, 32 s with 30 (same peak RSS), and the file was 354 MB vs 195 MB.
DEFAULT_BATCH_WINDOWS = 30


def batch_windows() -> int:
    """How many windows (per instance and org) one load commits: a failure keeps every batch before it.

    AUDITLAKE_BATCH_WINDOWS (default 30: a month of 24 h windows); 0 commits the whole run at once.
    """
    raw = os.environ.get(ENV_BATCH_WINDOWS, "").strip()
    if not raw:
        return DEFAULT_BATCH_WINDOWS
    if not raw.isdigit():
        raise ValueError(f"{ENV_BATCH_WINDOWS}={raw!r} must be a whole number of windows (0: no batches)")
    return int(raw)
