from datetime import datetime, timedelta

import pytest

from node.delivery.policy import MAX_BACKOFF_SECONDS, next_attempt

T0 = datetime(2026, 1, 1, 12, 0, 0)


def test_backoff_doubles_and_is_capped() -> None:
    delays = [
        (next_attempt(T0, n, T0, first_retry_seconds=5, max_age_seconds=10**6) - T0).total_seconds()  # type: ignore[operator]
        for n in range(1, 12)
    ]
    assert delays[:4] == [5, 10, 20, 40]
    assert max(delays) == MAX_BACKOFF_SECONDS
    assert delays == sorted(delays)


def test_dead_after_max_age() -> None:
    now = T0 + timedelta(seconds=95)
    assert next_attempt(T0, 3, now, first_retry_seconds=5, max_age_seconds=100) is None
    assert next_attempt(T0, 1, now, first_retry_seconds=5, max_age_seconds=100) == now + timedelta(seconds=5)


def test_attempts_must_be_positive() -> None:
    with pytest.raises(ValueError, match="failed_attempts"):
        next_attempt(T0, 0, T0, first_retry_seconds=5, max_age_seconds=100)
