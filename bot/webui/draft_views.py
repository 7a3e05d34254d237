"""The draft report of a round: rendered as HTML with its gaps highlighted and each figure
linked to the records it counts; the standing paragraphs of its sections and its header
edited in place and saved for the round; the .docx and both .xlsx to download."""

from __future__ import annotations

import asyncio
import tempfile
from datetime import date
from pathlib import Path
from urllib.parse import quote

from aiohttp import web
from multidict import MultiDictProxy

from bot.webui.core import PREFIX, redirect, render, viewer_of, workspace
from bot.webui.record_views import table_row
from bot.webui.round_views import round_or_404
from domain.catalog import t
from domain.parsing import ParseError, clean_text, parse_date, parse_text
from domain.periods import Period
from domain.rounds import round_label
from handlers.reports import round_report_period
from storage import records as records_store
from storage import report_texts
from storage.models import Round
from templates.report.build import Report, build_report, default_template
from templates.report.header import Header
from templates.report.html_writer import to_html
from templates.report.previous import place, read_paragraphs, store_placement
from templates.report.render import TEMPLATES
from templates.report.standing import UNPLACED, load_sections

MAX_TEXT_CHARS = 20000
REPORT_SUFFIXES = (".docx", ".txt")
MAX_LINE_CHARS = 300
DOWNLOADS = {
    "docx": ("docx", "application/vnd.openxmlformats-officedocument.wordprocessingml.document"),
    "xlsx": ("xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
    "data": ("xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
}


def _period(request: web.Request, round_: Round) -> Period:
    ws = workspace(request)
    return round_report_period(round_, ws.now().date(), ws.settings)


def _template(request: web.Request, round_: Round) -> str:
    """The template asked for (?mau=…), or the round's default; 404 for an unknown one."""
    name = request.query.get("mau", "") or default_template(_period(request, round_))
    if name not in TEMPLATES:
        raise web.HTTPNotFound()
    return name


def _base(round_: Round, template: str) -> str:
    return f"{PREFIX}/rounds/{round_.id}/draft?mau={template}"


async def _report(request: web.Request, round_: Round, template: str) -> Report:
    ws = workspace(request)
    period = _period(request, round_)
    return await build_report(ws.app.sessions, ws.settings, period, template, round_id=round_.id)


async def draft_page(request: web.Request) -> web.Response:
    ws = workspace(request)
    round_ = await round_or_404(request)
    template = _template(request, round_)
    report = await _report(request, round_, template)
    base = f"{PREFIX}/rounds/{round_.id}/draft"
    html = to_html(report.rendered, lambda n: f"{base}/ref/{n}?mau={template}")
    async with ws.app.sessions() as db:
        own = await report_texts.texts_of_round(db, round_.id)
        saved = Header.from_values(await report_texts.header(db, round_.id, template))
    standing = report.texts
    sections = load_sections()
    texts = [
        {
            "key": key,
            "title": sections[key].title,
            "text": own[key].text if key in own else "\n".join(standing[key].paragraphs)
            if key in standing else "",
            "carried_from": None if key in own or key not in standing
            else round_label(standing[key].carried_from),
            "changed": own.get(key),
        }
        for key in report.rendered.sections
    ]  # fmt: skip
    context = {
        "round": round_,
        "label": round_label(round_.id, round_.message),
        "template": template,
        "templates": {name: t(f"report.templates.{name}") for name in TEMPLATES},
        "draft": html,
        "gaps": report.markdown.count("[CẦN BỔ SUNG"),
        "texts": texts,
        "header": saved,
        "period": report.period.phrase(),
        "previous": round_label(previous) if (previous := previous_round_id(round_)) else "",
        "as_of": report.period.as_of_phrase(),
    }
    return render(request, "draft.html.j2", context)


async def save_text(request: web.Request) -> web.StreamResponse:
    """A section's standing text for the round, written in the draft page."""
    ws = workspace(request)
    round_ = await round_or_404(request)
    template = _template(request, round_)
    form = await request.post()
    section = str(form.get("section", ""))
    if section not in load_sections():
        raise web.HTTPBadRequest()
    text = clean_text(str(form.get("text", ""))).replace("\r\n", "\n").strip()
    if len(text) > MAX_TEXT_CHARS:
        raise redirect(_base(round_, template), "text_too_long", maximum=MAX_TEXT_CHARS)
    async with ws.app.sessions() as db, db.begin():
        await report_texts.set_text(
            db, round_.id, section, text, source="web",
            member_id=viewer_of(request).member_id, via="web",
        )  # fmt: skip
    raise redirect(_base(round_, template), "text_saved", anchor=f"doan-{section}")


async def save_header(request: web.Request) -> web.StreamResponse:
    """The header and signer of this round's report in this template."""
    ws = workspace(request)
    round_ = await round_or_404(request)
    template = _template(request, round_)
    form = await request.post()
    try:
        header = header_from_form(form, ws.now().date())
    except ParseError:
        raise redirect(_base(round_, template), "header_bad_date") from None
    async with ws.app.sessions() as db, db.begin():
        await report_texts.set_header(
            db, round_.id, template, header.to_values(),
            member_id=viewer_of(request).member_id, via="web",
        )  # fmt: skip
    raise redirect(_base(round_, template), "header_saved", anchor="phan-dau")


def header_from_form(form: MultiDictProxy, today: date) -> Header:
    """The header fields of the form; a date that cannot be read raises ParseError."""

    def line(name: str) -> str:
        text = str(form.get(name, "")).strip()
        return parse_text(text, MAX_LINE_CHARS) if text else ""

    def lines(name: str) -> tuple[str, ...]:
        return tuple(
            parse_text(row, MAX_LINE_CHARS)
            for row in str(form.get(name, "")).splitlines()
            if row.strip()
        )

    def day(name: str) -> date | None:
        text = str(form.get(name, "")).strip()
        return parse_date(text, today) if text else None

    return Header(
        addressee=line("addressee"),
        request_number=line("request_number"),
        request_date=day("request_date"),
        request_issuer=line("request_issuer"),
        request_subject=line("request_subject"),
        recipients=lines("recipients"),
        signer_titles=lines("signer_titles"),
        signer_name=line("signer_name"),
        sign_date=day("sign_date"),
    )


def previous_round_id(round_: Round) -> str | None:
    """The round of the same kind a year earlier (whose signed report a new draft starts
    from); None for an ad hoc round."""
    if round_.kind not in ("H1", "Y"):
        return None
    return f"{int(round_.id[:4]) - 1}-{round_.kind}"


async def import_previous(request: web.Request) -> web.Response:
    """Last period's signed report (.docx or .txt) as the previous round's standing texts,
    which this draft then carries for review."""
    ws = workspace(request)
    round_ = await round_or_404(request)
    template = _template(request, round_)
    previous = previous_round_id(round_)
    posted = await request.post()
    upload = posted.get("file")
    filename = Path(getattr(upload, "filename", "") or "").name
    if previous is None or upload is None or not hasattr(upload, "file"):
        raise web.HTTPBadRequest()
    back = _base(round_, template)
    if Path(filename).suffix.lower() not in REPORT_SUFFIXES:
        raise redirect(back, "report_file_type", anchor="nhap-bao-cao")
    folder = ws.settings.data_dir / "uploads"
    folder.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=folder) as scratch:
        path = Path(scratch) / f"bao-cao{Path(filename).suffix.lower()}"
        path.write_bytes(upload.file.read())
        try:
            placement = place(read_paragraphs(path))
        except Exception:  # not a readable document, whatever the library says
            raise redirect(
                _base(round_, template), "report_unreadable", anchor="nhap-bao-cao"
            ) from None
    async with ws.app.sessions() as db, db.begin():
        taken = await store_placement(
            db, previous, placement, source=f"import:{filename}",
            replace=posted.get("replace") == "1", member_id=viewer_of(request).member_id,
            via="web",
        )  # fmt: skip
    sections = load_sections()
    context = {
        "round": round_,
        "label": round_label(round_.id),
        "previous": round_label(previous),
        "template": template,
        "taken": [sections[key].title for key in taken],
        "placed": [
            (sections[key].title, len(found))
            for key, found in placement.sections.items()
            if key != UNPLACED
        ],
        "unplaced": placement.unplaced,
        "left_out": placement.left_out,
    }
    return render(request, "draft_import.html.j2", context, status=409 if taken else 200)


async def download(request: web.Request) -> web.StreamResponse:
    """The draft as .docx, its annexes or its data file."""
    ws = workspace(request)
    round_ = await round_or_404(request)
    template = _template(request, round_)
    fmt = request.match_info["fmt"]
    if fmt not in DOWNLOADS:
        raise web.HTTPNotFound()
    suffix, content_type = DOWNLOADS[fmt]
    report = await _report(request, round_, template)
    folder = ws.settings.data_dir / "reports"
    folder.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=folder) as scratch:
        path = Path(scratch) / f"draft.{suffix}"
        await asyncio.to_thread(report.write, path, fmt)
        body = path.read_bytes()
    kind = {"docx": "bao-cao", "xlsx": "phu-luc", "data": "du-lieu"}[fmt]
    name = f"{kind}-{round_.id}-{ws.now():%Y%m%d-%H%M}.{suffix}"
    return web.Response(
        body=body,
        content_type=content_type,
        headers={"Content-Disposition": f"attachment; filename*=UTF-8''{quote(name)}"},
    )


async def figure_records(request: web.Request) -> web.Response:
    """The records one figure of the draft counts ("15 đoàn" -> those 15)."""
    ws = workspace(request)
    round_ = await round_or_404(request)
    template = _template(request, round_)
    index = request.match_info["index"]
    report = await _report(request, round_, template)
    if not index.isdigit() or int(index) >= len(report.rendered.refs):
        raise web.HTTPNotFound()
    ids = report.rendered.refs[int(index)]
    async with ws.app.sessions() as db:
        pairs = await records_store.by_ids(db, ids)
    context = {
        "round": round_,
        "label": round_label(round_.id, round_.message),
        "template": template,
        "rows": [table_row(record, unit) for record, unit in pairs],
    }
    return render(request, "draft_figure.html.j2", context)
