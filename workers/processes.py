"""A process named so that it is not mistaken for another: its ID and its start time.

An ID names a process only while it runs: once it has ended, the system gives the ID to a later process. With
the start time beside it, the process that ended and another that now has its ID are told apart; and a process
that has exited but whose parent has not yet collected it (a zombie) runs no more either. Both are read from
``/proc/<pid>/stat`` (the state, and the start time in clock ticks after boot: fields 3 and 22); where there is
no ``/proc``, from ``ps`` (the state, and the start time to the second).
"""

from __future__ import annotations

import os
import signal
import subprocess
from collections.abc import Callable
from concurrent.futures import Executor, Future, ProcessPoolExecutor
from dataclasses import dataclass
from multiprocessing.context import BaseContext
from pathlib import Path
from typing import Any, ParamSpec, TypeVar

P = ParamSpec("P")
T = TypeVar("T")

#: Where the system shows its processes (Linux); without it, ``ps`` is asked.
PROC = Path("/proc")

#: The state of a process that has exited and is not yet collected by its parent (``/proc`` and ``ps`` alike).
ZOMBIE = "Z"


@dataclass(frozen=True, order=True)
class ProcessIdentity:
    """Process ``pid``, started at ``started`` (as the system says it; empty when it could not be read: then
    the ID alone names it)."""

    pid: int
    started: str = ""

    def __post_init__(self) -> None:
        if not isinstance(self.pid, int) or self.pid <= 0:  # 0 and below name process groups, not a process
            raise ValueError(f"not a process ID: {self.pid!r}")

    @classmethod
    def of(cls, pid: int | None = None) -> ProcessIdentity:
        """The process ``pid`` (by default this one) as it is now."""
        pid = os.getpid() if pid is None else pid
        state = _state(pid)
        return cls(pid, state[1] if state is not None else "")

    @classmethod
    def parse(cls, text: str) -> ProcessIdentity:
        """From :meth:`text` (an ID alone is a process whose start time is not known). ValueError otherwise."""
        pid, _, started = text.strip().partition(" ")
        return cls(int(pid), started.strip())

    def text(self) -> str:
        """``"<pid> <start time>"``, as :meth:`parse` reads it."""
        return f"{self.pid} {self.started}".strip()

    def running(self) -> bool:
        """Whether this process still runs: its ID is there, not a zombie, and (when known) started when it did
        (else the ID was given to another process since)."""
        state = _state(self.pid)
        if state is None:
            return False
        code, started = state
        if code == ZOMBIE:
            return False
        return not (self.started and started and started != self.started)

    def end(self) -> None:
        """Ask this process to end (SIGTERM), when it still runs (never another that has its ID now)."""
        if self.running():
            try:
                os.kill(self.pid, signal.SIGTERM)
            except ProcessLookupError:  # ended meanwhile
                pass


class NamedProcessPool(Executor):
    """A process pool that knows its worker processes: each sends its :class:`ProcessIdentity` as it starts
    (before its ``initializer``), so that :meth:`end_processes` can end them, and only them."""

    def __init__(
        self,
        max_workers: int,
        mp_context: BaseContext,
        initializer: Callable[..., object] | None = None,
        initargs: tuple[Any, ...] = (),
    ) -> None:
        self._names = mp_context.SimpleQueue()
        self._known: set[ProcessIdentity] = set()
        self._pool = ProcessPoolExecutor(
            max_workers=max_workers,
            mp_context=mp_context,
            initializer=_named,
            initargs=(self._names, initializer, initargs),
        )

    def submit(self, fn: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs) -> Future[T]:
        return self._pool.submit(fn, *args, **kwargs)

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        self._pool.shutdown(wait=wait, cancel_futures=cancel_futures)

    def processes(self) -> list[ProcessIdentity]:
        """The worker processes started so far (those that have ended too)."""
        while not self._names.empty():
            self._known.add(self._names.get())
        return sorted(self._known)

    def end_processes(self) -> None:
        """Ask every worker process still running to end (SIGTERM): its work is lost, the pool broken."""
        for process in self.processes():
            process.end()


def _named(names: Any, initializer: Callable[..., object] | None, initargs: tuple[Any, ...]) -> None:
    """A worker process's start: its name sent to the pool, then the pool's own initializer."""
    names.put(ProcessIdentity.of())
    if initializer is not None:
        initializer(*initargs)


def _state(pid: int) -> tuple[str, str] | None:
    """(state letter, start time) of process ``pid``, or None when there is none. When neither ``/proc`` nor
    ``ps`` can tell, the ID alone: ("?", "") while a process has it."""
    if PROC.is_dir():
        try:
            stat = (PROC / str(pid) / "stat").read_text()
        except FileNotFoundError:
            return None
        except OSError:
            pass
        else:
            fields = stat.rsplit(")", 1)[-1].split()  # after the name, which may hold spaces and parentheses
            return fields[0], fields[19]
    try:
        out = subprocess.run(
            ["ps", "-o", "stat=", "-o", "lstart=", "-p", str(pid)], capture_output=True, text=True, timeout=10
        )
    except (OSError, subprocess.SubprocessError):
        return _exists(pid)
    line = out.stdout.strip()
    if out.returncode != 0 or not line:
        return None
    code, _, started = line.partition(" ")
    return code[:1], " ".join(started.split())


def _exists(pid: int) -> tuple[str, str] | None:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return None
    except PermissionError:  # another user's
        pass
    return "?", ""
