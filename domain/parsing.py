"""Turn what a Vietnamese official types on a phone into typed values.

Pure functions only: no I/O, no messenger, no database. Every parser first
normalises its input to Unicode NFC, so decomposed text (as some phones and old
keyboards send it) parses exactly like precomposed text. Matching of words is
done on `fold()`ed text: lowercase, no diacritics, "đ" -> "d".

Failures raise `ParseError(code, **params)`; `code` is the suffix of a
message-catalogue key and `params` fill that message.

Number reading rules (shared by `parse_int` and `parse_money`):

- "." followed by exactly three digits is a thousands separator
  ("1.700" = 1700, "2.500.000"), except after a lone "0" ("0.500" = 0.5).
- "," followed by exactly three digits is a thousands separator when no
  multiplier word follows the number ("1,700" = 1700, "1,234,567").
- When both "." and "," appear, the last one is the decimal mark and the other
  one groups thousands ("1.234,5", "1.234.567,89", "1,234.5").
- Otherwise a single "," or "." is the decimal mark ("2,5", "1.1 triệu").
- When a multiplier word follows (nghìn/ngàn/k = 10^3, triệu/tr = 10^6,
  tỷ/tỉ = 10^9), a single "," is always the decimal mark ("2,125 triệu").
- Spaces group thousands only in groups of exactly three digits ("1 700").
- Thousands groups must be well formed (leading group of 1-3 digits, then
  groups of exactly 3); anything else ("1.2.3", "1234.567") is rejected.

Counts (`parse_int`) may carry unit words after the number ("12 người"),
which are ignored, except a multiplier word right after it ("1,5 nghìn" =
1500; "tr" is not one here, as it abbreviates "trang"); the value must be
whole ("2,5" is rejected). "không có" is 0.

Counts and amounts may start with a word saying they are approximate
("khoảng 15", "trên 600 nghìn"), which is dropped: the figure is what is known.
Numbers of more than 18 digits are rejected as typing mistakes.

Money may be written in parts with decreasing multipliers ("3 triệu 500
nghìn", "2 tỷ 200 triệu"); a last bare group of exactly three digits counts in
the next lower unit ("3 triệu 500" = 3,500,000), and "rưỡi" adds half of the
preceding multiplier ("3 triệu rưỡi"). A currency word or symbol ("đồng",
"VNĐ", "USD", "$", "đô la", "euro"…) is returned with the amount, exact (the
form knows its field's currency and how to round); several different ones are
rejected.

Every parser raises only `ParseError`, whatever the input.
"""

from __future__ import annotations

import datetime
import re
import unicodedata
from collections.abc import Sequence
from decimal import Decimal
from functools import lru_cache
from typing import NamedTuple

from domain.telex import untelex

__all__ = [
    "ParseError",
    "fold",
    "nfc",
    "parse_choice",
    "parse_date",
    "parse_date_range",
    "parse_int",
    "parse_money",
    "parse_text",
    "parse_yes_no",
]


class ParseError(ValueError):
    """Input was not acceptable.

    `code` is a message-catalogue key suffix; `params` fill the message.
    """

    code: str
    params: dict[str, object]

    def __init__(self, code: str, **params: object) -> None:
        super().__init__(f"{code}: {params}" if params else code)
        self.code = code
        self.params = dict(params)


# ---------------------------------------------------------------------------
# Normalisation
# ---------------------------------------------------------------------------

_WHITESPACE = re.compile(r"\s+")
_EDGE_PUNCTUATION = ".,!?;:…"  # stripped around short answers (yes/no, dates, choices)


def nfc(text: str) -> str:
    """Return `text` in Unicode NFC form."""
    return unicodedata.normalize("NFC", text)


# Control characters (tab and newline excepted), lone surrogates and the two Unicode
# non-characters: invisible when typed, and a spreadsheet or document cannot hold them.
_CONTROLS = re.compile(r"[\x00-\x08\x0b-\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff]")


