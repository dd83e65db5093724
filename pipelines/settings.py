"""One place for paths, environment variable names and defaults.

Everything is read at call time (not import time) so tests and the CLI can point a
process at another warehouse by setting AUDITLAKE_WAREHOUSE before calling in.

Paths do not depend on the current directory: relative settings are read against the project home
(AUDITLAKE_HOME, default the checkout this package runs from), where `.dlt/`, `warehouse/` and
`dagster_home/` live, so cron, the CLI and Dagster find the same files from anywhere.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator, Mapping
from datetime import datetime, timedelta, timezone
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DBT_PROJECT_DIR = PROJECT_ROOT / "dbt_project"

# Environment variable names (dlt-style names for source config live with each source).
ENV_HOME = "AUDITLAKE_HOME"
ENV_WAREHOUSE = "AUDITLAKE_WAREHOUSE"
ENV_START = "AUDITLAKE_START"
ENV_PIPELINES_DIR = "AUDITLAKE_PIPELINES_DIR"
ENV_PUBLISHED = "AUDITLAKE_PUBLISHED"
ENV_FRESHNESS_MINUTES = "AUDITLAKE_FRESHNESS_MINUTES"
ENV_SCHEDULE_CRON = "AUDITLAKE_SCHEDULE_CRON"
ENV_SCHEDULE_ENABLED = "AUDITLAKE_SCHEDULE_ENABLED"
ENV_SNAPSHOT_CRON = "AUDITLAKE_SNAPSHOT_CRON"
ENV_SNAPSHOT_MAX_AGE_HOURS = "AUDITLAKE_SNAPSHOT_MAX_AGE_HOURS"
# Events may reach the vendor API up to 30 minutes late: coverage is judged up to now minus this.
VENDOR_LATENCY = timedelta(minutes=30)

# DuckLake with a local SQLite catalog: analysts read the last committed snapshot, so making a run visible costs
# nothing (the DuckDB file engine copied the whole file after every run; see README "Warehouse engines").
DEFAULT_WAREHOUSE = "ducklake:sqlite:warehouse/catalog.sqlite"
# The default before DuckLake: kept when it exists and the DuckLake default does not (an existing install).
LEGACY_DEFAULT_WAREHOUSE = "warehouse/auditlake.duckdb"
# ThoughtSpot keeps security events for 30 days, so a first run cannot reach further back.
VENDOR_RETENTION = timedelta(days=30)
# Events reach the ThoughtSpot API up to 30 minutes after they happen; re-read twice that.
DEFAULT_OVERLAP_MINUTES = 60
# Longest window the ThoughtSpot logs API accepts in one request.
MAX_WINDOW = timedelta(hours=24)


class ConfigurationError(Exception):
    """A setting, path or argument that cannot work as given; the CLI prints the message (problem and fix), exit 2."""


def project_home() -> Path:
    """Where `.dlt/`, `warehouse/` and `dagster_home/` live: AUDITLAKE_HOME, else this checkout."""
    raw = os.environ.get(ENV_HOME)
    if raw:
        return Path(raw).expanduser().resolve()
    return PROJECT_ROOT


def in_home(value: str | Path) -> Path:
    """A configured path; a relative one is relative to the project home, never to the current directory."""
    path = Path(value).expanduser()
    return path if path.is_absolute() else project_home() / path


def warehouse_path() -> Path:
    """A local path standing for the warehouse (AUDITLAKE_WAREHOUSE): the DuckDB file, or the DuckLake SQLite
    catalog file; for a PostgreSQL catalog a path in the project's `warehouse/` folder. Its folder holds the writer
    lock, logs and dlt's working state. Open the warehouse with pipelines.warehouse.engine.connect()."""
    from pipelines.warehouse import engine

    return engine.warehouse().anchor


def dagster_home() -> Path:
    """The Dagster instance runs are recorded in: DAGSTER_HOME, else `dagster_home/` in the project home."""
    return in_home(os.environ.get("DAGSTER_HOME") or "dagster_home")


def apply_project_environment() -> None:
    """Point dlt and Dagster at the project home (called by the entry points before dlt or Dagster load).

    dlt reads `.dlt/config.toml` and `.dlt/secrets.toml` from DLT_PROJECT_DIR (default: the current directory).
    """
    os.environ.setdefault("DLT_PROJECT_DIR", str(project_home()))
    use_dagster_home(dagster_home())


