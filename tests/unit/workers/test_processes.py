"""Processes named by their ID and start time (workers.processes): a pool that knows its worker processes and
ends them, and a process told from one that has ended, a zombie, or another that now has its ID."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from multiprocessing import get_context
from pathlib import Path

import pytest

from workers import processes
from workers.processes import NamedProcessPool, ProcessIdentity


def _gone(pid: int, seconds: float = 10.0) -> bool:
    """Whether ``pid`` has exited within ``seconds`` (gone, or a zombie its parent has not collected yet)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            with open(f"/proc/{pid}/stat") as stat:
                if stat.read().rsplit(")", 1)[-1].split()[0] == "Z":
                    return True
        except FileNotFoundError:
            return True
        time.sleep(0.02)
    return False


def test_a_pool_names_each_of_its_worker_processes_and_ends_them() -> None:
    context = get_context("spawn")
    pool = NamedProcessPool(2, context)
    try:
        with context.Manager() as manager:  # both worker processes up, each running one task
            barrier = manager.Barrier(2)
            ran = {f.result(timeout=120) for f in [pool.submit(_pid_after, barrier) for _ in range(2)]}
        processes = pool.processes()
        assert {p.pid for p in processes} == ran and len(ran) == 2
        assert all(p.running() and p.started for p in processes)
        busy = pool.submit(time.sleep, 120)
        pool.end_processes()
        assert all(_gone(p.pid) for p in processes), "every worker process was ended"
        assert busy.exception(timeout=30) is not None, "the work it was doing is lost"
    finally:
        pool.shutdown(wait=False, cancel_futures=True)


def _pid_after(barrier: object) -> int:
    barrier.wait(60)  # type: ignore[attr-defined]
    return os.getpid()


@pytest.mark.parametrize("source", ["/proc", "ps"])
def test_a_process_is_told_from_a_zombie_and_from_another_with_its_id(
    source: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    if source == "ps":  # where there is no /proc, ps is asked
        monkeypatch.setattr(processes, "PROC", tmp_path / "no-proc")
    sleeper = subprocess.Popen(["sleep", "60"])
    zombie = subprocess.Popen([sys.executable, "-c", "pass"])
    try:
        me = ProcessIdentity.of()
        assert me.started and me.running() and ProcessIdentity.parse(me.text()) == me
        now = ProcessIdentity.of(sleeper.pid)
        assert now.started and now.started != "another start time"
        assert now.running()
        assert not ProcessIdentity(sleeper.pid, "another start time").running(), "its ID, another process"
        assert ProcessIdentity(sleeper.pid).running(), "an ID alone names the process that has it"
        assert _gone(zombie.pid), "the child exited (uncollected: a zombie)"
        assert not ProcessIdentity(zombie.pid).running()
    finally:
        sleeper.kill()
        sleeper.wait()
        zombie.wait()
    assert not now.running(), "collected: gone"


def test_no_process_is_named_by_an_id_that_names_a_process_group() -> None:
    for text in ("0", "-1", "x"):
        with pytest.raises(ValueError):
            ProcessIdentity.parse(text)
