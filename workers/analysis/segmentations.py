"""The cord segmentations of one analysis run, each computed once, and independent series on every core.

Several analysers segment the cord of the same series (the canal analyser every axial T2, the cord analyser
the best of them, the levels and the marrow analyser the sagittal T2). Within :func:`analysis_run` (what
:func:`workers.analysis.run_analysers` opens around its analysers) :func:`cord_segmentation` computes each
segmentation once, keyed by the images of the volume (SOP Instance UIDs, shape, affine) and the polarity,
and hands the same result to every later caller. :func:`map_series` runs one function over independent series
on a process pool (:func:`analysis_workers`: one worker per available core, see :func:`pool_context`)
and returns the results in order; the segmentations made there join the run's memo, and a caller that asks for
a segmentation still being made on the pool waits for it instead of making it again. A segmentation comes back
from the pool without its image (the volume's pixels, which the caller holds and hands to
:func:`cord_segmentation`): its image is the caller's volume again when it is asked for. Results are the same, by
value, as a serial run gives, and an exception is raised again, unchanged, where the serial run raises it.
Outside a run :func:`cord_segmentation` is :func:`segment_cord`. Nothing outlives the run: the memo and the
pool belong to the :func:`analysis_run` that made them.

A run may also be given a :class:`~workers.analysis.segmentation_cache.SegmentationCache` (segmentations made
before, filed on disk), and takes a segmentation from it instead of making it again; one another process is still
making (the node's early work, marked in the cache: :mod:`workers.analysis.in_flight`) is waited for instead of
made twice. The QC figures of a segmentation (:func:`workers.analysis.cord.qc.figures`) are made once per run,
and filed with an axial T2's segmentation.
"""

from __future__ import annotations

import logging
import multiprocessing
import multiprocessing.forkserver
import os
import threading
from collections.abc import Callable, Hashable, Iterable, Iterator, Sequence
from concurrent.futures import Executor, Future, ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from contextlib import contextmanager
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any, TypeVar

from workers.analysis.cord.axial_view import AxialView
from workers.analysis.cord.centreline import Polarity
from workers.analysis.cord.segmentation import CordSegmentation, segment_cord
from workers.analysis.segmentation_cache import Detached, Figures, Key, SegmentationCache, segmentation_key
from workers.analysis.volume import Volume

if TYPE_CHECKING:
    from workers.analysis.cord.morphometry import SliceMorphometry
    from workers.analysis.cord.qc import CordQcFigures

log = logging.getLogger(__name__)

T = TypeVar("T")
R = TypeVar("R")


def analysis_workers() -> int:
    """``SPINENODE_ANALYSIS_WORKERS`` when set (1: everything in the job's process), else the cores this
    process may run on."""
    value = os.environ.get("SPINENODE_ANALYSIS_WORKERS", "").strip()
    if value:
        return max(1, int(value))
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def _outcome(fn: Callable[[T], R], item: T) -> R | Exception:
    try:
        return fn(item)
    except Exception as exc:  # handed back, raised again by the caller where a serial run raises it
        return exc


def _segment(volume: Volume, polarity: Polarity | None) -> CordSegmentation:
    return segment_cord(AxialView.of(volume), polarity=polarity)


Made = dict[Key, CordSegmentation | Detached | Exception]


def _pooled(
    fn: Callable[[T], R], item: T, cache: SegmentationCache | None = None
) -> tuple[R | Exception, Made, tuple[int, int]]:
    """``fn(item)`` in a pool worker, with the segmentations it made (without their images: the job's process
    asks for one with its volume) and their QC figures, for the job's run to keep, and how many of them came
    from ``cache`` (the job run's) and how many of those it waited for."""
    with analysis_run(workers=1, cache=cache) as run:
        result = _outcome(fn, item)
        made = run.made()
    detached: Made = {
        k: Detached.of(seg, run.figures_of(k)) if isinstance(seg, CordSegmentation) else seg for k, seg in made.items()
    }
    return result, detached, (run.cached, run.waited)


