"""Which engine holds the warehouse, and the one way to open it.

AUDITLAKE_WAREHOUSE names the engine:

- a DuckDB file path (``warehouse/auditlake.duckdb``): one file, one writer process at a time;
- ``ducklake:sqlite:<catalog file>``: DuckLake, table metadata in a local SQLite file, data as Parquet in
  AUDITLAKE_DATA_PATH (default: ``data/`` beside the catalog). Several local processes; readers never block writers;
- ``ducklake:postgres:<libpq conninfo>``: DuckLake with a PostgreSQL catalog, for several hosts. AUDITLAKE_DATA_PATH
  is then required (a folder every host sees, or an object-store URL).

`connect()` returns a DuckDB connection with the warehouse attached and `USE`d, so unqualified names such as
``core.fct_audit_events`` mean the same on every engine. DuckDB's extensions are loaded by path from the installed
``duckdb-extension-*`` packages: never INSTALL (no network here), never unsigned extensions, and autoloading is off
so nothing can reach for the network behind our back.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from pipelines import settings
from pipelines.settings import ConfigurationError

if TYPE_CHECKING:
    import duckdb

ENV_DATA_PATH = "AUDITLAKE_DATA_PATH"
DUCKLAKE_PREFIX = "ducklake:"
# The name the lake is attached under in every connection (dlt's `ducklake_name` and dbt's attach alias too).
LAKE_ALIAS = "auditlake_lake"
# PostgreSQL schema holding the lake's metadata tables; dlt, dbt and connect() must all name the same one.
POSTGRES_METADATA_SCHEMA = "auditlake_lake"
# DuckDB version whose packaged extensions are installed (pyproject pins duckdb to it).
EXTENSION_PACKAGES = {
    "ducklake": "duckdb-extension-ducklake",
    "sqlite_scanner": "duckdb-extension-sqlite-scanner",
    "postgres_scanner": "duckdb-extension-postgres-scanner",
}
# How long a writer waits on SQLite's write lock of the catalog before DuckLake's own commit retries take over.
SQLITE_BUSY_TIMEOUT_MS = 10_000
# DuckLake retries a commit that lost a race against another writer when the two do not conflict
# (defaults 10 x 100 ms, x1.5); a scheduled run and an ad-hoc backfill may overlap for longer than that.
DUCKLAKE_RETRY_SETTINGS = {"ducklake_max_retry_count": 30, "ducklake_retry_wait_ms": 200, "ducklake_retry_backoff": 1.5}

_SECRET_KEYS = ("password", "sslpassword", "passfile", "sslkey")


class WarehouseLocked(ConfigurationError):
    """A DuckDB file another process holds for writing (DuckLake never raises this: readers read a snapshot)."""


def redact(text: str) -> str:
    """`text` with secrets of a libpq conninfo or URL hidden (password=..., user:pass@host)."""
    keys = "|".join(_SECRET_KEYS)
    text = re.sub(rf"(?i)\b({keys})\s*=\s*('(?:[^'\\]|\\.)*'|\S+)", r"\1=***", text)
    return re.sub(r"(?i)\b([a-z][a-z0-9+.-]*://[^:/@\s]+):[^@\s]+@", r"\1:***@", text)


@dataclass(frozen=True)
class Warehouse:
    """The configured warehouse. `location` is the DuckDB file (file engine) or the catalog: a SQLite file path or
    a libpq conninfo (may hold a password: print `describe()`, never `location`)."""

    engine: Literal["file", "ducklake"]
    location: str
    catalog_type: Literal["sqlite", "postgres"] | None = None
    data_path: str | None = None

    @property
    def is_ducklake(self) -> bool:
        return self.engine == "ducklake"

    @property
    def file(self) -> Path:
        """The DuckDB file (file engine) or the SQLite catalog file. Fails for a PostgreSQL catalog."""
        if self.catalog_type == "postgres":
            raise ConfigurationError("a PostgreSQL catalog has no local file; this command needs a file warehouse")
        return Path(self.location)

    @property
    def home(self) -> Path:
        """The local folder for the writer lock, logs and dlt's working state: beside the file or SQLite catalog;
        for a PostgreSQL catalog the project's `warehouse/` folder."""
        if self.catalog_type == "postgres":
            return settings.in_home("warehouse")
        return Path(self.location).parent

    @property
    def anchor(self) -> Path:
        """A local path standing for the warehouse (its lock is `<anchor>.lock`); what settings.warehouse_path()
        returns, so code written for the file engine keeps finding its lock, logs and dlt folder."""
        if self.catalog_type == "postgres":
            return self.home / "ducklake-postgres"
        return Path(self.location)

    def describe(self) -> str:
        """What to show in logs and `status`: the engine and where it is, secrets redacted."""
        if not self.is_ducklake:
            return f"DuckDB file {self.location}"
        return f"DuckLake, {self.catalog_type} catalog {redact(self.location)}, data in {self.data_path}"

    def environment(self) -> dict[str, str]:
        """AUDITLAKE_WAREHOUSE / AUDITLAKE_DATA_PATH naming this warehouse with absolute paths, for a child process
        (dbt) that must open exactly this one whatever its working directory."""
        if not self.is_ducklake:
            return {settings.ENV_WAREHOUSE: self.location}
        return {
            settings.ENV_WAREHOUSE: f"{DUCKLAKE_PREFIX}{self.catalog_type}:{self.location}",
            ENV_DATA_PATH: self.data_path or "",
        }

    def exists(self) -> bool:
        """Whether anything was written yet (a PostgreSQL catalog is assumed to exist; attaching tells)."""
        if self.catalog_type == "postgres":
            return True
        return Path(self.location).exists()


