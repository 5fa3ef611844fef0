"""The spool: where every received instance is made durable before it is acknowledged.

Layout: ``<spool>/<StudyInstanceUID>/<SeriesInstanceUID>/<SOPInstanceUID>.dcm``. Paths are built only
from UIDs that pass :func:`node.dicom.uids.is_valid_uid`. Once :meth:`Spool.store` returns, the instance
survives a crash or power loss. With a :class:`~node.dicom.journal.Journal` (the SCP opens one per
association) that takes one ``fdatasync`` of the association's journal segment (data only, no metadata),
and the instance file is written and renamed into place unsynced after it, synced later by the journal's
checkpoint; without one, the file is written to a temporary name, fsynced, renamed into place and its
directory fsynced. :meth:`iter_files` (the start-up rescan) first replays what a crash left in the journal.
"""

from __future__ import annotations

import logging
import os
import shutil
import threading
from dataclasses import dataclass
from pathlib import Path

from node.dicom.journal import Checkpointer, Journal, fsync_dir, recover, write_all
from node.dicom.uids import check_uid

log = logging.getLogger(__name__)

#: Where the journal's segments live, inside the spool folder.
JOURNAL_FOLDER = ".journal"


class SpoolFull(OSError):
    """Free space is below the watermark; nothing was written."""


@dataclass(frozen=True)
class StoredInstance:
    path: Path
    size: int
    duplicate: bool


class Spool:
    def __init__(self, root: Path, *, min_free_bytes: int = 0) -> None:
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)
        self.min_free_bytes = min_free_bytes
        self._known_dirs: set[Path] = set()
        self.journal_dir = self.root / JOURNAL_FOLDER
        self._checkpointer = Checkpointer()

    def journal(self) -> Journal:
        """A writer for one association: one sync per instance (see :mod:`node.dicom.journal`)."""
        return Journal(self.journal_dir, self._checkpointer)

    def prepare_journal(self) -> None:
        """Write out a spare journal segment in the background, so that the first association's records
        already land in allocated blocks (see :mod:`node.dicom.journal`)."""
        self._checkpointer.prepare(self.journal_dir)

    def wait_for_checkpoints(self) -> None:
        """Block until every closed journal segment is checkpointed (its files synced, itself emptied)."""
        self._checkpointer.join()

    def close_journal(self) -> None:
        """Wait for the checkpoints, then delete the spare segments (the spool stays usable)."""
        self._checkpointer.join()
        self._checkpointer.drop_spares()

    def path_for(self, study_uid: str, series_uid: str, sop_instance_uid: str) -> Path:
        check_uid(study_uid, "StudyInstanceUID")
        check_uid(series_uid, "SeriesInstanceUID")
        check_uid(sop_instance_uid, "SOPInstanceUID")
        return self.root / study_uid / series_uid / f"{sop_instance_uid}.dcm"

    def free_bytes(self) -> int:
        try:
            return shutil.disk_usage(self.root).free
        except FileNotFoundError:
            self._recreate_root()
            return shutil.disk_usage(self.root).free

    def _recreate_root(self) -> None:
        """The spool folder was removed while running: make it again, or fail with an OSError (0xA700)."""
        log.error("spool folder %s is missing; recreating it", self.root)
        self._known_dirs.clear()
        try:
            self.root.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            log.error("spool folder %s cannot be recreated (%s); refusing instances", self.root, exc.strerror or exc)
            raise SpoolFull(f"spool folder missing: {exc.strerror or exc}") from None

    def has_room(self, size: int = 0) -> bool:
        return self.free_bytes() - size >= self.min_free_bytes

    def store(
        self,
        study_uid: str,
        series_uid: str,
        sop_instance_uid: str,
        chunks: list[bytes],
        *,
        journal: Journal | None = None,
    ) -> StoredInstance:
        """Write the encoded file durably; a second copy of the same instance is not rewritten."""
        path = self.path_for(study_uid, series_uid, sop_instance_uid)
        if path.exists():
            return StoredInstance(path, path.stat().st_size, duplicate=True)
        size = sum(len(c) for c in chunks)
        if not self.has_room(size):
            raise SpoolFull(f"free space below watermark ({self.min_free_bytes} bytes)")
        self._ensure_dir(path.parent)
        if journal is None:
            self._write(path, chunks, durable=True)
        else:
            journal.append(path.relative_to(self.root).as_posix(), chunks)  # durable from here
            self._write(path, chunks, durable=False)
            journal.written(path)
        return StoredInstance(path, size, duplicate=False)

    def _write(self, path: Path, chunks: list[bytes], *, durable: bool) -> None:
        """Write to a temporary name and rename into place; ``durable``: fsync the file, then its folder."""
        tmp = path.with_name(f".{path.stem}.{os.getpid()}.{threading.get_ident()}.tmp")
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o640)
        except FileNotFoundError:  # the directory was removed (retention) since we last saw it
            self._known_dirs.discard(path.parent)
            self._ensure_dir(path.parent)
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o640)
        try:
            write_all(fd, chunks)  # file meta and dataset in one writev
            if durable:
                os.fsync(fd)
        except BaseException:
            os.close(fd)
            tmp.unlink(missing_ok=True)
            raise
        os.close(fd)
        os.replace(tmp, path)
        if durable:
            fsync_dir(path.parent)

    def _ensure_dir(self, directory: Path) -> None:
        if directory in self._known_dirs:
            return
        created = []
        d = directory
        while not d.exists():
            created.append(d)
            d = d.parent
        directory.mkdir(parents=True, exist_ok=True)
        for c in reversed(created):
            fsync_dir(c.parent)
        self._known_dirs.add(directory)

    def recover(self) -> int:
        """Replay journal segments a crash left behind (none a live writer holds): every instance they
        acknowledged is made whole and durable. Returns how many files had to be rewritten."""
        return recover(self.journal_dir, self._restore)

    def _restore(self, relpath: str, body: bytes) -> Path | None:
        parts = relpath.split("/")
        if len(parts) != 3 or not parts[2].endswith(".dcm"):
            log.error("spool journal record with an unexpected path skipped")
            return None
        path = self.path_for(parts[0], parts[1], parts[2][: -len(".dcm")])
        try:
            whole = path.stat().st_size == len(body) and path.read_bytes() == body
        except FileNotFoundError:
            whole = False
        if whole:  # in place, perhaps only in the page cache: make it durable
            fd = os.open(path, os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
            fsync_dir(path.parent)
            return None
        self._known_dirs.discard(path.parent)
        self._ensure_dir(path.parent)
        self._write(path, [body], durable=True)
        return path

    def iter_files(self) -> list[Path]:
        """Every complete instance file in the spool, after replaying the journal (temporary files are
        ignored and removed)."""
        rewritten = self.recover()
        if rewritten:
            log.warning("spool journal: %d acknowledged instances rewritten after a crash", rewritten)
        found = []
        for path in self.root.rglob("*"):
            if path.name.startswith(".") and path.name.endswith(".tmp"):
                path.unlink(missing_ok=True)
            elif path.suffix == ".dcm" and path.is_file():
                found.append(path)
        return found
