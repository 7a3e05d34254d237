"""Import and export of records: CSV (one file, a `loai` column) or XLSX (a sheet per type).

Columns are `loai`, `don_vi`, then the DOMAIN.md field keys. Import validates every row
with the same field parsers as the chat and is all-or-nothing.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from openpyxl import Workbook, load_workbook
from openpyxl.styles import Alignment, Font
from sqlalchemy.ext.asyncio import AsyncSession

from domain.catalog import t
from domain.forms import Form, load_forms
from domain.parsing import ParseError, nfc
from storage import repo
from storage.models import Record, Unit

FIXED_COLUMNS = ["loai", "don_vi"]


def all_columns() -> list[str]:
    """`loai`, `don_vi`, then every field key in the order of first appearance."""
    columns = list(FIXED_COLUMNS)
    for form in load_forms().values():
        columns += [f.key for f in form.fields if f.key not in columns]
    return columns


def form_columns(form: Form) -> list[str]:
    return FIXED_COLUMNS + [f.key for f in form.fields]


def record_row(form: Form, unit_name: str, stored: dict[str, Any]) -> dict[str, str]:
    values = form.values_from_json(stored)
    row = {"loai": form.key, "don_vi": unit_name}
    row.update({f.key: f.to_cell(values.get(f.key)) for f in form.fields})
    return row


# --- export -----------------------------------------------------------------------------


async def export_records(
    db: AsyncSession, path: Path, fmt: str, start: date | None = None, end: date | None = None
) -> int:
    """Write the live records (optionally by event date) to `path`; returns the row count."""
    return write_records(path, fmt, await repo.records_between(db, start, end))


def write_records(path: Path, fmt: str, pairs: Sequence[tuple[Record, Unit]]) -> int:
    """Write (record, unit) pairs as CSV or XLSX; returns the row count."""
    forms = load_forms()
    rows = [record_row(forms[record.kind], unit.name, record.values) for record, unit in pairs]
    path.parent.mkdir(parents=True, exist_ok=True)
    if fmt == "csv":
        _write_csv(path, rows)
    else:
        _write_xlsx(path, rows)
    return len(rows)


def _write_csv(path: Path, rows: list[dict[str, str]]) -> None:
    with path.open("w", encoding="utf-8-sig", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=all_columns())
        writer.writeheader()
        writer.writerows(rows)


def _write_xlsx(path: Path, rows: list[dict[str, str]]) -> None:
    workbook = Workbook()
    workbook.remove(workbook.active)
    for form in load_forms().values():
        sheet = workbook.create_sheet(form.key)
        columns = form_columns(form)
        sheet.append(columns)
        for cell in sheet[1]:
            cell.font = Font(bold=True)
        for row in rows:
            if row["loai"] == form.key:
                sheet.append([row[c] for c in columns])
        for index, column in enumerate(columns, 1):
            width = max([len(column)] + [len(str(r.get(column, ""))) for r in rows[:200]])
            letter = sheet.cell(row=1, column=index).column_letter
            sheet.column_dimensions[letter].width = min(max(width + 2, 10), 60)
        for line in sheet.iter_rows(min_row=2):
            for cell in line:
                cell.alignment = Alignment(wrap_text=True, vertical="top")
        sheet.freeze_panes = "A2"
    workbook.save(path)


# --- import -----------------------------------------------------------------------------


@dataclass
class ImportResult:
    imported: int = 0
    created_units: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


@dataclass
class _Parsed:
    form: Form
    unit_name: str
    values: dict[str, Any]


def read_rows(path: Path) -> Iterator[tuple[str, int, dict[str, str]]]:
    """(sheet or file name, row number as a spreadsheet shows it, cells) for every row."""
    if path.suffix.lower() == ".xlsx":
        workbook = load_workbook(path, read_only=True, data_only=True)
        for sheet in workbook.worksheets:
            lines = sheet.iter_rows(values_only=True)
            header = [str(c or "").strip() for c in next(lines, ())]
            for number, line in enumerate(lines, 2):
                cells = {h: _cell_text(v) for h, v in zip(header, line, strict=False) if h}
                if any(cells.values()):
                    yield sheet.title, number, cells
        return
    with path.open(encoding="utf-8-sig", newline="") as handle:
        for number, cells in enumerate(csv.DictReader(handle), 2):
            cleaned = {k.strip(): (v or "").strip() for k, v in cells.items() if k}
            if any(cleaned.values()):
                yield path.name, number, cleaned


def _cell_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, date):
        return value.strftime("%d/%m/%Y")
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return nfc(str(value)).strip()


def parse_row(cells: dict[str, str], today: date) -> tuple[_Parsed | None, list[str]]:
    """Validate one row with the chat's parsers; returns the values or the reasons."""
    form = load_forms().get(cells.get("loai", "").strip())
    if form is None:
        return None, [t("transfer.bad_type", value=cells.get("loai", ""))]
    unit_name = cells.get("don_vi", "").strip()
    errors = [] if unit_name else [t("transfer.no_unit")]
    values: dict[str, Any] = {}
    for spec in form.fields:
        raw = cells.get(spec.key, "")
        if not raw:
            if not spec.optional:
                errors.append(t("transfer.missing", key=spec.key, label=spec.label))
            continue
        try:
            values[spec.key] = spec.parse(raw, today)
            form.check_rules(values, spec.key)
        except ParseError as error:
            errors.append(t("transfer.invalid", key=spec.key, reason=spec.explain(error)))
    return (_Parsed(form, unit_name, values) if not errors else None), errors


async def import_records(
    db: AsyncSession, path: Path, today: date, create_units: bool = False
) -> ImportResult:
    """Validate the whole file first; insert only when every row is valid."""
    result = ImportResult()
    parsed: list[_Parsed] = []
    known = {unit.name: unit for unit in await repo.list_units(db)}
    for source, number, cells in read_rows(path):
        row, errors = parse_row(cells, today)
        if row and row.unit_name not in known and not create_units:
            unit = await repo.unit_by_name(db, row.unit_name)
            if unit is None:
                errors.append(t("transfer.unknown_unit", unit=row.unit_name))
            else:
                known[row.unit_name] = unit
        result.errors += [t("transfer.row", source=source, row=number, reason=e) for e in errors]
        if row:
            parsed.append(row)
    if result.errors:
        return result
    for row in parsed:
        unit = known.get(row.unit_name) or await repo.unit_by_name(db, row.unit_name)
        if unit is None:
            unit = await repo.add_unit(db, row.unit_name)
            result.created_units.append(row.unit_name)
        known[row.unit_name] = unit
        record = await repo.create_record(
            db,
            kind=row.form.key,
            unit_id=unit.id,
            submitted_by=None,
            values=row.form.values_to_json(row.values),
            event_date=row.form.event_date(row.values),
            round_id=row.form.round_id(row.values),
        )
        await repo.audit(
            db, member_id=None, action="import", entity="record", entity_id=record.id,
            details={"file": path.name},
        )  # fmt: skip
    result.imported = len(parsed)
    return result
