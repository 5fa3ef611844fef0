"""The cyclic garbage collector paused during a pipeline step (workers.pipeline.collector)."""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator

import pytest

from workers.pipeline import STEPS
from workers.pipeline.collector import collector_paused, without_collector


@pytest.fixture(autouse=True)
def collector_on() -> Iterator[None]:
    gc.enable()
    yield
    gc.enable()


def test_paused_within_and_resumed_after_even_on_an_exception() -> None:
    with pytest.raises(RuntimeError), collector_paused():
        assert not gc.isenabled()
        raise RuntimeError("a step that fails")
    assert gc.isenabled()


def test_a_collector_off_before_stays_off() -> None:
    gc.disable()
    with collector_paused():
        assert not gc.isenabled()
    assert not gc.isenabled()


def test_resumed_only_when_the_last_of_overlapping_steps_ends() -> None:
    first_in, second_done = threading.Event(), threading.Event()
    seen: list[bool] = []

    def other_step() -> None:
        with collector_paused():
            first_in.set()
            second_done.wait(10)
        seen.append(gc.isenabled())

    thread = threading.Thread(target=other_step)
    thread.start()
    first_in.wait(10)
    with collector_paused():
        pass
    seen.append(gc.isenabled())  # the other step still runs: still paused
    second_done.set()
    thread.join()
    assert seen == [False, True]


def test_every_pipeline_step_runs_with_the_collector_paused() -> None:
    states: list[bool] = []
    step = without_collector(lambda ctx: states.append(gc.isenabled()))
    step(None)
    assert states == [False] and gc.isenabled()
    assert all(getattr(fn, "__wrapped__", None) is not None for fn in STEPS.values())
