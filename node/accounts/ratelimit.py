"""Sign-in attempts per client address: after ``limit`` failures within ``window`` seconds, wait."""

from __future__ import annotations

import threading
import time
from collections import defaultdict, deque
from collections.abc import Callable


class LoginLimiter:
    def __init__(self, limit: int = 10, window: float = 300.0, clock: Callable[[], float] = time.monotonic) -> None:
        self.limit = limit
        self.window = window
        self._clock = clock
        self._lock = threading.Lock()
        self._failures: dict[str, deque[float]] = defaultdict(deque)

    def _trim(self, key: str, now: float) -> deque[float]:
        failures = self._failures[key]
        while failures and now - failures[0] > self.window:
            failures.popleft()
        return failures

    def retry_after(self, key: str) -> float:
        """Seconds until ``key`` may try again (0: now)."""
        now = self._clock()
        with self._lock:
            failures = self._trim(key, now)
            if len(failures) < self.limit:
                return 0.0
            return max(0.0, self.window - (now - failures[0]))

    def failed(self, key: str) -> None:
        with self._lock:
            self._trim(key, self._clock()).append(self._clock())
            if len(self._failures) > 10000:  # bounded memory under a spray of addresses
                for stale in [k for k, v in self._failures.items() if not v][:5000]:
                    del self._failures[stale]

    def succeeded(self, key: str) -> None:
        with self._lock:
            self._failures.pop(key, None)
