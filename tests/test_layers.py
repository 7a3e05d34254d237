"""Imports flow one way: bot → handlers → scheduler, templates → storage → domain."""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
ALLOWED = {
    "domain": {"domain"},
    "storage": {"domain", "storage"},
    "scheduler": {"domain", "storage", "scheduler"},
    "templates": {"domain", "storage", "templates"},
    "handlers": {"domain", "storage", "scheduler", "templates", "handlers"},
    "bot": {"domain", "storage", "scheduler", "templates", "handlers", "bot"},
}


def _imported_packages(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names & set(ALLOWED)


@pytest.mark.parametrize("package", sorted(ALLOWED))
def test_a_package_imports_only_the_layers_below_it(package):
    wrong = {
        str(path.relative_to(ROOT)): sorted(_imported_packages(path) - ALLOWED[package])
        for path in (ROOT / package).rglob("*.py")
    }
    assert {path: names for path, names in wrong.items() if names} == {}
