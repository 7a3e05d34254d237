"""Reporting round identifiers (đợt báo cáo): 2023-H1 (6 months), 2023-Y (year), ad hoc ids."""

from __future__ import annotations

import re
import textwrap
from datetime import date

from domain.catalog import t
from domain.parsing import ParseError, fold

_ROUND_ID = re.compile(r"^(19[89]\d|20\d\d)-(H1|Y|A\d{1,3})$")  # 2023-H1, 2023-Y, 2023-A2
PURPOSE_IN_LABEL = 60  # characters of an ad hoc round's purpose shown in its name
_HALF_WORDS = re.compile(r"^(?:6 thang(?: dau nam)?|h1)\s*(?:nam\s*)?(\d{4}|nay)$")
_YEAR_WORDS = re.compile(r"^(?:ca\s+)?nam\s*(\d{4}|nay)$")


def parse_round_id(raw: str, today: date | None = None) -> str:
    """Canonical round id from "2023-Y", "2023 h1", "6 tháng đầu năm 2023", "năm 2023" or
    "năm nay" (this year: `today`'s)."""
    text = fold(raw)
    if not text:
        raise ParseError("empty")
    candidate = re.sub(r"\s+", "-", text.upper())
    if _ROUND_ID.match(candidate):
        return candidate
    for pattern, part in ((_HALF_WORDS, "H1"), (_YEAR_WORDS, "Y")):
        if match := pattern.match(text):
            year = match.group(1)
            if year == "nay" and today is None:
                break
            return f"{today.year if year == 'nay' else year}-{part}"
    raise ParseError("not_round")


def recent_round_ids(today: date) -> list[str]:
    """The rounds a focal point most likely means, newest first."""
    year = today.year
    return [f"{year}-Y", f"{year}-H1", f"{year - 1}-Y"]


def round_label(round_id: str, purpose: str = "") -> str:
    """ "2023-H1" -> "6 tháng đầu năm 2023"; "2023-Y" -> "năm 2023"; an ad hoc round by its
    purpose ("đột xuất “Phục vụ hội nghị tổng kết”"), else "đột xuất số 2 năm 2023"."""
    year, _, part = round_id.partition("-")
    if part in ("H1", "Y"):
        return t(f"round.{part.lower()}", year=year)
    short = textwrap.shorten(purpose, PURPOSE_IN_LABEL, placeholder="…") if purpose else ""
    return t("round.adhoc", purpose=short, number=part.removeprefix("A"), year=year)
