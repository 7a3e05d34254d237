"""Time helpers. Stored timestamps are naive UTC; the clock is injectable for tests."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

Clock = Callable[[], datetime]


def utcnow() -> datetime:
    """Naive UTC now, as stored in the database."""
    return datetime.now(UTC).replace(tzinfo=None)