class CordSegmentations:
    """The segmentations of one run, by volume and polarity, and the run's process pool."""

    def __init__(self, workers: int, cache: SegmentationCache | None = None) -> None:
        self.workers = workers
        self.cache = cache
        self.cached = 0  # segmentations taken from the cache (this process's and its pool tasks')
        self.waited = 0  # of them, those another process was still making when asked for (waited for)
        self.segmented = 0  # segmentations made in this process (not its pool tasks')
        self._done: Made = {}
        self._figures: dict[Key, Figures] = {}
        self._handed: dict[int, Key] = {}  # id of a segmentation handed out -> its key
        self._pool: Executor | None = None
        self._started: dict[Hashable, list[Future[Any]]] = {}
        self._images: dict[Future[Any], frozenset[str]] = {}  # the SOP Instance UIDs a started task reads

    def get(self, volume: Volume, polarity: Polarity | None) -> CordSegmentation:
        key = segmentation_key(volume, polarity)
        if key not in self._done:
            self._await(key)
        if key not in self._done and self.cache is not None:
            cached = self.cache.get(key)
            # being made by another process (the early work, which itself never waits): not made twice
            if cached is None and not self.cache.keep and self.cache.in_flight(key):
                cached = self.cache.wait(key)
                self.waited += cached is not None
            if cached is not None:
                self._done[key] = cached
                self.cached += 1
        if key not in self._done:
            self._done[key] = made = _outcome(lambda v: _segment(v, polarity), volume)
            self.segmented += 1
            if self.cache is not None and self.cache.keep and isinstance(made, CordSegmentation):
                self.cache.put(key, made)
        found = self._done[key]
        if isinstance(found, Detached):  # made on the pool or filed: its image is this volume
            if found.figures is not None:
                self._figures.setdefault(key, found.figures)
            found = self._done[key] = found.on(volume)
        if isinstance(found, Exception):
            raise found  # as a serial run raises it, at the same call
        self._handed[id(found)] = key
        return found

    def _key_of(self, seg: CordSegmentation) -> Key | None:
        """The key of ``seg`` when it is a segmentation this run handed out (that very object), else None."""
        key = self._handed.get(id(seg))
        return key if key is not None and self._done.get(key) is seg else None

    def known_figures(self, seg: CordSegmentation, slices: Sequence[SliceMorphometry]) -> CordQcFigures | None:
        """The QC figures of ``seg`` on ``slices`` when this run has them (made here, on the pool, or filed)."""
        key = self._key_of(seg)
        figures = self._figures.get(key) if key is not None else None
        if figures is None or figures[0] != list(slices):
            return None
        return figures[1]

    def remember_figures(self, seg: CordSegmentation, slices: Sequence[SliceMorphometry], fig: CordQcFigures) -> None:
        """Keep the QC figures of ``seg`` on ``slices`` (a segmentation this run handed out; others are not kept)."""
        key = self._key_of(seg)
        if key is not None:
            self._figures[key] = (list(slices), fig)

    def figures_of(self, key: Key) -> Figures | None:
        return self._figures.get(key)

    def refile(self, volume: Volume, polarity: Polarity | None = Polarity.CSF_BRIGHT) -> None:
        """File the segmentation of ``volume`` again, with its QC figures now known (the node's early work)."""
        key = segmentation_key(volume, polarity)
        seg = self._done.get(key)
        if self.cache is not None and self.cache.keep and isinstance(seg, CordSegmentation):
            self.cache.put(key, seg, self._figures.get(key))

    def start(
        self,
        tag: Hashable,
        fn: Callable[[T], R],
        items: Sequence[T],
        images: Callable[[T], Iterable[str]] | None = None,
    ) -> None:
        """Submit ``fn`` over ``items`` to the pool now (when :meth:`map` would use one), for the caller of
        :meth:`map` with the same ``tag`` (and the same ``fn`` and ``items``) to collect. ``images``: the SOP
        Instance UIDs an item's volume is built from, so that :meth:`get` waits for the task that segments
        that volume (and for no other) instead of segmenting it again."""
        pool = self._executor() if len(items) > 1 and self.workers > 1 else None
        if pool is not None and tag not in self._started:
            self._started[tag] = [pool.submit(_pooled, fn, item, self.cache) for item in items]
            if images is not None:
                for item, future in zip(items, self._started[tag], strict=True):
                    self._images[future] = frozenset(images(item))

    def map(self, fn: Callable[[T], R], items: Sequence[T], tag: Hashable = None) -> list[R | Exception]:
        """``fn`` over ``items`` on the pool (in this process for fewer than two items or one worker); what
        :meth:`start` began under ``tag`` is collected instead of submitted again."""
        futures = self._started.pop(tag, None) if tag is not None else None
        if futures is None:
            pool = self._executor() if len(items) > 1 and self.workers > 1 else None
            if pool is None:
                return [_outcome(fn, item) for item in items]
            futures = [pool.submit(_pooled, fn, item, self.cache) for item in items]
        out: list[R | Exception] = []
        for item, future in zip(items, futures, strict=True):
            try:
                out.append(self._collect(future))
            except BrokenProcessPool:  # a worker died (e.g. killed): computed here instead
                log.warning("analysis pool broken; this series analysed in the job's process")
                out.append(_outcome(fn, item))
        return out

    def made(self) -> Made:
        """The segmentations (or the exceptions they raised) made so far in this run."""
        return dict(self._done)

    def _collect(self, future: Future[tuple[Any, Made, tuple[int, int]]]) -> Any:
        """The result of a pool task; the segmentations it made (and their QC figures) join this run's."""
        result, made, (cached, waited) = future.result()
        self.cached += cached
        self.waited += waited
        for key, seg in made.items():
            self._done.setdefault(key, seg)
            if isinstance(seg, Detached) and seg.figures is not None:
                self._figures.setdefault(key, seg.figures)
        return result

    def _await(self, key: Key) -> None:
        """Wait for the tasks begun on the pool (:meth:`start`) that read the images of ``key``, as they
        finish, until one has made its segmentation: what the pool makes is not made again here."""
        sops = key[0]
        pending = [
            f for futures in self._started.values() for f in futures if sops and sops[0] in self._images.get(f, ())
        ]
        for future in as_completed(pending):
            try:
                self._collect(future)
            except BrokenProcessPool:  # made here instead, by the caller
                return
            if key in self._done:
                return

    def _executor(self) -> Executor | None:
        if self._pool is None:
            try:
                self._pool = ProcessPoolExecutor(max_workers=self.workers, mp_context=pool_context())
            except (OSError, ValueError, AssertionError) as exc:  # no processes here (e.g. a daemon): serial
                log.warning("analysis in one process: %s", exc)
                self.workers = 1
        return self._pool

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None


