"""Read a signed report (.docx or its text) into the standing texts of a round.

The body is split into the sections of sections.toml by its headings ("I.", "1.", "2.1.",
the usual heading words). What is not body is left out and counted: the heading block
before "Kính gửi", the opening sentence answering a request letter, the closing sentence,
"Nơi nhận", the signature and the annex tables after it, gap markers of a draft. A body
paragraph under a heading that names no known section is kept as unplaced (section
`UNPLACED`), never dropped.

Under a heading that names several sections ("đoàn ra đoàn vào; công tác lãnh sự, biên
giới; thông tin đối ngoại…"), each paragraph goes to the section whose words it uses most.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from docx import Document
from sqlalchemy.ext.asyncio import AsyncSession

from domain.parsing import fold, nfc
from storage import report_texts
from templates.report.standing import UNPLACED, load_sections

_ROMAN = r"(?:X{0,3})(?:IX|IV|V?I{0,3})"
_HEADING = re.compile(
    rf"^(?:(?P<roman>{_ROMAN})\.|(?P<number>\d{{1,2}}(?:\.\d{{1,2}}){{0,2}})\.?)\s+\S"
)
_MAX_HEADING_CHARS = 160
_MAX_ROMAN_HEADING_CHARS = 240  # "II. Công tác chỉ đạo điều hành … của Đảng và Nhà nước"
_FOOTNOTE_MARK = re.compile(r"\[footnoteRef:\d+\]")
_FOOTNOTE_TEXT = re.compile(r"\[\d+:[^\]]*\]", re.DOTALL)
_MARKDOWN = re.compile(r"^[#\s]*|\*+")
# Why paragraphs were left out, as counted in Placement.left_out.
LEFT_OUT = ("header", "opening", "closing", "gap", "signature_and_annexes")


@dataclass
class Placement:
    """What an import did with a document's paragraphs."""

    sections: dict[str, list[str]] = field(default_factory=dict)  # UNPLACED included
    left_out: Counter = field(default_factory=Counter)  # reason -> paragraphs

    def add(self, section: str, paragraph: str) -> None:
        self.sections.setdefault(section, []).append(paragraph)

    @property
    def unplaced(self) -> list[str]:
        return self.sections.get(UNPLACED, [])


async def store_placement(
    db: AsyncSession,
    round_id: str,
    placement: Placement,
    *,
    source: str,
    replace: bool = False,
    member_id: int | None = None,
    via: str = "cli",
) -> list[str]:
    """Store the placed paragraphs as the round's standing texts. Without `replace`, the
    sections the round already has text for are returned and nothing is stored."""
    own = await report_texts.texts_of_round(db, round_id)
    taken = [key for key in placement.sections if key in own and own[key].text]
    if taken and not replace:
        return taken
    for key, found in placement.sections.items():
        await report_texts.set_text(
            db, round_id, key, "\n".join(found), source=source, member_id=member_id, via=via
        )
    return []


def read_paragraphs(path: Path) -> list[tuple[str, bool]]:
    """(text, looks bold) of each paragraph of a .docx body or a text file."""
    if path.suffix.lower() == ".docx":
        document = Document(str(path))
        return [(p.text, _all_bold(p)) for p in document.paragraphs]
    text = _FOOTNOTE_TEXT.sub("", _FOOTNOTE_MARK.sub("", path.read_text(encoding="utf-8-sig")))
    return [(line, False) for line in text.splitlines()]


def _all_bold(paragraph) -> bool:
    runs = [run for run in paragraph.runs if run.text.strip()]
    return bool(runs) and all(run.bold for run in runs)


def place(paragraphs: list[tuple[str, bool]]) -> Placement:
    """Sort a document's paragraphs into sections."""
    result = Placement()
    lines = [(_clean(text), bold) for text, bold in paragraphs]
    lines = [(text, bold) for text, bold in lines if text]
    body = _body(lines, result)
    headings: list[tuple[int, list[str]]] = []  # (level, candidate sections) open now
    for text, bold in body:
        level = _heading_level(text, bold)
        if level:
            headings = [h for h in headings if h[0] < level]
            headings.append((level, _sections_named(text) or _inherited(headings)))
            continue
        if text.startswith("[CẦN BỔ SUNG"):
            result.left_out["gap"] += 1
            continue
        candidates = headings[-1][1] if headings else []
        if not headings and fold(text).startswith("thuc hien "):
            result.left_out["opening"] += 1
            continue
        if _is_closing(text):
            result.left_out["closing"] += 1
            continue
        section = (
            _best_for(text, candidates) if candidates else ("mo_dau" if not headings else UNPLACED)
        )
        result.add(section, _unmarked(text))
    return result


def _clean(text: str) -> str:
    return " ".join(_MARKDOWN.sub("", nfc(text)).split()).strip()


def _body(lines: list[tuple[str, bool]], result: Placement) -> list[tuple[str, bool]]:
    """The lines between the heading block (up to "Kính gửi") and "Nơi nhận"."""
    start = 0
    for index, (text, _bold) in enumerate(lines):
        if fold(text).startswith("kinh gui"):
            start = index + 1
            break
    end = next(
        (i for i, (text, _b) in enumerate(lines) if fold(text).startswith("noi nhan")), len(lines)
    )
    result.left_out["header"] += start
    result.left_out["signature_and_annexes"] += len(lines) - end
    return lines[start:end]


def _heading_level(text: str, bold: bool) -> int:
    """1 for "I.", 2 for "1.", 3 for "1.1.", 4 for "1.1.1."; 0 for a body paragraph. A
    numbered line is a heading only when it is short and does not read as a sentence."""
    match = _HEADING.match(text)
    if match is None or (match["roman"] == "" and match["number"] is None):
        return 0
    sentence_like = text.rstrip(" :").endswith((".", ";")) and not bold
    longest = _MAX_ROMAN_HEADING_CHARS if match["roman"] else _MAX_HEADING_CHARS
    if len(text) > longest or sentence_like:
        return 0
    return 1 if match["roman"] else 2 + match["number"].count(".")


def _sections_named(heading: str) -> list[str]:
    """The sections whose words a heading uses, in the order the heading names them."""
    folded = fold(heading)
    found = []
    for key, section in load_sections().items():
        positions = [folded.find(fold(word)) for word in section.words]
        positions = [p for p in positions if p >= 0]
        if positions:
            found.append((min(positions), key))
    return [key for _position, key in sorted(found)]


def _inherited(headings: list[tuple[int, list[str]]]) -> list[str]:
    """A heading naming no section belongs to the nearest enclosing one that does."""
    return next((candidates for _level, candidates in reversed(headings) if candidates), [])


def _best_for(paragraph: str, candidates: list[str]) -> str:
    """Among a heading's sections, the one whose words the paragraph uses most."""
    if len(candidates) == 1:
        return candidates[0]
    folded = fold(paragraph)
    sections = load_sections()
    scores = {key: sum(folded.count(fold(w)) for w in sections[key].words) for key in candidates}
    best = max(scores.values())
    return next(key for key in candidates if scores[key] == best)


def _is_closing(text: str) -> bool:
    folded = fold(text)
    return text.endswith("./.") or folded.startswith("tren day la bao cao")


def _unmarked(text: str) -> str:
    """A paragraph without the review markers a draft may carry."""
    for marker in ("[RÀ SOÁT SỐ LIỆU]", "[RÀ SOÁT]"):
        text = text.removeprefix(marker).strip()
    return text
