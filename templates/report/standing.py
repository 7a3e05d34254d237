"""Standing texts in a draft: each section's text written for the round, or else the text
of the last round of the same kind, carried over and marked for review.

Sections are data (sections.toml); templates print a section's text with
`{{ standing("hop_tac") }}` after what the records produce.

A carried paragraph
- starts with a highlighted `[RÀ SOÁT]`, or `[RÀ SOÁT SỐ LIỆU]` when it holds a number, a
  date or a year: its figures are last period's until someone checks them;
- is left out when it states a count the section produces from the records ("Tiếp 14
  đoàn…" in the delegations section): the draft already says this period's figure, or
  asks for it;
- has its year words moved with the round where that is unambiguous: in "trong năm 2022"
  or "Năm 2022, …" (a time phrase), the old round's year or the next one becomes the same
  year relative to the new round; any other year ("Năm 2021 là năm đầu tiên…", "năm học
  2020-2021", a date, a document number) stays as written, under the figures marker.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from domain.parsing import fold
from storage.report_texts import StandingText
from templates.report import markup
from templates.report.figures import clean_text

SECTIONS_FILE = Path(__file__).resolve().parent / "sections.toml"
UNPLACED = "chua_xep"  # paragraphs of an imported report that no heading placed
REVIEW = "[RÀ SOÁT]"
REVIEW_FIGURES = "[RÀ SOÁT SỐ LIỆU]"
_DIGIT = re.compile(r"\d")
# "trong năm 2022" or "Năm 2022," (a time phrase): not a date, a range or a school year.
_YEAR = re.compile(r"(?P<lead>\b(?:[Tt]rong năm|[Nn]ăm)\s+)(?P<year>\d{4})(?P<tail>,?)(?![\d/\-–])")


@dataclass(frozen=True)
class Section:
    key: str
    title: str
    words: tuple[str, ...]
    counts: tuple[str, ...] = ()

    def restates_a_count(self, paragraph: str) -> bool:
        """The paragraph gives a number of what this section counts ("14 đoàn")."""
        if not self.counts:
            return False
        nouns = "|".join(re.escape(fold(noun)) for noun in self.counts)
        return re.search(rf"\b\d[\d.,]*\s+(?:\w+\s+)?(?:{nouns})\b", fold(paragraph)) is not None


@cache
def load_sections(path: Path = SECTIONS_FILE) -> dict[str, Section]:
    with path.open("rb") as handle:
        data = tomllib.load(handle)
    return {
        key: Section(
            key, spec["title"], tuple(spec.get("words", ())), tuple(spec.get("counts", ()))
        )
        for key, spec in data.items()
    }


@dataclass(frozen=True)
class Standing:
    """The text a draft shows for one section."""

    section: str
    paragraphs: tuple[str, ...]
    carried_from: str | None = None  # the round id the text was written for, if carried
    years_later: int = 0  # how many years the draft's round comes after `carried_from`

    def rendered(self) -> markup.TemplateText:
        """The paragraphs as template text: literal, one paragraph each, a carried one
        starting with a highlighted review marker."""
        return markup.TemplateText("\n\n".join(self._paragraph(text) for text in self.paragraphs))

    def _paragraph(self, text: str) -> str:
        if self.carried_from is None:
            return markup.protect(text)
        marker = REVIEW_FIGURES if _DIGIT.search(text) else REVIEW
        moved = shift_years(text, int(self.carried_from[:4]), self.years_later)
        return markup.highlighted(marker) + markup.protect(f" {moved}")


def shift_years(text: str, source_year: int, years: int) -> str:
    """Move the year of "trong năm YYYY" and "Năm YYYY," by `years` where YYYY is the
    source round's year or the next one."""
    if not years:
        return text

    def moved(match: re.Match[str]) -> str:
        year = int(match["year"])
        time_phrase = match["lead"].lower().startswith("trong") or match["tail"] == ","
        if not time_phrase or year not in (source_year, source_year + 1):
            return match[0]
        return f"{match['lead']}{year + years}{match['tail']}"

    return _YEAR.sub(moved, text)


def paragraphs(text: str) -> tuple[str, ...]:
    """A stored text as report paragraphs: one per non-empty line, cleaned."""
    return tuple(line for line in (clean_text(raw) for raw in text.splitlines()) if line)


def resolve(
    own: Mapping[str, StandingText],
    carried: Mapping[str, StandingText],
    round_id: str | None = None,
) -> dict[str, Standing]:
    """The round's own texts; for sections without one, the carried texts, without the
    paragraphs that restate a count the draft states from the records."""
    sections = load_sections()
    resolved = {}
    for key, text in carried.items():
        section = sections.get(key)
        kept = tuple(
            p for p in paragraphs(text.text) if not (section and section.restates_a_count(p))
        )
        later = int(round_id[:4]) - int(text.round_id[:4]) if round_id else 0
        resolved[key] = Standing(key, kept, text.round_id, later)
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
