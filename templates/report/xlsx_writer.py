"""The .xlsx writer: one sheet per annex (annexes.toml) and one per activity type.

Annex sheets follow the seed's tables (Mẫu 04, Mẫu 05, Mẫu 06.1, conferences in 13 numbered
columns, awards). Type sheets hold every field of every record the report counts, with the
import/export columns of storage/transfer.py (so a sheet can be read back by `import`).
Headers bold, widths set, text wrapped, printed landscape and fitted to the page width.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from datetime import date
from functools import cache
from pathlib import Path
from typing import Any

from jinja2 import Environment, Template
from openpyxl import Workbook
from openpyxl.styles import Alignment, Border, Font, Side
from openpyxl.utils import get_column_letter
from openpyxl.utils.cell import range_boundaries
from openpyxl.worksheet.worksheet import Worksheet

from domain.catalog import make_environment
from domain.forms import load_forms
from storage.transfer import form_columns, record_row
from templates.report import render
from templates.report.figures import Figures, ReportRecord

ANNEXES_FILE = Path(__file__).resolve().parent / "annexes.toml"
FONT_NAME = "Times New Roman"
THIN = Side(style="thin")
BOX = Border(left=THIN, right=THIN, top=THIN, bottom=THIN)
WRAP = Alignment(wrap_text=True, vertical="top")
CENTRE = Alignment(wrap_text=True, horizontal="center", vertical="center")
BODY = Font(name=FONT_NAME, size=11)
BOLD = Font(name=FONT_NAME, size=11, bold=True)
TITLE = Font(name=FONT_NAME, size=13, bold=True)
TITLE_ROW = 2
HEADER_ROW = 4
DATE_FORMAT = "dd/mm/yyyy"


def to_xlsx(figures: Figures, context: dict[str, Any], path: Path) -> None:
    """Write the annexes and the per-type sheets for `figures` to `path`."""
    workbook = Workbook()
    workbook.remove(workbook.active)
    for annex in load_annexes():
        _annex_sheet(workbook.create_sheet(annex.sheet[:31]), annex, figures, context)
    for form in load_forms().values():
        _type_sheet(workbook.create_sheet(form.key), form, figures.records_of(form.key))
    path.parent.mkdir(parents=True, exist_ok=True)
    workbook.save(path)


# --- annexes ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Column:
    header: str
    width: float
    stt: bool = False
    field: str = ""
    text: Template | None = None


@dataclass(frozen=True)
class Group:
    source: str
    heading: Template
    total: Template


@dataclass(frozen=True)
class Annex:
    sheet: str
    code: str
    title: Template
    province: Template
    groups: tuple[Group, ...]
    columns: tuple[Column, ...]
    header_rows: tuple[tuple[str, ...], ...]
    merges: tuple[str, ...]


@cache
def load_annexes(path: Path = ANNEXES_FILE) -> tuple[Annex, ...]:
    with path.open("rb") as handle:
        data = tomllib.load(handle)
    env = annex_environment()
    province = env.from_string(data["province"])
    annexes = []
    for spec in data["annex"]:
        columns = tuple(
            Column(
                header=column.get("header", ""),
                width=column.get("width", 15),
                stt=column.get("stt", False),
                field=column.get("field", ""),
                text=env.from_string(column["text"]) if "text" in column else None,
            )
            for column in spec["columns"]
        )
        header_rows = tuple(tuple(row) for row in spec.get("header_rows", ()))
        annexes.append(
            Annex(
                sheet=spec["sheet"],
                code=spec.get("code", ""),
                title=env.from_string(spec["title"]),
                province=province,
                groups=tuple(
                    Group(g["source"], env.from_string(g["heading"]), env.from_string(g["total"]))
                    for g in spec["groups"]
                ),
                columns=columns,
                header_rows=header_rows or (tuple(c.header for c in columns),),
                merges=tuple(spec.get("merges", ())),
            )
        )
    return tuple(annexes)


@cache
def annex_environment() -> Environment:
    """The catalogue's environment with the report filters; values print as they are."""
    env = make_environment()
    env.filters.update(
        lowerfirst=render.lower_first, upperfirst=render.upper_first, bare=render.bare
    )
    return env