def use_dagster_home(home: Path) -> None:
    """Record Dagster runs in `home`, created with auditlake's instance settings (one writer run at a time)."""
    config = home / "dagster.yaml"
    if not config.exists():
        try:
            home.mkdir(parents=True, exist_ok=True)
            config.write_text((PROJECT_ROOT / "dagster_home" / "dagster.yaml").read_text())
        except OSError:
            pass  # Dagster itself reports an unusable DAGSTER_HOME when a run starts
    os.environ["DAGSTER_HOME"] = str(home)


def published_path() -> Path:
    """The read-only copy analysts query; each successful run replaces it atomically.

    DuckDB allows one writer process and a reader cannot open a file a writer holds, so
    analysts read a copy that is never open for writing.
    """
    override = os.environ.get(ENV_PUBLISHED)
    if override:
        return in_home(override)
    wh = warehouse_path()
    return wh.with_name(f"{wh.stem}_published{wh.suffix}")


def pipelines_dir() -> Path:
    """Where dlt keeps its local working state: next to the warehouse unless overridden.

    The authoritative cursor lives in the warehouse itself (dlt's _dlt_pipeline_state),
    so losing this folder costs nothing but a state restore on the next run.
    """
    override = os.environ.get(ENV_PIPELINES_DIR)
    if override:
        return in_home(override)
    return warehouse_path().parent / ".dlt_pipelines"


def parse_utc(value: str) -> datetime:
    """Parse an ISO-8601 date or timestamp; naive values are read as UTC."""
    text = value.strip()
    if text.endswith("Z"):
        text = text[:-1] + "+00:00"
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError as exc:
        raise ValueError(
            f"{value!r} is not an ISO-8601 date or timestamp: use e.g. 2026-11-01 or 2026-11-01T00:00:00Z"
        ) from exc
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=timezone.utc)
    return parsed.astimezone(timezone.utc)


def backfill_start(now: datetime | None = None) -> datetime:
    """Where a first run starts: AUDITLAKE_START, or the vendor retention horizon."""
    now = now or datetime.now(timezone.utc)
    raw = os.environ.get(ENV_START)
    if raw:
        try:
            return parse_utc(raw)
        except ValueError as exc:
            raise ValueError(f"{ENV_START}: {exc}") from None
    return now - VENDOR_RETENTION


def freshness_limit() -> timedelta:
    """How old the last successful fetch of a source may be before its freshness check fails."""
    raw = os.environ.get(ENV_FRESHNESS_MINUTES, "60")
    try:
        return timedelta(minutes=float(raw))
    except ValueError:
        raise ValueError(f"{ENV_FRESHNESS_MINUTES}={raw!r} is not a number of minutes") from None


def schedule_cron() -> str:
    """How often the schedule runs ingest -> transform -> checks (default every 15 minutes)."""
    return os.environ.get(ENV_SCHEDULE_CRON, "*/15 * * * *")


def snapshot_cron() -> str:
    """When the entitlement snapshots are taken (default daily at 05:00 UTC)."""
    return os.environ.get(ENV_SNAPSHOT_CRON, "0 5 * * *")


def snapshot_max_age() -> timedelta:
    """How old the last complete entitlement snapshot may be before its freshness check fails (default 26 h:
    a daily schedule plus slack)."""
    raw = os.environ.get(ENV_SNAPSHOT_MAX_AGE_HOURS, "26")
    try:
        return timedelta(hours=float(raw))
    except ValueError:
        raise ValueError(f"{ENV_SNAPSHOT_MAX_AGE_HOURS}={raw!r} is not a number of hours") from None


def schedule_enabled() -> bool:
    """Whether the schedule starts switched on (AUDITLAKE_SCHEDULE_ENABLED=1), e.g. in a deployment."""
    return os.environ.get(ENV_SCHEDULE_ENABLED, "").strip().lower() in ("1", "true", "yes", "on")


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


@contextlib.contextmanager
def scoped_environment(values: Mapping[str, str | None]) -> Iterator[None]:
    """`values` in os.environ inside the block only (None: the name is removed); every name is restored after it.

    For what reads settings from os.environ with no way to be handed them (dagster-dbt's `dbt.cli` copies
    os.environ into dbt's subprocess; the in-process run of a one-shot command): keeping the block short keeps the
    change from leaking into later runs in the same process (tests, the Dagster daemon)."""
    previous = {name: os.environ.get(name) for name in values}
    _set_environment(values)
    try:
        yield
    finally:
        _set_environment(previous)


def _set_environment(values: Mapping[str, str | None]) -> None:
    for name, value in values.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value