def clean_text(text: str) -> str:
    """`text` in NFC without the characters no record may hold; applied where text enters
    (a message, an imported cell, a web form) and where it leaves for a spreadsheet."""
    return _CONTROLS.sub("", nfc(text))


@lru_cache(maxsize=4096)  # one message's text is folded by several checks in turn
def fold(text: str) -> str:
    """Reduce `text` to a matching key: lowercase, no diacritics, single spaces."""
    lowered = nfc(text).lower().replace("đ", "d")
    decomposed = unicodedata.normalize("NFD", lowered)
    bare = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return _WHITESPACE.sub(" ", bare).strip()


_NOT_WORD = re.compile(r"[\W_]+")


def loose(text: str) -> str:
    """`fold` with punctuation and underscores as spaces: "Cấp sở, ngành" and
    "cap_so_nganh" both become "cap so nganh"."""
    return _NOT_WORD.sub(" ", fold(text)).strip()


# ---------------------------------------------------------------------------
# Free text
# ---------------------------------------------------------------------------

_HORIZONTAL_SPACE = re.compile(r"[^\S\n]+")
_MANY_NEWLINES = re.compile(r"\n{3,}")


def _normalise_text(raw: str) -> str:
    text = clean_text(raw).replace("\r\n", "\n").replace("\r", "\n")
    lines = (_HORIZONTAL_SPACE.sub(" ", line).rstrip() for line in text.split("\n"))
    return _MANY_NEWLINES.sub("\n\n", "\n".join(lines)).strip()


def parse_text(raw: str, max_len: int) -> str:
    """Tidy free text; reject it when empty or longer than `max_len` characters."""
    text = _normalise_text(raw)
    if not text:
        raise ParseError("empty")
    if len(text) > max_len:
        raise ParseError("too_long", max_len=max_len, length=len(text))
    return text


# ---------------------------------------------------------------------------
# Numbers
# ---------------------------------------------------------------------------

MAX_DIGITS = 18  # longer numbers are typing mistakes (and stay exact in a Decimal)
_NUMBER = r"\d{1,3}(?: \d{3})+(?![\d.,])|\d+(?:[.,]\d+)*"
_MULTIPLIERS: dict[str, int] = {
    "k": 10**3,
    "nghin": 10**3,
    "ngan": 10**3,
    "tr": 10**6,
    "trieu": 10**6,
    "ty": 10**9,
    "ti": 10**9,
}
_HALF_WORDS = frozenset({"ruoi"})
# "khoảng 15", "trên 600 nghìn", "~200": the figure is kept, the hedge dropped.
_APPROXIMATELY = re.compile(
    r"^(?:(?:khoang|tam|chung|xap xi|gan|hon|tren|uoc tinh|uoc|ca|co|do)\b\s*|[~≈]\s*)+"
)
NONE_WORDS = frozenset(
    {"khong", "khong co", "ko", "ko co", "k co", "kg co", "chua co", "khong ai", "khong co ai"}
)


def _grouped(groups: Sequence[str], fraction: str = "") -> Decimal | None:
    """Join well-formed thousands groups (and an optional fraction) into a Decimal."""
    head, tail = groups[0], groups[1:]
    if not 1 <= len(head) <= 3 or any(len(g) != 3 for g in tail):
        return None
    return Decimal("".join(groups) + ("." + fraction if fraction else ""))


def _plain_decimal(whole: str, fraction: str) -> Decimal:
    return Decimal(f"{whole}.{fraction}")


def _read_number(token: str, *, multiplier: bool) -> Decimal | None:
    """Read one number token following the module's rules; None when malformed."""
    parts = re.split(r"([.,])", token.replace(" ", ""))
    digits, seps = parts[0::2], parts[1::2]
    if sum(len(group) for group in digits) > MAX_DIGITS:
        raise ParseError("number_too_long")
    if not seps:
        return Decimal(digits[0])
    if "." in seps and "," in seps:
        if seps.count(seps[-1]) != 1:
            return None
        return _grouped(digits[:-1], digits[-1])
    single = len(seps) == 1
    if seps[0] == "," and multiplier:
        return _plain_decimal(*digits) if single else None
    if digits[0] != "0" and all(len(group) == 3 for group in digits[1:]):
        return _grouped(digits)
    return _plain_decimal(*digits) if single else None


