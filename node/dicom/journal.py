"""The spool's journal: one sync per received instance, and no directory sync, before it is acknowledged.

Writing an instance file durably takes two syncs: the file (data and inode), then its directory (the
rename into place). An association instead appends each instance to its own segment file,
``<spool>/.journal/<pid>-<n>.seg``, whose directory entry was made durable once when it was created: a
record is the instance's spool path, its bytes and a CRC-32 of both, and one ``fdatasync`` of the
segment makes it durable. The instance file is then written and renamed into place without a sync, so
readers find it at once. Later (when a segment passes :data:`SEGMENT_BYTES`, or its association ends) a
background checkpoint syncs those files and their directories (one ``syncfs`` of the spool's filesystem,
or each file and folder where there is none) and only then deletes the segment.

After a crash, :func:`recover` replays every segment no live writer holds (each writer keeps an exclusive
``flock`` on its segment): each record whose CRC matches is compared with its instance file, which is
rewritten durably if missing or different. Records are appended one after the other, each only after the
previous one was synced, so only the last can be torn; a torn or mismatched record was never
acknowledged and is dropped.
"""

from __future__ import annotations

import ctypes
import fcntl
import itertools
import logging
import os
import queue
import struct
import threading
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import cast

log = logging.getLogger(__name__)

MAGIC = b"SNJ1"
#: magic, length of the spool path, length of the instance bytes, CRC-32 of path + bytes
_HEAD = struct.Struct("<4sHQI")
#: A segment is checkpointed and a new one started past this size.
SEGMENT_BYTES = 256 << 20
_names = itertools.count()


def fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_all(fd: int, buffers: list[bytes]) -> None:
    """Write every buffer, in order, with as few ``writev`` calls as the kernel allows."""
    views = [memoryview(b) for b in buffers if len(b)]
    while views:
        written = os.writev(fd, views)
        while views and written >= len(views[0]):
            written -= len(views[0])
            views.pop(0)
        if views and written:
            views[0] = views[0][written:]


class Segment:
    """One open segment file, locked by its writer."""

    def __init__(self, directory: Path) -> None:
        fresh = not directory.exists()
        directory.mkdir(parents=True, exist_ok=True)
        if fresh:
            fsync_dir(directory.parent)
        self.path = directory / f"{os.getpid()}-{next(_names)}.seg"
        self.fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_APPEND, 0o640)
        fcntl.flock(self.fd, fcntl.LOCK_EX)
        fsync_dir(directory)  # the segment's own entry: once, not per instance
        self.size = 0
        self.files: list[Path] = []

    def append(self, relpath: str, chunks: list[bytes]) -> None:
        """Append one record and make it durable (one ``fdatasync``)."""
        name = relpath.encode()
        crc = zlib.crc32(name)
        for chunk in chunks:
            crc = zlib.crc32(chunk, crc)
        length = sum(len(c) for c in chunks)
        try:
            write_all(self.fd, [_HEAD.pack(MAGIC, len(name), length, crc), name, *chunks])
            os.fdatasync(self.fd)
        except OSError:
            try:  # no torn record may stay in front of later ones
                os.ftruncate(self.fd, self.size)
            except OSError:
                pass
            raise
        self.size += _HEAD.size + len(name) + length

    def checkpoint(self) -> None:
        """Sync every instance file this segment covers and their folders, then delete the segment.

        One ``syncfs`` of the spool's filesystem where the C library has it (a single writeback and cache
        flush for the whole batch, errors reported since Linux 5.8); else each file and folder in turn."""
        if not _syncfs(self.fd):
            self._sync_each()
        self.path.unlink(missing_ok=True)
        os.close(self.fd)

    def _sync_each(self) -> None:
        folders = set()
        for path in self.files:
            try:
                fd = os.open(path, os.O_RDONLY)
            except FileNotFoundError:  # removed since (retention, a test)
                continue
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
            folders.add(path.parent)
        for folder in folders:
            try:
                fsync_dir(folder)
            except FileNotFoundError:
                pass


