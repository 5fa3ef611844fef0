"""Is the worker process that holds a row still alive? (``host:pid``, checked on this host only)."""

from __future__ import annotations

import os
import socket


def current_worker() -> str:
    """``host:pid`` of this process (computed now: a forked worker has its own pid)."""
    return f"{socket.gethostname()}:{os.getpid()}"


def worker_dead(worker: str | None) -> bool:
    """True only when the worker ran on this host and its process is gone; other hosts rely on leases."""
    if not worker or ":" not in worker:
        return False
    host, _, pid = worker.rpartition(":")
    if host != socket.gethostname() or not pid.isdigit():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False
