"""Import and export of records: CSV (one file, a `loai` column) or XLSX (a sheet per type).

Columns are `loai`, `don_vi`, then the field keys of docs/domain.md. Import also reads the
labels people see ("Tên đoàn", "Loại hoạt động"), so the data file written with a report
comes back in. Import validates every row with the same field parsers as the chat and is
all-or-nothing; a row identical to a record already stored (or to an earlier row of the
file) is skipped with a warning instead of counting the activity twice.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date
from functools import cache
from pathlib import Path
from typing import Any

from openpyxl import Workbook, load_workbook
from openpyxl.styles import Alignment, Font
from sqlalchemy.ext.asyncio import AsyncSession

from domain.catalog import t
from domain.forms import Form, load_forms
from domain.parsing import ParseError, clean_text, fold, loose
from storage import repo
from storage.cells import as_text, cell_value
from storage.models import Unit

FIXED_COLUMNS = ["loai", "don_vi"]


def all_columns() -> list[str]:
    """`loai`, `don_vi`, then every field key in the order of first appearance."""
    columns = list(FIXED_COLUMNS)
    for form in load_forms().values():
        columns += [f.key for f in form.fields if f.key not in columns]
    return columns


def form_columns(form: Form) -> list[str]:
    return FIXED_COLUMNS + [f.key for f in form.fields]


def label_columns(form: Form) -> tuple[list[str], list[str]]:
    """The form's columns as keys and as the labels people read."""
    labels = [t(f"transfer.columns.{key}") for key in FIXED_COLUMNS]
    return form_columns(form), labels + [f.label for f in form.fields]


def column_key(header: str, form: Form | None = None) -> str:
    """The field key a header names: the key itself, or a label (accents and case
    ignored); a label two types share is read with the sheet's own type."""
    header = header.strip()
    known = _labels(form.key if form else "")
    return known.get(fold(header), header)


@cache
def _labels(preferred: str) -> dict[str, str]:
    labels = {fold(t(f"transfer.columns.{key}")): key for key in FIXED_COLUMNS}
    forms = load_forms()
    for form in sorted(forms.values(), key=lambda f: f.key == preferred):
        labels.update({fold(f.label): f.key for f in form.fields})
    return labels


def form_named(value: str) -> Form | None:
    """The activity type a `loai` cell or a sheet names, by key or by label."""
    forms = load_forms()
    wanted = fold(value)
    return forms.get(value.strip()) or next(
        (form for form in forms.values() if fold(form.label) == wanted), None
    )


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
    rows = await repo.records_between(db, start, end)
    return write_records(path, fmt, [(row.kind, row.unit, row.values) for row in rows])


def write_records(path: Path, fmt: str, records: Sequence[tuple[str, str, dict]]) -> int:
    """Write (type, unit name, stored values) as CSV or XLSX; returns the row count."""
    forms = load_forms()
    rows = [record_row(forms[kind], unit, values) for kind, unit, values in records]
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
                sheet.append([cell_value(row[c]) for c in columns])
        for index, column in enumerate(columns, 1):
            width = max([len(column)] + [len(str(r.get(column, ""))) for r in rows[:200]])
            letter = sheet.cell(row=1, column=index).column_letter
            sheet.column_dimensions[letter].width = min(max(width + 2, 10), 60)
        for line in sheet.iter_rows(min_row=2):
            for cell in line:
                cell.alignment = Alignment(wrap_text=True, vertical="top")
                as_text(cell)
        sheet.freeze_panes = "A2"
    workbook.save(path)


# --- import -----------------------------------------------------------------------------


@dataclass
class ImportResult:
    imported: int = 0
    created_units: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  # duplicates, one warning each
    rows: list[ParsedRow] = field(default_factory=list)  # to store, when none has an error


@dataclass
class ParsedRow:
    form: Form
    unit_name: str
    values: dict[str, Any]
    where: str  # "file.csv, dòng 12" for warnings

    def fingerprint(self) -> tuple[str, str, str]:
        return _fingerprint(self.form.key, self.unit_name, self.form.values_to_json(self.values))


