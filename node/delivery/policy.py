"""When to try a failed delivery again, and when to give up (pure)."""

from __future__ import annotations

from datetime import datetime, timedelta

MAX_BACKOFF_SECONDS = 900.0


def next_attempt(
    created_at: datetime,
    failed_attempts: int,
    now: datetime,
    *,
    first_retry_seconds: float,
    max_age_seconds: float,
) -> datetime | None:
    """Exponential backoff from ``first_retry_seconds``, doubling, capped at 15 min.

    Returns the time of the next attempt, or ``None`` when that would fall beyond ``max_age_seconds``
    after the delivery was created: the delivery is then dead (a visible dead letter).
    """
    if failed_attempts < 1:
        raise ValueError(f"failed_attempts must be >= 1, got {failed_attempts}")
    delay = min(first_retry_seconds * 2 ** (failed_attempts - 1), MAX_BACKOFF_SECONDS)
    when = now + timedelta(seconds=delay)
    if when > created_at + timedelta(seconds=max_age_seconds):
        return None
    return when