def _is_whole(value: Decimal) -> bool:
    return value == value.to_integral_value()


def _figure_text(raw: str) -> str:
    """Folded text of a count or an amount, without its hedge ("khoảng") or end dot."""
    text = fold(raw).replace("\u2212", "-").strip(_EDGE_PUNCTUATION + " ")
    return _APPROXIMATELY.sub("", text)


# "tr" is left out for counts: there it usually abbreviates "trang" (pages).
_INT_MULTIPLIERS = {word: scale for word, scale in _MULTIPLIERS.items() if word != "tr"}
_INT_SHAPE = re.compile(rf"([-+]?)\s*({_NUMBER})\s*([a-z]+(?:\s+[a-z]+)*)?")


def parse_int(raw: str, minimum: int | None = None) -> int:
    """Read a whole number such as "1.700", "1 700", "khoảng 12 người" or "1,5 nghìn"."""
    text = _figure_text(raw)
    if not text:
        raise ParseError("empty")
    if text in NONE_WORDS:
        text = "0"
    match = _INT_SHAPE.fullmatch(text)
    if match is None:
        raise ParseError("not_integer")
    sign, number, words = match.groups()
    first_word = words.split()[0] if words else ""
    scale = _INT_MULTIPLIERS.get(first_word)
    value = _read_number(number, multiplier=scale is not None)
    if value is None:
        raise ParseError("not_integer")
    value *= scale or 1
    if not _is_whole(value):
        raise ParseError("not_integer")
    result = -int(value) if sign == "-" else int(value)
    if minimum is not None and result < minimum:
        raise ParseError("too_small", minimum=minimum)
    return result


# ---------------------------------------------------------------------------
# Money
# ---------------------------------------------------------------------------


class Money(NamedTuple):
    """An amount as typed: exact, with the currency named (ISO code) or None."""

    amount: Decimal
    currency: str | None


_CURRENCY_WORDS: dict[str, str] = {
    **dict.fromkeys(("d", "dong", "vnd", "vn d"), "VND"),
    **dict.fromkeys(("usd", "do", "dola", "dollar", "dollars", "us"), "USD"),
    **dict.fromkeys(("eur", "euro", "euros"), "EUR"),
    **dict.fromkeys(("yen", "jpy"), "JPY"),
    **dict.fromkeys(("won", "krw"), "KRW"),
    **dict.fromkeys(("te", "cny", "ndt", "rmb"), "CNY"),
    **dict.fromkeys(("bat", "baht", "thb"), "THB"),
    **dict.fromkeys(("kip", "lak"), "LAK"),
}
_CURRENCY_SYMBOLS = {"$": "USD", "₫": "VND", "€": "EUR", "¥": "JPY", "₩": "KRW", "฿": "THB"}
_CURRENCY_PHRASES = (
    (re.compile(r"\bdo\s+la(?:\s+my)?\b"), "usd"),
    (re.compile(r"\bnhan\s+dan\s+te\b"), "cny"),
    (re.compile(r"\bdong\s+viet\s+nam\b"), "vnd"),
)
_MONEY_TOKEN = re.compile(rf"\s*(?:(?P<num>{_NUMBER})|(?P<word>[a-z]+)|(?P<sym>[$₫€¥₩฿]))")

# One part of an amount: (number text, multiplier or None, followed by "rưỡi").
_Part = tuple[str, int | None, bool]


