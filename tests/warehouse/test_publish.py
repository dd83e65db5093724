"""The DuckDB file engine's published copy: refreshed in place block by block once both copies exist, byte for byte
the checkpointed warehouse, never rewritten under a reader (who keeps the copy they opened)."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import duckdb
import pytest

from pipelines.settings import ConfigurationError
from pipelines.warehouse import publish
from pipelines.warehouse.publish import copies_of, publish_warehouse


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _grow(source: Path, rows: int, start: int) -> None:
    with duckdb.connect(str(source)) as con:
        con.execute("create table if not exists events (id bigint, payload varchar)")
        con.execute(
            "insert into events select i, md5(i::varchar) || md5((i + 1)::varchar) from range(?, ?) t(i)",
            [start, start + rows],
        )


def _count(path: Path) -> int:
    with duckdb.connect(str(path), read_only=True) as con:
        return con.execute("select count(*) from events").fetchone()[0]


@pytest.fixture
def files(tmp_path: Path) -> tuple[Path, Path]:
    return tmp_path / "auditlake.duckdb", tmp_path / "auditlake_published.duckdb"


def test_a_run_writes_only_the_blocks_that_changed_and_the_copy_is_the_warehouse(files):
    source, target = files
    _grow(source, 300_000, 0)
    first, second = publish_warehouse(source, target), None
    assert first.method == "full copy" and _digest(target) == _digest(source)
    _grow(source, 1_000, 300_000)
    second = publish_warehouse(source, target)
    assert second.method == "full copy"  # the second copy did not exist yet
    assert os.path.samefile(target, copies_of(target)[1])
    for run in range(3):  # steady state: each run refreshes the copy analysts are not on
        _grow(source, 1_000, 301_000 + run * 1_000)
        live_before = target.stat().st_ino
        result = publish_warehouse(source, target)
        assert result.method == "in place"
        assert 0 < result.bytes_written < source.stat().st_size / 4, result
        assert target.stat().st_ino != live_before  # the other copy, now linked as the published path
        assert _digest(target) == _digest(source)
        assert _count(target) == 304_000 - (2 - run) * 1_000


def test_a_reader_keeps_the_copy_it_opened_and_forces_a_whole_copy_instead(files):
    source, target = files
    _grow(source, 50_000, 0)
    publish_warehouse(source, target)
    reader = duckdb.connect(str(target), read_only=True)  # this process, as a notebook would hold it
    try:
        methods = []
        for batch in range(2):  # the second publish would refresh the reader's copy in place: it must not
            _grow(source, 500, 50_000 + batch * 500)
            methods.append(publish_warehouse(source, target).method)
        assert methods == ["full copy", "full copy"]
        assert reader.execute("select count(*) from events").fetchone()[0] == 50_000
        assert publish_warehouse(source, target).method == "in place"  # the copy the reader is not on
    finally:
        reader.close()
    assert _count(target) == 51_000 and _digest(target) == _digest(source)


@pytest.mark.parametrize(
    ("old_size", "new_size"),
    [(3 * publish.BLOCK_BYTES, 5 * publish.BLOCK_BYTES + 123), (7 * publish.BLOCK_BYTES + 5, 2 * publish.BLOCK_BYTES)],
    ids=["grows, ragged tail", "shrinks"],
)
def test_refresh_in_place_is_exact_whatever_the_sizes(tmp_path, old_size, new_size, monkeypatch):
    monkeypatch.setattr(publish, "BLOCKS_PER_READ", 2)  # several read runs, the last one partial
    old, new = tmp_path / "copy", tmp_path / "source"
    old.write_bytes(os.urandom(old_size))
    data = bytearray(old.read_bytes()[:new_size].ljust(new_size, b"\0"))
    data[publish.BLOCK_BYTES + 17] ^= 0xFF  # one byte in the second block
    data[-1] ^= 0xFF  # and the very last byte
    new.write_bytes(bytes(data))
    written = publish._refresh_in_place(new, old)
    assert old.read_bytes() == new.read_bytes()
    grown = max(0, new_size - old_size)
    assert written is not None and written <= grown + 3 * publish.BLOCK_BYTES


def test_an_unwritable_place_for_the_copy_names_the_setting_before_anything_is_written(files, tmp_path):
    source, _ = files
    _grow(source, 1_000, 0)
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the copy's folder should be")
    with pytest.raises(ConfigurationError, match="AUDITLAKE_PUBLISHED") as raised:
        publish_warehouse(source, blocker / "auditlake_published.duckdb")
    assert str(blocker) in str(raised.value) and "\n" not in str(raised.value)
    assert not list(tmp_path.glob(".*copy-*"))  # nothing half-made
