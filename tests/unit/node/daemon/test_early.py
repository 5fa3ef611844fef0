"""Early work on a real SQLite registry: a quiet series of a study still arriving is segmented into the cache
once per set of instances, again when it grew, the first sagittal T2 only once it is known, and nothing more
once the study is stable."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator
from concurrent.futures import Executor, ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path

import pytest
from pydicom import dcmread
from sqlalchemy import update

from node.daemon.early import EarlyWork, enabled, process_pool
from node.dicom.headers import parse_header
from node.dicom.received import Received
from node.ingest.recorder import PatientKeyer, record_instances
from node.registry.db import Registry
from node.registry.models import Instance, Study, StudyState, utcnow
from workers.inventory import classify_series
from workers.phantom import write_phantom
from workers.pipeline.early import SAGITTAL_T2, segmented_as
from workers.processes import NamedProcessPool


def _record(registry: Registry, files: list[Path], keyer: PatientKeyer) -> None:
    items = [Received(parse_header(f), f, f.stat().st_size, calling_aet="MOD", called_aet="SPINENODE") for f in files]
    with registry.session() as session:
        record_instances(session, items, keyer)


def _quiet(registry: Registry, seconds: float = 5.0) -> None:
    with registry.session() as session:
        session.execute(update(Instance).values(received_at=utcnow() - timedelta(seconds=seconds)))


def _kind(files: list[Path]) -> tuple[str | None, str | None, int]:
    inventory = classify_series([dcmread(f, stop_before_pixels=True) for f in files])
    return inventory.sequence, inventory.plane, len(files)


def _settle(early: EarlyWork) -> None:
    """Wait for the work handed on so far (and its callbacks); the next hand-on starts a new executor."""
    if early._executor is not None:
        early._executor.shutdown(wait=True)
        early._executor = None


@pytest.fixture
def executors() -> Iterator[list[Executor]]:
    made: list[Executor] = []
    yield made
    for executor in made:
        executor.shutdown(wait=True)


def test_quiet_series_are_segmented_once_each_and_again_when_they_grew(
    tmp_path: Path, executors: list[Executor]
) -> None:
    write_phantom(tmp_path / "study", "cord_compression", seed=0)
    series = [sorted(p.glob("*.dcm")) for p in sorted(p for p in (tmp_path / "study").iterdir() if p.is_dir())]
    registry = Registry(f"sqlite:///{tmp_path / 'r.sqlite'}")
    keyer = PatientKeyer(tmp_path)
    cache = tmp_path / "cache"

    def executor() -> Executor:
        # the segmentation runs for real, in a thread here (the node's process pool needs a fork server)
        executors.append(ThreadPoolExecutor(max_workers=1))
        return executors[-1]

    early = EarlyWork(registry, cache, executor=executor)
    last = series[0][-1]
    grown = segmented_as(*_kind(series[0]))
    _record(registry, [f for files in series for f in files if f != last], keyer)
    assert early.run_once() == 0  # every series is still arriving
    _quiet(registry)
    assert early.run_once() == 2  # both series handed on
    _settle(early)
    assert len(list(cache.glob("*.seg"))) == 2  # the axial T2 and the first sagittal T2 to arrive
    assert early.run_once() == 1  # the sagittal T2 is known to be the first in order: handed on as such
    assert early.run_once() == 0  # nothing new
    _settle(early)
    assert len(list(cache.glob("*.seg"))) == 2  # it was found in the cache, not filed again

    _record(registry, [last], keyer)  # the first series grows
    assert early.run_once() == 0  # not quiet yet
    _quiet(registry)
    assert early.run_once() == 1  # the grown series again (the other unchanged)
    _settle(early)
    # a sagittal T2 is not the first sagittal T2 to arrive any more: segmented once known to be the first in order
    assert early.run_once() == (1 if grown == SAGITTAL_T2 else 0)
    _settle(early)
    assert len(list(cache.glob("*.seg"))) == 3  # its segmentation with the new image, filed apart

    with registry.session() as session:
        session.execute(update(Study).values(state=StudyState.QUEUED))
    assert early.run_once() == 0 and early._studies == {}  # stable: the job does the rest
    _settle(early)


def test_early_work_can_be_turned_off(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SPINENODE_EARLY_WORK", "0")
    assert not enabled()
    monkeypatch.setenv("SPINENODE_EARLY_WORK", "1")
    assert enabled()


def test_a_worker_process_that_died_is_replaced(tmp_path: Path, executors: list[Executor]) -> None:
    """A real process pool whose worker is killed (as an out-of-memory kill would) is broken for good; the next
    series quiet is handed to a new one, not lost with every later one."""
    import signal
    from concurrent.futures import BrokenExecutor
    from multiprocessing import get_context

    write_phantom(tmp_path / "study", "cord_compression", seed=0)
    series = [sorted(p.glob("*.dcm")) for p in sorted(p for p in (tmp_path / "study").iterdir() if p.is_dir())]
    registry = Registry(f"sqlite:///{tmp_path / 'r.sqlite'}")
    keyer = PatientKeyer(tmp_path)

    def executor() -> Executor:
        executors.append(NamedProcessPool(1, get_context("spawn")))
        return executors[-1]

    early = EarlyWork(registry, tmp_path / "cache", executor=executor)
    broken = NamedProcessPool(1, get_context("spawn"))
    executors.append(broken)
    broken.submit(os.getpid).result()  # its worker is up
    for process in broken.processes():
        os.kill(process.pid, signal.SIGKILL)
    with pytest.raises(BrokenExecutor):
        broken.submit(os.getpid).result(timeout=30)
    early._executor = broken
    _record(registry, series[0], keyer)
    _quiet(registry)
    assert early.run_once() == 1
    assert early._executor is not broken, "a new worker process took the series"
    _settle(early)
    assert len(list((tmp_path / "cache").glob("*.seg"))) == 1, "the series was segmented by the new process"


def _quiet_study(tmp_path: Path) -> Registry:
    """A registry holding the phantom's series, every one quiet."""
    write_phantom(tmp_path / "study", "cord_compression", seed=0)
    files = sorted((tmp_path / "study").rglob("*.dcm"))
    registry = Registry(f"sqlite:///{tmp_path / 'r.sqlite'}")
    _record(registry, files, PatientKeyer(tmp_path))
    _quiet(registry)
    return registry


