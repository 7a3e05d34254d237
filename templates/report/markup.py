"""The small Markdown dialect the report templates write, and how user text stays literal.

Every value a template prints with `{{ … }}` is wrapped in private-use marker characters
(`protect`), so the writers know which text came from data: it is never read as markup,
whatever it contains (`**`, `{{ 7*7 }}`, `<`, `&`). Figures strip those characters from
user text beforehand, so data cannot forge a marker.

Markup written in the template text itself:
- a line starting with `#`, `##`, `###` or `####` and a space is a heading of that level;
- every other non-empty line is a paragraph (write a blank line between paragraphs so the
  Markdown reads well too); `- ` and `1. ` stay as typed, as official documents do;
- `**bold**` and `*italic*` toggle inside a paragraph, also around printed values;
- `{{ note(text) }}` places a footnote; its text is literal;
- `{{ ref(text, records) }}` prints a figure that names the records it counts (the web
  draft links it to them; other outputs print the text);
- `{{ gap(text) }}` writes a highlighted "[CẦN BỔ SUNG: text]": what the records cannot
  support and an officer must fill in; `{{ review(text) }}` a highlighted "[text]" that
  asks for a check (a carried paragraph).
To print a literal asterisk from template text, write `{{ "*" }}`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

LIT_OPEN = "\ue000"
LIT_CLOSE = "\ue001"
NOTE_OPEN = "\ue002"
NOTE_CLOSE = "\ue003"
MARK_OPEN = "\ue004"
MARK_CLOSE = "\ue005"
REF_OPEN = "\ue006"  # REF_OPEN index REF_MID text REF_CLOSE: a figure and its records
REF_MID = "\ue007"
REF_CLOSE = "\ue008"
MARKERS = (
    LIT_OPEN,
    LIT_CLOSE,
    NOTE_OPEN,
    NOTE_CLOSE,
    MARK_OPEN,
    MARK_CLOSE,
    REF_OPEN,
    REF_MID,
    REF_CLOSE,
)
GAP_PREFIX = "[CẦN BỔ SUNG"

_NOTE = re.compile(f"{NOTE_OPEN}(\\d+){NOTE_CLOSE}")
_REF_START = re.compile(f"{REF_OPEN}\\d+{REF_MID}")
_MARKER_CHARS = re.compile(f"[{LIT_OPEN}{LIT_CLOSE}{MARK_OPEN}{MARK_CLOSE}{REF_CLOSE}]")
_LITERAL_SPLIT = re.compile(
    f"({REF_OPEN}\\d+{REF_MID}|[{LIT_OPEN}{LIT_CLOSE}{MARK_OPEN}{MARK_CLOSE}{REF_CLOSE}])"
)
_HEADING = re.compile(r"^(#{1,4}) ")
_EMPHASIS = re.compile(r"(\*\*|\*)")
_BLANK_LINES = re.compile(r"\n[ \t]*(?:\n[ \t]*){2,}")


class TemplateText(str):
    """Template-produced text (a footnote mark) that `protect` passes through unchanged."""


def protect(value: object) -> str:
    """Jinja `finalize`: wrap a printed value so the writers keep it literal.

    Output of macros and blocks already contains markers (their own printed values) and is
    passed through, so markup written around those values still applies.
    """
    if isinstance(value, TemplateText):
        return value
    text = "" if value is None else str(value)
    if any(marker in text for marker in MARKERS):
        return text
    return f"{LIT_OPEN}{text}{LIT_CLOSE}"


def note_mark(index: int) -> TemplateText:
    return TemplateText(f"{NOTE_OPEN}{index}{NOTE_CLOSE}")


def highlighted(text: str) -> TemplateText:
    """Literal text the writers highlight (a gap to fill, a paragraph to check)."""
    return TemplateText(f"{MARK_OPEN}{protect(text)}{MARK_CLOSE}")


def reference(index: int, text: str) -> TemplateText:
    """A figure that names the records it counts (refs[index] of the rendered report)."""
    return TemplateText(f"{REF_OPEN}{index}{REF_MID}{protect(text)}{REF_CLOSE}")


def gap(what: str) -> TemplateText:
    """ "[CẦN BỔ SUNG: what]", highlighted."""
    return highlighted(f"{GAP_PREFIX}: {what}]")


def plain(text: str) -> str:
    """Text without any marker (for heading fields, which carry no markup)."""
    return _NOTE.sub("", _MARKER_CHARS.sub("", _REF_START.sub("", text)))


# --- Markdown ---------------------------------------------------------------------------


def markdown(source: str, notes: list[str]) -> str:
    """The Markdown text: markers removed, footnote marks as [^n] with their definitions
    appended, numbered in order of appearance."""
    numbers: dict[int, int] = {}

    def mark(match: re.Match[str]) -> str:
        index = int(match.group(1))
        numbers.setdefault(index, len(numbers) + 1)
        return f"[^{numbers[index]}]"

    text = _NOTE.sub(mark, _MARKER_CHARS.sub("", _REF_START.sub("", source)))
    text = _BLANK_LINES.sub("\n\n", text).strip() + "\n"
    if numbers:
        definitions = [f"[^{n}]: {_one_line(notes[i])}" for i, n in numbers.items()]
        text += "\n" + "\n".join(definitions) + "\n"
    return text


def _one_line(text: str) -> str:
    return " ".join(text.split())


# --- parsed paragraphs (for the .docx writer) --------------------------------------------


@dataclass
class Span:
    text: str = ""
    bold: bool = False
    italic: bool = False
    highlight: bool = False
    ref: int | None = None  # index into the report's refs: the records this figure counts
    note: int | None = None  # index into the notes list: a footnote mark, no text


@dataclass
class Block:
    level: int = 0  # 0 = paragraph, 1-4 = heading level
    spans: list[Span] = field(default_factory=list)

    @property
    def text(self) -> str:
        return "".join(span.text for span in self.spans)


def parse(source: str) -> list[Block]:
    """Paragraphs and headings with their styled spans; literal text is never parsed."""
    blocks: list[Block] = []
    state = _State()
    for token, literal in _tokens(source):
        if token in (MARK_OPEN, MARK_CLOSE):
            state.highlight = token == MARK_OPEN
            continue
        if token.startswith(REF_OPEN):
            state.ref = int(token[1:-1])
            continue
        if token == REF_CLOSE:
            state.ref = None
            continue
        if literal:
            state.add_text(token)
            continue
        for index, line in enumerate(token.split("\n")):
            if index:
                state.end_paragraph(blocks)
            state.add_markup(line)
    state.end_paragraph(blocks)
    return blocks


class _State:
    def __init__(self) -> None:
        self.block = Block()
        self.bold = False
        self.italic = False
        self.highlight = False
        self.ref: int | None = None
        self.at_start = True

    def add_markup(self, text: str) -> None:
        if self.at_start:
            stripped = text.lstrip()
            if match := _HEADING.match(stripped):
                self.block.level = len(match.group(1))
                text = stripped[match.end() :]
            elif stripped:
                text = stripped
        for piece in _EMPHASIS.split(text):
            if piece == "**":
                self.bold = not self.bold
            elif piece == "*":
                self.italic = not self.italic
            elif piece:
                self._append(piece)

    def add_text(self, text: str) -> None:
        self._append(text)

    def _append(self, text: str) -> None:
        parts = _NOTE.split(text)
        for position, part in enumerate(parts):
            if position % 2:
                self.block.spans.append(Span(note=int(part)))
            elif part:
                if self.at_start and not part.strip():
                    continue
                self.at_start = False
                self.block.spans.append(
                    Span(part, self.bold, self.italic, self.highlight, self.ref)
                )

    def end_paragraph(self, blocks: list[Block]) -> None:
        if self.block.text.strip() or any(s.note is not None for s in self.block.spans):
            blocks.append(self.block)
        self.block = Block()
        self.bold = self.italic = self.highlight = False
        self.ref = None
        self.at_start = True


def _tokens(source: str) -> list[tuple[str, bool]]:
    """(text, is_literal) pieces; literal spans may nest (a macro's output printed again)."""
    tokens: list[tuple[str, bool]] = []
    depth = 0
    for piece in _LITERAL_SPLIT.split(source):
        if piece == LIT_OPEN:
            depth += 1
        elif piece == LIT_CLOSE:
            depth = max(depth - 1, 0)
        elif piece in (MARK_OPEN, MARK_CLOSE, REF_CLOSE) or piece.startswith(REF_OPEN):
            tokens.append((piece, False))
        elif piece:
            tokens.append((piece, depth > 0))
    return tokens