#: Modules the fork server imports once, so that each worker it forks starts with them.
FORKSERVER_PRELOAD = ["numpy", "scipy.ndimage", "workers.analysis.segmentations"]


def pool_context() -> multiprocessing.context.BaseContext:
    """How the pool's workers start: forked from this process while it runs one thread (``spinenode analyse``,
    a Celery worker's child: at once, with this process's modules), else forked from a fork server.

    A process with other threads (``serve``: the DICOM server, the registry, the web app) cannot be forked
    safely: a lock another thread holds at that moment (a stream's, a library's) stays held in the child for
    ever, and the job waits on that child for ever. The fork server is a fresh single-threaded interpreter
    started once per process, with :data:`FORKSERVER_PRELOAD` imported; its children start in milliseconds."""
    if threading.active_count() == 1:
        return multiprocessing.get_context("fork")
    return _fork_server()


def _fork_server() -> multiprocessing.context.BaseContext:
    """The fork-server context, its preload set (only effective before the server starts)."""
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(FORKSERVER_PRELOAD)
    return context


def start_fork_server() -> None:
    """Start the fork server now, with its modules, so that the first study's pool does not wait for it
    (about 2 s on 2 cores); for a process that will run jobs beside other threads (``serve``)."""
    if analysis_workers() > 1:
        _fork_server()
        multiprocessing.forkserver.ensure_running()


_RUN: ContextVar[CordSegmentations | None] = ContextVar("cord_segmentations", default=None)


@contextmanager
def analysis_run(workers: int | None = None, cache: SegmentationCache | None = None) -> Iterator[CordSegmentations]:
    """The memo (and pool) of one analysis run, for :func:`cord_segmentation` within the block; ``cache``:
    segmentations made before (see :class:`SegmentationCache`)."""
    run = CordSegmentations(analysis_workers() if workers is None else max(1, workers), cache)
    token = _RUN.set(run)
    try:
        yield run
    finally:
        _RUN.reset(token)
        run.close()


def cord_segmentation(volume: Volume, *, polarity: Polarity | None = Polarity.CSF_BRIGHT) -> CordSegmentation:
    """``segment_cord(AxialView.of(volume), polarity=polarity)``, once per run for each volume and polarity."""
    run = _RUN.get()
    if run is None:
        return _segment(volume, polarity)
    return run.get(volume, polarity)


def map_series(fn: Callable[[T], R], items: Sequence[T], *, tag: Hashable = None) -> list[R | Exception]:
    """``[fn(item) for item in items]`` on the run's pool (outside a run: here), each result or the exception
    it raised, in order. ``fn`` must be a module-level function; its results are pickled back. With ``tag``:
    what :func:`start_series` began under it, collected."""
    run = _RUN.get()
    if run is None:
        return [_outcome(fn, item) for item in items]
    return run.map(fn, items, tag)


def start_series(
    tag: Hashable, fn: Callable[[T], R], items: Sequence[T], *, images: Callable[[T], Iterable[str]] | None = None
) -> None:
    """Begin ``map_series(fn, items, tag=tag)`` on the run's pool now, so that it runs beside what this
    process does until it is asked for (nothing outside a run or without a pool: then it runs when asked).
    ``images``: the SOP Instance UIDs of an item's volume, when ``fn`` segments it (see
    :meth:`CordSegmentations.start`)."""
    run = _RUN.get()
    if run is not None:
        run.start(tag, fn, items, images)


def known_figures(seg: CordSegmentation, slices: Sequence[SliceMorphometry]) -> CordQcFigures | None:
    """The QC figures of ``seg`` on ``slices`` when the run already has them (see
    :meth:`CordSegmentations.known_figures`); None outside a run."""
    run = _RUN.get()
    return run.known_figures(seg, slices) if run is not None else None


def remember_figures(seg: CordSegmentation, slices: Sequence[SliceMorphometry], fig: CordQcFigures) -> None:
    """Keep the QC figures of ``seg`` on ``slices`` for the rest of the run (nothing outside a run)."""
    run = _RUN.get()
    if run is not None:
        run.remember_figures(seg, slices, fig)
