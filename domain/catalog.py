"""The message catalogue: every sentence a user sees, as Jinja2 templates keyed by name.

User-supplied text is passed in as data and never compiled as a template, so "{{ 7*7 }}"
typed by a user is shown literally.
"""

from __future__ import annotations

import tomllib
from functools import cache
from pathlib import Path
from typing import Any

from jinja2 import Environment, StrictUndefined, Template

from domain import vnformat

CATALOG_FILE = Path(__file__).resolve().parent / "messages.vi.toml"

# Values every message may use (e.g. `department`), set from the settings at start.
_GLOBALS: dict[str, Any] = {}


def configure(**values: Any) -> None:
    """Set the values every message may use, such as the department's name."""
    _GLOBALS.update(values)


def _flatten(tree: dict[str, Any], prefix: str = "") -> dict[str, str]:
    flat: dict[str, str] = {}
    for key, value in tree.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            flat.update(_flatten(value, f"{name}."))
        else:
            flat[name] = value
    return flat


def channel_name(channel: str) -> str:
    """A channel's name as people say it ("Zalo", "e-mail"); the key when unknown."""
    key = f"channel_names.{channel}"
    return t(key) if has(key) else channel


# The Vietnamese number and date filters every template may use (messages, reports, pages).
FILTERS = {
    "channel_name": channel_name,
    "count": vnformat.count,
    "thousands": vnformat.thousands,
    "amount": vnformat.amount,
    "short_date": vnformat.short_date,
    "full_date": vnformat.full_date,
}


def make_environment() -> Environment:
    """The Jinja2 environment shared by messages and reports, with the Vietnamese filters."""
    env = Environment(
        undefined=StrictUndefined, autoescape=False, trim_blocks=True, lstrip_blocks=True
    )
    env.filters.update(FILTERS)
    return env


@cache
def _templates() -> dict[str, Template]:
    with CATALOG_FILE.open("rb") as handle:
        messages = _flatten(tomllib.load(handle))
    env = make_environment()
    return {key: env.from_string(text) for key, text in messages.items()}


def has(key: str) -> bool:
    return key in _templates()


def t(key: str, /, **params: Any) -> str:
    """The message `key` rendered with `params`; a missing key is a programming error."""
    return _templates()[key].render(**{**_GLOBALS, **params}).strip()
