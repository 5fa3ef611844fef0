"""In-flight markers with real processes (workers.analysis.in_flight): a marker is waited for while its process
runs, and not when that process has exited uncollected (a zombie) or its ID now names another process."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from workers.analysis import in_flight
from workers.processes import ProcessIdentity


@pytest.fixture
def sleeper() -> Iterator[subprocess.Popen[bytes]]:
    proc = subprocess.Popen(["sleep", "60"])
    yield proc
    proc.kill()
    proc.wait()


def _state(pid: int) -> str:
    """The state letter of process ``pid`` as /proc shows it (Z: exited, not yet collected by its parent)."""
    with open(f"/proc/{pid}/stat") as stat:
        return stat.read().rsplit(")", 1)[-1].split()[0]


def _until_zombie(proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 30
    while _state(proc.pid) != "Z":
        assert time.monotonic() < deadline, "the child did not exit"
        time.sleep(0.01)


def _marker(tmp_path: Path, text: str) -> Path:
    marker = tmp_path / "series.making"
    marker.write_text(text)
    return marker


def _waited(marker: Path, timeout: float) -> float:
    started = time.monotonic()
    in_flight.wait_while(lambda: in_flight.maker(marker) is not None, timeout=timeout, poll=0.02)
    return time.monotonic() - started


def test_a_marker_made_by_a_running_process_is_waited_for(tmp_path: Path) -> None:
    marker = in_flight.claim(tmp_path, tmp_path / "series.making")
    assert marker is not None
    assert ProcessIdentity.parse(marker.read_text()) == ProcessIdentity.of()  # its ID and start time
    assert in_flight.maker(marker) is not None
    assert _waited(marker, timeout=0.5) >= 0.5


def test_a_marker_whose_process_exited_uncollected_is_not_waited_for(tmp_path: Path) -> None:
    proc = subprocess.Popen([sys.executable, "-c", "import sys; sys.stdin.read()"], stdin=subprocess.PIPE)
    try:
        marker = _marker(tmp_path, ProcessIdentity.of(proc.pid).text())  # as the process would mark it
        assert in_flight.maker(marker) == proc.pid
        assert proc.stdin is not None
        proc.stdin.close()  # it ends; nobody collects it yet
        _until_zombie(proc)
        assert in_flight.maker(marker) is None, "a zombie makes nothing"
        assert _waited(marker, timeout=20) < 5
    finally:
        proc.kill()  # when it still runs (an assertion failed before it ended)
        proc.wait()


def test_a_marker_holding_an_id_alone_names_the_process_a_zombie_aside(tmp_path: Path) -> None:
    marker = _marker(tmp_path, str(os.getpid()))  # a marker from before start times were kept
    assert in_flight.maker(marker) == os.getpid()
    zombie = subprocess.Popen([sys.executable, "-c", "pass"])
    try:
        _until_zombie(zombie)
        assert in_flight.maker(_marker(tmp_path, str(zombie.pid))) is None
    finally:
        zombie.wait()


def test_a_marker_whose_id_now_names_another_process_is_not_waited_for(
    tmp_path: Path, sleeper: subprocess.Popen[bytes]
) -> None:
    """The process that made the marker ended and its ID was given to a later one (the sleeper): the marker holds
    the ID with the start time of the process that made it, an earlier one than the sleeper's."""
    now = ProcessIdentity.of(sleeper.pid)
    assert now.running() and now.started
    earlier = ProcessIdentity(sleeper.pid, str(int(now.started) - 100))  # 100 clock ticks earlier
    assert in_flight.maker(_marker(tmp_path, now.text())) == sleeper.pid
    marker = _marker(tmp_path, earlier.text())
    assert in_flight.maker(marker) is None
    assert _waited(marker, timeout=20) < 5
