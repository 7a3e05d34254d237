"""The one message model every channel adapter translates to and from."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from domain.parsing import clean_text


@dataclass(frozen=True)
class Incoming:
    """A user's message or button press, whatever the messenger."""

    channel: str
    user_id: str
    chat_id: str
    # What was typed: kept out of log lines (it may be a live invite code).
    text: str = field(default="", repr=False)
    choice: str | None = None  # key of a pressed button, when the channel has buttons
    update_id: str | None = None
    display_name: str = field(default="", repr=False)
    # The messenger's id of this message, and of the bot's message it replies to (or whose
    # button was pressed): they bind an answer to the question it answers.
    message_id: str | None = None
    reply_to: str | None = None

    def __post_init__(self) -> None:
        """Text enters without control characters, whichever messenger brought it."""
        object.__setattr__(self, "text", clean_text(self.text or ""))
        object.__setattr__(self, "display_name", clean_text(self.display_name or ""))


@dataclass(frozen=True)
class Choice:
    key: str
    label: str


@dataclass
class Outgoing:
    """A reply. Channels render choices as buttons or as a numbered list; `numbered`
    False means buttons only (a reminder whose text already says which commands to type,
    since its numbers would clash with the screen the person is on)."""

    text: str
    choices: list[Choice] = field(default_factory=list)
    file_path: Path | None = None
    chat_id: str = ""
    numbered: bool = True
    subject: str = ""  # the e-mail subject when it goes by mail (a default otherwise)


# Outcomes of delivering an Outgoing to a messenger. FAILED: certainly not delivered (sent
# again later); UNCERTAIN: the messenger may have taken it (a timeout after the request was
# written), never sent again; QUEUED: in the outbox, to be sent.
SENT = "sent"
BLOCKED = "blocked"
FAILED = "failed"  # alone, or "failed: <reason>"
DEFERRED = "deferred"  # the messenger's quota is exceeded: sent again after a pause
UNREACHABLE = "unreachable"  # no linked channel takes reminders
UNCERTAIN = "uncertain"
QUEUED = "queued"


@dataclass(frozen=True)
class Delivery:
    """What a messenger did with an Outgoing: the outcome and the ids of the messages it
    became (several for a long text)."""

    outcome: str
    message_ids: tuple[str, ...] = ()
    error: str = ""
    retry: bool = False  # a FAILED send that may be tried again

    @property
    def summary(self) -> str:
        """The outcome, or "failed: <error>" (how the delivery log's reason and the chat's
        handlers read a send that did not arrive)."""
        return f"{FAILED}: {self.error}" if self.outcome == FAILED and self.error else self.outcome
