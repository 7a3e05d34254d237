"""Invite codes tried too often: one person may try `per_person` codes in a row, then one
a minute; everyone together `per_minute` a minute. Past that the code is not looked up at
all (no answer tells a guess from a live code) and the person is told to wait."""

from __future__ import annotations

import time
from collections.abc import Callable

from handlers.flood import ADMIT, FloodGate

_EVERYONE = "everyone"


class InviteGate:
    def __init__(
        self, per_person: int, per_minute: int, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._people = FloodGate(per_person, 1, clock)
        self._everyone = FloodGate(per_minute, per_minute, clock)

    def refusal(self, channel: str, user_id: str) -> str | None:
        """None when this attempt may go ahead; else the catalogue key of the answer."""
        if self._people.admit((channel, user_id)) != ADMIT:
            return "register.too_many_attempts"
        if self._everyone.admit(_EVERYONE) != ADMIT:
            return "register.too_many_everyone"
        return None
