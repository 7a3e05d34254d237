"""Terminal chat: try the bot with no messenger token. Works interactively and piped.

One line is one message, except a filled template (one-message entry): from its first
line ("Loại hoạt động: …") to the next empty line, the lines make one message."""

from __future__ import annotations

import asyncio
import sys
from typing import TextIO

from bot.render import plain_text
from domain.catalog import t
from domain.entry import starts_with_template
from domain.messages import Incoming, Outgoing
from handlers.engine import Engine

CHANNEL = "console"


def render(reply: Outgoing) -> str:
    """Text, then the choices as a numbered list; a file is shown by its path."""
    return plain_text(reply, str(reply.file_path) if reply.file_path else "")


async def _show(engine: Engine, incoming: Incoming, stdout: TextIO) -> None:
    for reply in await engine.handle(incoming):
        stdout.write(render(reply) + "\n\n")
        if starts_with_template(reply.text):
            stdout.write(t("cli.paste_template") + "\n\n")
    stdout.flush()


async def _read(stdin: TextIO) -> str | None:
    """The next message: a line, or a pasted template up to an empty line; None at the end."""
    loop = asyncio.get_running_loop()
    line = await loop.run_in_executor(None, stdin.readline)
    if not line:
        return None
    lines = [line.rstrip("\n")]
    while starts_with_template(lines[0]) and lines[-1].strip():
        more = await loop.run_in_executor(None, stdin.readline)
        if not more:
            break
        lines.append(more.rstrip("\n"))
    return "\n".join(lines).strip("\n") if len(lines) > 1 else lines[0]


async def chat(
    engine: Engine,
    user: str,
    stdin: TextIO = sys.stdin,
    stdout: TextIO = sys.stdout,
    resume: bool = False,
) -> None:
    """Read lines until end of input, printing the bot's replies after each. With
    `resume` (a registered user back), first show where they were: the question their
    draft is waiting on, or the menu."""
    interactive = stdin.isatty()
    if resume:
        back = Incoming(
            channel=CHANNEL, user_id=user, chat_id=user, choice="resume", display_name=user
        )
        await _show(engine, back, stdout)
    while True:
        if interactive:
            stdout.write("> ")
            stdout.flush()
        text = await _read(stdin)
        if text is None:
            break
        if not interactive:
            stdout.write(f"> {text}\n")
        incoming = Incoming(
            channel=CHANNEL, user_id=user, chat_id=user, text=text, display_name=user
        )
        await _show(engine, incoming, stdout)
