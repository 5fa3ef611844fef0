"""The spool's journal: one sync per received instance, and no metadata to commit, before it is
acknowledged.

Writing an instance file durably takes two syncs: the file (data and inode), then its directory (the
rename into place). An association instead writes each instance into its own segment file,
``<spool>/.journal/<pid>-<n>.seg``, whose directory entry was made durable once when it was created: a
record is the instance's spool path, its bytes and a CRC-32 of both, and one ``fdatasync`` of the segment
makes it durable. The instance file is written meanwhile (by another thread, unsynced) and renamed into
place once the record is durable, so readers find it at once. Later (when a segment is full, or its
association ends) a background checkpoint syncs those files and their directories (one ``syncfs`` of the
spool's filesystem, or each file and folder where there is none); only then is the segment emptied for
reuse (or deleted).

Segments are written over, not appended to: a spare segment is written out in full (zeros) and synced
before it is used, and an emptied one keeps its blocks, so a record lands in blocks the filesystem has
already allocated and the segment's size does not change. Its ``fdatasync`` then has only data to write
and the disk cache to flush: no journal commit of the filesystem's own (on ext4, an append's
``fdatasync`` costs a jbd2 commit, about a second cache flush). To tell this use's records from the last
one's, a segment starts with a header holding its generation, and each record repeats it; emptying a
segment writes and syncs the next generation into the header, which retires every older record at once.

After a crash, :func:`recover` replays every segment no live writer holds (each writer keeps an exclusive
``flock`` on its segment, spares included): each record of the header's generation whose CRC matches is
compared with its instance file, which is rewritten durably if missing or different. Records are written
one after the other, each only after the previous one was synced, so only the last can be torn; a torn or
mismatched record, or one of an older generation, ends the segment (it was never acknowledged, or was
checkpointed before the segment was emptied).
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
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import cast

try:  # the same CRC-32 as zlib's, computed with carry-less multiplication: ~15x fewer instructions
    from zlib_ng.zlib_ng import crc32
except ImportError:  # pragma: no cover - zlib-ng is a dependency; without it, zlib's table-driven CRC
    from zlib import crc32

log = logging.getLogger(__name__)

SEGMENT_MAGIC = b"SNJS"
MAGIC = b"SNJ2"
#: Records of the node before segments were reused: no segment header, no generation.
LEGACY_MAGIC = b"SNJ1"
#: magic, generation
_SEGMENT_HEAD = struct.Struct("<4sQ")
#: Records start one sector in: the header is rewritten alone, in a sector no record shares.
RECORDS_START = 512
#: magic, generation, length of the spool path, length of the instance bytes, CRC-32 of path + bytes
_HEAD = struct.Struct("<4sQHQI")
_LEGACY_HEAD = struct.Struct("<4sHQI")
#: A segment is checkpointed, and the next record goes to another one, once a record would end past this.
SEGMENT_BYTES = 256 << 20
#: How much of a new spare segment is written out ahead; past it, records extend the segment (a metadata
#: commit each) until it is emptied and reused, written out as far as its first use went.
SPARE_BYTES = 64 << 20
#: Emptied segments kept for reuse per journal folder; more are deleted.
SPARE_SEGMENTS = 2
_ZEROS = bytes(1 << 20)
_names = itertools.count()


def fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_all(fd: int, buffers: list[bytes], offset: int | None = None) -> None:
    """Write every buffer, in order, with as few ``writev`` calls as the kernel allows (``pwritev`` from
    ``offset`` when given)."""
    views = [memoryview(b) for b in buffers if len(b)]
    while views:
        if offset is None:
            written = os.writev(fd, views)
        else:
            written = os.pwritev(fd, views, offset)
            offset += written
        while views and written >= len(views[0]):
            written -= len(views[0])
            views.pop(0)
        if views and written:
            views[0] = views[0][written:]


class Segment:
    """One open segment file, locked by its writer; ``size`` is where its next record goes."""

    def __init__(self, directory: Path, *, prewrite: int = 0) -> None:
        """A new segment of generation 1, written out (zeros) to ``prewrite`` bytes and synced."""
        fresh = not directory.exists()
        directory.mkdir(exist_ok=True)  # not the spool folder: the spool makes that again, if it must
        if fresh:
            fsync_dir(directory.parent)
        while True:
            self.path = directory / f"{os.getpid()}-{next(_names)}.seg"
            self.fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o640)
            fcntl.flock(self.fd, fcntl.LOCK_EX)
            if os.fstat(self.fd).st_nlink:
                break
            os.close(self.fd)  # another process's recovery locked it first, found it empty and deleted it
        try:
            self.generation = 1
            os.pwrite(self.fd, _SEGMENT_HEAD.pack(SEGMENT_MAGIC, self.generation), 0)
            for offset in range(RECORDS_START, prewrite, len(_ZEROS)):
                os.pwrite(self.fd, _ZEROS[: prewrite - offset], offset)
            os.fsync(self.fd)
            fsync_dir(directory)  # the segment's own entry: once, not per instance
        except BaseException:
            self.discard()
            raise
        self.size = RECORDS_START
        self.files: list[Path] = []
        self.failed = False  # a write or sync failed: checkpointed, then deleted, never reused

    @property
    def empty(self) -> bool:
        return self.size == RECORDS_START

    def append(self, relpath: str, chunks: list[bytes]) -> None:
        """Write one record after the last and make it durable (one ``fdatasync``)."""
        name = relpath.encode()
        crc = crc32(name)
        for chunk in chunks:
            crc = crc32(chunk, crc)
        length = sum(len(c) for c in chunks)
        head = _HEAD.pack(MAGIC, self.generation, len(name), length, crc)
        try:
            write_all(self.fd, [head, name, *chunks], self.size)
            os.fdatasync(self.fd)
        except OSError:
            self.failed = True
            try:  # no torn record may be taken for a whole one (the segment is not written to again)
                os.pwrite(self.fd, bytes(len(head)), self.size)
            except OSError:
                pass
            raise
        self.size += len(head) + len(name) + length

    def checkpoint(self) -> None:
        """Sync every instance file this segment covers and their folders.

        One ``syncfs`` of the spool's filesystem where the C library has it (a single writeback and cache
        flush for the whole batch, errors reported since Linux 5.8); else each file and folder in turn."""
        if not _syncfs(self.fd):
            self._sync_each()
        self.files.clear()

    def reset(self) -> None:
        """Retire every record (all checkpointed): the next generation in the header, synced."""
        os.pwrite(self.fd, _SEGMENT_HEAD.pack(SEGMENT_MAGIC, self.generation + 1), 0)
        os.fdatasync(self.fd)
        self.generation += 1
        self.size = RECORDS_START

    def discard(self) -> None:
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
    """One background thread that checkpoints the segments handed to it, in order, and keeps the spares:
    emptied segments, and new ones it writes out ahead of use."""

    def __init__(self) -> None:
        self._queue: queue.Queue[Callable[[], None]] = queue.Queue()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._spares: dict[Path, list[Segment]] = {}

    def put(self, segment: Segment) -> None:
        self._submit(lambda: self._checkpoint(segment))

    def prepare(self, directory: Path) -> None:
        """Write out a spare segment in ``directory`` in the background, unless one is there."""
        self._submit(lambda: self._prepare(directory))

    def take(self, directory: Path) -> Segment:
        """A spare segment of ``directory``, else a new one written as it goes (and a spare is prepared for
        the next time: more associations at once than spares; one at a time reuses its predecessor's)."""
        with self._lock:
            spares = self._spares.get(directory, [])
            segment = None
            while spares and segment is None:
                segment = spares.pop()
                if not os.fstat(segment.fd).st_nlink:  # deleted behind the spool: not durable
                    os.close(segment.fd)
                    segment = None
        if segment is None:
            self.prepare(directory)
            return Segment(directory)
        return segment

    def join(self) -> None:
        """Wait until every segment handed over so far is checkpointed (and every spare asked for made)."""
        self._queue.join()

    def drop_spares(self) -> None:
        """Delete the spare segments (after :meth:`join`; none is in use)."""
        with self._lock:
            spares = [s for group in self._spares.values() for s in group]
            self._spares.clear()
        for segment in spares:
            segment.discard()

    def _submit(self, job: Callable[[], None]) -> None:
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="spool-checkpoint", daemon=True)
                self._thread.start()
        self._queue.put(job)

    def _run(self) -> None:
        while True:
            job = self._queue.get()
            try:
                job()
            finally:
                self._queue.task_done()

    def _checkpoint(self, segment: Segment) -> None:
        try:
            segment.checkpoint()
        except OSError:  # the segment stays; recovery at the next start replays it
            log.exception("spool checkpoint of %s failed", segment.path.name)
            return
        directory = segment.path.parent
        with self._lock:
            keep = not segment.failed and len(self._spares.get(directory, ())) < SPARE_SEGMENTS
        if keep:
            try:
                segment.reset()
            except OSError:
                log.exception("spool journal segment %s cannot be emptied; deleting it", segment.path.name)
            else:
                with self._lock:
                    self._spares.setdefault(directory, []).append(segment)
                return
        try:
            segment.discard()
        except OSError:
            log.exception("spool journal segment %s cannot be deleted", segment.path.name)

    def _prepare(self, directory: Path) -> None:
        with self._lock:
            if self._spares.get(directory):
                return
        try:
            segment = Segment(directory, prewrite=SPARE_BYTES)
        except OSError:  # (ENOSPC) journals then start segments that grow as they are written
            log.exception("spool journal: no spare segment written")
            return
        with self._lock:
            self._spares.setdefault(directory, []).append(segment)


