"""Every message key the code names exists in the catalogue (a missing one used to turn a
long unit name into "hệ thống gặp sự cố")."""

from __future__ import annotations

import ast
import re
from pathlib import Path

from domain.catalog import _templates

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("bot", "domain", "handlers", "scheduler", "storage", "templates")
KEY = re.compile(r"^[a-z_0-9]+(?:\.[a-z_0-9]+)+$")
FILE_NAME = re.compile(r"\.(?:csv|toml|py|j2|md|docx|xlsx|json)$")


def _sections() -> set[str]:
    return {key.split(".")[0] for key in _templates()}


def _named_keys() -> dict[str, str]:
    """String constants shaped like a key of a catalogue section, and f-string prefixes
    such as f"roles.{role}" (marked with a trailing '*'), with where they are."""
    sections, found = _sections(), {}
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            if "migrations" in path.parts or path.name == "models.py":  # "units.id": columns
                continue
            tree = ast.parse(path.read_text(encoding="utf-8"))
            parts = {
                id(v) for n in ast.walk(tree) if isinstance(n, ast.JoinedStr) for v in n.values
            }
            for node in ast.walk(tree):
                text = None
                if isinstance(node, ast.Constant) and isinstance(node.value, str):
                    plain = id(node) not in parts and not FILE_NAME.search(node.value)
                    text = node.value if plain and KEY.match(node.value) else None
                elif isinstance(node, ast.JoinedStr) and node.values:
                    head = node.values[0]
                    if isinstance(head, ast.Constant) and KEY.match(f"{head.value}x"):
                        text = f"{head.value}*"
                if text and text.split(".")[0] in sections:
                    found[text] = f"{path.relative_to(ROOT)}:{node.lineno}"
    return found


def test_every_message_key_named_in_the_code_exists():
    keys = set(_templates())
    missing = {
        name: where
        for name, where in _named_keys().items()
        if not (any(k.startswith(name[:-1]) for k in keys) if name.endswith("*") else name in keys)
    }
    assert missing == {}


def test_the_check_finds_keys_in_the_code():
    named = _named_keys()
    assert "units.added" in named and "cli.bad_telegram_token" in named
    assert "roles.*" in named  # t(f"roles.{role}")
