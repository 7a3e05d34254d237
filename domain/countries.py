"""Country names as officials type them ("Han Quoc", "Hàn", "Korea") mapped to one
canonical Vietnamese name ("Hàn Quốc") from the data file countries.toml.

Records store the canonical name, so reports can count by country. A value that is not
a known country may still be right (many fields accept an organisation, such as
"UNICEF"), so nothing here rewrites it: `nearest_country` only suggests a name to ask
about when the text is a near miss.
"""

from __future__ import annotations

import difflib
import re
import tomllib
from functools import cache
from pathlib import Path

from domain.parsing import loose
from domain.telex import untelex

COUNTRIES_FILE = Path(__file__).resolve().parent / "countries.toml"
# How alike (0..1, difflib's ratio) a typed name and a known one must be to ask about it.
NEAR_MISS = 0.8
_MIN_NEAR_MISS_LENGTH, _MAX_NAME_LENGTH = 4, 60
_LEADING_WORDS = re.compile(r"^(?:nuoc|quoc gia|dat nuoc)\s+")
_ITEM_SEPARATORS = re.compile(r"\s*[,;\n]\s*")
_PAIR_SEPARATORS = re.compile(r"\s+(?:và|va|-|–)\s+|\s*/\s*", re.IGNORECASE)


@cache
def _names() -> dict[str, str]:
    """Every known spelling, as a matching key, to its canonical name."""
    with COUNTRIES_FILE.open("rb") as handle:
        countries: dict[str, list[str]] = tomllib.load(handle)["countries"]
    names: dict[str, str] = {}
    for canonical, variants in countries.items():
        for spelling in (canonical, *variants):
            names.setdefault(loose(spelling), canonical)
    return names


def _keys(text: str) -> list[str]:
    key = _LEADING_WORDS.sub("", loose(text))
    return [key, untelex(key)]


def canonical_country(text: str) -> str | None:
    """The canonical name of the country `text` names, or None when it names none."""
    names = _names()
    return next((names[key] for key in _keys(text) if key in names), None)


def nearest_country(text: str) -> str | None:
    """A country whose name `text` nearly spells ("Han Qoc" -> "Hàn Quốc"), or None."""
    key = _keys(text)[0]
    if not _MIN_NEAR_MISS_LENGTH <= len(key) <= _MAX_NAME_LENGTH:
        return None
    close = difflib.get_close_matches(key, list(_names()), n=1, cutoff=NEAR_MISS)
    return _names()[close[0]] if close else None


def split_countries(text: str) -> list[str]:
    """The items of a list such as "Lào, Thái Lan" or "Lào và Campuchia", as typed.
    A name that itself holds "và" ("Trinidad và Tobago") stays whole."""
    items = []
    for part in filter(None, _ITEM_SEPARATORS.split(text.strip())):
        pieces = [p for p in _PAIR_SEPARATORS.split(part) if p]
        known = len(pieces) > 1 and all(canonical_country(p) for p in pieces)
        items += pieces if known and not canonical_country(part) else [part]
    return items
