"""Segmentations filed on disk (:class:`SegmentationCache`) and what a segmentation is known by.

A run (:func:`workers.analysis.segmentations.analysis_run`) may be given a :class:`SegmentationCache`: a folder
of segmentations made before, each filed under a digest of everything it is computed from (the code of the
segmentation, numpy's and scipy's versions, the volume's images, shape, affine and polarity, and the identity of
each image's file: path, size, modification time and inode). A segmentation found there is the one
:func:`workers.analysis.cord.segmentation.segment_cord` would make again, so the run takes it instead; any change
to an input is another digest, and the segmentation is made anew. The node fills the cache while a study is still
arriving (:mod:`workers.pipeline.early`), so that the job finds the series already segmented; a series it is
still segmenting is marked (:meth:`SegmentationCache.claim`, :mod:`workers.analysis.in_flight`), and a job that
asks for its segmentation meanwhile waits for it instead of making it again. The QC figures of a segmentation
(:func:`workers.analysis.cord.qc.figures`) are filed with it when known.
"""

from __future__ import annotations

import hashlib
import logging
import os
import pickle
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import scipy

from workers.analysis import in_flight as markers
from workers.analysis.cord.axial_view import AxialView
from workers.analysis.cord.centreline import Polarity
from workers.analysis.cord.segmentation import CordSegmentation
from workers.analysis.volume import Volume

if TYPE_CHECKING:
    from workers.analysis.cord.morphometry import SliceMorphometry
    from workers.analysis.cord.qc import CordQcFigures

log = logging.getLogger(__name__)

#: What a segmentation is known by (:func:`segmentation_key`).
Key = tuple[tuple[str, ...], tuple[int, ...], bytes, Polarity | None]
#: The QC figures of a segmentation (:func:`workers.analysis.cord.qc.figures`) and the slices they were made on.
Figures = tuple["list[SliceMorphometry]", "CordQcFigures"]


def segmentation_key(volume: Volume, polarity: Polarity | None = Polarity.CSF_BRIGHT) -> Key:
    """What a segmentation is remembered by: the volume's images, shape and affine, and the polarity."""
    return (volume.sop_instance_uids, volume.array.shape, np.asarray(volume.affine).tobytes(), polarity)


@dataclass(frozen=True)
class Detached:
    """A segmentation made on the pool or filed, without its image (an empty array on the view's grid): the job's
    process holds the volume, whose view it is (the key names its images, shape and affine). ``figures``: its
    QC figures, when they were made with it."""

    segmentation: CordSegmentation
    figures: Figures | None = None

    @classmethod
    def of(cls, seg: CordSegmentation, figures: Figures | None = None) -> Detached:
        """``seg`` without its image, with its QC figures when known."""
        return cls(replace(seg, view=replace(seg.view, array=np.empty((0, 0, 0), seg.view.array.dtype))), figures)

    def on(self, volume: Volume) -> CordSegmentation:
        """The segmentation with its image: the view of ``volume`` (the volume it was made from)."""
        return replace(self.segmentation, view=AxialView.of(volume))


#: Files whose code a segmentation depends on: a cached one is used only with the same code.
_HERE = Path(__file__).parent
_CODE = (
    _HERE / "cord",
    _HERE / "volume.py",
    _HERE / "segmentations.py",
    _HERE / "segmentation_cache.py",
    _HERE / "in_flight.py",
)
_CODE_DIGEST: list[str] = []


def code_digest() -> str:
    """A digest of the segmentation's code (every module of ``workers/analysis/cord``, ``volume.py``, the run's
    memo and pool, this module and the in-flight markers) and of numpy's and scipy's versions, computed once
    per process."""
    if not _CODE_DIGEST:
        h = hashlib.sha256(f"{np.__version__} {scipy.__version__}".encode())
        for root in _CODE:
            for path in sorted(root.rglob("*.py")) if root.is_dir() else [root]:
                h.update(path.name.encode() + b"\0" + path.read_bytes())
        _CODE_DIGEST.append(h.hexdigest())
    return _CODE_DIGEST[0]


FileIdentity = tuple[str, int, int, int]


def file_identity(path: str | os.PathLike[str]) -> FileIdentity | None:
    """(path, size, modification time in ns, inode) of a file: a file written again or replaced has another."""
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (str(path), st.st_size, st.st_mtime_ns, st.st_ino)


def identities_of(datasets: Iterable[Any]) -> dict[str, FileIdentity]:
    """SOP Instance UID -> file identity for datasets read from files (those without a file are left out)."""
    out: dict[str, FileIdentity] = {}
    for ds in datasets:
        filename = getattr(ds, "filename", None)
        uid = ds.get("SOPInstanceUID") if hasattr(ds, "get") else None
        if isinstance(filename, str | os.PathLike) and uid and (identity := file_identity(filename)) is not None:
            out[str(uid)] = identity
    return out


