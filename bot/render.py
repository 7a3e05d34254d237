"""Rendering replies for channels: splitting long texts, and plain text with numbered
choices for text-only channels (the terminal, Zalo)."""

from __future__ import annotations

from domain.catalog import t
from domain.messages import Outgoing


def split_text(text: str, limit: int) -> list[str]:
    """Pieces of at most ``limit`` characters, in order, cut at line boundaries.

    A line longer than ``limit`` is cut hard. The newline at a cut is dropped and so are
    blank pieces (Zalo refuses empty texts), so for a text whose lines all fit,
    ``"\\n".join(split_text(text)) == text`` unless blank lines fall on a cut.
    A blank text gives no pieces.
    """
    if limit < 1:
        raise ValueError("limit must be >= 1")
    if not text.strip():
        return []
    if len(text) <= limit:
        return [text]
    pieces: list[str] = []

    def flush(piece: str | None) -> None:
        if piece is not None and piece.strip():
            pieces.append(piece)

    current: str | None = None  # the piece being built; None: no piece started
    for line in text.split("\n"):
        while len(line) > limit:
            flush(current)
            current = None
            flush(line[:limit])
            line = line[limit:]
        if current is None:
            current = line
        elif len(current) + 1 + len(line) <= limit:
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
