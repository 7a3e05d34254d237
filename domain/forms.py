"""Declarative forms: one Form per activity type, loaded from activities.toml.

A Field knows how to parse what a user typed, how to store it as JSON, how to show it
in chat and how to write it into an import/export cell. `Form.interpret` reads one
answer in the context of the rest of the draft (years taken from the date it follows,
two dates in one answer, countries, status against the dates) and says what to ask
before storing a value that may not be what the person meant. Nothing here touches a
messenger or the database.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from functools import cache
from pathlib import Path
from typing import Any

from domain import parsing, vnformat
from domain.catalog import has, t
from domain.countries import canonical_country, nearest_country, split_countries
from domain.parsing import NONE_WORDS, ParseError, fold
from domain.rounds import parse_round_id, recent_round_ids, round_label

ACTIVITIES_FILE = Path(__file__).resolve().parent / "activities.toml"
DEFAULT_MAX_LEN = 300
# Numbers beyond these are typing mistakes (and would not fit a report).
UPPER_LIMITS = {"int": 10**9, "money": 10**15}
UNREADABLE = {"int": "not_integer", "money": "not_money", "date": "not_date"}
# Smallest unit kept per currency: cents for USD, whole đồng.
MONEY_QUANTUM = {"USD": Decimal("0.01"), "VND": Decimal(1)}
# Dates further apart than this in one record are asked about.
LONG_SPAN_DAYS = 366

Value = str | int | float | bool | date
Values = dict[str, Value | None]  # None: the answer removes the field's value


@dataclass(frozen=True)
class Doubt:
    """A readable answer that may not be what the person meant: the question to ask
    and the choices, each with the values it stores. Re-typing is always possible."""

    question: str
    options: tuple[tuple[str, Values], ...]


@dataclass(frozen=True)
class Answer:
    """What one answer means: the values it sets (a date range sets two), and a doubt to
    resolve before storing them."""

    values: Values
    doubt: Doubt | None = None


def describe(error: ParseError) -> str:
    """The catalogue's explanation of a parse error code."""
    key = f"errors.{error.code}"
    return t(key, **error.params) if has(key) else t("errors.invalid")