def test_start_makes_one_worker_pool_before_the_loop_looks(tmp_path: Path, executors: list[Executor]) -> None:
    """The pool takes a while to make (a fork server starting); the loop looking every few milliseconds meanwhile
    must find it made, not make a second one."""
    registry = _quiet_study(tmp_path)

    def executor() -> Executor:
        time.sleep(0.3)  # the loop would look some thirty times meanwhile
        executors.append(ThreadPoolExecutor(max_workers=1))
        return executors[-1]

    early = EarlyWork(registry, tmp_path / "cache", interval=0.01, executor=executor)
    early.start()
    deadline = time.monotonic() + 30
    while not early._studies and time.monotonic() < deadline:  # the loop's first look handed the series on
        time.sleep(0.01)
    early.stop()
    assert early._studies, "the loop looked"
    assert len(executors) == 1
    assert early._executor is None


def test_nothing_is_handed_on_when_no_worker_process_can_start(tmp_path: Path) -> None:
    registry = _quiet_study(tmp_path)
    tried: list[int] = []

    def executor() -> Executor:
        tried.append(1)
        raise OSError("no processes here")  # as a sandbox without fork gives

    early = EarlyWork(registry, tmp_path / "cache", interval=3600, executor=executor)
    early.start()
    assert early.run_once() == 0
    assert all(not study.futures for study in early._studies.values())
    assert early.run_once() == 0 and len(tried) == 1  # not tried again each look
    early.stop()
    assert not (tmp_path / "cache").exists() or not list((tmp_path / "cache").glob("*.seg"))


def test_stop_drops_the_work_not_begun_and_waits_for_the_one_running(tmp_path: Path, executors: list[Executor]) -> None:
    registry = _quiet_study(tmp_path)

    def executor() -> Executor:
        executors.append(ThreadPoolExecutor(max_workers=1))
        return executors[-1]

    early = EarlyWork(registry, tmp_path / "cache", interval=3600, executor=executor)
    early.start()
    assert early.run_once() == 2  # one worker: the first series begins, the second waits
    futures = [f for study in early._studies.values() for f in study.futures]
    deadline = time.monotonic() + 30.0
    while not (futures[0].running() or futures[0].done()) and time.monotonic() < deadline:
        time.sleep(0.01)  # the warm-up goes first on the one worker: stop once the first series has begun
    early.stop()
    assert all(f.done() for f in futures), "nothing runs once stopped"
    assert futures[-1].cancelled(), "the work not begun is dropped"
    assert not futures[0].cancelled() and futures[0].exception() is None, "the one running was let finish"
    assert len(list((tmp_path / "cache").glob("*.seg"))) == 1


