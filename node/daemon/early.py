"""Early work: each series of a study still arriving is segmented once it has been quiet for a moment.

:class:`EarlyWork` looks at the registry every :data:`CHECK_INTERVAL` seconds. A series of a study in ``receiving``
whose last instance was recorded at least :data:`QUIET_SECONDS` ago, and that has not been handed on with this many
instances, goes to one of :data:`WORKERS` worker processes (forked from the analysis fork server; each takes at
most one core) that runs :func:`workers.pipeline.early.segment_early`: an axial T2 is segmented at once; of the
sagittal T2s the first to arrive is segmented at once, and the first in the study's order (series number, then
arrival; the one the levels estimate uses) once it is known, when it is another (a series already segmented is
found in the cache, not segmented again). The segmentations go to the data folder's cache, where the job's analysis
finds them (:class:`workers.analysis.segmentation_cache.SegmentationCache`).

The work is speculative and never changes a result: a series that grows after it was segmented is simply
segmented again when quiet again, and the job looks a segmentation up by the digest of the files it reads
itself, so it uses only one made from exactly those files. When a study leaves ``receiving`` (it is stable,
its job starts), its early work not yet begun is dropped: the job's own analysis does it. ``SPINENODE_EARLY_WORK=0``
turns the early work off.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable
from concurrent.futures import BrokenExecutor, Executor, Future, wait
from dataclasses import dataclass, field
from datetime import timedelta
from multiprocessing.context import BaseContext
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from node.daemon.loop import PeriodicLoop
from node.registry.db import Registry
from node.registry.models import Instance, Series, Study, StudyState, utcnow
from workers.processes import NamedProcessPool

log = logging.getLogger(__name__)

CHECK_INTERVAL = 0.25
"""Seconds between two looks at the series still arriving (one grouped registry query a look)."""

QUIET_SECONDS = 0.5
"""Seconds a series must have had no new instance before it is segmented (a sender sends a series whole,
then the next: a series is complete long before its study is stable)."""

PRUNE_SECONDS = 60.0
"""Seconds between two prunings of the cache."""

WORKERS = max(1, min(2, os.cpu_count() or 1))
"""Early-work processes: two (one on a single core). A 1,170-image study's 23 segmentations take one process
~12 CPU s, more than the study takes to arrive and become stable. The second runs at a lower priority
(:data:`workers.pipeline.early.EXTRA_NICENESS`): it takes a core only when receiving and the jobs leave it idle
(two at the node's priority slowed receiving by about a third on two cores)."""

STOP_SECONDS = 10.0
"""Seconds :meth:`EarlyWork.stop` waits for a segmentation already running (the work not begun is dropped);
then its worker process is ended (the node's service allows 30 s to stop in all)."""


def enabled() -> bool:
    """Whether early work runs (``SPINENODE_EARLY_WORK``: ``0`` turns it off)."""
    return os.environ.get("SPINENODE_EARLY_WORK", "1").strip() not in ("0", "false", "no", "off")


@dataclass
class _Study:
    """What the early work knows of one study still arriving."""

    uid: str
    handed: dict[int, int] = field(default_factory=dict)  # series id -> instances when last handed on
    futures: list[Future[Any]] = field(default_factory=list)
    sagittal: dict[int, int] = field(default_factory=dict)  # sagittal T2 series id -> instances
    sagittal_done: tuple[int, int] | None = None  # (series id, instances) of the sagittal T2 handed on


def process_pool(workers: int = WORKERS, context: BaseContext | None = None) -> NamedProcessPool:
    """The early work's ``workers`` processes (started from ``context``; by default the analysis pool's), each
    known by its ID and start time, so that :meth:`EarlyWork.stop` can end them."""
    from workers.analysis.segmentations import pool_context
    from workers.pipeline.early import prepare_worker

    context = pool_context() if context is None else context
    started = context.Value("i", 0)  # the first process started keeps the node's priority, the others yield
    return NamedProcessPool(workers, context, initializer=prepare_worker, initargs=(started,))


def _default_executor() -> Executor:
    return process_pool()


class EarlyWork(PeriodicLoop):
    """Segments quiet series of studies still arriving into ``folder`` (see the module's doc)."""

    name = "early-work"

    def __init__(
        self,
        registry: Registry,
        folder: Path,
        *,
        quiet_seconds: float = QUIET_SECONDS,
        interval: float = CHECK_INTERVAL,
        executor: Callable[[], Executor] = _default_executor,
    ) -> None:
        super().__init__(interval)
        self.registry = registry
        self.folder = folder
        self.quiet_seconds = quiet_seconds
        self._make_executor = executor
        self._executor: Executor | None = None
        self._studies: dict[int, _Study] = {}
        self._found: list[tuple[int, int, int, str | None]] = []  # (study, series, instances, kind) from workers
        self._lock = threading.Lock()
        self._pruned = 0.0
        self._ready: Future[Any] | None = None
        self._no_processes = False  # no worker process could start: nothing is handed on
        self._dropped: set[str] = set()  # studies whose early work was dropped (by UID)

    def start(self) -> None:
        """Start the worker pool (its first process's modules imported before the first series is quiet), then the
        loop: the loop's first look finds the pool made, never makes a second one. No process here: no early
        work."""
        from workers.pipeline.early import ready

        try:
            self._executor = self._make_executor()
            self._ready = self._executor.submit(ready)
        except (OSError, ValueError) as exc:  # no processes here: no early work
            log.warning("early work not started: %s", exc)
            self._drop_executor()
            self._no_processes = True
        super().start()

    def run_once(self) -> int:
        """One look; returns how many series were handed on."""
        from workers.pipeline.early import drop, prune

        if time.monotonic() - self._pruned > PRUNE_SECONDS:
            self._pruned = time.monotonic()
            prune(self.folder)
        cutoff = utcnow() - timedelta(seconds=self.quiet_seconds)
        with self.registry.session() as session:
            rows = session.execute(
                select(Study.id, Study.study_uid, Series.id, Series.series_number, func.count(Instance.id))
                .join(Series, Series.study_id == Study.id)
                .join(Instance, Instance.series_id == Series.id)
                .where(Study.state == StudyState.RECEIVING)
                .group_by(Study.id, Study.study_uid, Series.id, Series.series_number)
                .having(func.max(Instance.received_at) <= cutoff)
            ).all()
            receiving = set(session.scalars(select(Study.id).where(Study.state == StudyState.RECEIVING)))
            self._forget(receiving)
            self._take_found()
            handed = 0
            order: dict[int, tuple[int, int]] = {}
            for study_id, study_uid, series_id, number, count in rows:
                if study_id not in self._studies and study_uid in self._dropped:  # arriving again
                    self._dropped.discard(study_uid)
                    drop(self.folder, study_uid, dropped=False)
                study = self._studies.setdefault(study_id, _Study(study_uid))
                order[series_id] = (number if number is not None else 1 << 30, series_id)
                if study.handed.get(series_id) != count:
                    study.handed[series_id] = count
                    handed += self._hand_on(session, study_id, series_id, count, sagittal=None)
            for study_id, study in self._studies.items():
                quiet = {s: c for s, c in study.sagittal.items() if s in order and study.handed.get(s) == c}
                if quiet:
                    first = min(quiet, key=lambda s: order[s])
                    if study.sagittal_done != (first, quiet[first]):
                        study.sagittal_done = (first, quiet[first])
                        handed += self._hand_on(session, study_id, first, quiet[first], sagittal=True)
        return handed

    def _hand_on(self, session: Any, study_id: int, series_id: int, count: int, *, sagittal: bool | None) -> int:
        """Hand one series to the worker pool; 0 when no process can take it (the job segments it itself)."""
        from workers.pipeline.early import segment_early

        if self._no_processes:
            return 0
        study = self._studies[study_id]
        paths = list(
            session.scalars(select(Instance.path).where(Instance.series_id == series_id).order_by(Instance.id))
        )
        args = (segment_early, paths, study.uid, self.folder, sagittal)
        try:
            try:
                future = self._submit(*args)
            except BrokenExecutor:  # its process died (killed, out of memory): a new one for this and what follows
                log.warning("early work: its worker process died; a new one is started")
                self._drop_executor()
                future = self._submit(*args)
        except (OSError, ValueError, BrokenExecutor) as exc:  # no process can start here: the job does the work
            log.warning("early work stopped: no worker process could start (%s)", exc)
            self._drop_executor()
            self._no_processes = True
            return 0
        future.add_done_callback(lambda f: self._done(f, study_id, series_id, count))
        study.futures = [f for f in study.futures if not f.done()] + [future]
        return 1

    def _submit(self, fn: Callable[..., Any], *args: Any) -> Future[Any]:
        if self._executor is None:
            self._executor = self._make_executor()
        return self._executor.submit(fn, *args)

    def _drop_executor(self) -> None:
        if self._executor is not None:
            self._executor.shutdown(wait=False, cancel_futures=True)
            self._executor = None

    def _done(self, future: Future[Any], study_id: int, series_id: int, count: int) -> None:
        if future.cancelled():
            return
        try:
            kind, _ = future.result()
        except Exception as exc:  # a worker that died: the job segments the series itself
            log.warning("early work on a series not done: %s", type(exc).__name__)
            return
        with self._lock:
            self._found.append((study_id, series_id, count, kind))

    def _take_found(self) -> None:
        from workers.pipeline.early import SAGITTAL_T2

        with self._lock:
            found, self._found = self._found, []
        for study_id, series_id, count, kind in found:
            study = self._studies.get(study_id)
            if study is not None and kind == SAGITTAL_T2:
                study.sagittal[series_id] = count

    def _forget(self, receiving: set[int]) -> None:
        """Drop what is known of studies no longer arriving, and their early work not yet begun: the work still in
        this process's queue is cancelled, and that already passed to a worker process (a process pool passes on
        one more than it runs) is marked dropped, so that it is not begun there."""
        from workers.pipeline.early import drop

        for study_id in [s for s in self._studies if s not in receiving]:
            study = self._studies.pop(study_id)
            for future in study.futures:
                future.cancel()
            if not all(f.done() for f in study.futures):
                drop(self.folder, study.uid)
                self._dropped.add(study.uid)

    def stop(self) -> None:
        """Stop the loop, drop the work not begun and wait (at most :data:`STOP_SECONDS`) for the segmentation
        running; one still running then is ended with its worker processes: once stopped, no early work runs."""
        super().stop()
        futures = [f for study in self._studies.values() for f in study.futures]
        futures += [self._ready] if self._ready is not None else []
        for future in futures:
            future.cancel()  # only those not begun
        _, running = wait(futures, timeout=STOP_SECONDS)
        if running and self._executor is not None:  # speculative work: the job segments that series itself
            log.warning("early work: a segmentation still running when stopped is ended")
            if isinstance(self._executor, NamedProcessPool):  # the work of a pool of threads cannot be ended
                self._executor.end_processes()
        self._drop_executor()
