"""Spreadsheet cells that hold exactly the text stored: nothing a spreadsheet program
would run as a formula, no character the xlsx format cannot hold. Every xlsx writer
(the export, the report's annexes and data file) puts its values through here."""

from __future__ import annotations

from typing import Any

from openpyxl.cell import Cell, WriteOnlyCell

from domain.parsing import clean_text

FORMULA_STARTS = ("=", "+", "-", "@")


def cell_value(value: Any) -> Any:
    """A value ready for a cell: text without control characters (a record stored before
    input was cleaned must not break an export); other values unchanged."""
    return clean_text(value) if isinstance(value, str) else value


def as_text(cell: Cell | WriteOnlyCell) -> None:
    """Keep a string starting like a formula a string."""
    if isinstance(cell.value, str) and cell.value.startswith(FORMULA_STARTS):
        cell.data_type = "s"