def _fingerprint(kind: str, unit: str, stored: dict[str, Any]) -> tuple[str, str, str]:
    """What makes two records the same activity: type, unit and every value."""
    return kind, fold(unit), json.dumps(stored, sort_keys=True, ensure_ascii=False)


def read_rows(path: Path) -> Iterator[tuple[str, int, dict[str, str]]]:
    """(sheet or file name, row number as a spreadsheet shows it, cells) for every row."""
    if path.suffix.lower() == ".xlsx":
        workbook = load_workbook(path, read_only=True, data_only=True)
        for sheet in workbook.worksheets:
            lines = sheet.iter_rows(values_only=True)
            form = form_named(sheet.title)
            header = [column_key(str(c or ""), form) for c in next(lines, ())]
            for number, line in enumerate(lines, 2):
                cells = {h: _cell_text(v) for h, v in zip(header, line, strict=False) if h}
                if any(cells.values()):
                    yield sheet.title, number, cells
        return
    with path.open(encoding="utf-8-sig", newline="") as handle:
        for number, cells in enumerate(csv.DictReader(handle), 2):
            cleaned = {column_key(k): clean_text(v or "").strip() for k, v in cells.items() if k}
            if any(cleaned.values()):
                yield path.name, number, cleaned


def _cell_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, date):
        return value.strftime("%d/%m/%Y")
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return clean_text(str(value)).strip()


def parse_row(cells: dict[str, str], today: date) -> tuple[ParsedRow | None, list[str]]:
    """Validate one row with the chat's parsers; returns the values or the reasons."""
    form = form_named(cells.get("loai", ""))
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
    return (ParsedRow(form, unit_name, values, "") if not errors else None), errors


async def check_rows(
    db: AsyncSession,
    rows: Iterable[tuple[str, int, dict[str, str]]],
    today: date,
    *,
    create_units: bool = False,
    only_unit: Unit | None = None,
) -> ImportResult:
    """Validate every row; when none has an error, `result.rows` holds those to store
    (duplicates left out with a warning each). With `only_unit` (a focal point's upload)
    every row belongs to that unit."""
    result = ImportResult()
    parsed: list[ParsedRow] = []
    known = {unit.name: unit for unit in await repo.list_units(db)}
    for source, number, cells in rows:
        if only_unit is not None:
            cells = {**cells, "don_vi": cells.get("don_vi") or only_unit.name}
        row, errors = parse_row(cells, today)
        if row and only_unit is not None and fold(row.unit_name) != fold(only_unit.name):
            errors.append(t("transfer.other_unit", unit=row.unit_name, own=only_unit.name))
        elif row and row.unit_name not in known and not create_units:
            unit = await repo.unit_by_name(db, row.unit_name)
            if unit is None:
                errors.append(t("transfer.unknown_unit", unit=row.unit_name))
            else:
                known[row.unit_name] = unit
        result.errors += [t("transfer.row", source=source, row=number, reason=e) for e in errors]
        if row:
            row.where = t("transfer.where", source=source, row=number)
            parsed.append(row)
    if not result.errors:
        result.rows = await _without_duplicates(db, parsed, result)
    return result


async def store_rows(
    db: AsyncSession, result: ImportResult, *, member_id: int | None, source: str, file_name: str
) -> None:
    """Insert the checked rows (creating units where allowed), each audited."""
    known = {unit.name: unit for unit in await repo.list_units(db)}
    for row in result.rows:
        unit = known.get(row.unit_name) or await repo.unit_by_name(db, row.unit_name)
        if unit is None:
            unit = await repo.add_unit(db, row.unit_name)
            result.created_units.append(row.unit_name)
        known[row.unit_name] = unit
        record = await repo.create_record(
            db,
            kind=row.form.key,
            unit_id=unit.id,
            submitted_by=member_id,
            values=row.form.values_to_json(row.values),
            event_date=row.form.event_date(row.values),
            round_id=row.form.round_id(row.values),
        )
        await repo.audit(
            db, member_id=member_id, action="import", entity="record", entity_id=record.id,
            details={"file": file_name}, source=source,
        )  # fmt: skip
    result.imported = len(result.rows)