def parse_warehouse(value: str, data_path: str | None = None) -> Warehouse:
    """Read an AUDITLAKE_WAREHOUSE value (and AUDITLAKE_DATA_PATH); relative paths are in the project home."""
    value = value.strip()
    if not value.lower().startswith(DUCKLAKE_PREFIX):
        # AUDITLAKE_DATA_PATH is DuckLake's (README): a DuckDB file keeps its data inside and ignores it, so a
        # data path left in the environment by a DuckLake run never stops a file warehouse.
        return Warehouse("file", str(settings.in_home(value)))
    kind, _, rest = value[len(DUCKLAKE_PREFIX) :].partition(":")
    kind, rest = kind.strip().lower(), rest.strip()
    if kind == "sqlite" and rest:
        catalog = settings.in_home(rest)
        data = _data_location(data_path) if data_path else str(catalog.parent / "data")
        return Warehouse("ducklake", str(catalog), "sqlite", data.rstrip("/") + "/")
    if kind in ("postgres", "postgresql") and rest:
        if not data_path:
            raise ConfigurationError(
                f"{settings.ENV_WAREHOUSE} names a PostgreSQL catalog but {ENV_DATA_PATH} is not set: set it to the "
                "folder (seen by every host) or object-store URL that holds the lake's Parquet files"
            )
        return Warehouse("ducklake", rest, "postgres", _data_location(data_path).rstrip("/") + "/")
    raise ConfigurationError(
        f"{settings.ENV_WAREHOUSE}={redact(value)!r} is not a warehouse: use a DuckDB file path, "
        "ducklake:sqlite:<catalog file> or ducklake:postgres:<libpq conninfo, e.g. dbname=lake host=db>"
    )


def _data_location(raw: str) -> str:
    if "://" in raw:  # an object-store URL (s3://, gs://, az://...) is passed to DuckLake as written
        return raw
    return str(settings.in_home(raw))