@dataclass(frozen=True)
class Field:
    key: str
    label: str
    type: str
    question: str
    example: str
    optional: bool = False
    max_len: int = DEFAULT_MAX_LEN
    minimum: int | None = None
    maximum: int | None = None
    currency: str = ""
    choices: tuple[tuple[str, str], ...] = ()
    # Text naming countries ("one", or "list" as in "Lào, Thái Lan"), stored by their
    # canonical names; `organisations`: an organisation ("UNICEF") is a right answer too.
    country: str = ""
    organisations: bool = False
    # A status choice: the key the dates in `dated_by` (start[, end]) point to when they
    # are all past, or all to come.
    past: str = ""
    future: str = ""
    dated_by: tuple[str, ...] = ()

    def parse(
        self, raw: str, today: date, after: date | None = None, before: date | None = None
    ) -> Value:
        """Typed value from user input; raises ParseError with a catalogue code. A date
        without a year takes the year of `after` (the date it follows) or `before`."""
        try:
            value = self._parse(raw, today, after, before)
        except ParseError:
            raise
        except (ValueError, ArithmeticError) as error:  # nothing else may escape
            raise ParseError(UNREADABLE.get(self.type, "invalid")) from error
        limit = self.maximum or UPPER_LIMITS.get(self.type)
        if limit is not None and value > limit:
            raise ParseError("too_large", maximum=limit)
        return value

    def _parse(self, raw: str, today: date, after: date | None, before: date | None) -> Value:
        match self.type:
            case "text":
                text = parsing.parse_text(raw, self.max_len)
                return self._countries(text) if self.country else text
            case "int":
                return parsing.parse_int(raw, self.minimum)
            case "money":
                return self._amount(parsing.parse_money(raw))
            case "date":
                return parsing.parse_date(raw, today, after, before)
            case "yesno":
                return parsing.parse_yes_no(raw)
            case "choice":
                return parsing.parse_choice(raw, self.choices)
            case "round":
                return parse_round_id(raw, today)
        raise ValueError(f"unknown field type {self.type!r}")

    def _amount(self, money: parsing.Money) -> int | float:
        """The amount in this field's currency; another currency is refused, not taken."""
        if money.currency not in (None, self.currency):
            raise ParseError(
                "other_currency",
                typed=f"{vnformat.thousands(money.amount, 2)} {t('currency.' + money.currency)}",
                currency=t(f"currency.{self.currency}"),
            )
        amount = money.amount.quantize(MONEY_QUANTUM[self.currency], rounding=ROUND_HALF_UP)
        return int(amount) if amount == amount.to_integral_value() else float(amount)

    def _countries(self, text: str) -> str:
        items = split_countries(text) if self.country == "list" else [text]
        return ", ".join(canonical_country(item) or item for item in items)

    def doubt(self, value: Value) -> Doubt | None:
        """A question about a readable value of this field alone: a country name nearly
        right or unknown, a required amount of 0."""
        if self.country:
            return self._country_doubt(str(value))
        if self.type == "money" and not self.optional and value == 0:
            label = t("doubts.zero_ok", currency=t(f"currency.{self.currency}"))
            return Doubt(t("doubts.zero_amount", label=self.label), ((label, {self.key: 0}),))
        return None

    def _country_doubt(self, value: str) -> Doubt | None:
        items = split_countries(value) if self.country == "list" else [value]
        for index, item in enumerate(items):
            if canonical_country(item):
                continue
            keep = (t("doubts.keep_as_typed", typed=item), {self.key: value})
            suggestion = nearest_country(item)
            if suggestion is not None:
                fixed = ", ".join(items[:index] + [suggestion] + items[index + 1 :])
                question = t("doubts.country_near_miss", typed=item, suggestion=suggestion)
                return Doubt(question, ((suggestion, {self.key: fixed}), keep))
            if not self.organisations:
                return Doubt(t("doubts.country_unknown", typed=item), (keep,))
        return None

    def example_for(self, today: date) -> str:
        """The example shown with the question (a round by its name, never its code)."""
        if self.type == "round":
            return round_label(recent_round_ids(today)[0])
        return self.example

    def offered_choices(self, today: date) -> list[tuple[str, str]]:
        """Buttons or numbered options to show with the question."""
        if self.type == "choice":
            return list(self.choices)
        if self.type == "yesno":
            return [("co", t("common.yes")), ("khong", t("common.no"))]
        if self.type == "round":
            return [(round_id, round_label(round_id)) for round_id in recent_round_ids(today)]
        return []

    def explain(self, error: ParseError) -> str:
        """The Vietnamese explanation of a parse error, with this field's example."""
        return t("errors.with_example", detail=describe(error), example=self.example)

    def choice_label(self, key: str) -> str:
        return dict(self.choices).get(key, key)

    def to_json(self, value: Value) -> Any:
        return value.isoformat() if isinstance(value, date) else value

    def from_json(self, stored: Any) -> Value:
        return date.fromisoformat(stored) if self.type == "date" else stored

    def display(self, value: Value | None) -> str:
        """How the value reads in a chat summary."""
        if value is None or value == "":
            return t("common.empty_value")
        match self.type:
            case "date":
                return vnformat.full_date(value)
            case "int":
                return vnformat.thousands(value)
            case "money":
                return f"{vnformat.thousands(value, 2)} {t('currency.' + self.currency)}"
            case "yesno":
                return t("common.yes") if value else t("common.no")
            case "choice":
                return self.choice_label(str(value))
            case "round":
                return round_label(value)
        return str(value)

    def to_cell(self, value: Value | None) -> str:
        """The import/export cell: dd/mm/yyyy, plain digits, choice keys, có/không."""
        if value is None:
            return ""
        if self.type == "date":
            return vnformat.full_date(value)
        if self.type == "yesno":
            return t("common.yes").lower() if value else t("common.no").lower()
        return str(value)


