"""Routes an Outgoing to the messenger of a person's identity, at once (the terminal
demo's web workspace; the running bot queues in the outbox instead)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from domain.messages import FAILED, Delivery, Outgoing

Sender = Callable[[Outgoing], Awaitable[Delivery]]


class Channels:
    def __init__(self) -> None:
        self._senders: dict[str, Sender] = {}

    def register(self, channel: str, sender: Sender) -> None:
        self._senders[channel] = sender

    async def deliver(self, channel: str, outgoing: Outgoing) -> str:
        sender = self._senders.get(channel)
        if sender is None:  # e.g. a console identity while the bot runs on Telegram
            return f"{FAILED}: no {channel} channel running"
        return (await sender(outgoing)).summary
