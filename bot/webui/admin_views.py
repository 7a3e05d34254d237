"""Coordinators: invites (with deep links and QR codes to scan) and the unit list."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import quote

import segno
from aiohttp import web
from markupsafe import Markup

from bot.webui.core import PREFIX, redirect, render, viewer_of, workspace
from domain.parsing import ParseError, parse_text
from handlers.units import ROLES
from storage import directory, repo
from storage.models import Unit

UNIT_NAME_LENGTH = 200


def _qr(text: str) -> Markup:
    """A QR code as inline SVG (drawn here: nothing is fetched from elsewhere)."""
    return Markup(segno.make(text, error="m").svg_inline(scale=4, border=2))


def _id(request: web.Request, name: str) -> int:
    text = request.match_info[name]
    if not text.isdigit() or len(text) > 12:
        raise web.HTTPNotFound()
    return int(text)


async def _audit(db, request: web.Request, action: str, entity: str, entity_id, details) -> None:
    await repo.audit(
        db, member_id=viewer_of(request).member_id, action=action, entity=entity,
        entity_id=entity_id, details=details, source="web",
    )  # fmt: skip


# --- invites ----------------------------------------------------------------------------


async def _invites_page(request: web.Request, created: dict | None = None, status=200):
    async with workspace(request).app.sessions() as db:
        units = list(await repo.list_units(db))
        lines = await directory.invites(db)
    context = {"units": units, "invites": lines, "roles": ROLES, "created": created}
    return render(request, "invites.html.j2", context, status=status)


async def invites_page(request: web.Request) -> web.Response:
    return await _invites_page(request)


def invite_links(request: web.Request, code: str) -> list[dict]:
    """Where the invited person redeems the code, each with a QR code."""
    ws = workspace(request)
    links = []
    username = ws.links.telegram_username or ws.settings.telegram_bot_username
    if username:
        url = f"https://t.me/{quote(username.lstrip('@'))}?start={code}"
        links.append({"channel": "telegram", "url": url, "qr": _qr(url)})
    if ws.links.zalo_link or ws.settings.zalo_bot_link:
        url = ws.links.zalo_link or ws.settings.zalo_bot_link
        links.append({"channel": "zalo", "url": url, "qr": _qr(url)})
    return links


async def create_invite(request: web.Request) -> web.Response:
    ws = workspace(request)
    posted = await request.post()
    role = str(posted.get("role", ""))
    unit_text = str(posted.get("unit_id", ""))
    if role not in ROLES:
        raise web.HTTPBadRequest()
    async with ws.app.sessions() as db, db.begin():
        unit = await db.get(Unit, int(unit_text)) if unit_text.isdigit() else None
        if role == "focal_point" and (unit is None or not unit.active):
            return await _invites_page(request, {"problem": "unit"}, status=400)
        unit_id = unit.id if role == "focal_point" else None
        code = await repo.create_invite(
            db, role=role, unit_id=unit_id, ttl=timedelta(days=ws.settings.invite_ttl_days),
            created_by=viewer_of(request).member_id,
        )  # fmt: skip
        await _audit(db, request, "invite", "unit", unit_id, {"role": role})
    created = {
        "code": code,
        "role": role,
        "unit": unit.name if unit_id else ws.settings.department_name,
        "days": ws.settings.invite_ttl_days,
        "links": invite_links(request, code),
    }
    return await _invites_page(request, created)


async def revoke_invite(request: web.Request) -> web.StreamResponse:
    async with workspace(request).app.sessions() as db, db.begin():
        invite = await directory.revoke_invite(db, _id(request, "invite_id"))
        if invite is None:
            raise web.HTTPNotFound()
        await _audit(db, request, "revoke", "invite", invite.id, {})
    raise redirect(f"{PREFIX}/invites", "invite_revoked")


# --- units ------------------------------------------------------------------------------


async def _units_page(request: web.Request, problem: str = "", status: int = 200):
    async with workspace(request).app.sessions() as db:
        lines = await directory.all_units(db)
    active = [line.unit for line in lines if line.unit.active]
    context = {"lines": lines, "active": active, "problem": problem}
    return render(request, "units.html.j2", context, status=status)


async def units_page(request: web.Request) -> web.Response:
    return await _units_page(request)


async def _unit(db, request: web.Request) -> Unit:
    unit = await db.get(Unit, _id(request, "unit_id"))
    if unit is None:
        raise web.HTTPNotFound()
    return unit


def _name(posted) -> str | None:
    try:
        return parse_text(str(posted.get("name", "")), UNIT_NAME_LENGTH)
    except ParseError:
        return None


async def add_unit(request: web.Request) -> web.StreamResponse:
    name = _name(await request.post())
    if name is None:
        return await _units_page(request, "name", 400)
    async with workspace(request).app.sessions() as db, db.begin():
        if await repo.unit_by_name(db, name) is not None:
            return await _units_page(request, "exists", 400)
        unit = await repo.add_unit(db, name)
        await _audit(db, request, "create", "unit", unit.id, {"name": name})
    raise redirect(f"{PREFIX}/units", "unit_added")


async def rename_unit(request: web.Request) -> web.StreamResponse:
    name = _name(await request.post())
    if name is None:
        return await _units_page(request, "name", 400)
    async with workspace(request).app.sessions() as db, db.begin():
        unit = await _unit(db, request)
        other = await repo.unit_by_name(db, name)
        if other is not None and other.id != unit.id:
            return await _units_page(request, "exists", 400)
        await _audit(db, request, "rename", "unit", unit.id, {"from": unit.name, "to": name})
        unit.name = name
    raise redirect(f"{PREFIX}/units", "unit_renamed")


async def merge_unit(request: web.Request) -> web.StreamResponse:
    target_text = str((await request.post()).get("into", ""))
    async with workspace(request).app.sessions() as db, db.begin():
        unit = await _unit(db, request)
        target = await db.get(Unit, int(target_text)) if target_text.isdigit() else None
        if target is None or not target.active or target.id == unit.id:
            return await _units_page(request, "merge", 400)
        moved = await directory.merge_units(db, unit, target)
        await _audit(db, request, "merge", "unit", unit.id, {"into": target.id, "records": moved})
    raise redirect(f"{PREFIX}/units", "unit_merged", n=moved)


async def set_active(request: web.Request) -> web.StreamResponse:
    active = str((await request.post()).get("active", "")) == "1"
    async with workspace(request).app.sessions() as db, db.begin():
        unit = await _unit(db, request)
        unit.active = active
        await _audit(db, request, "activate" if active else "deactivate", "unit", unit.id, {})
    raise redirect(f"{PREFIX}/units", "unit_activated" if active else "unit_deactivated")