@dataclass(frozen=True)
class Form:
    key: str
    label: str
    fields: tuple[Field, ...]
    title_field: str
    date_field: str = ""
    round_field: str = ""
    rules: tuple[tuple[str, str], ...] = ()
    by_key: dict[str, Field] = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self) -> None:
        self.by_key.update({f.key: f for f in self.fields})

    def field(self, key: str) -> Field:
        return self.by_key[key]

    def check_rules(self, values: dict[str, Value], changed: str) -> None:
        """Cross-field rules touching `changed`; raises ParseError("before_other")."""
        for later, earlier in self.rules:
            if changed not in (later, earlier):
                continue
            if values.get(later) is None or values.get(earlier) is None:
                continue
            if values[later] < values[earlier]:
                other = earlier if changed == later else later
                raise ParseError(
                    "not_before" if changed == later else "not_after",
                    other=self.field(other).label,
                    other_value=self.field(other).display(values[other]),
                )

    def interpret(self, key: str, raw: str, values: dict[str, Value], today: date) -> Answer:
        """What `raw`, typed for field `key`, means in the context of the draft's other
        `values`; raises ParseError when it cannot be read. The one function the chat,
        the one-message entry and web forms call to read an answer."""
        field = self.field(key)
        if field.optional and fold(raw).strip(".!") in NONE_WORDS:
            return Answer({key: None})
        suggested = self.suggested_status(key, values, today) if field.dated_by else None
        if suggested and _agrees(raw):  # "đúng": the status the dates point to
            raw = suggested
        try:
            found: Values = {key: field.parse(raw, today, **self._neighbours(key, values))}
        except ParseError as error:
            if doubt := self._other_choice(field, raw, error):
                return Answer({}, doubt)
            found = self._date_range(key, raw, today) or {}
            if not found:
                raise
        merged = {**values, **found}
        for changed in found:
            self.check_rules(merged, changed)
        doubt = field.doubt(found[key]) if len(found) == 1 else None
        doubt = doubt or self._span_doubt(merged, found) or self._status_doubt(merged, found, today)
        return Answer(found, doubt)

    def _date_pairs(self, key: str) -> list[tuple[str, str]]:
        """The (later, earlier) date rules `key` belongs to."""
        return [rule for rule in self.rules if key in rule]

    def _neighbours(self, key: str, values: dict[str, Value]) -> dict[str, date]:
        """The dates a yearless answer for `key` takes its year from."""
        found = {}
        for later, earlier in self._date_pairs(key):
            if key == later and values.get(earlier) is not None:
                found["after"] = values[earlier]
            if key == earlier and values.get(later) is not None:
                found["before"] = values[later]
        return found

    def _date_range(self, key: str, raw: str, today: date) -> Values | None:
        """Both dates of a pair from one answer ("từ 12/3 đến 15/3/2023")."""
        pairs = self._date_pairs(key)
        if not pairs:
            return None
        later, earlier = pairs[0]
        try:
            start, end = parsing.parse_date_range(raw, today)
        except ParseError:
            return None
        return {earlier: start, later: end}

    def _other_choice(self, field: Field, raw: str, error: ParseError) -> Doubt | None:
        """A word that is none of the choices, where one of them is "khac": offer it."""
        other = "khac"
        if field.type != "choice" or error.code != "not_choice" or other not in dict(field.choices):
            return None
        if any(ch.isdigit() for ch in raw):
            return None
        question = t("doubts.other_choice", typed=raw.strip(), other=field.choice_label(other))
        return Doubt(question, tuple((label, {field.key: key}) for key, label in field.choices))

    def _span_doubt(self, values: Values, found: Values) -> Doubt | None:
        for later, earlier in self.rules:
            if later not in found and earlier not in found:
                continue
            start, end = values.get(earlier), values.get(later)
            if start is None or end is None or (end - start).days <= LONG_SPAN_DAYS:
                continue
            question = t("doubts.long_span", start=start, end=end, days=(end - start).days)
            return Doubt(question, ((t("doubts.dates_right"), found),))
        return None

    def suggested_status(self, key: str, values: dict[str, Value], today: date) -> str | None:
        """The status the dates point to: `past` when they are over, `future` when they
        have not started; None while under way, or when a date is missing."""
        field = self.field(key)
        dates = [values.get(name) for name in field.dated_by]
        if not dates or None in dates:
            return None
        if dates[0] > today:
            return field.future or None
        if dates[-1] < today:
            return field.past or None
        return None

    def _status_doubt(self, values: Values, found: Values, today: date) -> Doubt | None:
        for status in self.fields:
            if not status.dated_by or values.get(status.key) is None:
                continue
            if status.key not in found and not any(name in found for name in status.dated_by):
                continue
            expected = self.suggested_status(status.key, values, today)
            if expected is None or expected == values[status.key]:
                continue
            chosen = status.choice_label(str(values[status.key]))
            dates = " – ".join(vnformat.full_date(values[name]) for name in status.dated_by)
            question = t(
                "doubts.status", chosen=chosen, expected=status.choice_label(expected), dates=dates
            )
            return Doubt(
                question,
                (
                    (status.choice_label(expected), {**found, status.key: expected}),
                    (t("doubts.keep_status", chosen=chosen), found),
                ),
            )
        return None

    def event_date(self, values: dict[str, Value]) -> date | None:
        return values.get(self.date_field) if self.date_field else None

    def round_id(self, values: dict[str, Value]) -> str | None:
        return values.get(self.round_field) if self.round_field else None

    def title(self, values: dict[str, Value]) -> str:
        """A short one-line name of a record for lists."""
        text = self.field(self.title_field).display(values.get(self.title_field))
        return text if len(text) <= 60 else text[:57].rstrip() + "…"

    def values_to_json(self, values: dict[str, Value]) -> dict[str, Any]:
        return {k: self.field(k).to_json(v) for k, v in values.items() if k in self.by_key}

    def values_from_json(self, stored: dict[str, Any]) -> dict[str, Value]:
        return {k: self.field(k).from_json(v) for k, v in stored.items() if k in self.by_key}