def _money_tokens(text: str) -> tuple[list[tuple[str, str]], set[str]] | None:
    """Split folded money text into ("num"|"mul"|"half", text) tokens and the currencies."""
    tokens: list[tuple[str, str]] = []
    currencies: set[str] = set()
    pos = 0
    while pos < len(text):
        match = _MONEY_TOKEN.match(text, pos)
        if match is None:
            return None
        pos = match.end()
        number, word, symbol = match["num"], match["word"], match["sym"]
        if number is not None:
            tokens.append(("num", number))
        elif symbol is not None:
            currencies.add(_CURRENCY_SYMBOLS[symbol])
        elif word in _MULTIPLIERS:
            tokens.append(("mul", word))
        elif word in _HALF_WORDS:
            tokens.append(("half", word))
        elif word in _CURRENCY_WORDS:
            currencies.add(_CURRENCY_WORDS[word])
        else:
            return None  # an unknown word
    return tokens, currencies


def _money_parts(tokens: list[tuple[str, str]]) -> list[_Part] | None:
    """Group tokens into parts of the form: number [multiplier ["rưỡi"]]."""
    parts: list[_Part] = []
    i = 0
    while i < len(tokens):
        kind, number = tokens[i]
        if kind != "num":
            return None
        scale: int | None = None
        half = False
        if i + 1 < len(tokens) and tokens[i + 1][0] == "mul":
            scale = _MULTIPLIERS[tokens[i + 1][1]]
            i += 1
            if i + 1 < len(tokens) and tokens[i + 1][0] == "half":
                half = True
                i += 1
        parts.append((number, scale, half))
        i += 1
    return parts or None


def _first_part_value(part: _Part) -> Decimal | None:
    number, scale, half = part
    value = _read_number(number, multiplier=scale is not None)
    if value is None:
        return None
    if half and not _is_whole(value):
        return None
    return value * (scale or 1) + (Decimal(scale) / 2 if half and scale else 0)


def _later_part_value(part: _Part, previous: _Part, is_last: bool) -> Decimal | None:
    """Value of a part after the first: a plain integer in a smaller unit."""
    number, scale, half = part
    previous_scale, previous_half = previous[1], previous[2]
    if previous_scale is None or previous_half or not number.isdigit():
        return None
    if len(number) > MAX_DIGITS:
        raise ParseError("number_too_long")
    if scale is None:
        # "3 triệu 500": a last bare group of exactly three digits, next lower unit.
        if not is_last or len(number) != 3:
            return None
        scale = previous_scale // 1000
    elif scale >= previous_scale:
        return None
    if int(number) * scale >= previous_scale:
        return None
    return Decimal(int(number) * scale) + (Decimal(scale) / 2 if half else 0)


def _money_value(parts: list[_Part]) -> Decimal | None:
    total = _first_part_value(parts[0])
    for index in range(1, len(parts)):
        if total is None:
            return None
        is_last = index == len(parts) - 1
        value = _later_part_value(parts[index], parts[index - 1], is_last)
        total = None if value is None else total + value
    return total


def parse_money(raw: str) -> Money:
    """Read an amount such as "2.500.000", "600 nghìn USD", "1,1 triệu đồng" or
    "2 tỷ 200 triệu"; "không có" is 0."""
    text = _figure_text(raw)
    for phrase, word in _CURRENCY_PHRASES:
        text = phrase.sub(word, text)
    if not text:
        raise ParseError("empty")
    if text in NONE_WORDS:
        return Money(Decimal(0), None)
    found = _money_tokens(text)
    if found is None:
        raise ParseError("not_money")
    tokens, currencies = found
    if len(currencies) > 1:
        raise ParseError("two_currencies")
    parts = _money_parts(tokens) if tokens else None
    value = _money_value(parts) if parts else None
    if value is None:
        raise ParseError("not_money")
    return Money(value, next(iter(currencies), None))


# ---------------------------------------------------------------------------
# Dates
# ---------------------------------------------------------------------------

