"""Vietnamese number and date conventions of DOMAIN.md: 2.139; 2,2 tỷ; 02; 25/5/2021."""

from __future__ import annotations

from datetime import date
from decimal import ROUND_HALF_UP, Decimal


def thousands(value: int | float | Decimal, decimals: int = 0) -> str:
    """1234567 -> "1.234.567"; with decimals=1, 2.25 -> "2,3" (no trailing ",0")."""
    quantum = Decimal(1).scaleb(-decimals)
    number = Decimal(str(value)).quantize(quantum, rounding=ROUND_HALF_UP)
    sign = "-" if number < 0 else ""
    whole, _, fraction = f"{abs(number):f}".partition(".")
    grouped = f"{int(whole):,}".replace(",", ".")
    fraction = fraction.rstrip("0")
    return f"{sign}{grouped},{fraction}" if fraction else f"{sign}{grouped}"


def count(value: int) -> str:
    """Counts under ten take a leading zero (02, 08); larger ones use "." for thousands."""
    return f"{value:02d}" if 0 <= value < 10 else thousands(value)


_SCALES = ((10**9, "tỷ"), (10**6, "triệu"), (10**3, "nghìn"))


def amount(value: int | float | Decimal) -> str:
    """600000 -> "600 nghìn"; 2200000000 -> "2,2 tỷ"; 1100000 -> "1,1 triệu"; 950 -> "950"."""
    for scale, word in _SCALES:
        if abs(value) >= scale:
            return f"{thousands(Decimal(str(value)) / scale, decimals=1)} {word}"
    return thousands(value)


def short_date(value: date) -> str:
    """25/5/2021: day and month without leading zeros, as the reports write them."""
    return f"{value.day}/{value.month}/{value.year}"


def full_date(value: date) -> str:
    """25/05/2021: the form format (dd/mm/yyyy) used in chat summaries and files."""
    return value.strftime("%d/%m/%Y")
