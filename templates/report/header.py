"""The heading and signature of one report, set per report.

Values left empty fall back to the template's own (its `kinh_gui`, `noi_nhan`,
`chuc_vu_ky` and `nguoi_ky` blocks), which fall back to the settings.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields, replace
from datetime import date
from typing import Any

from domain.parsing import fold

LIST_FIELDS = ("recipients", "signer_titles")
DATE_FIELDS = ("request_date", "sign_date")


@dataclass(frozen=True)
class Header:
    addressee: str = ""  # Kính gửi
    request_number: str = ""  # the letter that asked for the report: "3194/UBND-TH"
    request_date: date | None = None
    request_issuer: str = ""  # "UBND tỉnh"
    request_subject: str = ""  # "báo cáo tình hình kinh tế - xã hội 6 tháng đầu năm 2021"
    recipients: tuple[str, ...] = ()  # Nơi nhận
    signer_titles: tuple[str, ...] = ()  # "KT. GIÁM ĐỐC", "PHÓ GIÁM ĐỐC"
    signer_name: str = ""
    sign_date: date | None = None  # None: the day is left blank for the day of signing

    @classmethod
    def from_values(cls, values: dict[str, Any]) -> Header:
        """From stored JSON (dates as ISO text, lists as lists); unknown keys ignored."""
        known = {spec.name for spec in fields(cls)}
        kept: dict[str, Any] = {}
        for key, value in values.items():
            if key not in known or value in (None, "", []):
                continue
            if key in DATE_FIELDS:
                value = date.fromisoformat(value)
            elif key in LIST_FIELDS:
                value = tuple(value)
            kept[key] = value
        return cls(**kept)

    def to_values(self) -> dict[str, Any]:
        """Stored JSON: only the values that are set."""
        values = {}
        for key, value in asdict(self).items():
            if value in (None, "", ()):
                continue
            if key in DATE_FIELDS:
                value = value.isoformat()
            elif key in LIST_FIELDS:
                value = list(value)
            values[key] = value
        return values

    def overridden_by(self, other: Header) -> Header:
        """This header with every value that `other` sets replaced."""
        return replace(self, **{k: v for k, v in asdict(other).items() if v not in (None, "", ())})

    @property
    def has_request(self) -> bool:
        return bool(self.request_number and self.request_date and self.request_issuer)


def recipients_without(addressee: str, lines: list[str]) -> list[str]:
    """The recipients, without a line naming the addressee again ("Như trên" covers it)."""
    wanted = _name(addressee)
    return [line for line in lines if not wanted or _name(line) != wanted]


def _name(line: str) -> str:
    """A recipient line reduced to its name: "- Sở Kế hoạch và Đầu tư (b/c);" -> "so ke
    hoach va dau tu"."""
    text = fold(line).strip(" -;.,:")
    for suffix in ("(b/c)", "(de b/c)", "(bc)"):
        text = text.removesuffix(suffix).strip(" -;.,:")
    return text
