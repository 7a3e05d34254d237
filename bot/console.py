"""Terminal chat: try the bot with no messenger token. Works interactively and piped."""

from __future__ import annotations

import asyncio
import sys
from typing import TextIO

from handlers.engine import Engine
from handlers.messages import Incoming, Outgoing
from templates.catalog import t

CHANNEL = "console"


def render(reply: Outgoing) -> str:
    """Text, then the choices as a numbered list (answer with the number or the words)."""
    lines = [reply.text]
    if reply.numbered:
        lines += [f"  {n}. {choice.label}" for n, choice in enumerate(reply.choices, 1)]
    if reply.file_path is not None:
        lines.append("  " + t("console.file", path=reply.file_path))
    return "\n".join(lines)


async def chat(
    engine: Engine, user: str, stdin: TextIO = sys.stdin, stdout: TextIO = sys.stdout
) -> None:
    """Read lines until end of input, printing the bot's replies after each."""
    interactive = stdin.isatty()
    loop = asyncio.get_running_loop()
    while True:
        if interactive:
            stdout.write("> ")
            stdout.flush()
        line = await loop.run_in_executor(None, stdin.readline)
        if not line:
            break
        text = line.rstrip("\n")
        if not interactive:
            stdout.write(f"> {text}\n")
        incoming = Incoming(
            channel=CHANNEL, user_id=user, chat_id=user, text=text, display_name=user
        )
        for reply in await engine.handle(incoming):
            stdout.write(render(reply) + "\n\n")
        stdout.flush()
