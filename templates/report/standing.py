"""Standing texts in a draft: each section's text written for the round, or else the text
of the last round of the same kind, carried over and marked for review.

Sections are data (sections.toml); templates print a section's text with
`{{ standing("hop_tac") }}` after what the records produce.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from storage.report_texts import StandingText
from templates.report import markup
from templates.report.figures import clean_text

SECTIONS_FILE = Path(__file__).resolve().parent / "sections.toml"
REVIEW = "[RÀ SOÁT]"
REVIEW_FIGURES = "[RÀ SOÁT SỐ LIỆU]"
_DIGIT = re.compile(r"\d")


@dataclass(frozen=True)
class Section:
    key: str
    title: str
    words: tuple[str, ...]


@cache
def load_sections(path: Path = SECTIONS_FILE) -> dict[str, Section]:
    with path.open("rb") as handle:
        data = tomllib.load(handle)
    return {
        key: Section(key, spec["title"], tuple(spec.get("words", ()))) for key, spec in data.items()
    }


@dataclass(frozen=True)
class Standing:
    """The text a draft shows for one section."""

    section: str
    paragraphs: tuple[str, ...]
    carried_from: str | None = None  # the round id the text was written for, if carried

    def rendered(self) -> markup.TemplateText:
        """The paragraphs as template text: literal, one paragraph each, a carried one
        starting with a highlighted review marker."""
        return markup.TemplateText("\n\n".join(self._paragraph(text) for text in self.paragraphs))

    def _paragraph(self, text: str) -> str:
        if self.carried_from is None:
            return markup.protect(text)
        marker = REVIEW_FIGURES if _DIGIT.search(text) else REVIEW
        return markup.highlighted(marker) + markup.protect(f" {text}")


def paragraphs(text: str) -> tuple[str, ...]:
    """A stored text as report paragraphs: one per non-empty line, cleaned."""
    return tuple(line for line in (clean_text(raw) for raw in text.splitlines()) if line)


def resolve(
    own: Mapping[str, StandingText], carried: Mapping[str, StandingText]
) -> dict[str, Standing]:
    """The round's own texts; for sections without one, the carried texts."""
    resolved = {
        key: Standing(key, paragraphs(text.text), text.round_id) for key, text in carried.items()
    }
    resolved.update({key: Standing(key, paragraphs(text.text)) for key, text in own.items()})
    return resolved


def standing_function(texts: Mapping[str, Standing]) -> Callable[[str], markup.TemplateText]:
    """The template global `standing(key)`; an unknown key is a template error."""
    sections = load_sections()

    def standing(key: str) -> markup.TemplateText:
        if key not in sections:
            raise KeyError(f"unknown report section {key!r}; see sections.toml")
        text = texts.get(key)
        return text.rendered() if text else markup.TemplateText("")

    return standing
