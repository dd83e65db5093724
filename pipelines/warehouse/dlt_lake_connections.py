"""dlt's DuckLake loads on one DuckDB instance per process, so the extensions load once, not once per connection.

dlt's `ducklake` destination opens a fresh in-memory DuckDB for every connection it borrows (`always_open_connection`:
an ATTACHed lake is state of the whole database instance, and dlt detaches it when each connection closes), and each
fresh instance loads the extensions again: ~0.3 s apiece for the signed ducklake + scanner binaries, ~8 borrows per
ingest of 100k events (more with smaller batches), measured with the bench. dlt's loads on DuckLake are sequential
(`loader_parallelism_strategy = "sequential"`) and measured borrows never overlap, so they can all be connections of
one instance that keeps the extensions: each borrow is a new connection (`cursor()`) of it; dlt still ATTACHes the lake
on open and DETACHes it on close, as before. A borrow made while another is out (a nested or threaded use dlt might
add) gets dlt's own fresh instance, because the first connection's close would detach the lake under it.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any

from dlt.common.configuration import configspec
from dlt.common.destination.reference import DestinationReference
from dlt.destinations.impl.duckdb.configuration import DuckDbBaseCredentials, DuckDbConnectionPool
from dlt.destinations.impl.ducklake.configuration import DuckLakeClientConfiguration, DuckLakeCredentials
from dlt.destinations.impl.ducklake.factory import ducklake

if TYPE_CHECKING:
    import duckdb

_LOCK = threading.Lock()
# (extensions, connect config) -> the process's DuckDB instance for dlt's lake loads; lives until the process exits.
_INSTANCES: dict[tuple[str, ...], duckdb.DuckDBPyConnection] = {}
_LENT: set[int] = set()  # ids of the shared-instance connections out now
_CONNECT_OPTIONS = ("custom_user_agent", "autoinstall_known_extensions", "autoload_known_extensions")


class SharedInstancePool(DuckDbConnectionPool):
    """dlt's connection pool for DuckLake, handing out connections of one per-process DuckDB instance."""

    def __init__(self, credentials: DuckLakeCredentials) -> None:
        super().__init__(credentials, always_open_connection=True)

    def borrow_conn(
        self,
        global_config: dict[str, Any] | None = None,
        local_config: dict[str, Any] | None = None,
        pragmas: list[str] | None = None,
    ) -> duckdb.DuckDBPyConnection:
        with _LOCK:
            if _LENT or self._statements:
                # Another connection is out (its close would detach the lake from this one), or pool statements
                # (secrets, attaches) that belong to one instance: dlt's own fresh instance.
                return super().borrow_conn(global_config or {}, local_config or {}, pragmas or [])
            config = {**(self.credentials.global_config or {}), **(global_config or {})}
            conn = _instance(self.credentials, config).cursor()
            try:
                self._apply_config(conn, "GLOBAL", config)
                self._apply_local_config(conn, local_config or {}, pragmas or [])
            except Exception:
                conn.close()
                raise
            _LENT.add(id(conn))
            self._conn_borrows += 1
            return conn

    def return_conn(self, borrowed_conn: duckdb.DuckDBPyConnection) -> int:
        with _LOCK:
            shared = id(borrowed_conn) in _LENT
            _LENT.discard(id(borrowed_conn))
        if not shared:
            return super().return_conn(borrowed_conn)
        borrowed_conn.close()  # this connection only: the instance and its loaded extensions stay
        with self._conn_lock:
            self._conn_borrows -= 1
            return self._conn_borrows


def _instance(credentials: DuckDbBaseCredentials, config: dict[str, Any]) -> duckdb.DuckDBPyConnection:
    import duckdb

    extensions = tuple(credentials.extensions or ())
    key = (*extensions, *sorted(f"{k}={v}" for k, v in config.items()))
    instance = _INSTANCES.get(key)
    if instance is None:
        # The offline settings (no download, no autoload, signed only) hold from the start, as in engine.connect().
        instance = duckdb.connect(":memory:", config={k: v for k, v in config.items() if k in _CONNECT_OPTIONS})
        for extension in extensions:
            instance.sql(f"LOAD {extension}")
        _INSTANCES[key] = instance
    return instance


@configspec(init=False)
class SharedInstanceDuckLakeCredentials(DuckLakeCredentials):
    """DuckLakeCredentials whose pool is `SharedInstancePool` (dlt makes a pool in on_resolved, copies included)."""

    def on_resolved(self) -> None:
        super().on_resolved()
        self.conn_pool = SharedInstancePool(self)


@configspec
class SharedInstanceDuckLakeConfiguration(DuckLakeClientConfiguration):
    # dlt re-creates the credentials from this annotation when it resolves the destination's configuration.
    credentials: SharedInstanceDuckLakeCredentials = None  # type: ignore[assignment]


class SharedInstanceDuckLake(ducklake):
    """dlt's `ducklake` destination with `SharedInstancePool`; to dlt (pipeline state, traces) it is `ducklake`."""

    @property
    def spec(self) -> type:
        return SharedInstanceDuckLakeConfiguration

    @property
    def client_class(self) -> type:
        from pipelines.warehouse.dlt_duckdb_direct import DirectInsertDuckLakeClient

        return DirectInsertDuckLakeClient  # insert-only merges without a staging copy (dlt_duckdb_direct.py)

    def _raw_capabilities(self) -> Any:
        from pipelines.warehouse.dlt_duckdb_direct import uncompressed_load_files

        return uncompressed_load_files(super()._raw_capabilities())

    @classmethod
    def adjust_capabilities(cls, caps: Any, config: Any, naming: Any) -> Any:
        caps = super().adjust_capabilities(caps, config, naming)
        if caps.loader_parallelism_strategy == "parallel":  # dlt's choice on a PostgreSQL catalog
            caps.loader_parallelism_strategy = "table-sequential"  # one table's files in turn: dlt_duckdb_direct.py
        return caps

    @property
    def destination_type(self) -> str:
        return DestinationReference.normalize_type(f"{ducklake.__module__}.{ducklake.__qualname__}")
