"""The push spool: every acknowledged request body is in a segment file, fsync'd, before its 200 goes out.

Layout under the spool folder (AUDITLAKE_SPOOL_DIR, default `<project home>/spool/thoughtspot/`):
  seg-<ns>-<pid>.spool    segments; the one a receiver is appending to is flock'ed by it
  .seg-<ns>-<pid>.tmp     a segment being created (flock'ed, then renamed: a drainer never sees it unlocked)
  rejected/rej-*.spool    bodies answered 400/413, kept aside (one frame each) and counted

A frame is MAGIC | header length (u32) | body length (u64) | crc32 of header+body (u32) | header JSON | body.
A receiver killed mid-write leaves a torn last frame: short, or a checksum that does not match. It was never
acknowledged (the ack waits for fsync), so the reader stops there and ignores it.

Group commit: one writer thread takes every frame queued since its last fsync, writes them and fsyncs once, then
releases all their requests; throughput grows with concurrency while each ack still follows its own fsync.
"""

from __future__ import annotations

import fcntl
import os
import queue
import struct
import threading
import time
import zlib
from collections.abc import Iterator
from concurrent.futures import Future
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from pipelines import settings

ENV_SPOOL_DIR = "AUDITLAKE_SPOOL_DIR"
DEFAULT_SPOOL_DIR = "spool/thoughtspot"
MAGIC = b"ALS1"
_PREFIX = struct.Struct("<4sIQI")
SEGMENT_GLOB = "seg-*.spool"
REJECTED_DIR = "rejected"
# A segment is sealed (closed, so a drainer may take it) when it is this big or this old.
SEGMENT_MAX_BYTES = 16 * 1024 * 1024
SEGMENT_MAX_SECONDS = 2.0


def spool_dir() -> Path:
    return settings.in_home(os.environ.get(ENV_SPOOL_DIR) or DEFAULT_SPOOL_DIR)


def encode_frame(header: dict[str, Any], body: bytes) -> bytes:
    head = orjson.dumps(header)
    crc = zlib.crc32(body, zlib.crc32(head))
    return _PREFIX.pack(MAGIC, len(head), len(body), crc) + head + body


@dataclass
class Frame:
    header: dict[str, Any]
    body: bytes


def read_frames(data: bytes) -> tuple[list[Frame], int]:
    """The complete frames of a segment, and how many bytes at its end were torn (never acknowledged)."""
    frames = []
    offset = 0
    while offset < len(data):
        if len(data) - offset < _PREFIX.size:
            break
        magic, head_len, body_len, crc = _PREFIX.unpack_from(data, offset)
        start = offset + _PREFIX.size
        end = start + head_len + body_len
        if magic != MAGIC or end > len(data):
            break
        head, body = data[start : start + head_len], data[start + head_len : end]
        if zlib.crc32(body, zlib.crc32(head)) != crc:
            break
        frames.append(Frame(orjson.loads(head), body))
        offset = end
    return frames, len(data) - offset


def fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def spool_bytes(folder: Path) -> int:
    total = 0
    for path in folder.glob(SEGMENT_GLOB):
        try:
            total += path.stat().st_size
        except FileNotFoundError:
            pass  # drained meanwhile
    return total


def write_rejected(folder: Path, header: dict[str, Any], body: bytes) -> Path:
    """Keep a refused body aside, durably: the sender drops it on a 4xx, so this copy is the only one left."""
    target = folder / REJECTED_DIR
    target.mkdir(parents=True, exist_ok=True)
    path = target / f"rej-{time.time_ns()}-{os.getpid()}-{threading.get_ident()}.spool"
    with open(path, "wb") as handle:
        handle.write(encode_frame(header, body))
        handle.flush()
        os.fsync(handle.fileno())
    fsync_dir(target)
    return path


def rejected_bytes(folder: Path) -> int:
    target = folder / REJECTED_DIR
    return sum(path.stat().st_size for path in target.glob("rej-*.spool")) if target.is_dir() else 0


def rejected_count(folder: Path) -> int:
    target = folder / REJECTED_DIR
    return sum(1 for _ in target.glob("rej-*.spool")) if target.is_dir() else 0


class SpoolFull(Exception):
    """The spool is over its size limit: the drain is behind. Answered 503 so the sender retries later."""


