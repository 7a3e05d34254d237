"""The .xlsx writers: the annexes sent with a report, and the data behind it.

`to_xlsx` writes the annex tables of annexes.toml, laid out as the Ministry's forms (Mẫu
04, Mẫu 05, Mẫu 06.1 with the table of local partnerships, conferences in 13 numbered
columns, awards by country): headers bold and boxed, a row of column numbers, widths set,
text wrapped, printed landscape and fitted to the page width.

`to_data_xlsx` writes every record the report counts, a sheet per activity type, with
labels as column headers and values as people read them (a file for checking, kept apart
from the annexes that are sent); it streams rows (openpyxl's write-only mode), so a
national report's 150,000 records fit in memory. `doingoai import` reads it back.

Text is always written as text: a value such as "=1+1" typed by a user never becomes a
formula.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from datetime import date
from functools import cache
from pathlib import Path
from typing import Any

from jinja2 import Environment, Template
from jinja2.environment import TemplateExpression
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Alignment, Border, Font, NamedStyle, Side
from openpyxl.utils import get_column_letter
from openpyxl.utils.cell import range_boundaries
from openpyxl.worksheet.worksheet import Worksheet

from domain.catalog import make_environment
from domain.forms import Form, load_forms
from storage.cells import as_text, cell_value
from storage.transfer import label_columns
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
ITALIC = Font(name=FONT_NAME, size=11, italic=True)
DATE_FORMAT = "dd/mm/yyyy"
# Named once per workbook and given to cells by name: far cheaper than a font, an
# alignment and a border per cell when a national report writes a million cells.
STYLES = {
    "dn_header": {"font": BOLD, "alignment": CENTRE, "border": BOX},
    "dn_cell": {"font": BODY, "alignment": WRAP, "border": BOX},
    "dn_date": {"font": BODY, "alignment": WRAP, "border": BOX, "number_format": DATE_FORMAT},
    "dn_banner": {"font": BOLD, "alignment": Alignment(vertical="center", wrap_text=True),
                  "border": BOX},
    "dn_data": {"font": BODY, "alignment": WRAP},
    "dn_data_date": {"font": BODY, "alignment": WRAP, "number_format": DATE_FORMAT},
    "dn_data_header": {"font": BOLD, "alignment": CENTRE},
}  # fmt: skip


def _with_styles(workbook: Workbook) -> Workbook:
    for name, parts in STYLES.items():
        workbook.add_named_style(NamedStyle(name, **parts))
    return workbook


TITLE_ROW = 2
HEADER_ROW = 4
TABLE_GAP = 2  # empty rows between two tables on one sheet


def to_xlsx(figures: Figures, context: dict[str, Any], path: Path) -> None:
    """Write the annexes of `figures` to `path`; annexes naming the same sheet follow one
    another on it."""
    workbook = _with_styles(Workbook())
    workbook.remove(workbook.active)
    for annex in load_annexes():
        name = annex.sheet[:31]
        if name in workbook.sheetnames:
            sheet = workbook[name]
            _annex_table(sheet, annex, figures, context, sheet.max_row + 1 + TABLE_GAP)
        else:
            sheet = workbook.create_sheet(name)
            _annex_table(sheet, annex, figures, context, 1)
            _print_setup(sheet)
    path.parent.mkdir(parents=True, exist_ok=True)
    workbook.save(path)


def to_data_xlsx(figures: Figures, path: Path) -> None:
    """Write every record the report counts, a sheet per type, streaming the rows."""
    workbook = _with_styles(Workbook(write_only=True))
    by_kind: dict[str, list[ReportRecord]] = {}
    for record in figures.records:
        by_kind.setdefault(record.kind, []).append(record)
    for form in load_forms().values():
        _data_sheet(workbook, form, by_kind.get(form.key, []))
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
    only: TemplateExpression | None = None  # rows kept: those for which it is true
    split: TemplateExpression | None = None  # one sub-table per value, in order of first row
    split_heading: Template | None = None
    split_total: Template | None = None


@dataclass(frozen=True)
class Annex:
    sheet: str
    code: str
    title: Template
    subtitle: Template | None
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
    return tuple(_annex(spec, env, province) for spec in data["annex"])


def _annex(spec: dict[str, Any], env: Environment, province: Template) -> Annex:
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
    return Annex(
        sheet=spec["sheet"],
        code=spec.get("code", ""),
        title=env.from_string(spec["title"]),
        subtitle=env.from_string(spec["subtitle"]) if "subtitle" in spec else None,
        province=province,
        groups=tuple(_group(group, env) for group in spec["groups"]),
        columns=columns,
        header_rows=header_rows or (tuple(c.header for c in columns),),
        merges=tuple(spec.get("merges", ())),
    )


def _group(spec: dict[str, Any], env: Environment) -> Group:
    def optional(key: str, maker):
        return maker(spec[key]) if key in spec else None

    return Group(
        source=spec["source"],
        heading=env.from_string(spec.get("heading", "")),
        total=env.from_string(spec.get("total", "")),
        only=optional("only", env.compile_expression),
        split=optional("split", env.compile_expression),
        split_heading=optional("split_heading", env.from_string),
        split_total=optional("split_total", env.from_string),
    )


@cache
def annex_environment() -> Environment:
    """The catalogue's environment with the report filters; values print as they are."""
    env = make_environment()
    env.filters.update(
        lowerfirst=render.lower_first,
        upperfirst=render.upper_first,
        bare=render.bare,
        month=render.month_phrase,
    )
    return env