def _annex_sheet(sheet: Worksheet, annex: Annex, figures: Figures, context: dict[str, Any]):
    width = len(annex.columns)
    last = get_column_letter(width)
    sheet.cell(row=1, column=1, value=annex.province.render(context).strip()).font = BOLD
    if annex.code:
        sheet.cell(row=1, column=width, value=annex.code).font = BOLD
    title = sheet.cell(row=TITLE_ROW, column=1, value=annex.title.render(context).strip())
    title.font, title.alignment = TITLE, CENTRE
    sheet.merge_cells(f"A{TITLE_ROW}:{last}{TITLE_ROW}")
    sheet.row_dimensions[TITLE_ROW].height = 36
    for offset, header in enumerate(annex.header_rows):
        for index, text in enumerate(header, 1):
            cell = sheet.cell(row=HEADER_ROW + offset, column=index, value=text or None)
            cell.font, cell.alignment, cell.border = BOLD, CENTRE, BOX
    for merge in annex.merges:
        min_col, min_row, max_col, max_row = range_boundaries(merge)
        shift = HEADER_ROW - 1
        sheet.merge_cells(
            start_row=min_row + shift,
            start_column=min_col,
            end_row=max_row + shift,
            end_column=max_col,
        )
    row = HEADER_ROW + len(annex.header_rows)
    for group in annex.groups:
        records = _source(figures, group.source)
        heading = group.heading.render(context).strip()
        if heading:
            row = _banner(sheet, row, heading, width)
        for number, record in enumerate(records, 1):
            for index, column in enumerate(annex.columns, 1):
                cell = sheet.cell(row=row, column=index, value=_value(column, record, number))
                cell.font, cell.alignment, cell.border = BODY, WRAP, BOX
                if isinstance(cell.value, date):
                    cell.number_format = DATE_FORMAT
            row += 1
        total = group.total.render({**context, "n": len(records)}).strip()
        if total:
            row = _banner(sheet, row, total, width)
    for index, column in enumerate(annex.columns, 1):
        sheet.column_dimensions[get_column_letter(index)].width = column.width
    sheet.freeze_panes = sheet.cell(row=HEADER_ROW + len(annex.header_rows), column=1)
    sheet.print_title_rows = f"{HEADER_ROW}:{HEADER_ROW + len(annex.header_rows) - 1}"
    _print_setup(sheet)


def _banner(sheet: Worksheet, row: int, text: str, width: int) -> int:
    cell = sheet.cell(row=row, column=1, value=text)
    cell.font, cell.alignment = BOLD, Alignment(vertical="center")
    for index in range(1, width + 1):
        sheet.cell(row=row, column=index).border = BOX
    sheet.merge_cells(start_row=row, start_column=1, end_row=row, end_column=width)
    return row + 1


def _source(figures: Figures, dotted: str) -> list[ReportRecord]:
    value: Any = figures
    for name in dotted.split("."):
        value = getattr(value, name)
    return list(value)


def _value(column: Column, record: ReportRecord, number: int) -> Any:
    if column.stt:
        return number
    if column.text is not None:
        return column.text.render(r=record).strip() or None
    if not column.field:
        return None
    value = record.data.get(column.field)
    form = record.form
    if value is None or value == "" or form is None or column.field not in form.by_key:
        return value if value not in ("", None) else None
    kind = form.field(column.field).type
    if kind in ("int", "money", "date", "text"):
        return value
    return record.display(column.field)


# --- per-type sheets --------------------------------------------------------------------


def _type_sheet(sheet: Worksheet, form, records: list[ReportRecord]) -> None:
    columns = form_columns(form)
    sheet.append(columns)
    for cell in sheet[1]:
        cell.font, cell.alignment = BOLD, CENTRE
    widths = [len(column) for column in columns]
    for number, record in enumerate(records):
        row = record_row(form, record.unit, record.values)
        line = [row[c] for c in columns]
        sheet.append(line)
        if number < 200:
            widths = [max(w, len(v)) for w, v in zip(widths, line, strict=True)]
    for line in sheet.iter_rows(min_row=2):
        for cell in line:
            cell.alignment = WRAP
    for index, width in enumerate(widths, 1):
        sheet.column_dimensions[get_column_letter(index)].width = min(max(width + 2, 10), 60)
    sheet.freeze_panes = "A2"
    if records:
        sheet.auto_filter.ref = sheet.dimensions
    sheet.print_title_rows = "1:1"
    _print_setup(sheet)


def _print_setup(sheet: Worksheet) -> None:
    sheet.page_setup.orientation = "landscape"
    sheet.page_setup.paperSize = sheet.PAPERSIZE_A4
    sheet.page_setup.fitToWidth = 1
    sheet.page_setup.fitToHeight = 0
    sheet.sheet_properties.pageSetUpPr.fitToPage = True
    sheet.print_options.horizontalCentered = True
    sheet.page_margins.left = sheet.page_margins.right = 0.4
