"""Damping floods per person: a token bucket for each (channel, user).

A person may send `burst` messages at once, then `per_minute` a minute. Past that, the
first message gets one answer saying so and the next ones none, until the bucket refills:
200 messages in 11 seconds get a handful of replies, not 200.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Hashable
from dataclasses import dataclass

ADMIT, WARN, DROP = "admit", "warn", "drop"
_MAX_PEOPLE = 10_000  # buckets kept before the full (idle) ones are forgotten


@dataclass
class _Bucket:
    tokens: float
    at: float
    warned: bool = False


class FloodGate:
    def __init__(
        self, burst: int, per_minute: int, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.burst, self.rate, self.clock = burst, per_minute / 60, clock
        self._buckets: dict[Hashable, _Bucket] = {}

    def admit(self, who: Hashable) -> str:
        """ADMIT a message, WARN (refuse it, and say so once), or DROP it silently."""
        now = self.clock()
        bucket = self._buckets.get(who) or _Bucket(self.burst, now)
        bucket.tokens = min(self.burst, bucket.tokens + (now - bucket.at) * self.rate)
        bucket.at = now
        self._buckets[who] = bucket
        if len(self._buckets) > _MAX_PEOPLE:
            self._forget_idle(now)
        if bucket.tokens >= 1:
            bucket.tokens -= 1
            bucket.warned = False
            return ADMIT
        if bucket.warned:
            return DROP
        bucket.warned = True
        return WARN

    def _forget_idle(self, now: float) -> None:
        full = [who for who, b in self._buckets.items()
                if b.tokens + (now - b.at) * self.rate >= self.burst]  # fmt: skip
        for who in full:
            del self._buckets[who]
