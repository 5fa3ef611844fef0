"""The cyclic garbage collector, paused while a pipeline step runs.

A step builds tens of thousands of small objects that live until the step ends (the headers of every image,
the SR's content tree, the datasets it writes), and frees them by reference count. With the collector on,
each full collection walks all of them again: about a fifth of the inventory's and results' CPU at a
thousand images, for next to no garbage (the peak memory is the same without it). The collector resumes
when the last paused step of the process ends, and collects then as it normally would.
"""

from __future__ import annotations

import functools
import gc
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import ParamSpec, TypeVar

P = ParamSpec("P")
R = TypeVar("R")

_lock = threading.Lock()
_paused = 0  # steps running now with the collector paused (jobs may run side by side in threads)
_was_enabled = False  # whether the collector was on when the first of them began


@contextmanager
def collector_paused() -> Iterator[None]:
    """No cyclic collection within the block (nor in any other thread meanwhile); the state before, after."""
    global _paused, _was_enabled
    with _lock:
        if _paused == 0:
            _was_enabled = gc.isenabled()
            gc.disable()
        _paused += 1
    try:
        yield
    finally:
        with _lock:
            _paused -= 1
            if _paused == 0 and _was_enabled:
                gc.enable()


def without_collector(fn: Callable[P, R]) -> Callable[P, R]:
    """``fn`` run with the collector paused (:func:`collector_paused`)."""

    @functools.wraps(fn)
    def paused(*args: P.args, **kwargs: P.kwargs) -> R:
        with collector_paused():
            return fn(*args, **kwargs)

    return paused
