"""Signing in: the one-time link from the chat, a coordinator's password, signing out."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from functools import cache

from aiohttp import web

from bot.webui.core import (
    PREFIX,
    SESSION_COOKIE,
    redirect,
    render,
    secure_cookies,
    viewer_of,
    workspace,
)
from domain.parsing import ParseError, nfc, parse_text
from storage import repo, web_auth
from storage.clock import utcnow

MIN_PASSWORD = 10
MAX_PASSWORD = 200
USERNAME_LENGTH = 64


@cache
def _decoy_hash() -> str:
    """Checked when the login name is unknown, so both failures take as long."""
    return web_auth.hash_password("decoy password")


async def _signed_in(request: web.Request, member_id: int, how: str) -> web.HTTPSeeOther:
    """Open a session for the member and answer with its cookie."""
    ws = workspace(request)
    async with ws.app.sessions() as db, db.begin():
        token = await web_auth.open_session(
            db, member_id, timedelta(hours=ws.settings.web_session_hours)
        )
        await repo.audit(
            db, member_id=member_id, action="sign_in", entity="member", entity_id=member_id,
            details={"how": how}, source="web",
        )  # fmt: skip
    response = web.HTTPSeeOther(f"{PREFIX}/")
    response.set_cookie(
        SESSION_COOKIE, token, httponly=True, samesite="Lax", path=PREFIX,
        secure=secure_cookies(request), max_age=ws.settings.web_session_hours * 3600,
    )  # fmt: skip
    return response


async def link_page(request: web.Request) -> web.Response:
    """The link from the chat shows a button: link previews and scanners that fetch the
    URL do not use up the token; only the person's click (a POST) does."""
    return render(request, "login_link.html.j2", {"token": request.match_info["token"]})


async def link_sign_in(request: web.Request) -> web.StreamResponse:
    ws = workspace(request)
    async with ws.app.sessions() as db, db.begin():
        member_id = await web_auth.redeem_login_token(db, request.match_info["token"])
        known = await web_auth.member_role(db, member_id) if member_id else None
    if member_id is None or known is None or not known[1]:
        return render(request, "login_link.html.j2", {"token": "", "expired": True}, status=400)
    raise await _signed_in(request, member_id, "link")


async def password_page(request: web.Request) -> web.Response:
    return render(request, "login.html.j2", {"error": "", "username": ""})


def _client_address(request: web.Request) -> str:
    return request.remote or "unknown"


async def password_sign_in(request: web.Request) -> web.StreamResponse:
    ws = workspace(request)
    form = await request.post()
    username = nfc(str(form.get("username", ""))).strip().lower()[:USERNAME_LENGTH]
    password = str(form.get("password", ""))
    keys = [f"user:{username}", f"ip:{_client_address(request)}"]
    window = timedelta(minutes=ws.settings.web_signin_window_minutes)
    async with ws.app.sessions() as db, db.begin():
        failures = await web_auth.failures_since(db, keys, utcnow() - window)
        if failures >= ws.settings.web_signin_max_failures:
            context = {"error": "throttled", "username": username, "minutes": window.seconds // 60}
            return render(request, "login.html.j2", context, status=429)
        found = await web_auth.credential(db, username)
        stored = found.password_hash if found else await asyncio.to_thread(_decoy_hash)
        matches = await asyncio.to_thread(web_auth.password_matches, stored, password)
        role = await web_auth.member_role(db, found.member_id) if found else None
        allowed = matches and role == ("coordinator", True)
        if not allowed:
            await web_auth.record_failure(db, keys)
    if not allowed:
        return render(request, "login.html.j2", {"error": "wrong", "username": username}, 401)
    raise await _signed_in(request, found.member_id, "password")


async def sign_out(request: web.Request) -> web.StreamResponse:
    ws = workspace(request)
    async with ws.app.sessions() as db, db.begin():
        await web_auth.close_session(db, viewer_of(request).session_id)
    response = web.HTTPSeeOther(f"{PREFIX}/login")
    response.del_cookie(SESSION_COOKIE, path=PREFIX)
    raise response


# --- a coordinator's password -----------------------------------------------------------


async def password_settings(request: web.Request) -> web.Response:
    ws = workspace(request)
    async with ws.app.sessions() as db:
        found = await web_auth.credential_of(db, viewer_of(request).member_id)
    username = found.username if found else ""
    context = {"errors": {}, "username": username, "has_password": bool(found)}
    return render(request, "password.html.j2", context)


def _password_errors(username: str, password: str, again: str) -> dict[str, str]:
    errors = {}
    try:
        parse_text(username, USERNAME_LENGTH)
    except ParseError:
        errors["username"] = "username"
    if not MIN_PASSWORD <= len(password) <= MAX_PASSWORD:
        errors["password"] = "password_length"
    elif password != again:
        errors["again"] = "password_mismatch"
    return errors


async def save_password(request: web.Request) -> web.StreamResponse:
    ws = workspace(request)
    person = viewer_of(request)
    form = await request.post()
    username = nfc(str(form.get("username", ""))).strip().lower()
    password, again = str(form.get("password", "")), str(form.get("again", ""))
    errors = _password_errors(username, password, again)
    async with ws.app.sessions() as db, db.begin():
        taken = await web_auth.credential(db, username)
        if taken is not None and taken.member_id != person.member_id:
            errors["username"] = "username_taken"
        if not errors:
            hashed = await asyncio.to_thread(web_auth.hash_password, password)
            await web_auth.set_password(db, person.member_id, username, hashed)
            await repo.audit(
                db, member_id=person.member_id, action="set_password", entity="member",
                entity_id=person.member_id, source="web",
            )  # fmt: skip
    if errors:
        context = {"errors": errors, "username": username, "has_password": False}
        return render(request, "password.html.j2", context, status=400)
    raise redirect(f"{PREFIX}/", "password_saved")