_RELATIVE_DAYS: dict[str, int] = {
    "hom nay": 0,
    "nay": 0,
    "hom qua": -1,
    "hom kia": -2,
    "ngay mai": 1,
    "mai": 1,
}
_DAY_FIRST = re.compile(r"(?:ngay\s*)?(\d{1,2})\s*([/.\-])\s*(\d{1,2})(?:\s*\2\s*(\d{4}|\d{2}))?")
_YEAR_FIRST = re.compile(r"(\d{4})([/.\-])(\d{1,2})\2(\d{1,2})")
_IN_WORDS = re.compile(r"(?:ngay\s+)?(\d{1,2})\s+thang\s+(\d{1,2})(?:\s*,?\s*nam\s+(\d{4}|\d{2}))?")
_DAY_ONLY = re.compile(r"(?:ngay\s*)?(\d{1,2})")
_MIN_YEAR = 1975
_MAX_YEARS_AHEAD = 10


def _date_parts(text: str) -> tuple[int, int, int | None] | None:
    """Find (day, month, year or None) in folded text; None when the shape is unknown."""
    if match := _YEAR_FIRST.fullmatch(text):
        return int(match[4]), int(match[3]), int(match[1])
    if match := _DAY_FIRST.fullmatch(text):
        day, month, year = match[1], match[3], match[4]
    elif match := _IN_WORDS.fullmatch(text):
        day, month, year = match[1], match[2], match[3]
    else:
        return None
    if year is None:
        return int(day), int(month), None
    return int(day), int(month), int(year) + (2000 if len(year) == 2 else 0)


def _build_date(day: int, month: int, year: int, today: datetime.date) -> datetime.date:
    if not _MIN_YEAR <= year <= today.year + _MAX_YEARS_AHEAD:
        raise ParseError("year_out_of_range", year=year)
    try:
        return datetime.date(year, month, day)
    except ValueError:
        raise ParseError("impossible_date", day=day, month=month, year=year) from None


def _yearless(
    day: int,
    month: int,
    today: datetime.date,
    after: datetime.date | None,
    before: datetime.date | None,
) -> datetime.date:
    """A date typed without its year: the year of the date it follows (`after`) or
    precedes (`before`), moved by one when needed to keep the order; else this year."""
    if after is not None:
        found = _build_date(day, month, after.year, today)
        return found if found >= after else _build_date(day, month, after.year + 1, today)
    if before is not None:
        found = _build_date(day, month, before.year, today)
        return found if found <= before else _build_date(day, month, before.year - 1, today)
    return _build_date(day, month, today.year, today)


def _date_text(raw: str) -> str:
    return fold(raw).strip(_EDGE_PUNCTUATION + " ")


def parse_date(
    raw: str,
    today: datetime.date,
    after: datetime.date | None = None,
    before: datetime.date | None = None,
) -> datetime.date:
    """Read a date such as "12/3/2023", "12 tháng 3" or "hôm qua", relative to `today`.
    Without a year it takes the year of `after` (the date it follows), else of `before`,
    else this year's."""
    text = _date_text(raw)
    if not text:
        raise ParseError("empty")
    if text in _RELATIVE_DAYS:
        return today + datetime.timedelta(days=_RELATIVE_DAYS[text])
    parts = _date_parts(text)
    if parts is None:
        raise ParseError("not_date")
    day, month, year = parts
    if year is None:
        return _yearless(day, month, today, after, before)
    return _build_date(day, month, year, today)


_RANGE_START = re.compile(r"^(?:tu\s+)?(?:ngay\s+)?")
_RANGE_SEPARATOR = re.compile(r"\s*(?:\bden(?:\s+ngay)?\b|\btoi\b|[-–—→]|\bva\b)\s*")


def _range_start(text: str, end: datetime.date, today: datetime.date) -> datetime.date:
    """The first date of a range: a day alone ("12" of "12-15/3") takes the end's month."""
    if match := _DAY_ONLY.fullmatch(text):
        day = int(match[1])
        start = _build_date_or_none(day, end.month, end.year, today)
        if start is None or start > end:
            raise ParseError("impossible_date", day=day, month=end.month, year=end.year)
        return start
    return parse_date(text, today, before=end)


def _build_date_or_none(
    day: int, month: int, year: int, today: datetime.date
) -> datetime.date | None:
    try:
        return _build_date(day, month, year, today)
    except ParseError:
        return None


