"""Rendering replies for channels: splitting long texts, and plain text with numbered
choices for text-only channels (the terminal, Zalo)."""

from __future__ import annotations

from domain.catalog import t
from domain.messages import Outgoing


def utf16_length(text: str) -> int:
    """The length messengers count: UTF-16 code units (an emoji outside the BMP is two)."""
    return len(text.encode("utf-16-le")) // 2


def _fitting_prefix(line: str, limit: int) -> int:
    """How many characters of `line` fit in `limit` UTF-16 units (never half an emoji)."""
    used = 0
    for index, char in enumerate(line):
        used += 2 if ord(char) > 0xFFFF else 1
        if used > limit:
            return max(index, 1)
    return len(line)


def split_text(text: str, limit: int) -> list[str]:
    """Pieces of at most ``limit`` UTF-16 units, in order, cut at line boundaries.

    Lengths are counted as Telegram and Zalo count them (UTF-16), so a text of emoji is cut
    twice as often as one of letters. A line longer than ``limit`` is cut hard. The newline
    at a cut is dropped and so are blank pieces (Zalo refuses empty texts), so for a text
    whose lines all fit, ``"\\n".join(split_text(text)) == text`` unless blank lines fall on
    a cut. A blank text gives no pieces.
    """
    if limit < 2:
        raise ValueError("limit must be >= 2")
    if not text.strip():
        return []
    if utf16_length(text) <= limit:
        return [text]
    pieces: list[str] = []

    def flush(piece: str | None) -> None:
        if piece is not None and piece.strip():
            pieces.append(piece)

    current: str | None = None  # the piece being built; None: no piece started
    for line in text.split("\n"):
        while utf16_length(line) > limit:
            flush(current)
            current = None
            cut = _fitting_prefix(line, limit)
            flush(line[:cut])
            line = line[cut:]
        if current is None:
            current = line
        elif utf16_length(current) + 1 + utf16_length(line) <= limit:
            current = f"{current}\n{line}"
        else:
            flush(current)
            current = line
    flush(current)
    return pieces


def plain_text(reply: Outgoing, file_link: str = "") -> str:
    """The reply as text: choices as a numbered list (answered by number or words)."""
    lines = [reply.text]
    if reply.numbered and reply.choices:
        lines.append("")
        lines += [f"{n}. {choice.label}" for n, choice in enumerate(reply.choices, 1)]
        lines.append(t("render.answer_by_number"))
    if file_link:
        lines.append(t("render.file_link", link=file_link))
    return "\n".join(lines)
