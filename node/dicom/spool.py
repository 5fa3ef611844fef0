"""The spool: where every received instance is made durable before it is acknowledged.

Layout: ``<spool>/<StudyInstanceUID>/<SeriesInstanceUID>/<SOPInstanceUID>.dcm``. Paths are built only
from UIDs that pass :func:`node.dicom.uids.is_valid_uid`. Each file is written to a temporary name in the
same directory, flushed, fsynced, renamed into place, and the directory entry fsynced: once
:meth:`Spool.store` returns, the instance survives a crash or power loss.
"""

from __future__ import annotations

import logging
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from node.dicom.uids import check_uid

log = logging.getLogger(__name__)


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

    def store(self, study_uid: str, series_uid: str, sop_instance_uid: str, chunks: list[bytes]) -> StoredInstance:
        """Write the encoded file durably; a second copy of the same instance is not rewritten."""
        path = self.path_for(study_uid, series_uid, sop_instance_uid)
        if path.exists():
            return StoredInstance(path, path.stat().st_size, duplicate=True)
        size = sum(len(c) for c in chunks)
        if not self.has_room(size):
            raise SpoolFull(f"free space below watermark ({self.min_free_bytes} bytes)")
        self._ensure_dir(path.parent)
        tmp = path.with_name(f".{sop_instance_uid}.{os.getpid()}.tmp")
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o640)
        except FileNotFoundError:  # the directory was removed (retention) since we last saw it
            self._known_dirs.discard(path.parent)
            self._ensure_dir(path.parent)
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o640)
        try:
            for chunk in chunks:
                view = memoryview(chunk)
                while view:
                    written = os.write(fd, view)
                    view = view[written:]
            os.fsync(fd)
        except BaseException:
            os.close(fd)
            tmp.unlink(missing_ok=True)
            raise
        os.close(fd)
        os.replace(tmp, path)
        _fsync_dir(path.parent)
        return StoredInstance(path, size, duplicate=False)

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
            _fsync_dir(c.parent)
        self._known_dirs.add(directory)

    def iter_files(self) -> list[Path]:
        """Every complete instance file in the spool (temporary files are ignored and removed)."""
        found = []
        for path in self.root.rglob("*"):
            if path.name.startswith(".") and path.name.endswith(".tmp"):
                path.unlink(missing_ok=True)
            elif path.suffix == ".dcm" and path.is_file():
                found.append(path)
        return found


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
