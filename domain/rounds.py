"""Reporting round identifiers (đợt báo cáo): 2023-H1 (6 months), 2023-Y (year), ad hoc ids."""

from __future__ import annotations

import re
from datetime import date

from domain.catalog import t
from domain.parsing import ParseError, fold

_ROUND_ID = re.compile(r"^(19[89]\d|20\d\d)-(H1|Y|A\d{1,3})$")  # 2023-H1, 2023-Y, 2023-A2
_HALF_WORDS = re.compile(r"^(?:6 thang(?: dau nam)?|h1)\s*(?:nam\s*)?(\d{4})$")
_YEAR_WORDS = re.compile(r"^(?:ca\s+)?nam\s*(\d{4})$")


def parse_round_id(raw: str) -> str:
    """Canonical round id from "2023-Y", "2023 h1", "6 tháng 2023", "năm 2023"."""
    text = fold(raw)
    if not text:
        raise ParseError("empty")
    candidate = re.sub(r"\s+", "-", text.upper())
    if _ROUND_ID.match(candidate):
        return candidate
    if match := _HALF_WORDS.match(text):
        return f"{match.group(1)}-H1"
    if match := _YEAR_WORDS.match(text):
        return f"{match.group(1)}-Y"
    raise ParseError("not_round")


def recent_round_ids(today: date) -> list[str]:
    """The rounds a focal point most likely means, newest first."""
    year = today.year
    return [f"{year}-Y", f"{year}-H1", f"{year - 1}-Y"]


def round_label(round_id: str) -> str:
    """ "2023-H1" -> "6 tháng đầu năm 2023"; "2023-Y" -> "năm 2023"; ad hoc ids unchanged."""
    year, _, part = round_id.partition("-")
    if part in ("H1", "Y"):
        return t(f"round.{part.lower()}", year=year)
    return t("round.adhoc", round_id=round_id)
