"""An activity form (domain/forms.py) as an HTML form: the same definition the chat asks
question by question, read back with the same parsers, rules and explanations."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from domain.catalog import t
from domain.forms import Field, Form, Value
from domain.parsing import ParseError

LONG_TEXT = 300  # longer texts get a text area


def parse_value(field: Field, raw: str, today: date) -> Value:
    """What a typed cell means: the one place the web calls the chat's parsers."""
    return field.parse(raw, today)


@dataclass(frozen=True)
class FieldView:
    field: Field
    widget: str  # text, textarea, select or yesno
    raw: str
    error: str
    options: tuple[tuple[str, str], ...] = ()


def widget(field: Field) -> str:
    if field.type in ("choice", "round"):
        return "select"
    if field.type == "yesno":
        return "yesno"
    if field.type == "text" and field.max_len > LONG_TEXT:
        return "textarea"
    return "text"


def raw_values(form: Form, stored: dict) -> dict[str, str]:
    """A stored record as the form shows it: dd/mm/yyyy, digits, choice keys, có/không."""
    values = form.values_from_json(stored)
    return {f.key: f.to_cell(values.get(f.key)) for f in form.fields}


def read(form: Form, raw: dict[str, str], today: date) -> tuple[dict[str, Value], dict[str, str]]:
    """Typed values from the submitted cells, or a Vietnamese explanation per bad field."""
    values: dict[str, Value] = {}
    errors: dict[str, str] = {}
    for field in form.fields:
        text = raw.get(field.key, "").strip()
        if not text:
            if not field.optional:
                errors[field.key] = t("errors.required", label=field.label)
            continue
        try:
            values[field.key] = parse_value(field, text, today)
            form.check_rules(values, field.key)
        except ParseError as error:
            values.pop(field.key, None)
            errors[field.key] = field.explain(error)
    return values, errors


def views(form: Form, raw: dict[str, str], errors: dict[str, str], today: date) -> list[FieldView]:
    result = []
    for field in form.fields:
        options = tuple(field.offered_choices(today)) if field.type != "yesno" else ()
        current = raw.get(field.key, "")
        if field.type == "round" and current and current not in dict(options):
            options = ((current, current), *options)
        result.append(FieldView(field, widget(field), current, errors.get(field.key, ""), options))
    return result
