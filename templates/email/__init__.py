"""E-mail bodies: the plain-text and HTML parts of every message the bot mails."""

from __future__ import annotations

from functools import cache
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined

from domain.catalog import FILTERS

TEMPLATE_DIR = Path(__file__).resolve().parent


@cache
def _environment(html: bool) -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATE_DIR),
        undefined=StrictUndefined,
        autoescape=html,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(FILTERS)
    return env


def render_bodies(**values) -> tuple[str, str]:
    """The plain-text and HTML bodies of a message (subject, text, attachment, department)."""
    text = _environment(False).get_template("message.txt.j2").render(**values)
    html = _environment(True).get_template("message.html.j2").render(**values)
    return text, html
