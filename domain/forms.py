"""Declarative forms: one Form per activity type, loaded from activities.toml.

A Field knows how to parse what a user typed, how to store it as JSON, how to show it
in chat and how to write it into an import/export cell. Nothing here touches a messenger
or the database.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from datetime import date
from functools import cache
from pathlib import Path
from typing import Any

from domain import parsing, vnformat
from domain.catalog import has, t
from domain.parsing import ParseError
from domain.rounds import parse_round_id, recent_round_ids, round_label

ACTIVITIES_FILE = Path(__file__).resolve().parent / "activities.toml"
DEFAULT_MAX_LEN = 300
# Numbers beyond these are typing mistakes (and would not fit a report).
UPPER_LIMITS = {"int": 10**9, "money": 10**15}
UNREADABLE = {"int": "not_integer", "money": "not_money", "date": "not_date"}

Value = str | int | bool | date


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

    def parse(self, raw: str, today: date) -> Value:
        """Typed value from user input; raises ParseError with a catalogue code."""
        try:
            value = self._parse(raw, today)
        except ParseError:
            raise
        except (ValueError, ArithmeticError) as error:  # e.g. 5,000 digits
            raise ParseError(UNREADABLE.get(self.type, "invalid")) from error
        limit = self.maximum or UPPER_LIMITS.get(self.type)
        if limit is not None and value > limit:
            raise ParseError("too_large", maximum=limit)
        return value

    def _parse(self, raw: str, today: date) -> Value:
        match self.type:
            case "text":
                return parsing.parse_text(raw, self.max_len)
            case "int":
                return parsing.parse_int(raw, self.minimum)
            case "money":
                return parsing.parse_money(raw)
            case "date":
                return parsing.parse_date(raw, today)
            case "yesno":
                return parsing.parse_yes_no(raw)
            case "choice":
                return parsing.parse_choice(raw, self.choices)
            case "round":
                return parse_round_id(raw)
        raise ValueError(f"unknown field type {self.type!r}")

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
                return f"{vnformat.thousands(value)} {t('currency.' + self.currency)}"
            case "yesno":
                return t("common.yes") if value else t("common.no")
            case "choice":
                return dict(self.choices).get(value, str(value))
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


def _build_form(key: str, spec: dict[str, Any], choice_sets: dict[str, dict[str, str]]) -> Form:
    fields = []
    for raw in spec["fields"]:
        attrs = dict(raw)
        if "choices" in attrs:
            attrs["choices"] = tuple(choice_sets[attrs["choices"]].items())
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
