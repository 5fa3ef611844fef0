"""Hourly housekeeping of ``spinenode serve``: index new SRs in the archive; delete originals past
retention (only once delivered)."""

from __future__ import annotations

import logging
import threading
import time

from node.archive.index import index_new_results
from node.archive.retention import cleanup_originals
from node.registry.db import Registry

log = logging.getLogger(__name__)

CLEANUP_EVERY = 3600.0


class Housekeeping:
    """Runs :meth:`run_once` soon after start and then every ``every`` seconds, on a thread."""

    def __init__(
        self, registry: Registry, *, retention_days: float = 0.0, every: float = CLEANUP_EVERY, interval: float = 1.0
    ) -> None:
        self.registry = registry
        self.retention_days = retention_days
        self.every = every
        self.interval = interval
        self._last = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="housekeeping", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            now = time.monotonic()
            if self._last and now - self._last < self.every:
                continue
            self._last = now
            try:
                self.run_once()
            except Exception:
                log.exception("housekeeping failed; will try again")

    def run_once(self) -> None:
        with self.registry.session() as session:
            index_new_results(session)
        if self.retention_days:
            with self.registry.session() as session:
                report = cleanup_originals(session, self.retention_days)
            log.info("retention: %s", report)