async def import_records(
    db: AsyncSession, path: Path, today: date, create_units: bool = False
) -> ImportResult:
    """Validate the whole file first; insert only when every row is valid."""
    result = await check_rows(db, read_rows(path), today, create_units=create_units)
    if not result.errors:
        await store_rows(db, result, member_id=None, source="cli", file_name=path.name)
    return result


def _span(row: ParsedRow) -> tuple[date, ...]:
    """The days a row's record could be stored under: its date, or its round's year."""
    day = row.form.event_date(row.values)
    if day is not None:
        return (day,)
    round_id = row.form.round_id(row.values) or ""
    year = int(round_id[:4]) if round_id[:4].isdigit() else None
    return (date(year, 1, 1), date(year, 12, 31)) if year else ()


async def _without_duplicates(
    db: AsyncSession, rows: list[ParsedRow], result: ImportResult
) -> list[ParsedRow]:
    """The rows that are neither a stored record nor a repeat of an earlier row; a warning
    for each one left out."""
    days = [day for row in rows for day in _span(row)]
    stored: dict[tuple[str, str, str], int] = {}
    if days:
        for record in await repo.records_between(db, min(days), max(days)):
            stored.setdefault(_fingerprint(record.kind, record.unit, record.values), record.id)
    kept: list[ParsedRow] = []
    seen: dict[tuple[str, str, str], str] = {}
    for row in rows:
        key = row.fingerprint()
        if key in stored:
            result.skipped.append(t("transfer.duplicate_stored", where=row.where, id=stored[key]))
        elif key in seen:
            result.skipped.append(t("transfer.duplicate_row", where=row.where, first=seen[key]))
        else:
            seen[key] = row.where
            kept.append(row)
    return kept


# --- a table of the unit's own, its columns mapped on screen ----------------------------


def headers(path: Path) -> list[str]:
    """The column names of a file's first sheet, as written."""
    if path.suffix.lower() == ".xlsx":
        workbook = load_workbook(path, read_only=True, data_only=True)
        first = next(workbook.worksheets[0].iter_rows(values_only=True), ())
        return [str(c).strip() for c in first if c is not None and str(c).strip()]
    with path.open(encoding="utf-8-sig", newline="") as handle:
        return [h.strip() for h in next(csv.reader(handle), []) if h.strip()]


def is_export_format(path: Path) -> bool:
    """Files in the export format name each row's type in a `loai` column (or its label)."""
    if path.suffix.lower() != ".xlsx":
        return "loai" in [column_key(h) for h in headers(path)]
    workbook = load_workbook(path, read_only=True, data_only=True)
    for sheet in workbook.worksheets:
        first = next(sheet.iter_rows(values_only=True), ())
        if "loai" in [column_key(str(c or "")) for c in first]:
            return True
    return False


def mapped_rows(
    path: Path, kind: str, mapping: dict[str, str]
) -> Iterator[tuple[str, int, dict[str, str]]]:
    """The first sheet's rows as export-format cells: every row of type `kind`, each
    field (and `don_vi`) read from the column `mapping` names."""
    first_sheet = None
    for source, number, cells in read_rows(path):
        first_sheet = first_sheet or source
        if source != first_sheet:
            return
        read_as = form_named(source)  # read_rows names known labels by their keys
        row = {"loai": kind}
        row.update(
            {key: cells.get(column_key(column, read_as), "") for key, column in mapping.items()
             if column}
        )  # fmt: skip
        yield source, number, row


def guess_mapping(form: Form, columns: list[str]) -> dict[str, str]:
    """The column that most likely holds each field: same key or same label, any accents."""
    by_name = {loose(column): column for column in columns}
    guesses = {"don_vi": by_name.get("don vi", "")}
    for spec in form.fields:
        guesses[spec.key] = by_name.get(loose(spec.key)) or by_name.get(loose(spec.label), "")
    return guesses
