"""In-flight markers: a segmentation one process is making, marked in the cache's folder so that another
process that asks for it waits for it instead of making it too.

A marker is a file named by a digest of the files a series' images are read from, holding the ID and the start
time of the process that made it (:class:`workers.processes.ProcessIdentity`; :func:`claim`); it is removed once
the segmentation is filed (:func:`release`). A marker whose process no longer runs is stale: nobody is making that
segmentation any more (:func:`maker`): the process is gone (killed, out of memory), or has exited and is not yet
collected by its parent (a zombie), or its ID now names another process (started at another time).
Used by :class:`workers.analysis.segmentation_cache.SegmentationCache`.
"""

from __future__ import annotations

import hashlib
import logging
import os
import time
from collections.abc import Callable, Iterable
from pathlib import Path

from workers.processes import ProcessIdentity

log = logging.getLogger(__name__)

#: Longest wait, in seconds, for a segmentation another process has begun (its in-flight marker in the cache)
#: before the job makes it itself; the wait also ends as soon as that process no longer runs.
IN_FLIGHT_WAIT = 60.0


def marker_path(folder: Path, code: str, identities: Iterable[tuple[str, int, int, int]]) -> Path:
    """The marker in ``folder`` of the segmentation of the files ``identities`` (path, size, modification time,
    inode: :func:`workers.analysis.segmentation_cache.file_identity`) made by the code of digest ``code``."""
    h = hashlib.sha256(code.encode())
    h.update(repr(sorted(identities)).encode())
    return folder / f"{h.hexdigest()}.making"


def claim(folder: Path, marker: Path) -> Path | None:
    """Make ``marker`` (in ``folder``), holding this process's ID and start time, whole and only when no other
    process has it. Returns it, or None when it could not be made (another process has it; no folder)."""
    tmp = marker.with_name(f"{marker.name}.{os.getpid()}.tmp")
    try:
        folder.mkdir(parents=True, exist_ok=True)
        tmp.write_text(ProcessIdentity.of().text())
        os.link(tmp, marker)  # whole, and only when no other process has it
    except OSError:
        return None
    finally:
        tmp.unlink(missing_ok=True)
    return marker


def release(marker: Path) -> None:
    """Remove ``marker`` (the segmentation is filed, or was not made)."""
    try:
        marker.unlink()
    except OSError:
        pass


def maker(marker: Path | None) -> int | None:
    """The process ID held by ``marker`` when that process still runs, or None (no marker, or a stale one: its
    process gone, a zombie, or its ID now another process's). A marker holding an ID alone (no start time) names
    the process that has that ID."""
    if marker is None:
        return None
    try:
        process = ProcessIdentity.parse(marker.read_text())
    except (OSError, ValueError):  # no marker
        return None
    return process.pid if process.running() else None


def wait_while(busy: Callable[[], bool], timeout: float = IN_FLIGHT_WAIT, poll: float = 0.02) -> None:
    """Return once ``busy()`` is false (checked every ``poll`` seconds), or after ``timeout`` seconds (logged:
    the caller then makes the segmentation itself)."""
    deadline = time.monotonic() + timeout
    while busy():
        if time.monotonic() > deadline:
            log.warning("segmentation cache: a segmentation being made elsewhere took too long; made here")
            return
        time.sleep(poll)