def _annex_table(
    sheet: Worksheet, annex: Annex, figures: Figures, context: dict[str, Any], top: int
) -> None:
    """One annex table whose first line is row `top`."""
    width = len(annex.columns)
    last = get_column_letter(width)
    if top == 1:
        sheet.cell(row=1, column=1, value=annex.province.render(context).strip()).font = BOLD
        if annex.code:
            sheet.cell(row=1, column=width, value=annex.code).font = BOLD
    row = top + TITLE_ROW - 1
    for template, font in ((annex.title, TITLE), (annex.subtitle, ITALIC)):
        if template is None:
            continue
        title = sheet.cell(row=row, column=1, value=template.render(context).strip())
        title.font, title.alignment = font, CENTRE
        sheet.merge_cells(f"A{row}:{last}{row}")
        sheet.row_dimensions[row].height = 36 if font is TITLE else 18
        row += 1
    header_top = row + 1
    _header(sheet, annex, header_top)
    row = header_top + len(annex.header_rows)
    for group in annex.groups:
        row = _group_rows(sheet, annex, group, figures, context, row)
    for index, column in enumerate(annex.columns, 1):
        letter = get_column_letter(index)
        sheet.column_dimensions[letter].width = max(
            sheet.column_dimensions[letter].width or 0, column.width
        )
    if top == 1:
        sheet.freeze_panes = sheet.cell(row=header_top + len(annex.header_rows), column=1)
        sheet.print_title_rows = f"{header_top}:{header_top + len(annex.header_rows) - 1}"


def _header(sheet: Worksheet, annex: Annex, top: int) -> None:
    for offset, header in enumerate(annex.header_rows):
        for index, text in enumerate(header, 1):
            cell = sheet.cell(row=top + offset, column=index, value=text or None)
            cell.style = "dn_header"
    for merge in annex.merges:
        min_col, min_row, max_col, max_row = range_boundaries(merge)
        sheet.merge_cells(
            start_row=min_row + top - 1,
            start_column=min_col,
            end_row=max_row + top - 1,
            end_column=max_col,
        )


def _group_rows(
    sheet: Worksheet,
    annex: Annex,
    group: Group,
    figures: Figures,
    context: dict[str, Any],
    row: int,
) -> int:
    records = _source(figures, context, group.source)
    if group.only is not None:
        records = [r for r in records if group.only(**context, r=r)]
    width = len(annex.columns)
    heading = group.heading.render(context).strip()
    if heading:
        row = _banner(sheet, row, heading, width)
    number = 0
    for key, rows in _split(group, records, context):
        if group.split_heading is not None:
            row = _banner(sheet, row, group.split_heading.render(context, key=key).strip(), width)
        for record in rows:
            number += 1
            row = _record_row(sheet, annex, record, number, row)
        if group.split_total is not None:
            total = group.split_total.render(context, key=key, rows=rows, n=len(rows)).strip()
            row = _banner(sheet, row, total, width)
    total = group.total.render(context, rows=records, n=len(records)).strip()
    return _banner(sheet, row, total, width) if total else row