class Journal:
    """One association's writer: writes into its current segment, taking another when it is full."""

    def __init__(self, directory: Path, checkpointer: Checkpointer) -> None:
        self.directory = directory
        self.checkpointer = checkpointer
        self._segment: Segment | None = None
        self._lock = threading.Lock()

    def append(self, relpath: str, chunks: list[bytes]) -> None:
        record = _HEAD.size + len(relpath.encode()) + sum(len(c) for c in chunks)
        with self._lock:
            segment = self._segment
            if segment is not None and not segment.empty and segment.size + record > SEGMENT_BYTES:
                self.checkpointer.put(segment)
                segment = None
            if segment is None:
                segment = self._segment = self.checkpointer.take(self.directory)
            try:
                segment.append(relpath, chunks)
            except OSError:  # (ENOSPC, EIO) the next instance goes to another segment
                self._segment = None
                self.checkpointer.put(segment)
                raise

    def written(self, path: Path) -> None:
        """The instance file of the last record is in place (unsynced): the checkpoint syncs it."""
        with self._lock:
            if self._segment is not None:
                self._segment.files.append(path)

    def close(self) -> None:
        with self._lock:
            segment, self._segment = self._segment, None
        if segment is not None:
            self.checkpointer.put(segment)


def records(data: bytes) -> Iterator[tuple[str, bytes]]:
    """The intact records of a segment's bytes of its header's generation, up to the first torn,
    mismatched or older one (a segment of the node before reuse has no header: all its records count)."""
    if data[:4] == LEGACY_MAGIC:
        head, generation, pos = _LEGACY_HEAD, None, 0
    elif len(data) >= RECORDS_START and data[:4] == SEGMENT_MAGIC:
        head, generation, pos = _HEAD, _SEGMENT_HEAD.unpack_from(data)[1], RECORDS_START
    else:
        return
    while pos + head.size <= len(data):
        if generation is None:
            magic, name_len, length, crc = head.unpack_from(data, pos)
            wanted = magic == LEGACY_MAGIC
        else:
            magic, of, name_len, length, crc = head.unpack_from(data, pos)
            wanted = magic == MAGIC and of == generation
        start = pos + head.size
        end = start + name_len + length
        if not wanted or end > len(data):
            return
        name, body = data[start : start + name_len], data[start + name_len : end]
        if crc32(body, crc32(name)) != crc:
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
                continue  # a live association's segment, or a live process's spare
            with open(fd, "rb", closefd=False) as f:
                data = f.read()
            count = fixed = 0
            for relpath, body in records(data):
                count += 1
                if restore(relpath, body) is not None:
                    fixed += 1
            if count:
                log.warning("spool journal %s replayed: %d instances, %d rewritten", path.name, count, fixed)
            rewritten += fixed
            path.unlink()
        finally:
            os.close(fd)
    return rewritten
