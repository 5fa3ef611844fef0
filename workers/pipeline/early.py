"""Work begun while a study still arrives: the cord segmentation of each series a job will segment.

Most of a spine MR job is the cord segmentation of its T2 series (every axial T2 for the canal analyser, the
sagittal T2 for the levels). A series is usually sent whole before the next one, so the node can segment it
as soon as it has been quiet for a moment (:mod:`node.daemon.early`), while the rest of the study arrives and while
the study waits to become stable, and file the result in the
:class:`~workers.analysis.segmentation_cache.SegmentationCache` of its data folder. The job then finds it there.

This never changes a result, only when it is ready: a segmentation is filed under a digest of everything it is
computed from (the code, the volume's images, geometry and polarity, and each image file's path, size,
modification time and inode), and the job looks it up with the digest of the volume it builds itself. When
more instances of the series arrive later, or one is sent again (a new file), or one cannot be read by the job,
the digests differ and the job segments that series itself, as without the cache. A series being segmented
here is marked from before its volume is read until it is filed (with the QC figures of an axial T2): a job that
asks for it meanwhile waits for it rather than making it twice. The early work is at most two processes
(:data:`node.daemon.early.WORKERS`), each on at most one core, beside receiving (a thread of the node's process);
the second yields to everything else (:data:`EXTRA_NICENESS`).
"""

from __future__ import annotations

import hashlib
import logging
import os
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from multiprocessing.sharedctypes import Synchronized

    from pydicom.dataset import Dataset

    from workers.analysis.segmentation_cache import SegmentationCache

log = logging.getLogger(__name__)

#: Nice increment of the early-work process (0: the node's own priority). A higher one would leave the cores
#: to the node's receiving and jobs first, but on a machine shared with other work it starves the early work:
#: a study is then stable before its series are segmented.
NICENESS = 0
#: Seconds an entry of the cache is kept (a study's job normally runs within seconds of its early work).
KEEP_SECONDS = 3600.0


def cache_folder(data_dir: Path) -> Path:
    """The segmentation cache of a node's data folder."""
    return data_dir / "cache" / "segmentations"


#: What :func:`segment_early` found a series to be.
AXIAL_T2 = "axial T2"
SAGITTAL_T2 = "sagittal T2"


def segmented_as(sequence: str | None, plane: str | None, images: int) -> str | None:
    """Which series of a study a job segments the cord of: every axial T2 of at least three images (the canal
    and the cord analyser) and the first sagittal T2 (the levels estimate; which is first is known only once
    the study's series are: :mod:`node.daemon.early` asks for the first one it knows of)."""
    if sequence != "T2":
        return None
    if plane == "axial" and images >= 3:
        return AXIAL_T2
    return SAGITTAL_T2 if plane == "sagittal" else None


def may_be_t2(first: Dataset) -> bool:
    """Whether a series whose first readable header is ``first`` can be a T2 to the inventory
    (:func:`workers.inventory.classify_series`).

    The inventory takes a series' sequence from its first image header and from the diffusion samples of
    all its headers, and those samples can only turn a series into a diffusion series, never into a T2: a
    series this header alone does not make a T2 is not one with all its headers either. A first header
    without an image (no Rows) is not the one the inventory reads: then every header is read, as before."""
    from workers.inventory.diffusion import summarise
    from workers.inventory.sequence import read_facts, sequence_family

    if "Rows" not in first:
        return True
    try:
        return sequence_family(read_facts(first), summarise([])) == "T2"
    except Exception:  # the full classification reports it
        return True


#: Nice increment of every early-work process after the first: they take a core only when receiving and the
#: job leave it idle, so the first keeps its share on a shared machine and receiving is not slowed.
EXTRA_NICENESS = 10


def lower_priority(niceness: int = NICENESS) -> None:
    """Make this process (an early-work worker) yield the CPU to the node's other processes; once."""
    try:
        if niceness and os.getpriority(os.PRIO_PROCESS, 0) < niceness:
            os.nice(niceness - os.getpriority(os.PRIO_PROCESS, 0))
    except OSError:  # not permitted here: it runs at the node's priority
        pass


def prepare_worker(started: Synchronized[int] | None = None) -> None:
    """An early-work process's start: its priority (:data:`NICENESS` for the first of a pool, counted in
    ``started``; :data:`EXTRA_NICENESS` for the others) and the modules :func:`segment_early` uses, imported
    before the first series arrives."""
    first = True
    if started is not None:
        with started.get_lock():
            first, started.value = started.value == 0, started.value + 1
    lower_priority(NICENESS if first else max(NICENESS, EXTRA_NICENESS))
    import workers.analysis.cord.qc  # noqa: F401
    import workers.analysis.segmentation_cache  # noqa: F401
    import workers.analysis.segmentations  # noqa: F401
    import workers.analysis.volume  # noqa: F401
    import workers.inventory  # noqa: F401
    import workers.pipeline.context  # noqa: F401


def ready() -> bool:
    """Nothing: a task whose running starts the worker process (and :func:`prepare_worker`)."""
    return True