def warehouse() -> Warehouse:
    """The warehouse configured now (AUDITLAKE_WAREHOUSE, AUDITLAKE_DATA_PATH, read at call time)."""
    data_path = os.environ.get(ENV_DATA_PATH) or None
    raw = os.environ.get(settings.ENV_WAREHOUSE)
    if raw:
        return parse_warehouse(raw, data_path)
    default = parse_warehouse(settings.DEFAULT_WAREHOUSE, data_path)
    legacy = settings.in_home(settings.LEGACY_DEFAULT_WAREHOUSE)
    if not data_path and legacy.exists() and not default.exists():
        # An install from before DuckLake became the default keeps its DuckDB file (README: moving to DuckLake).
        return Warehouse("file", str(legacy))
    return default


def as_warehouse(target: Warehouse | Path | str | None) -> Warehouse:
    """Accept what callers pass around: None (the configured warehouse), a Warehouse, a DuckDB file path, or a
    setting string (``ducklake:...``)."""
    if target is None:
        return warehouse()
    if isinstance(target, Warehouse):
        return target
    text = str(target)
    if text.lower().startswith(DUCKLAKE_PREFIX):
        return parse_warehouse(text, os.environ.get(ENV_DATA_PATH) or None)
    return Warehouse("file", str(Path(text).expanduser().resolve()))


def extension_path(name: str) -> Path:
    """The signed binary of DuckDB extension `name` from its installed duckdb-extension-* package."""
    import importlib.util

    import duckdb

    package = EXTENSION_PACKAGES[name]
    spec = importlib.util.find_spec(f"duckdb_extension_{name}")
    version = duckdb.__version__
    if spec is not None and spec.origin:
        path = Path(spec.origin).parent / "extensions" / f"v{version}" / f"{name}.duckdb_extension"
        if path.exists():
            return path
    raise ConfigurationError(
        f"the DuckDB extension {name!r} for DuckDB {version} is not installed (package {package}=={version}): "
        "run `make setup` (DuckDB cannot download extensions here, auditlake loads them from that package)"
    )


def required_extensions(wh: Warehouse) -> list[str]:
    if not wh.is_ducklake:
        return []
    return ["ducklake", "sqlite_scanner" if wh.catalog_type == "sqlite" else "postgres_scanner"]


def extension_paths(wh: Warehouse | None = None) -> list[Path]:
    """The extension binaries the warehouse needs (empty for a DuckDB file); raises if a package is missing."""
    return [extension_path(name) for name in required_extensions(wh or warehouse())]


def load_extensions(con: duckdb.DuckDBPyConnection, wh: Warehouse) -> None:
    for path in extension_paths(wh):
        con.execute(f"LOAD '{quote_sql(str(path))}'")


def quote_sql(text: str) -> str:
    """`text` inside a single-quoted SQL string literal."""
    return text.replace("'", "''")


def offline_config() -> dict[str, str | bool | int | float | list[str]]:
    """DuckDB connect() config for every auditlake connection: no extension download, no autoload, signed only."""
    return {
        "autoinstall_known_extensions": False,
        "autoload_known_extensions": False,
        "allow_unsigned_extensions": False,
    }


def attach_sql(wh: Warehouse, read_only: bool = False, as_of: datetime | int | None = None) -> str:
    """The ATTACH statement for a DuckLake warehouse (contains the catalog conninfo: never log it)."""
    options = [f"DATA_PATH '{quote_sql(wh.data_path or '')}'"]
    if wh.catalog_type == "sqlite" and not read_only:
        # WAL lets readers read while a writer commits; the journal mode is stored in the file, so readers
        # (which may not change it) get it too once a writer has attached.
        options += ["META_JOURNAL_MODE 'WAL'", f"META_BUSY_TIMEOUT {SQLITE_BUSY_TIMEOUT_MS}"]
    elif wh.catalog_type == "sqlite":
        options.append(f"META_BUSY_TIMEOUT {SQLITE_BUSY_TIMEOUT_MS}")
    if wh.catalog_type == "postgres":
        options.append(f"METADATA_SCHEMA '{POSTGRES_METADATA_SCHEMA}'")
    if read_only or as_of is not None:
        options.append("READ_ONLY")
    if isinstance(as_of, datetime):
        options.append(f"SNAPSHOT_TIME '{as_of.isoformat()}'")
    elif isinstance(as_of, int):
        options.append(f"SNAPSHOT_VERSION {as_of}")
    catalog = f"{DUCKLAKE_PREFIX}{wh.catalog_type}:{quote_sql(wh.location)}"
    return f"ATTACH '{catalog}' AS {LAKE_ALIAS} ({', '.join(options)})"