def _split(
    group: Group, records: list[Any], context: dict[str, Any]
) -> list[tuple[str, list[Any]]]:
    if group.split is None:
        return [("", records)]
    parts: dict[str, list[Any]] = {}
    for record in records:
        parts.setdefault(str(group.split(**context, r=record)), []).append(record)
    return list(parts.items())


def _record_row(sheet: Worksheet, annex: Annex, record: Any, number: int, row: int) -> int:
    for index, column in enumerate(annex.columns, 1):
        cell = sheet.cell(row=row, column=index, value=cell_value(_value(column, record, number)))
        cell.style = "dn_date" if isinstance(cell.value, date) else "dn_cell"
        as_text(cell)
    return row + 1


def _banner(sheet: Worksheet, row: int, text: str, width: int) -> int:
    cell = sheet.cell(row=row, column=1, value=cell_value(text))
    as_text(cell)
    for index in range(1, width + 1):
        sheet.cell(row=row, column=index).style = "dn_banner"
    sheet.merge_cells(start_row=row, start_column=1, end_row=row, end_column=width)
    return row + 1


def _source(figures: Figures, context: dict[str, Any], dotted: str) -> list[Any]:
    """A list named by a dotted path: from the context when its first name is there
    (e.g. `partnerships`), from the figures otherwise (`outgoing.planned`)."""
    first, *rest = dotted.split(".")
    value: Any = context[first] if first in context else getattr(figures, first)
    for name in rest:
        value = getattr(value, name)
    return list(value)


def _value(column: Column, record: Any, number: int) -> Any:
    if column.stt:
        return number
    if column.text is not None:
        return column.text.render(r=record).strip() or None
    if not column.field:
        return None
    if not isinstance(record, ReportRecord):
        return getattr(record, column.field, None) or None
    value = record.data.get(column.field)
    form = record.form
    if value in ("", None) or form is None or column.field not in form.by_key:
        return value if value not in ("", None) else None
    kind = form.field(column.field).type
    if kind == "int":
        return value or None  # an empty count is blank, not "0"
    if kind in ("money", "date", "text"):
        return value
    return record.display(column.field)


def _print_setup(sheet: Worksheet) -> None:
    sheet.page_setup.orientation = "landscape"
    sheet.page_setup.paperSize = Worksheet.PAPERSIZE_A4
    sheet.page_setup.fitToWidth = 1
    sheet.page_setup.fitToHeight = 0
    sheet.sheet_properties.pageSetUpPr.fitToPage = True
    sheet.print_options.horizontalCentered = True
    sheet.page_margins.left = sheet.page_margins.right = 0.4


# --- the data file ----------------------------------------------------------------------


def _data_sheet(workbook: Workbook, form: Form, records: list[ReportRecord]) -> None:
    sheet = workbook.create_sheet(form.key)
    keys, labels = label_columns(form)
    widths = [len(label) for label in labels]
    rows = [[_data_value(form, record, key) for key in keys] for record in records]
    for line in rows[:200]:
        widths = [max(w, len(_shown(v))) for w, v in zip(widths, line, strict=True)]
    for index, width in enumerate(widths, 1):
        sheet.column_dimensions[get_column_letter(index)].width = min(max(width + 2, 10), 60)
    sheet.freeze_panes = "A2"
    _print_setup(sheet)
    sheet.print_title_rows = "1:1"
    sheet.append([_cell(sheet, label, "dn_data_header") for label in labels])
    for line in rows:
        sheet.append([_cell(sheet, value, "dn_data") for value in line])


def _data_value(form: Form, record: ReportRecord, key: str) -> Any:
    if key == "loai":
        return form.label
    if key == "don_vi":
        return record.unit
    value = record.data.get(key)
    if value is None or value == "":
        return None
    kind = form.field(key).type
    return value if kind in ("int", "money", "date", "text") else record.display(key)


def _cell(sheet, value: Any, style: str) -> WriteOnlyCell:
    cell = WriteOnlyCell(sheet, value=cell_value(value))
    cell.style = "dn_data_date" if isinstance(value, date) else style
    as_text(cell)
    return cell


def _shown(value: Any) -> str:
    return value.strftime("%d/%m/%Y") if isinstance(value, date) else str(value or "")
