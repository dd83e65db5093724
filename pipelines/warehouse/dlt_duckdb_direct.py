"""dlt's DuckDB and DuckLake clients, with insert-only merges written straight into their table (no staging copy).

dlt merges through a staging dataset: every load file is first copied into `<dataset>_staging`, then a
`MERGE ... WHEN NOT MATCHED THEN INSERT` copies the new rows into the table. On a DuckDB file that writes each
event twice (DuckDB compresses both copies, DuckLake writes Parquet twice) and was the largest part of a backfill:
1M ThoughtSpot events took 2.7x the physical limit on the file (bench/bench_ingest.py), 1.9x on DuckLake.

An insert-only merge never updates or deletes, so the same result comes from one statement per load file:
insert the file's rows whose key the table does not hold yet. The rows reach the table once; the anti-join
reads only the key columns of the table. Semantics kept:
- a row whose key is already loaded stays as it was (its `_dlt_load_id`, `_loaded_at`), exactly as the merge;
- rows are inserted only once per key even when a package is loaded again after a kill (the anti-join sees the
  rows its first attempt committed), so a retried job cannot double them;
- jobs of one table run one after another (`table-sequential`), so two files of one package cannot both insert
  a key that neither saw; within one file, keys are unique by the sources' own de-duplication, as the staging
  merge already required.
Every other table (append, scd2 state snapshots, dlt's own) loads exactly as with dlt's `duckdb` / `ducklake`.
On DuckLake each load file's insert is one snapshot: readers never see part of a file.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from typing import Any, cast

from dlt.common.destination import DestinationCapabilitiesContext
from dlt.common.destination.client import LoadJob, PreparedTableSchema
from dlt.common.destination.configuration import ParquetFormatConfiguration
from dlt.common.destination.reference import DestinationReference
from dlt.common.schema.utils import get_columns_names_with_prop
from dlt.common.storages.load_storage import ParsedLoadJobFileName
from dlt.destinations.impl.duckdb.duck import DuckDbClient, DuckDbCopyJob
from dlt.destinations.impl.duckdb.factory import duckdb
from dlt.destinations.impl.ducklake.ducklake import DuckLakeClient

MERGE_STRATEGY_HINT = "x-merge-strategy"


def is_insert_only(table: PreparedTableSchema) -> bool:
    return table.get("write_disposition") == "merge" and table.get(MERGE_STRATEGY_HINT) == "insert-only"


class InsertNewKeysJob(DuckDbCopyJob):
    """One Parquet load file into its table: the rows whose primary key the table does not hold yet."""

    def __init__(self, file_path: str, key: Sequence[str]) -> None:
        super().__init__(file_path)
        self._key = list(key)

    def run(self) -> None:
        client = self._job_client.sql_client
        table = client.make_qualified_table_name(self.load_table_name)
        match = " and ".join(
            f"loaded.{name} = incoming.{name}" for name in (client.escape_column_name(k) for k in self._key)
        )
        path = self._file_path.replace("'", "''")
        client.execute_sql(
            f"insert into {table} by name "
            f"select * from read_parquet('{path}', union_by_name = true) as incoming "
            f"where not exists (select 1 from {table} as loaded where {match})"
        )


class _InsertOnlyWithoutStaging(DuckDbClient):
    """Insert-only merge tables skip the staging dataset and the merge follow-up job (DuckDB and DuckLake)."""

    def should_load_data_to_staging_dataset(self, table_name: str) -> bool:
        if is_insert_only(self.prepare_load_table(table_name)):
            return False
        return bool(super().should_load_data_to_staging_dataset(table_name))

    def create_load_job(
        self, table: PreparedTableSchema, file_path: str, load_id: str, restore: bool = False
    ) -> LoadJob:
        key = get_columns_names_with_prop(cast(Any, table), "primary_key")
        parquet = ParsedLoadJobFileName.parse(file_path).file_format == "parquet"
        if is_insert_only(table) and key and parquet:
            return InsertNewKeysJob(file_path, key)
        if is_insert_only(table):
            # a table without a key or a non-Parquet file cannot be matched here: refuse rather than append blindly
            raise ValueError(
                f"table {table['name']}: insert-only loads need a primary key and Parquet load files "
                "(pipeline.run(..., loader_file_format='parquet'))"
            )
        return super().create_load_job(table, file_path, load_id, restore)

    def _create_merge_followup_jobs(self, table_chain: Sequence[PreparedTableSchema]) -> list[Any]:
        if is_insert_only(table_chain[0]):
            return []  # the load jobs already inserted the new keys
        return list(super()._create_merge_followup_jobs(table_chain))


class DirectInsertDuckDbClient(_InsertOnlyWithoutStaging):
    """dlt's DuckDB client with insert-only merges written straight into their table."""


class DirectInsertDuckLakeClient(_InsertOnlyWithoutStaging, DuckLakeClient):
    """dlt's DuckLake client with insert-only merges written straight into their table."""


def uncompressed_load_files(caps: DestinationCapabilitiesContext) -> DestinationCapabilitiesContext:
    # Load files are local, read once and deleted: compressing them only costs CPU at both ends (measured:
    # snappy doubles the write and read time of a 250k-event file; the files are ~2.5x larger, ~100 MB).
    caps.parquet_format = ParquetFormatConfiguration(compression="none")
    return caps


class duckdb_direct_insert(duckdb):  # dlt names destination factories in lower case
    """dlt's `duckdb` destination with `DirectInsertDuckDbClient` (see the module docstring)."""

    def _raw_capabilities(self) -> DestinationCapabilitiesContext:
        return uncompressed_load_files(super()._raw_capabilities())

    @property
    def destination_type(self) -> str:
        # to dlt (pipeline state, traces) it stays `duckdb`: a warehouse loaded before keeps its state
        return DestinationReference.normalize_type(f"{duckdb.__module__}.{duckdb.__qualname__}")

    @property
    def client_class(self) -> type[DuckDbClient]:
        return DirectInsertDuckDbClient


# DuckDB files whose loads share one connection (see `one_connection_for_loads`): path -> connection, None until
# the first load opens it.
_shared: dict[str, Any] = {}


@contextlib.contextmanager
def one_connection_for_loads(location: str | None) -> Iterator[None]:
    """Within the block every dlt load to the DuckDB file `location` borrows one connection (dlt gives each thread
    a cursor of it) instead of opening and closing the file per step. Each close checkpoints the file and each open
    reads its catalog again: a 300k-event backfill opened and closed it 25 times, a quarter of its CPU. The
    connection is opened by the first load and closed (one checkpoint) when the block ends, so no WAL is left
    for the next process to replay. `None` (not a DuckDB file): nothing to share."""
    if location is None or location in _shared:
        yield
        return
    _shared[location] = None
    try:
        yield
    finally:
        con = _shared.pop(location, None)
        if con is not None:
            con.close()


def direct_insert_destination(location: str) -> duckdb_direct_insert:
    if location in _shared:
        import duckdb as duckdb_module

        if _shared[location] is None:
            _shared[location] = duckdb_module.connect(location)
        credentials: Any = _shared[location]
    else:
        credentials = location
    # table-sequential: two files of one table never insert at the same time (see the module docstring)
    return duckdb_direct_insert(credentials, destination_name="duckdb", loader_parallelism_strategy="table-sequential")
