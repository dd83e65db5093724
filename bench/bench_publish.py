"""What it costs to make a run's new data visible to analysts, per engine, as history grows.

    .venv/bin/python bench/bench_publish.py                         # histories of 100k and 1M raw-sized rows
    .venv/bin/python bench/bench_publish.py --histories 100000 2000000 --new-rows 1000

For each history size: a warehouse holding that many rows shaped like raw ThoughtSpot events (id, timestamps, a
~250-byte JSON payload of random text so compression cannot hide the size), then a "run" appends --new-rows rows
and the step that makes them visible to analysts is timed:
  - DuckDB file: `publish_warehouse`: checkpoint, then the copy analysts are not on is refreshed in place (only
    the blocks that differ are written) and linked over the published path; timed beside the whole-file copy the
    first two runs make (and every run made before), as the baseline;
  - DuckLake (SQLite catalog, Parquet data): `publish_for_analysts`: readers already see the committed snapshot,
    the step only reads the snapshot id. Also timed: a new reader process's connect + first count, to show the
    new rows are visible without any copy.
Prints one line per engine and size, and the ratio of the largest to the smallest history per engine.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

ROWS_SQL = """
select
    'ev-' || ({offset} + i)::varchar as id,
    timestamptz '2026-01-01 00:00:00+00' + to_seconds(({offset} + i) % 31536000) as event_time,
    now() as loaded_at,
    json_object('user', md5(i::varchar), 'ip', md5((i + 1)::varchar), 'detail',
                md5((i + 2)::varchar) || md5((i + 3)::varchar) || md5((i + 4)::varchar) || md5((i + 5)::varchar),
                'more', md5((i + 6)::varchar) || md5((i + 7)::varchar))::varchar as payload
from range({count}) t(i)
"""


def _append(con, count: int, offset: int) -> None:
    con.execute(f"insert into raw.events {ROWS_SQL.format(count=count, offset=offset)}")


def _timed(fn) -> tuple[float, object]:
    start = time.perf_counter()
    value = fn()
    return time.perf_counter() - start, value


def bench(history: int, new_rows: int, tmp: Path) -> list[tuple[str, int, float, float, int]]:
    from pipelines.warehouse import engine
    from pipelines.warehouse.publish import publish_for_analysts, publish_warehouse

    results = []
    # DuckDB file engine
    file_path = tmp / f"file_{history}" / "auditlake.duckdb"
    file_path.parent.mkdir(parents=True)
    with engine.connect(file_path) as con:
        con.execute("create schema raw")
        con.execute(f"create table raw.events as {ROWS_SQL.format(count=history, offset=0)}")
    published = file_path.with_name("auditlake_published.duckdb")
    # The first two runs write both copies whole (what every run did before the in-place refresh): timed as the
    # baseline. From the third on, a run refreshes the copy analysts are not on, writing the blocks that changed.
    for run in range(2):
        with engine.connect(file_path) as con:
            _append(con, new_rows, history + run * new_rows)
        seconds, whole = _timed(lambda: publish_warehouse(file_path, published))
        assert whole.method == "full copy", whole
    results.append(("file whole copy", history, seconds, _timed(lambda: _count(published))[0], whole.bytes_written))
    with engine.connect(file_path) as con:
        _append(con, new_rows, history + 2 * new_rows)
    seconds, done = _timed(lambda: publish_warehouse(file_path, published))
    assert done.method == "in place", done
    read_seconds, count = _timed(lambda: _count(published))
    assert count == history + 3 * new_rows, count
    results.append(("file in place", history, seconds, read_seconds, done.bytes_written))

    # DuckLake, SQLite catalog
    lake = f"ducklake:sqlite:{tmp / f'lake_{history}' / 'catalog.sqlite'}"
    os.environ.pop(engine.ENV_DATA_PATH, None)
    with engine.connect(lake) as con:
        con.execute("create schema raw")
        con.execute(f"create table raw.events as {ROWS_SQL.format(count=history, offset=0)}")
    with engine.connect(lake) as con:
        _append(con, new_rows, history)
    seconds, _ = _timed(lambda: publish_for_analysts(lake))
    read_seconds, count = _timed(lambda: _count(lake))
    assert count == history + new_rows, count
    results.append(("ducklake sqlite", history, seconds, read_seconds, 0))
    return results


def _count(target) -> int:
    from pipelines.warehouse import engine

    with engine.connect(target, read_only=True) as con:
        return con.execute("select count(*) from raw.events").fetchone()[0]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--histories", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--new-rows", type=int, default=1000)
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory(prefix="auditlake-bench-publish-") as tmp:
        for history in sorted(args.histories):
            rows += bench(history, args.new_rows, Path(tmp))
    print(
        f"{'engine':16s} {'history rows':>12s} {'make visible s':>15s} {'reader open+count s':>20s} {'bytes written':>14s}"
    )
    for name, history, seconds, read_seconds, size in rows:
        print(f"{name:16s} {history:>12,} {seconds:>15.3f} {read_seconds:>20.3f} {size:>14,}")
    for name in ("file whole copy", "file in place", "ducklake sqlite"):
        mine = [r for r in rows if r[0] == name]
        if len(mine) > 1:
            ratio = mine[-1][2] / max(mine[0][2], 1e-6)
            print(f"{name}: make-visible cost x{ratio:.1f} for x{mine[-1][1] / mine[0][1]:.0f} history")
    print(f"cpus: {os.cpu_count()}, load average: {os.getloadavg()[0]:.1f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
