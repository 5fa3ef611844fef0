"""The periodic pass of serve's loops: it repeats, survives a failing pass, honours due(), stops."""

from __future__ import annotations

import threading

import pytest

from node.daemon.loop import PeriodicLoop


class Counting(PeriodicLoop):
    name = "counting"

    def __init__(self, fail_first: bool = False, every_other: bool = False) -> None:
        super().__init__(0.01)
        self.passes = 0
        self.ticks = 0
        self.fail_first = fail_first
        self.every_other = every_other
        self.reached = threading.Event()

    def due(self) -> bool:
        self.ticks += 1
        return not self.every_other or self.ticks % 2 == 0

    def run_once(self) -> None:
        self.passes += 1
        if self.passes >= 3:
            self.reached.set()
        if self.fail_first and self.passes == 1:
            raise RuntimeError("first pass fails")


def test_a_failing_pass_is_logged_and_the_next_runs(caplog: pytest.LogCaptureFixture) -> None:
    loop = Counting(fail_first=True)
    loop.start()
    try:
        assert loop.reached.wait(5)
    finally:
        loop.stop()
    assert "counting pass failed" in caplog.text
    assert not loop._thread.is_alive()


def test_due_spaces_the_passes_out() -> None:
    loop = Counting(every_other=True)
    loop.start()
    try:
        assert loop.reached.wait(5)
    finally:
        loop.stop()
    assert loop.ticks >= 2 * loop.passes - 1


def test_the_interval_must_be_positive() -> None:
    with pytest.raises(ValueError, match="interval"):
        PeriodicLoop(0)