def _load_syncfs() -> Callable[[int], int] | None:
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        function = libc.syncfs
    except (OSError, AttributeError):
        return None
    function.argtypes = [ctypes.c_int]
    function.restype = ctypes.c_int
    return cast(Callable[[int], int], function)


_SYNCFS = _load_syncfs()


def _syncfs(fd: int) -> bool:
    """``syncfs(fd)``: False when unavailable; an OSError when it reports a write error."""
    if _SYNCFS is None:
        return False
    if _SYNCFS(fd) != 0:
        errno = ctypes.get_errno()
        raise OSError(errno, os.strerror(errno))
    return True


class Checkpointer:
    """One background thread that checkpoints the segments handed to it, in order."""

    def __init__(self) -> None:
        self._queue: queue.Queue[Segment] = queue.Queue()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def put(self, segment: Segment) -> None:
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="spool-checkpoint", daemon=True)
                self._thread.start()
        self._queue.put(segment)

    def join(self) -> None:
        """Wait until every segment handed over so far is checkpointed."""
        self._queue.join()

    def _run(self) -> None:
        while True:
            segment = self._queue.get()
            try:
                segment.checkpoint()
            except OSError:  # the segment stays; recovery at the next start replays it
                log.exception("spool checkpoint of %s failed", segment.path.name)
            finally:
                self._queue.task_done()


class Journal:
    """One association's writer: appends to its current segment, starting a new one when it is full."""

    def __init__(self, directory: Path, checkpointer: Checkpointer) -> None:
        self.directory = directory
        self.checkpointer = checkpointer
        self._segment: Segment | None = None
        self._lock = threading.Lock()

    def append(self, relpath: str, chunks: list[bytes]) -> None:
        with self._lock:
            if self._segment is None:
                self._segment = Segment(self.directory)
            try:
                self._segment.append(relpath, chunks)
            except OSError:  # (ENOSPC, EIO) the next instance starts a new segment
                segment, self._segment = self._segment, None
                self.checkpointer.put(segment)
                raise

    def written(self, path: Path) -> None:
        """The instance file of the last record is in place (unsynced): the checkpoint syncs it."""
        with self._lock:
            segment = self._segment
            if segment is None:
                return
            segment.files.append(path)
            if segment.size >= SEGMENT_BYTES:
                self._segment = None
                self.checkpointer.put(segment)

    def close(self) -> None:
        with self._lock:
            segment, self._segment = self._segment, None
        if segment is not None:
            self.checkpointer.put(segment)


def records(data: bytes) -> Iterator[tuple[str, bytes]]:
    """The intact records of a segment's bytes, up to the first torn or mismatched one."""
    pos = 0
    while pos + _HEAD.size <= len(data):
        magic, name_len, length, crc = _HEAD.unpack_from(data, pos)
        start = pos + _HEAD.size
        end = start + name_len + length
        if magic != MAGIC or end > len(data):
            return
        name, body = data[start : start + name_len], data[start + name_len : end]
        if zlib.crc32(body, zlib.crc32(name)) != crc:
            return
        try:
            yield name.decode(), body
        except UnicodeDecodeError:
            return
        pos = end


def recover(directory: Path, restore: Callable[[str, bytes], Path | None]) -> int:
    """Replay the segments no live writer holds; ``restore`` makes one instance durable, whole or rewritten
    (it returns the path when it had to rewrite the file, else None). Returns the instances rewritten."""
    if not directory.is_dir():
        return 0
    rewritten = 0
    for path in sorted(directory.glob("*.seg")):
        try:
            fd = os.open(path, os.O_RDONLY)
        except FileNotFoundError:
            continue
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                continue  # a live association's segment
            with open(fd, "rb", closefd=False) as f:
                data = f.read()
            count = fixed = 0
            for relpath, body in records(data):
                count += 1
                if restore(relpath, body) is not None:
                    fixed += 1
            log.warning("spool journal %s replayed: %d instances, %d rewritten", path.name, count, fixed)
            rewritten += fixed
            path.unlink()
        finally:
            os.close(fd)
    return rewritten