def require_snapshots(wh: Warehouse) -> None:
    """Refuse time travel on the file engine, which keeps no snapshots."""
    if not wh.is_ducklake:
        raise ConfigurationError(
            f"--as-of needs snapshots, and the warehouse is a DuckDB file ({wh.location}), which keeps none: "
            f"set {settings.ENV_WAREHOUSE}=ducklake:sqlite:<catalog file> (DuckLake) to keep history"
        )


def connect(
    target: Warehouse | Path | str | None = None,
    *,
    read_only: bool = False,
    as_of: datetime | int | None = None,
) -> duckdb.DuckDBPyConnection:
    """A DuckDB connection with the warehouse attached and `USE`d.

    `as_of` (a UTC time or a snapshot id) reads the DuckLake snapshot current at that moment; the file engine has
    no snapshots and refuses. Errors are ConfigurationError naming the setting and the fix, secrets redacted.
    """
    import duckdb

    wh = as_warehouse(target)
    if as_of is not None:
        require_snapshots(wh)
    if not wh.is_ducklake:
        try:
            con = duckdb.connect(wh.location, read_only=read_only, config=offline_config())
        except duckdb.Error as exc:
            raise _open_error(wh, exc) from None
        con.execute("SET TimeZone = 'UTC'")  # as dbt's profile: dates bucket in UTC whatever the host's zone
        return con
    if wh.catalog_type == "sqlite" and (read_only or as_of is not None) and not Path(wh.location).exists():
        raise ConfigurationError(
            f"no warehouse at {wh.location}: run `auditlake run` (or `auditlake demo`) first, "
            f"or set {settings.ENV_WAREHOUSE}"
        )
    con = duckdb.connect(":memory:", config=offline_config())
    try:
        con.execute("SET TimeZone = 'UTC'")
        load_extensions(con, wh)
        for name, value in DUCKLAKE_RETRY_SETTINGS.items():
            con.execute(f"SET {name} = {value}")
        if wh.catalog_type == "sqlite" and not read_only:
            Path(wh.location).parent.mkdir(parents=True, exist_ok=True)
        con.execute(attach_sql(wh, read_only=read_only, as_of=as_of))
        con.execute(f"USE {LAKE_ALIAS}")
    except duckdb.Error as exc:
        con.close()
        raise _open_error(wh, exc, as_of) from None
    except OSError as exc:
        con.close()
        raise ConfigurationError(
            f"{settings.ENV_WAREHOUSE}: cannot create the catalog folder {Path(wh.location).parent} ({exc.strerror}): "
            "make it writable or point the setting elsewhere"
        ) from None
    except BaseException:
        con.close()
        raise
    return con


def _open_error(wh: Warehouse, exc: Exception, as_of: datetime | int | None = None) -> Exception:
    """One line: what failed, which setting, how to fix; secrets redacted."""
    first = redact(str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__)
    lowered = first.lower()
    if as_of is not None and ("snapshot" in lowered or "no snapshot" in lowered):
        return ConfigurationError(f"no snapshot of the warehouse at {as_of}: {first}; pick a later time")
    if not wh.is_ducklake:
        if "lock" in lowered:
            return WarehouseLocked(
                f"the warehouse {wh.location} is open for writing in another process: wait for it, "
                "or read the analysts' published copy (auditlake query)"
            )
        return ConfigurationError(f"cannot open the warehouse {wh.location} ({settings.ENV_WAREHOUSE}): {first}")
    if "data_path" in lowered or "data path" in lowered:
        return ConfigurationError(
            f"{ENV_DATA_PATH}: the lake's data path does not match the catalog ({first}): set {ENV_DATA_PATH} "
            "to the folder this catalog was created with"
        )
    return ConfigurationError(
        f"{settings.ENV_WAREHOUSE}: cannot attach the DuckLake catalog ({wh.describe()}): {first}; "
        "check the catalog is reachable and readable by this user"
    )