def test_stop_ends_a_segmentation_that_outlives_its_wait(
    tmp_path: Path, executors: list[Executor], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A real worker process busy past the wait: stop ends it, and returns within the wait, not after the work."""
    from multiprocessing import get_context

    import node.daemon.early as early_module

    monkeypatch.setattr(early_module, "STOP_SECONDS", 0.5)
    registry = Registry(f"sqlite:///{tmp_path / 'r.sqlite'}")

    def executor() -> Executor:
        executors.append(process_pool(1, get_context("spawn")))
        return executors[-1]

    early = EarlyWork(registry, tmp_path / "cache", interval=3600, executor=executor)
    early.start()
    pool = early._executor
    assert isinstance(pool, NamedProcessPool)
    early._ready.result(timeout=60)  # type: ignore[union-attr]  # the worker process is up
    (process,) = pool.processes()
    assert process.running()
    early._ready = pool.submit(time.sleep, 120)  # work that outlives the wait, as a long segmentation would
    deadline = time.monotonic() + 30.0
    while not early._ready.running() and time.monotonic() < deadline:
        time.sleep(0.01)
    time.sleep(0.5)  # begun in the worker process, not only handed to it
    started = time.monotonic()
    early.stop()
    assert time.monotonic() - started < 10, "stop waited for the work, not for its bound"
    deadline = time.monotonic() + 10.0
    while not _ended(process.pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _ended(process.pid), "the worker process was ended"


def _ended(pid: int) -> bool:
    """Whether the process ``pid`` has exited (gone, or a zombie not yet reaped). Read from /proc: the pool's own
    thread reaps its workers too, and a second ``join`` that loses that race reports the dead process alive."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[-1].split()[0] == "Z"
    except FileNotFoundError:
        return True


def test_the_early_work_segments_as_many_series_at_once_as_it_has_workers(
    tmp_path: Path, executors: list[Executor]
) -> None:
    """The node's own pool of early-work processes (:data:`WORKERS` of them; started here from a fresh interpreter, the
    node's fork server needs a multi-threaded parent): with two series quiet, both are being segmented at the same
    moment, each by its own process, the second at a lower priority (a series being segmented is marked by a file
    holding its maker's process ID, from before its volume is read until it is filed)."""
    from multiprocessing import get_context

    from node.daemon.early import WORKERS, process_pool
    from workers.pipeline.early import EXTRA_NICENESS

    assert WORKERS == max(1, min(2, os.cpu_count() or 1))
    workers = 2
    registry = _quiet_study(tmp_path)
    cache = tmp_path / "cache"

    context = get_context("spawn")
    pool = process_pool(workers, context)
    executors.append(pool)
    with context.Manager() as manager:  # every worker process up and its modules imported before the series
        barrier = manager.Barrier(workers)
        for warm in [pool.submit(barrier.wait, 60) for _ in range(workers)]:
            warm.result(timeout=120)
    base = os.getpriority(os.PRIO_PROCESS, 0)
    niceness = sorted(os.getpriority(os.PRIO_PROCESS, p.pid) for p in pool.processes())
    assert niceness == [base, max(base, EXTRA_NICENESS)], "the first at the node's priority, the second yields"
    early = EarlyWork(registry, cache, interval=3600, executor=lambda: pool)
    assert early.run_once() == 2  # the phantom's axial and sagittal T2, both segmented by a job
    futures = [f for study in early._studies.values() for f in study.futures]
    makers: set[str] = set()
    most = 0
    while not all(f.done() for f in futures):
        markers = list(cache.glob("*.making")) if cache.is_dir() else []
        most = max(most, len(markers))
        for marker in markers:
            try:
                makers.add(marker.read_text())
            except OSError:  # filed meanwhile
                continue
        time.sleep(0.002)
    assert [f.result()[1] for f in futures] == [1, 1], "both series segmented and filed"
    assert most == workers, "both series were being segmented at once"
    assert len(makers) == workers, "by two processes"
    assert len(list(cache.glob("*.seg"))) == 2
    assert not list(cache.glob("*.making"))


def test_a_series_of_a_study_whose_early_work_was_dropped_is_not_begun(tmp_path: Path) -> None:
    """A process pool passes a worker process one series more than it runs, out of reach of cancelling: once the
    study's job has started, that series is not segmented there (the job makes it), and it is again once the
    study arrives again."""
    from workers.pipeline.early import drop, segment_early

    write_phantom(tmp_path / "study", "cord_compression", seed=0)
    files = [str(f) for f in sorted(next(p for p in (tmp_path / "study").iterdir() if p.is_dir()).glob("*.dcm"))]
    uid = dcmread(files[0], stop_before_pixels=True).StudyInstanceUID
    cache = tmp_path / "cache"
    drop(cache, uid)
    assert segment_early(files, uid, cache, None) == (None, 0)
    assert not list(cache.glob("*.seg"))
    drop(cache, uid, dropped=False)
    kind, filed = segment_early(files, uid, cache, None)
    assert kind is not None and filed == 1
    assert len(list(cache.glob("*.seg"))) == 1


def test_a_study_no_longer_arriving_marks_its_work_passed_on_as_dropped(tmp_path: Path) -> None:
    registry = _quiet_study(tmp_path)
    cache = tmp_path / "cache"
    release = threading.Event()
    pool = ThreadPoolExecutor(max_workers=2)
    try:
        early = EarlyWork(registry, cache, interval=3600, executor=lambda: pool)
        pool.submit(release.wait, 30)  # one worker busy: the first series runs on the other, the second waits
        assert early.run_once() == 2
        (study,) = early._studies.values()
        deadline = time.monotonic() + 30.0
        while not study.futures[0].running() and time.monotonic() < deadline:
            time.sleep(0.001)
        with registry.session() as session:
            session.execute(update(Study).values(state=StudyState.STABLE))
        early.run_once()
        assert not early._studies
        assert study.futures[1].cancelled()
        assert len(list(cache.glob("dropped-*"))) == 1, "work out of reach of cancelling is marked dropped"
        with registry.session() as session:
            session.execute(update(Study).values(state=StudyState.RECEIVING))
        _quiet(registry)
        early.run_once()  # arriving again: wanted again
        assert not list(cache.glob("dropped-*"))
    finally:
        release.set()
        pool.shutdown(wait=True, cancel_futures=True)