@dataclass(frozen=True)
class SegmentationCache:
    """Segmentations filed in ``folder`` under the digest of their inputs (see the module's doc): ``files``
    names the file of each SOP Instance UID of the run's images; a volume with an image not in it is never
    looked up. ``keep``: segmentations this run makes are filed (the node's early work); a job only reads."""

    folder: Path
    files: Mapping[str, FileIdentity] = field(default_factory=dict)
    keep: bool = False

    def digest(self, key: Key) -> str | None:
        sops, shape, affine, polarity = key
        try:
            identities = [self.files[uid] for uid in sops]
        except KeyError:
            return None
        h = hashlib.sha256(code_digest().encode())
        h.update(repr((sops, shape, polarity.name if polarity is not None else None, identities)).encode())
        h.update(affine)
        return h.hexdigest()

    def path(self, key: Key) -> Path | None:
        digest = self.digest(key)
        return self.folder / f"{digest}.seg" if digest is not None else None

    def get(self, key: Key) -> Detached | None:
        """The segmentation filed for ``key`` (without its image, with its QC figures when filed), or None."""
        path = self.path(key)
        if path is None:
            return None
        try:
            data = path.read_bytes()
        except OSError:
            return None
        try:
            seg, packed, shape, figures = pickle.loads(data)
            if shape is None:  # not a boolean mask: filed as it was
                return Detached(seg, figures)
            mask = np.unpackbits(packed, count=int(np.prod(shape))).reshape(shape).astype(bool)
            return Detached(replace(seg, mask=mask), figures)
        except Exception as exc:  # a file cut short (a crash while writing it): made again
            log.warning("segmentation cache: an unreadable entry ignored (%s)", type(exc).__name__)
            return None

    def _marker(self, key: Key) -> Path | None:
        """The marker of the segmentation of ``key``: that of the files its images are read from."""
        try:
            return markers.marker_path(self.folder, code_digest(), (self.files[uid] for uid in key[0]))
        except KeyError:
            return None

    def claim(self) -> Path | None:
        """Mark the segmentation of this cache's files (:attr:`files`, one series: the node's early work) as
        being made by this process, from before its volume is read until it is filed with its QC figures (a
        marker file named by the files, holding the process ID and start time), so that a job that asks for it meanwhile
        waits for it (:meth:`wait`) instead of making it too. Returns the marker to :meth:`release`, or None
        when it could not be made (another process has it; no folder)."""
        return markers.claim(self.folder, markers.marker_path(self.folder, code_digest(), self.files.values()))

    def release(self, marker: Path) -> None:
        """Remove the marker of :meth:`claim` (the segmentation is filed, or was not made)."""
        markers.release(marker)

    def maker(self, key: Key) -> int | None:
        """The process ID of a process still making ``key`` (its marker there and the process alive), or None."""
        return markers.maker(self._marker(key))

    def in_flight(self, key: Key) -> bool:
        """Whether another process is making the segmentation of ``key`` now."""
        return self.maker(key) is not None

    def wait(self, key: Key, timeout: float = markers.IN_FLIGHT_WAIT, poll: float = 0.02) -> Detached | None:
        """The segmentation of ``key`` once the process making it has filed it (with its QC figures) and
        removed its marker; None when that process stops without filing it (it failed, or died) or ``timeout``
        seconds have passed: then the caller makes it."""
        marker = self._marker(key)  # named once: each look then reads only the marker
        markers.wait_while(lambda: markers.maker(marker) is not None, timeout, poll)
        return self.get(key)

    def put(self, key: Key, seg: CordSegmentation, figures: Figures | None = None) -> None:
        """File ``seg`` and its QC figures when known (written whole under a temporary name, then renamed into
        place)."""
        path = self.path(key)
        if path is None:
            return
        detached = Detached.of(seg).segmentation
        record: tuple[Any, Any, Any, Any] = (detached, None, None, figures)
        if isinstance(seg.mask, np.ndarray) and seg.mask.dtype == bool:  # 1 bit a voxel
            empty = replace(detached, mask=np.zeros((0, 0, 0), bool))
            record = (empty, np.packbits(seg.mask, axis=None), seg.mask.shape, figures)
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            tmp.write_bytes(pickle.dumps(record, protocol=pickle.HIGHEST_PROTOCOL))
            tmp.replace(path)
        except OSError as exc:  # a full disk: the job segments the series itself
            log.warning("segmentation cache: not written (%s)", exc)
            tmp.unlink(missing_ok=True)  # a part written is not left to fill the disk further