def _agrees(raw: str) -> bool:
    try:
        return parsing.parse_yes_no(raw)
    except ParseError:
        return False


def _build_form(key: str, spec: dict[str, Any], choice_sets: dict[str, dict[str, str]]) -> Form:
    fields = []
    for raw in spec["fields"]:
        attrs = dict(raw)
        if "choices" in attrs:
            attrs["choices"] = tuple(choice_sets[attrs["choices"]].items())
        attrs["dated_by"] = tuple(attrs.get("dated_by", ()))
        fields.append(Field(**attrs))
    return Form(
        key=key,
        label=spec["label"],
        fields=tuple(fields),
        title_field=spec["title_field"],
        date_field=spec.get("date_field", ""),
        round_field=spec.get("round_field", ""),
        rules=tuple(tuple(rule) for rule in spec.get("rules", ())),
    )


@cache
def load_forms(path: Path = ACTIVITIES_FILE) -> dict[str, Form]:
    """Every activity type, in the order of the file (the order menus show)."""
    with path.open("rb") as handle:
        data = tomllib.load(handle)
    return {key: _build_form(key, spec, data["choices"]) for key, spec in data["forms"].items()}


def count_lines(counts: dict[str, int]) -> list[str]:
    """One line per activity type with its count, for confirmations and reminders."""
    forms = load_forms()
    return [t("rounds.count_line", form=forms[kind].label, count=n) for kind, n in counts.items()]