class SpoolWriter:
    """Appends frames to the current segment from one thread, fsync'ing a whole group at once."""

    def __init__(self, folder: Path, max_bytes: int) -> None:
        self.folder = folder
        self.max_bytes = max_bytes
        folder.mkdir(parents=True, exist_ok=True)
        self._queue: queue.Queue[tuple[bytes, Future[None]] | None] = queue.Queue()
        self._fd: int | None = None
        self._path: Path | None = None
        self._size = 0
        self._opened_at = 0.0
        self._known_bytes = spool_bytes(folder)
        self._measured_at = time.monotonic()
        self._thread = threading.Thread(target=self._run, name="spool-writer", daemon=True)
        self._thread.start()

    def over_limit(self) -> bool:
        return self._known_bytes >= self.max_bytes

    def submit(self, header: dict[str, Any], body: bytes) -> Future[None]:
        """Queue one body; the future completes once it is on disk (fsync'd), or fails with the OSError."""
        if self.over_limit():
            raise SpoolFull(f"spool {self.folder} holds {self._known_bytes} bytes (limit {self.max_bytes})")
        future: Future[None] = Future()
        self._queue.put((encode_frame(header, body), future))
        return future

    def close(self) -> None:
        self._queue.put(None)
        self._thread.join(timeout=30)

    # -- writer thread -------------------------------------------------------------------------------------
    def _run(self) -> None:
        while True:
            try:
                item = self._queue.get(timeout=SEGMENT_MAX_SECONDS / 2)
            except queue.Empty:
                self._tick()
                continue
            if item is None:
                self._seal()
                return
            group = [item]
            stop = False
            while len(group) < 4096:
                try:
                    more = self._queue.get_nowait()
                except queue.Empty:
                    break
                if more is None:
                    stop = True
                    break
                group.append(more)
            self._commit(group)
            self._tick()
            if stop:
                self._seal()
                return

    def _commit(self, group: list[tuple[bytes, Future[None]]]) -> None:
        data = b"".join(frame for frame, _ in group)
        try:
            if self._fd is None:
                self._open()
            assert self._fd is not None
            view = memoryview(data)
            while view:
                written = os.write(self._fd, view)
                view = view[written:]
            os.fsync(self._fd)
        except OSError as exc:
            # Nothing of this group was acknowledged: cut the segment back to its last fsync'd frame and start a
            # fresh one, so no later frame sits behind a torn one.
            self._abandon()
            for _, future in group:
                future.set_exception(exc)
            return
        self._size += len(data)
        self._known_bytes += len(data)
        for _, future in group:
            future.set_result(None)

    def _open(self) -> None:
        stamp = f"{time.time_ns()}-{os.getpid()}"
        temporary = self.folder / f".seg-{stamp}.tmp"
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_APPEND, 0o600)
        fcntl.flock(fd, fcntl.LOCK_EX)
        final = self.folder / f"seg-{stamp}.spool"
        os.rename(temporary, final)
        fsync_dir(self.folder)  # the name must survive a crash before any frame in it is acknowledged
        self._fd, self._path, self._size, self._opened_at = fd, final, 0, time.monotonic()

    def _abandon(self) -> None:
        if self._fd is not None:
            try:
                os.ftruncate(self._fd, self._size)
                os.fsync(self._fd)
            except OSError:
                pass  # the reader ignores a torn tail anyway
            self._seal()

    def _seal(self) -> None:
        if self._fd is None:
            return
        fd, path, size = self._fd, self._path, self._size
        self._fd, self._path = None, None
        os.close(fd)  # releases the flock: a drainer may take it now
        if size == 0 and path is not None:
            path.unlink(missing_ok=True)

    def _tick(self) -> None:
        now = time.monotonic()
        if self._fd is not None and (
            self._size >= SEGMENT_MAX_BYTES or (self._size and now - self._opened_at >= SEGMENT_MAX_SECONDS)
        ):
            self._seal()
        if now - self._measured_at >= 1.0:
            # Drains delete segments behind our back: re-measure what the spool really holds.
            self._known_bytes = spool_bytes(self.folder)
            self._measured_at = now


@dataclass
class ClaimedSegment:
    path: Path
    fd: int
    frames: list[Frame]
    torn_bytes: int

    def release(self, delete: bool) -> None:
        if delete:
            self.path.unlink(missing_ok=True)
        os.close(self.fd)


def claim_segments(folder: Path, max_bytes: int | None = None) -> Iterator[ClaimedSegment]:
    """Sealed segments, oldest first, each flock'ed while it is drained (a receiver's open segment is skipped)."""
    if not folder.is_dir():
        return
    for stale in folder.glob(".seg-*.tmp"):
        _remove_if_unlocked(stale)  # a creator that died before its rename: nothing in it was acknowledged
    taken = 0
    for path in sorted(folder.glob(SEGMENT_GLOB)):
        fd = _try_lock(path, os.O_RDWR)
        if fd is None:
            continue  # drained meanwhile, or a live receiver is still appending to it
        if not path.exists():  # drained and deleted by another drainer between our listing and our lock
            os.close(fd)
            continue
        with open(path, "rb") as handle:
            data = handle.read()
        frames, torn = read_frames(data)
        yield ClaimedSegment(path, fd, frames, torn)
        taken += len(data)
        if max_bytes is not None and taken >= max_bytes:
            return


def _try_lock(path: Path, open_flags: int, lock: int = fcntl.LOCK_EX) -> int | None:
    """Open `path` and take `lock` on it without waiting: the fd (holding the lock), or None when the file is gone
    or someone else holds a conflicting lock (a receiver holds its open segment's LOCK_EX until it seals it)."""
    try:
        fd = os.open(path, open_flags)
    except FileNotFoundError:
        return None
    try:
        fcntl.flock(fd, lock | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        return None
    return fd


def _remove_if_unlocked(path: Path) -> None:
    fd = _try_lock(path, os.O_RDONLY)
    if fd is None:
        return
    try:
        path.unlink(missing_ok=True)
    finally:
        os.close(fd)


def sealed_segments(folder: Path) -> list[Path]:
    """Segments no receiver is appending to (what a drain would take now), oldest first."""
    if not folder.is_dir():
        return []
    sealed = []
    for path in sorted(folder.glob(SEGMENT_GLOB)):
        fd = _try_lock(path, os.O_RDONLY, fcntl.LOCK_SH)
        if fd is not None:
            os.close(fd)
            sealed.append(path)
    return sealed