def parse_date_range(raw: str, today: datetime.date) -> tuple[datetime.date, datetime.date]:
    """Two dates in one answer: "từ 12/3 đến 15/3/2023", "12-15/3/2023", "12/3 - 15/3".
    The first takes its missing year (and month) from the second."""
    text = _RANGE_START.sub("", _date_text(raw), count=1)
    error = ParseError("not_range")
    for separator in _RANGE_SEPARATOR.finditer(text):
        left, right = text[: separator.start()], text[separator.end() :]
        if not left or not right:
            continue
        try:
            end = parse_date(right, today)
            return _range_start(left, end, today), end
        except ParseError as problem:
            if problem.code != "not_date":
                error = problem
    raise error


# ---------------------------------------------------------------------------
# Yes / no
# ---------------------------------------------------------------------------

_YES = frozenset(
    {"co", "c", "yes", "y", "u", "dung", "phai", "roi", "ok", "okay", "dong y", "vang", "da"}
)
_NO = frozenset(
    {"khong", "k", "ko", "kg", "no", "n", "chua", "sai", "khong co", "khong phai", "chua co"}
)
_POLITE_LEADERS = frozenset({"da", "vang"})
_POLITE_TRAILERS = frozenset({"a", "nhe", "nha"})


def _strip_polite(words: list[str]) -> list[str]:
    """Drop polite particles: "dạ có ạ" -> "có"."""
    if len(words) > 1 and words[-1] in _POLITE_TRAILERS:
        words = words[:-1]
    if len(words) > 1 and words[0] in _POLITE_LEADERS:
        words = words[1:]
    return words


def _yes_no(text: str) -> bool | None:
    answer = " ".join(_strip_polite(text.replace(",", " ").split()))
    if answer in _YES:
        return True
    if answer in _NO:
        return False
    return None


def parse_yes_no(raw: str) -> bool:
    """Read yes/no answers such as "có", "ko", "đúng", "chưa" (or Telex "cos")."""
    text = fold(raw).strip(_EDGE_PUNCTUATION + " ")
    if not text:
        raise ParseError("empty")
    for candidate in (text, untelex(text)):
        answer = _yes_no(candidate)
        if answer is not None:
            return answer
    raise ParseError("not_yes_no")


# ---------------------------------------------------------------------------
# Choices
# ---------------------------------------------------------------------------

_CHOICE_NUMBER = re.compile(r"(?:so\s*)?(\d{1,6})\s*[.)]?")
_MIN_PREFIX = 3


def _choice_by_number(text: str, choices: Sequence[tuple[str, str]]) -> str | None:
    match = _CHOICE_NUMBER.fullmatch(text)
    if match is None:
        return None
    index = int(match[1])
    if not 1 <= index <= len(choices):
        raise ParseError("not_choice", count=len(choices))
    return choices[index - 1][0]


def _choice_by_name(text: str, choices: Sequence[tuple[str, str]]) -> str | None:
    """The choice named exactly, else the only one whose label starts with the words, else
    the only one whose label holds them as whole words ("biên dịch": "Số trang biên dịch")."""
    for key, label in choices:
        if text in (loose(key), loose(label)):
            return key
    if len(text) < _MIN_PREFIX:
        return None
    for found in (str.startswith, lambda label, words: f" {words} " in f" {label} "):
        matches = [key for key, label in choices if found(loose(label), text)]
        if len(matches) == 1:
            return matches[0]
    return None


def parse_choice(raw: str, choices: Sequence[tuple[str, str]]) -> str:
    """Pick a key from (key, label) pairs by number, key, label or label prefix (typed
    with or without accents, or in Telex without conversion)."""
    text = fold(raw).strip(_EDGE_PUNCTUATION + " ")
    if not text:
        raise ParseError("empty")
    key = _choice_by_number(text, choices)
    for candidate in (loose(text), untelex(loose(text))):
        key = key or _choice_by_name(candidate, choices)
    if key is None:
        raise ParseError("not_choice", count=len(choices))
    return key
