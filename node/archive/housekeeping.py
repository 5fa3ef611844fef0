"""Hourly housekeeping of ``spinenode serve``: index new SRs in the archive; delete originals past
retention (only once delivered)."""

from __future__ import annotations

import logging
import time

from node.archive.index import index_new_results
from node.archive.retention import cleanup_originals
from node.daemon.loop import PeriodicLoop
from node.registry.db import Registry

log = logging.getLogger(__name__)

CLEANUP_EVERY = 3600.0


class Housekeeping(PeriodicLoop):
    """Runs :meth:`run_once` soon after start and then every ``every`` seconds, on a thread."""

    name = "housekeeping"

    def __init__(
        self, registry: Registry, *, retention_days: float = 0.0, every: float = CLEANUP_EVERY, interval: float = 1.0
    ) -> None:
        self.registry = registry
        self.retention_days = retention_days
        self.every = every
        super().__init__(interval)
        self._last = 0.0

    def due(self) -> bool:
        now = time.monotonic()
        if self._last and now - self._last < self.every:
            return False
        self._last = now
        return True

    def run_once(self) -> None:
        with self.registry.session() as session:
            index_new_results(session)
        if self.retention_days:
            with self.registry.session() as session:
                report = cleanup_originals(session, self.retention_days)
            log.info("retention: %s", report)
