"""One-message entry: a fill-in template per activity type, one "Label: value" line per
field, and the reading of filled templates (several may come in one message).

Pure text work: values are read later, field by field, with `Form.interpret`, exactly
as answers typed one at a time.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field
from functools import cache

from domain.catalog import t
from domain.forms import Field, Form, load_forms
from domain.parsing import loose
from domain.telex import untelex

# "Label (a hint, maybe long): value"; a colon inside the parentheses is part of the label.
_LABEL_LINE = re.compile(
    r"^\s*[-•*+]?\s*(?P<label>(?:[^:(\n]|\([^)\n]*\)){1,300}?)\s*:\s*(?P<value>.*)$"
)
_PARENTHESES = re.compile(r"\([^()]*\)")
# How alike (difflib's ratio) a mistyped label must be to count as the field's.
_LABEL_NEAR_MISS = 0.85


@dataclass
class Entry:
    """One filled template: its type (None when the message did not say), the raw text
    of each field found, in order, and the lines that named no field."""

    kind: str | None = None
    raws: dict[str, str] = field(default_factory=dict)
    unknown: list[str] = field(default_factory=list)

    def to_json(self) -> dict:
        return {"kind": self.kind, "raws": self.raws, "unknown": self.unknown}

    @classmethod
    def from_json(cls, data: dict) -> Entry:
        return cls(data["kind"], dict(data["raws"]), list(data["unknown"]))


def _bare(label: str) -> str:
    """A label as matched: without what is in parentheses, accents or punctuation."""
    while _PARENTHESES.search(label):
        label = _PARENTHESES.sub(" ", label)
    return loose(label)


def _hint(spec: Field) -> str:
    if spec.type == "choice":
        return t("entry.hint_choice", labels=[_PARENTHESES.sub("", label).strip()
                                              for _, label in spec.choices])  # fmt: skip
    return t(f"entry.hint_{spec.type}") if spec.type in ("yesno", "date") else ""


def template(form: Form) -> str:
    """The fill-in template of a type: its type line, then one line per field."""
    lines = [f"{t('entry.type_label')}: {form.label}"]
    for spec in form.fields:
        notes = [note for note in (_hint(spec), t("entry.optional") if spec.optional else "")]
        suffix = " ".join(f"({note})" for note in notes if note)
        lines.append(f"{spec.label}{' ' + suffix if suffix else ''}: ")
    return "\n".join(lines)


@cache
def _type_names() -> dict[str, str]:
    names = {}
    for key, form in load_forms().items():
        names[loose(key)] = key
        names[_bare(form.label)] = key
    return names


def kind_named(text: str) -> str | None:
    """The activity type a text names: its key or label, or words found in one label
    only ("biên giới"), typed with or without accents or in Telex."""
    names = _type_names()
    for wanted in (_bare(text), untelex(_bare(text))):
        if wanted in names:
            return names[wanted]
        for matches in (str.startswith, str.__contains__):
            found = {key for name, key in names.items() if wanted and matches(name, wanted)}
            if len(found) == 1:
                return found.pop()
    return None


def _field_names(form: Form) -> dict[str, str]:
    names = {loose(spec.key): spec.key for spec in form.fields}
    names.update({_bare(spec.label): spec.key for spec in form.fields})
    return names


def _field_named(label: str, form: Form) -> str | None:
    names = _field_names(form)
    wanted = _bare(label)
    if wanted in names:
        return names[wanted]
    close = difflib.get_close_matches(wanted, list(names), n=1, cutoff=_LABEL_NEAR_MISS)
    return names[close[0]] if close else None


def _is_type_line(label: str) -> bool:
    return _bare(label) == _bare(t("entry.type_label"))


def starts_with_template(text: str) -> bool:
    """Whether a message is a filled template: its first line names the activity type."""
    first = next((line for line in text.splitlines() if line.strip()), "")
    match = _LABEL_LINE.match(first)
    return match is not None and _is_type_line(match["label"])


def read_entries(text: str, default_kind: str | None = None) -> list[Entry]:
    """Every filled template in a message. A value may run over several lines; a line
    naming no field of the type is kept aside, to be shown, never dropped silently."""
    entries: list[Entry] = []
    current = Entry(default_kind)
    last_key: str | None = None
    for line in text.splitlines():
        match = _LABEL_LINE.match(line)
        if match and _is_type_line(match["label"]):
            if current.kind or current.raws or current.unknown:
                entries.append(current)
            current, last_key = Entry(kind_named(match["value"]) or default_kind), None
            if current.kind is None:
                current.unknown.append(line.strip())
            continue
        form = load_forms().get(current.kind or "")
        key = _field_named(match["label"], form) if match and form else None
        if key is not None:
            current.raws[key] = match["value"].strip()
            last_key = key
        elif last_key is not None and not match:
            current.raws[last_key] = f"{current.raws[last_key]}\n{line}".strip()
        elif line.strip():
            current.unknown.append(line.strip())
    if current.kind or current.raws or current.unknown:
        entries.append(current)
    return entries
