"""Uploading many records at once: an Excel (or CSV) file in the export format, or a
table of the unit's own with its columns mapped on screen. Every row is checked with the
chat's parsers; any bad row means nothing is imported and every bad row is listed; a
clean file is previewed and imported only when confirmed."""

from __future__ import annotations

import re
import secrets
import shutil
import time
from pathlib import Path

from aiohttp import web
from multidict import MultiDictProxy

from bot.webui.core import PREFIX, redirect, render, unit_scope, viewer_of, workspace
from domain.catalog import t
from domain.forms import Form, load_forms
from domain.parsing import nfc
from storage.models import Unit
from storage.transfer import (
    ImportResult,
    check_rows,
    guess_mapping,
    headers,
    is_export_format,
    mapped_rows,
    read_rows,
    store_rows,
)

SUFFIXES = (".xlsx", ".csv")
UPLOAD_ID = re.compile(r"[A-Za-z0-9_\-]{16,64}")
UNSAFE = re.compile(r"[^\w.\-]+")
PREVIEW_ROWS = 20
KEEP_UPLOADS_SECONDS = 24 * 3600


def _folder(request: web.Request) -> Path:
    return workspace(request).settings.data_dir / "uploads"


def _upload_path(request: web.Request, upload_id: str) -> Path:
    """The viewer's own uploaded file (an upload is reachable only by who sent it)."""
    if not UPLOAD_ID.fullmatch(upload_id):
        raise web.HTTPBadRequest()
    folder = _folder(request) / f"{viewer_of(request).member_id}-{upload_id}"
    files = sorted(folder.glob("*")) if folder.is_dir() else []
    if not files:
        raise web.HTTPNotFound()
    return files[0]


def _forget_old_uploads(folder: Path) -> None:
    if not folder.is_dir():
        return
    for entry in folder.iterdir():
        if entry.stat().st_mtime < time.time() - KEEP_UPLOADS_SECONDS:
            shutil.rmtree(entry, ignore_errors=True)


async def upload_page(request: web.Request) -> web.Response:
    return render(request, "import.html.j2", {"stage": "upload", "problem": ""})


async def receive(request: web.Request) -> web.Response:
    """Keep the uploaded file, then check it (export format) or ask for the columns."""
    posted = await request.post()
    upload = posted.get("file")
    filename = nfc(Path(getattr(upload, "filename", "") or "").name)
    if (
        upload is None
        or not hasattr(upload, "file")
        or Path(filename).suffix.lower() not in SUFFIXES
    ):
        context = {"stage": "upload", "problem": "type"}
        return render(request, "import.html.j2", context, status=400)
    _forget_old_uploads(_folder(request))
    upload_id = secrets.token_urlsafe(18)
    folder = _folder(request) / f"{viewer_of(request).member_id}-{upload_id}"
    folder.mkdir(parents=True)
    path = folder / (UNSAFE.sub("_", filename) or f"tep{Path(filename).suffix.lower()}")
    path.write_bytes(upload.file.read())
    try:
        export_format = is_export_format(path)
        columns = [] if export_format else headers(path)
    except Exception:  # not a readable spreadsheet, whatever the library says
        context = {"stage": "upload", "problem": "unreadable"}
        return render(request, "import.html.j2", context, status=400)
    if export_format:
        return await _checked(request, upload_id, path, "", {})
    return _mapping_page(request, upload_id, path, columns, "", {})


def _mapping_page(request, upload_id, path, columns, kind, mapping, status=200) -> web.Response:
    forms = load_forms()
    form = forms.get(kind)
    if form is not None and not mapping:
        mapping = guess_mapping(form, columns)
    targets = [(f.key, f.label) for f in form.fields] if form else []
    if viewer_of(request).is_coordinator:
        targets.insert(0, ("don_vi", t("web.import_unit_column")))
    context = {
        "stage": "map", "upload_id": upload_id, "filename": path.name, "columns": columns,
        "forms": forms, "form": form, "kind": kind, "mapping": mapping, "problem": "",
        "targets": targets,
    }  # fmt: skip
    return render(request, "import.html.j2", context, status=status)


def _posted_mapping(form: Form, posted: MultiDictProxy, columns: list[str]) -> dict[str, str]:
    mapping = {}
    for key in ["don_vi", *(f.key for f in form.fields)]:
        column = str(posted.get(f"col_{key}", ""))
        mapping[key] = column if column in columns else ""
    return mapping


async def _own_unit(request: web.Request) -> Unit | None:
    scope = unit_scope(request)
    if scope is None:
        return None
    async with workspace(request).app.sessions() as db:
        return await db.get(Unit, scope)


async def _check(request, path: Path, kind: str, mapping: dict[str, str]) -> ImportResult:
    ws = workspace(request)
    rows = mapped_rows(path, kind, mapping) if kind else read_rows(path)
    only_unit = await _own_unit(request)
    async with ws.app.sessions() as db:
        return await check_rows(db, rows, ws.now().date(), only_unit=only_unit)


async def _checked(request, upload_id: str, path: Path, kind: str, mapping) -> web.Response:
    """Every bad row listed, or a preview with the confirm button."""
    result = await _check(request, path, kind, mapping)
    forms = load_forms()
    by_type = {key: [r for r in result.rows if r.form.key == key] for key in forms}
    preview = [(forms[k], rows[:PREVIEW_ROWS], len(rows)) for k, rows in by_type.items() if rows]
    context = {
        "stage": "errors" if result.errors or not result.rows else "preview",
        "skipped": result.skipped,
        "upload_id": upload_id, "filename": path.name, "kind": kind, "mapping": mapping,
        "errors": result.errors, "total": len(result.rows), "problem": "",
        "preview": preview,
    }  # fmt: skip
    return render(request, "import.html.j2", context, status=400 if result.errors else 200)


async def map_columns(request: web.Request) -> web.Response:
    posted = await request.post()
    upload_id = str(posted.get("upload_id", ""))
    path = _upload_path(request, upload_id)
    columns = headers(path)
    form = load_forms().get(str(posted.get("loai", "")))
    if form is None:
        return _mapping_page(request, upload_id, path, columns, "", {})
    if posted.get("step") == "type":  # the type was just chosen: propose the columns
        return _mapping_page(request, upload_id, path, columns, form.key, {})
    mapping = _posted_mapping(form, posted, columns)
    return await _checked(request, upload_id, path, form.key, mapping)


async def confirm(request: web.Request) -> web.StreamResponse:
    """Check the file again and import every row in one transaction, or nothing."""
    ws = workspace(request)
    posted = await request.post()
    upload_id = str(posted.get("upload_id", ""))
    path = _upload_path(request, upload_id)
    form = load_forms().get(str(posted.get("loai", "")))
    mapping = _posted_mapping(form, posted, headers(path)) if form else {}
    result = await _check(request, path, form.key if form else "", mapping)
    if result.errors or not result.rows:
        return await _checked(request, upload_id, path, form.key if form else "", mapping)
    async with ws.app.sessions() as db, db.begin():
        await store_rows(
            db, result, member_id=viewer_of(request).member_id, source="web", file_name=path.name
        )
    shutil.rmtree(path.parent, ignore_errors=True)
    raise redirect(f"{PREFIX}/records", "imported", n=result.imported)
