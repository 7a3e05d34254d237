"""The records table (filters, sorting, paging, CSV/XLSX export), a record's page with its
audit history, and new/edit/delete with the chat's forms. A focal point sees and changes
only their unit's records; another unit's record is "not found"."""

from __future__ import annotations

import asyncio
import tempfile
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

from aiohttp import web
from multidict import MultiDictProxy

from bot.webui import forms as web_forms
from bot.webui.core import PREFIX, redirect, render, unit_scope, viewer_of, workspace
from domain.forms import Form, load_forms
from domain.parsing import ParseError, parse_date
from storage import records as records_store
from storage import repo
from storage.models import Record, Unit
from storage.records import Filters
from storage.transfer import write_records

EXPORT_TYPES = {
    "csv": "text/csv",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


@dataclass(frozen=True)
class TableQuery:
    """The records table's query string, read leniently: what cannot be read is named
    in `errors` and ignored, never guessed."""

    filters: Filters
    page: int
    raw: dict[str, str]
    errors: list[str]

    def link(self, **changes: Any) -> str:
        params = {k: v for k, v in (self.raw | changes).items() if v not in ("", None)}
        return f"{PREFIX}/records?{urlencode(params)}"


def _date_param(query, name: str, today: date, errors: list[str]) -> date | None:
    text = query.get(name, "").strip()
    if not text:
        return None
    try:
        return parse_date(text, today)
    except ParseError:
        errors.append(name)
        return None


def table_query(request: web.Request) -> TableQuery:
    query = request.query
    today = workspace(request).now().date()
    errors: list[str] = []
    kind = query.get("loai", "")
    kind = kind if kind in load_forms() else ""
    unit = query.get("unit", "")
    scope = unit_scope(request)
    unit_id = scope if scope is not None else (int(unit) if unit.isdigit() else None)
    status = query.get("trang_thai", "")
    sort = query.get("sort", "date")
    page = query.get("page", "1")
    filters = Filters(
        kind=kind,
        unit_id=unit_id,
        start=_date_param(query, "tu", today, errors),
        end=_date_param(query, "den", today, errors),
        status=status if status in records_store.STATUSES else "",
        text=query.get("q", "")[:200],
        sort=sort if sort in records_store.SORTS else "date",
        descending=query.get("dir", "desc") != "asc",
    )
    raw = {k: query.get(k, "") for k in ("loai", "unit", "tu", "den", "trang_thai", "q", "sort")}
    raw["dir"] = "desc" if filters.descending else "asc"
    return TableQuery(filters, int(page) if page.isdigit() and int(page) > 0 else 1, raw, errors)


@dataclass(frozen=True)
class Row:
    record: Record
    unit: str
    form: Form
    title: str
    when: str
    status: str


def table_row(record: Record, unit: Unit) -> Row:
    form = load_forms()[record.kind]
    values = form.values_from_json(record.values)
    when = ""
    if form.date_field and values.get(form.date_field):
        when = form.field(form.date_field).display(values[form.date_field])
    elif form.round_field and values.get(form.round_field):
        when = form.field(form.round_field).display(values[form.round_field])
    status = (
        form.field("trang_thai").display(values["trang_thai"]) if "trang_thai" in values else ""
    )
    return Row(record, unit.name, form, form.title(values), when, status)


async def _units(request: web.Request) -> list[Unit]:
    async with workspace(request).app.sessions() as db:
        return list(await repo.list_units(db))


async def records_table(request: web.Request) -> web.Response:
    ws = workspace(request)
    query = table_query(request)
    size = ws.settings.web_page_size
    async with ws.app.sessions() as db:
        pairs, total = await records_store.page(
            db, query.filters, offset=(query.page - 1) * size, limit=size
        )
        units = list(await repo.list_units(db)) if viewer_of(request).is_coordinator else []
    context = {
        "query": query,
        "rows": [table_row(record, unit) for record, unit in pairs],
        "total": total,
        "pages": max((total + size - 1) // size, 1),
        "first": (query.page - 1) * size + 1,
        "forms": load_forms(),
        "units": units,
        "export": urlencode({k: v for k, v in query.raw.items() if v}),
    }
    return render(request, "records.html.j2", context)


async def export(request: web.Request) -> web.StreamResponse:
    """The filtered table as a file, in the import/export format."""
    ws = workspace(request)
    fmt = request.match_info["fmt"]
    if fmt not in EXPORT_TYPES:
        raise web.HTTPNotFound()
    query = table_query(request)
    async with ws.app.sessions() as db:
        pairs = await records_store.matching(db, query.filters)
    folder = ws.settings.data_dir / "exports"
    folder.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=folder) as scratch:
        path = Path(scratch) / f"hoat-dong.{fmt}"
        rows = [(record.kind, unit.name, record.values) for record, unit in pairs]
        await asyncio.to_thread(write_records, path, fmt, rows)
        body = path.read_bytes()
    name = f"hoat-dong-{ws.now():%Y%m%d-%H%M}.{fmt}"
    return web.Response(
        body=body,
        content_type=EXPORT_TYPES[fmt],
        headers={"Content-Disposition": f"attachment; filename*=UTF-8''{quote(name)}"},
    )


# --- one record -------------------------------------------------------------------------


def _record_id(request: web.Request) -> int:
    text = request.match_info["record_id"]
    if not text.isdigit() or len(text) > 12:
        raise web.HTTPNotFound()
    return int(text)


async def own_record(request: web.Request, db) -> Record:
    """The live record, if the viewer may see it; 404 otherwise (the same answer whether
    it does not exist or belongs to another unit)."""
    record = await repo.live_record(db, _record_id(request))
    scope = unit_scope(request)
    if record is None or (scope is not None and record.unit_id != scope):
        raise web.HTTPNotFound()
    return record


def display_lines(form: Form, stored: dict) -> list[tuple[str, str]]:
    values = form.values_from_json(stored)
    return [(f.label, f.display(values.get(f.key))) for f in form.fields]


def _changes(form: Form, details: dict) -> list[tuple[str, str, str]]:
    """An update's changes as (label, before, after), read by the form's own display."""
    lines = []
    for key, (before, after) in sorted(details.get("changes", {}).items()):
        if key not in form.by_key:
            continue
        field = form.field(key)
        shown = [
            field.display(field.from_json(v) if v is not None else None) for v in (before, after)
        ]
        lines.append((field.label, *shown))
    return lines


async def record_page(request: web.Request) -> web.Response:
    ws = workspace(request)
    async with ws.app.sessions() as db:
        record = await own_record(request, db)
        unit = await db.get(Unit, record.unit_id)
        history = await records_store.history(db, record.id)
    form = load_forms()[record.kind]
    context = {
        "record": record,
        "unit": unit,
        "form": form,
        "lines": display_lines(form, record.values),
        "history": [(change, _changes(form, change.details)) for change in history],
    }
    return render(request, "record.html.j2", context)


def _submitted(form: Form, posted: MultiDictProxy) -> dict[str, str]:
    return {f.key: str(posted.get(f.key, "")) for f in form.fields}


def _form_page(request, form: Form, raw, errors, **context) -> web.Response:
    today = workspace(request).now().date()
    fields = web_forms.views(form, raw, errors, today)
    status = 400 if errors else 200
    context |= {"form": form, "fields": fields, "unit_error": "unit_id" in errors}
    return render(request, "record_form.html.j2", context, status)


async def edit_page(request: web.Request) -> web.Response:
    async with workspace(request).app.sessions() as db:
        record = await own_record(request, db)
    form = load_forms()[record.kind]
    raw = web_forms.raw_values(form, record.values)
    return _form_page(request, form, raw, {}, record=record, version=record.version)


async def save_edit(request: web.Request) -> web.StreamResponse:
    ws = workspace(request)
    person = viewer_of(request)
    posted = await request.post()
    version = str(posted.get("version", ""))
    async with ws.app.sessions() as db, db.begin():
        record = await own_record(request, db)
        form = load_forms()[record.kind]
        raw = _submitted(form, posted)
        values, errors = web_forms.read(form, raw, ws.now().date())
        if errors or not version.isdigit():
            return _form_page(request, form, raw, errors, record=record, version=version)
        try:
            await records_store.update(
                db, form, values, record_id=record.id, version=int(version),
                member_id=person.member_id, source="web",
            )  # fmt: skip
        except records_store.StaleRecord:
            raise redirect(f"{PREFIX}/records/{record.id}", "changed_elsewhere") from None
    raise redirect(f"{PREFIX}/records/{record.id}", "updated", id=record.id)


async def delete_page(request: web.Request) -> web.Response:
    async with workspace(request).app.sessions() as db:
        record = await own_record(request, db)
    form = load_forms()[record.kind]
    title = form.title(form.values_from_json(record.values))
    return render(
        request, "record_delete.html.j2", {"record": record, "form": form, "title": title}
    )


async def delete(request: web.Request) -> web.StreamResponse:
    ws = workspace(request)
    async with ws.app.sessions() as db, db.begin():
        record = await own_record(request, db)
        await records_store.delete(db, record, member_id=viewer_of(request).member_id, source="web")
    raise redirect(f"{PREFIX}/records", "deleted", id=record.id)


# --- a new record -----------------------------------------------------------------------


def _new_form(request: web.Request, kind: str) -> Form:
    form = load_forms().get(kind)
    if form is None:
        raise web.HTTPNotFound()
    return form


async def new_page(request: web.Request) -> web.Response:
    kind = request.query.get("loai", "")
    if not kind:
        return render(request, "record_pick.html.j2", {"forms": load_forms()})
    form = _new_form(request, kind)
    raw = {f.key: "" for f in form.fields}
    return _form_page(request, form, raw, {}, units=await _units(request), unit_id="")


async def _unit_for_new(request: web.Request, posted: MultiDictProxy) -> tuple[int | None, str]:
    """The unit a new record belongs to: a focal point's own; the one a coordinator chose."""
    scope = unit_scope(request)
    if scope is not None:
        return scope, ""
    chosen = str(posted.get("unit_id", ""))
    units = {unit.id for unit in await _units(request)}
    if chosen.isdigit() and int(chosen) in units:
        return int(chosen), chosen
    return None, chosen


async def save_new(request: web.Request) -> web.StreamResponse:
    ws = workspace(request)
    person = viewer_of(request)
    posted = await request.post()
    form = _new_form(request, str(posted.get("loai", "")))
    raw = _submitted(form, posted)
    values, errors = web_forms.read(form, raw, ws.now().date())
    unit_id, chosen = await _unit_for_new(request, posted)
    if unit_id is None:
        errors["unit_id"] = "unit"
    if errors:
        units = await _units(request)
        return _form_page(request, form, raw, errors, units=units, unit_id=chosen)
    async with ws.app.sessions() as db, db.begin():
        record = await records_store.create(
            db, form, values, unit_id=unit_id, member_id=person.member_id, source="web"
        )
    raise redirect(f"{PREFIX}/records/{record.id}", "saved", id=record.id)