def current_snapshot(con: duckdb.DuckDBPyConnection) -> int | None:
    """The DuckLake snapshot id a connection from connect() reads (None on the file engine)."""
    try:
        row = con.execute(f"select id from {LAKE_ALIAS}.current_snapshot()").fetchone()
    except Exception:  # the file engine: no lake attached
        return None
    return int(row[0]) if row else None


def postgres_url(conninfo: str) -> str:
    """A libpq conninfo (``dbname=lake host=db user=u password=p``) as a postgresql:// URL (dlt's catalog form)."""
    if conninfo.lower().startswith(("postgres://", "postgresql://")):
        return conninfo
    from urllib.parse import quote, urlencode

    pairs = dict(re.findall(r"(\w+)\s*=\s*('(?:[^'\\]|\\.)*'|\S+)", conninfo))
    values = {k.lower(): (v[1:-1].replace("\\'", "'") if v.startswith("'") else v) for k, v in pairs.items()}
    user = quote(values.pop("user", ""), safe="")
    password = quote(values.pop("password", ""), safe="")
    host = values.pop("host", "localhost")
    port = values.pop("port", "")
    dbname = quote(values.pop("dbname", ""), safe="")
    auth = f"{user}:{password}@" if password else (f"{user}@" if user else "")
    if host.startswith("/"):  # a Unix socket folder is passed as a query parameter in URL form
        values["host"] = host
        host = ""
    netloc = f"{auth}{host}:{port}" if port and host else f"{auth}{host}"
    if port and not host:
        values["port"] = port
    query = f"?{urlencode(values)}" if values else ""
    return f"postgresql://{netloc}/{dbname}{query}"


def dlt_destination(target: Warehouse | Path | str | None = None):  # -> dlt destination factory
    """dlt's destination for the warehouse: `duckdb` on a file (insert-only merges without a staging copy, see
    dlt_duckdb_direct), `ducklake` on DuckLake with the extensions pre-loaded by path and autoloading off (dlt's
    attach would otherwise let DuckDB try to download them)."""

    wh = as_warehouse(target)
    if not wh.is_ducklake:
        from pipelines.warehouse.dlt_duckdb_direct import direct_insert_destination

        return direct_insert_destination(str(wh.location))
    from pipelines.warehouse.dlt_lake_connections import SharedInstanceDuckLake, SharedInstanceDuckLakeCredentials

    catalog = f"sqlite:///{wh.location}" if wh.catalog_type == "sqlite" else postgres_url(wh.location)
    # One DuckDB instance per process for dlt's connections: the extensions load once (dlt_lake_connections.py).
    credentials = SharedInstanceDuckLakeCredentials(
        ducklake_name=LAKE_ALIAS,
        metadata_schema=POSTGRES_METADATA_SCHEMA if wh.catalog_type == "postgres" else None,
        catalog=catalog,
        storage=wh.data_path or "",
    )
    credentials.extensions = [f"'{quote_sql(str(path))}'" for path in extension_paths(wh)]
    credentials.global_config = {
        "autoinstall_known_extensions": False,
        "autoload_known_extensions": False,
        **DUCKLAKE_RETRY_SETTINGS,
    }
    credentials.local_config = {"TimeZone": "UTC"}
    return SharedInstanceDuckLake(credentials=credentials)
