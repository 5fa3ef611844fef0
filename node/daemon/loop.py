"""A pass that ``spinenode serve`` repeats on a thread of its own (stability, reconciling, housekeeping)."""

from __future__ import annotations

import logging
import threading

log = logging.getLogger(__name__)


class PeriodicLoop:
    """Calls :meth:`run_once` every ``interval`` seconds (when :meth:`due`) on a daemon thread until stopped.

    A pass that raises is logged and the next one runs as usual: the registry says what is still to do."""

    name = "loop"

    def __init__(self, interval: float) -> None:
        if interval <= 0:
            raise ValueError(f"interval must be positive, got {interval}")
        self.interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=self.name, daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)

    def due(self) -> bool:
        """Whether this tick runs a pass (every tick unless a subclass spaces them out)."""
        return True

    def run_once(self) -> object:
        """One pass (what it returns is for callers that run a pass themselves, e.g. tests)."""
        raise NotImplementedError

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            if not self.due():
                continue
            try:
                self.run_once()
            except Exception:
                log.exception("%s pass failed; will try again", self.name)