def _study_marker(folder: Path, name: str, study_uid: str) -> Path:
    """A marker file of the study in ``folder``: ``name`` with ``{}`` for a digest of its UID (no UID in a file
    name); pruned with the cache's entries."""
    return folder / name.format(hashlib.sha256(study_uid.encode()).hexdigest()[:32])


def _first_sagittal(folder: Path, study_uid: str) -> bool:
    """Whether this is the first sagittal T2 of the study to be segmented early (a marker file claimed once)."""
    marker = _study_marker(folder, "sagittal-{}.claim", study_uid)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        os.close(os.open(marker, os.O_CREAT | os.O_EXCL | os.O_WRONLY))
    except FileExistsError:
        return False
    except OSError:
        return False
    return True


def _dropped_marker(folder: Path, study_uid: str) -> Path:
    return _study_marker(folder, "dropped-{}", study_uid)


def drop(folder: Path, study_uid: str, dropped: bool = True) -> None:
    """Mark the study's early work as dropped (its job has started: a series handed to a worker process but not
    begun there is not segmented), or (``dropped`` false) as wanted again (the study is arriving again)."""
    marker = _dropped_marker(folder, study_uid)
    try:
        if dropped:
            folder.mkdir(parents=True, exist_ok=True)
            marker.touch()
        else:
            marker.unlink(missing_ok=True)
    except OSError:  # then that series is segmented as before
        pass


def segment_early(
    paths: Sequence[str], study_uid: str, folder: Path, sagittal: bool | None = False
) -> tuple[str | None, int]:
    """Read the headers of one series (``paths``), classify it and, when it is an axial T2 a job segments
    (or a sagittal T2 and ``sagittal``; ``None``: when it is the first sagittal T2 of the study to come here,
    the one the levels estimate most often uses), segment its cord now and file the segmentation in ``folder``.
    Returns what the series is (:func:`segmented_as`) and how many segmentations were filed (0 or 1); a
    series that cannot be read, classified or segmented files nothing (the job says why, as before), nor does one
    of a study whose early work was dropped (:func:`drop`) before this began."""
    from workers.analysis.segmentation_cache import SegmentationCache, identities_of
    from workers.inventory import classify_series
    from workers.pipeline.context import usable

    lower_priority()
    if _dropped_marker(folder, study_uid).exists():  # its job has begun and makes what it needs itself
        return None, 0
    reads = (usable(Path(p), study_uid)[0] for p in paths)
    first = next((ds for ds in reads if ds is not None), None)
    if first is None:
        return None, 0
    if not may_be_t2(first):  # never a T2 to the job's inventory: its other headers are not read here
        return None, 0
    headers = [first, *(ds for ds in reads if ds is not None)]
    try:
        inventory = classify_series(headers)
    except Exception:  # the job's inventory reports it
        return None, 0
    kind = segmented_as(inventory.sequence, inventory.plane, len(headers)) if inventory.modality == "MR" else None
    if kind is None:
        return kind, 0
    if kind == SAGITTAL_T2 and not (sagittal or (sagittal is None and _first_sagittal(folder, study_uid))):
        return kind, 0
    cache = SegmentationCache(folder, identities_of(headers), keep=True)
    marker = cache.claim()  # a job that asks for this series' segmentation now waits for this one
    try:
        return kind, _segment_filed(headers, kind, cache)
    finally:
        if marker is not None:
            cache.release(marker)


def _segment_filed(headers: list[Dataset], kind: str, cache: SegmentationCache) -> int:
    """Segment the series of ``headers`` (of kind ``kind``) and file it in ``cache`` (with the QC figures of an
    axial T2); how many segmentations were filed (0 or 1)."""
    from workers.analysis.cord.morphometry import slice_morphometry
    from workers.analysis.cord.qc import figures
    from workers.analysis.segmentations import analysis_run, cord_segmentation
    from workers.analysis.volume import load_volume

    started = time.process_time()
    with analysis_run(workers=1, cache=cache) as run:
        try:
            volume = load_volume(headers)
            seg = cord_segmentation(volume)
        except Exception as exc:  # the job meets the same and reports it
            log.debug("early segmentation not made: %s", exc)
            return 0
        if kind == AXIAL_T2:  # the canal analyser's QC of every axial T2, filed with it (the job takes both)
            try:
                figures(seg, slice_morphometry(seg))
            except Exception as exc:  # the job meets the same and reports it
                log.debug("early QC figures not made: %s", exc)
            run.refile(volume)
        filed = sum(1 for seg in run.made().values() if not isinstance(seg, Exception))
    log.debug("early segmentation of %d images: %.2f CPU s", len(headers), time.process_time() - started)
    return filed


def prune(folder: Path, keep_seconds: float = KEEP_SECONDS, now: float | None = None) -> int:
    """Remove the entries older than ``keep_seconds`` (and temporary files left by a crash). Returns how many."""
    now = time.time() if now is None else now
    removed = 0
    try:
        entries = list(folder.iterdir())
    except OSError:
        return 0
    for path in entries:
        try:
            if now - path.stat().st_mtime > keep_seconds:
                path.unlink()
                removed += 1
        except OSError:
            continue
    return removed
