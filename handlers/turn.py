"""One message's processing context: the person, their conversation state, the replies."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Protocol

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from domain.catalog import t
from domain.messages import Choice, Incoming, Outgoing
from domain.parsing import fold, loose
from domain.settings import Settings
from storage.repo import Person


def whole_number(text: str, max_digits: int = 12) -> int | None:
    """ "12" or "#12" as 12; None for anything else (including "²" and huge numbers)."""
    match = re.fullmatch(rf"#?([0-9]{{1,{max_digits}}})", text.strip())
    return int(match.group(1)) if match else None


class Mailer(Protocol):
    async def send(self, outgoing: Outgoing) -> str: ...

    async def send_code(self, address: str, code: str) -> str: ...


BACK_WORDS = frozenset({"quay lai", "quaylai", "back", "<"})
SKIP_WORDS = frozenset({"bo qua", "boqua", "skip", "-"})

# State keys that survive a change of screen: the coordinator's chosen unit, the draft and
# the filled templates waiting after it.
# The text last applied as an answer, and the question a repeat of it was queried for
# (handlers.binding): kept across screens, as a repeat comes after the screen moved on.
LAST_ANSWER, REPEAT_ASKED = "last_answer", "repeat_asked"
PERSISTENT_KEYS = ("acting_unit", "acting_unit_name", "draft", "queue", LAST_ANSWER, REPEAT_ASKED)


@dataclass
class Turn:
    db: AsyncSession
    incoming: Incoming
    person: Person | None
    state: dict[str, Any]
    now: datetime  # local time
    today: date
    settings: Settings
    sessions: async_sessionmaker
    replies: list[Outgoing] = field(default_factory=list)
    # Slow work (building documents) run after the transaction, outside the engine's lock;
    # each returns more replies.
    after_commit: list[Callable[[], Awaitable[list[Outgoing]]]] = field(default_factory=list)
    # Sends mail (codes, reports) when SMTP is configured: bot.mail.EmailChannel.
    mailer: Mailer | None = None

    @property
    def text(self) -> str:
        return self.incoming.text

    @property
    def wants_skip(self) -> bool:
        return self.incoming.choice is None and fold(self.text) in SKIP_WORDS

    @property
    def wants_back(self) -> bool:
        return self.incoming.choice is None and fold(self.text) in BACK_WORDS

    @property
    def is_coordinator(self) -> bool:
        return self.person is not None and self.person.role == "coordinator"

    def say(
        self,
        key: str,
        /,
        choices: list[tuple[str, str]] | None = None,
        numbered: bool = True,
        **params: Any,
    ) -> None:
        """Reply with a catalogue message; choices become what a number or label selects
        (numbered=False: typed numbers mean something else on this screen, e.g. record ids)."""
        self.replies.append(
            Outgoing(
                text=t(key, **params),
                choices=[Choice(k, v) for k, v in choices or []],
                numbered=numbered,
            )
        )
        if choices is not None:
            self.state["choices"] = [list(pair) for pair in choices]
            self.state["numbered"] = numbered

    def go(self, screen: str, **data: Any) -> None:
        """Move to a screen, keeping only the persistent parts of the state."""
        kept = {k: self.state[k] for k in PERSISTENT_KEYS if k in self.state}
        self.state.clear()
        self.state.update(kept, screen=screen, **data)

    def picked(self) -> str | None:
        """The key of the on-screen choice this message selects, if any.

        A pressed button gives its key; typed text may be the number shown, the key or
        the label (accent- and case-insensitive).
        """
        offered = self.state.get("choices", [])
        if self.incoming.choice is not None:
            keys = {key for key, _ in offered}
            return self.incoming.choice if self.incoming.choice in keys else None
        wanted = loose(self.text)
        position = whole_number(wanted) if self.state.get("numbered", True) else None
        if position is not None and 1 <= position <= len(offered):
            return offered[position - 1][0]
        for key, label in offered:
            if wanted in (loose(key), loose(label)):
                return key
        return None
