"""What every page shares: the workspace context, the signed-in viewer, access rules,
CSRF, security headers, Vietnamese error pages and rendering.

Each route declares who may open it (ACCESS): "public", "member" (any signed-in person)
or "coordinator". A focal point reaches only their own unit's data: views narrow every
query to `viewer.unit_id`, and answer 404 for another unit's record.
"""

from __future__ import annotations

import hmac
import logging
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from aiohttp import web
from jinja2 import (
    Environment,
    FileSystemLoader,
    StrictUndefined,
    UndefinedError,
    select_autoescape,
)

from bot.app import App
from domain.catalog import FILTERS, has, t
from storage import web_auth
from storage.web_auth import Viewer

log = logging.getLogger(__name__)

TEMPLATES_DIR = Path(__file__).resolve().parents[2] / "templates" / "web"
STATIC_DIR = TEMPLATES_DIR / "static"
PREFIX = "/web"
SESSION_COOKIE = "doingoai_session"
ANON_CSRF_COOKIE = "doingoai_csrf"
CSRF_FIELD = "csrf"
ACCESS_LEVELS = ("public", "member", "coordinator")

Deliver = Callable[[str, Any], Awaitable[str]]
View = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass(frozen=True)
class InviteLinks:
    """Where an invite code can be redeemed: a Telegram deep link, the Zalo bot's page."""

    telegram_username: str = ""
    zalo_link: str = ""


@dataclass
class Workspace:
    app: App
    deliver: Deliver | None  # None: reminders go through the outbox
    links: InviteLinks = field(default_factory=InviteLinks)
    clock: Callable[[], datetime] | None = None
    env: Environment = field(init=False)

    def __post_init__(self) -> None:
        self.env = Environment(
            loader=FileSystemLoader(TEMPLATES_DIR),
            autoescape=select_autoescape(["j2"]),
            undefined=StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
        )
        self.env.filters.update(FILTERS, local_time=self.local_time)
        self.env.globals.update(t=t)

    @property
    def settings(self):
        return self.app.settings

    def now(self) -> datetime:
        return (self.clock or (lambda: datetime.now(self.settings.tz)))().astimezone(
            self.settings.tz
        )

    def local_time(self, stored: datetime | None) -> str:
        """A stored naive-UTC time as the province reads it: 15/06/2023 09:05."""
        if stored is None:
            return ""
        return stored.replace(tzinfo=UTC).astimezone(self.settings.tz).strftime("%d/%m/%Y %H:%M")


WORKSPACE = web.AppKey("workspace", Workspace)
VIEWER = web.RequestKey("viewer", Viewer)
ANON_CSRF = web.RequestKey("anon_csrf", str)


def workspace(request: web.Request) -> Workspace:
    return request.app[WORKSPACE]


def viewer_of(request: web.Request) -> Viewer:
    return request[VIEWER]


# --- access -----------------------------------------------------------------------------


def guarded(access: str, view: View) -> View:
    """The view behind its access rule: strangers go to the sign-in page, focal points
    get 403 on coordinator pages."""
    if access not in ACCESS_LEVELS:
        raise ValueError(access)

    async def handler(request: web.Request) -> web.StreamResponse:
        person = request.get(VIEWER)
        if access != "public" and person is None:
            raise web.HTTPSeeOther(f"{PREFIX}/login")
        if access == "coordinator" and not person.is_coordinator:
            raise web.HTTPForbidden()
        return await view(request)

    handler.access = access  # type: ignore[attr-defined]
    return handler


def unit_scope(request: web.Request) -> int | None:
    """The only unit a focal point may see; None (every unit) for coordinators."""
    person = viewer_of(request)
    return None if person.is_coordinator else person.unit_id


# --- middlewares ------------------------------------------------------------------------


def _is_web(request: web.Request) -> bool:
    return request.path == PREFIX or request.path.startswith(PREFIX + "/")


@web.middleware
async def sessions(request: web.Request, handler: View) -> web.StreamResponse:
    """Load the signed-in viewer from the session cookie (web pages only)."""
    if _is_web(request) and not request.path.startswith(f"{PREFIX}/static/"):
        token = request.cookies.get(SESSION_COOKIE, "")
        if token:
            ws = workspace(request)
            idle = timedelta(minutes=ws.settings.web_idle_minutes)
            async with ws.app.sessions() as db, db.begin():
                request[VIEWER] = await web_auth.viewer(db, token, idle)
    return await handler(request)


@web.middleware
async def csrf(request: web.Request, handler: View) -> web.StreamResponse:
    """Every form POST carries the token of the session (or, before signing in, of the
    CSRF cookie); anything else is refused with 403."""
    if request.method == "POST" and _is_web(request):
        person = request.get(VIEWER)
        expected = person.csrf if person else request.cookies.get(ANON_CSRF_COOKIE, "")
        try:
            given = str((await request.post()).get(CSRF_FIELD, ""))
        except ValueError as error:  # a malformed body
            raise web.HTTPBadRequest() from error
        if not expected or not hmac.compare_digest(given.encode(), expected.encode()):
            raise web.HTTPForbidden(reason="csrf")
    return await handler(request)


# The pages need nothing from elsewhere: everything is served by the backend.
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
        "object-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
}
ERROR_PAGES = {400: "bad_request", 403: "forbidden", 404: "not_found", 405: "bad_request"}


@web.middleware
async def pages(request: web.Request, handler: View) -> web.StreamResponse:
    """Security headers on every web page; HTTP errors as Vietnamese pages."""
    if not _is_web(request):
        return await handler(request)
    try:
        response = await handler(request)
    except web.HTTPException as error:
        if error.status < 400 or error.status not in ERROR_PAGES:
            raise
        key = "csrf" if error.reason == "csrf" else ERROR_PAGES[error.status]
        response = render(request, "error.html.j2", {"error": key}, status=error.status)
    response.headers.update(SECURITY_HEADERS)
    if request.path.startswith(f"{PREFIX}/static/"):
        response.headers["Cache-Control"] = "public, max-age=3600"
    else:
        response.headers["Cache-Control"] = "no-store"
    return response


# --- rendering --------------------------------------------------------------------------


def secure_cookies(request: web.Request) -> bool:
    return workspace(request).settings.web_base_url.startswith("https://")


def anonymous_csrf(request: web.Request) -> str:
    """The pre-sign-in CSRF token (a cookie set on the response by `render`)."""
    if ANON_CSRF not in request:
        request[ANON_CSRF] = request.cookies.get(ANON_CSRF_COOKIE) or secrets.token_urlsafe(32)
    return request[ANON_CSRF]


def render(
    request: web.Request, template: str, context: dict[str, Any], status: int = 200
) -> web.Response:
    ws = workspace(request)
    person = request.get(VIEWER)
    token = person.csrf if person else anonymous_csrf(request)
    html = ws.env.get_template(template).render(
        viewer=person,
        csrf=token,
        nav=navigation(person),
        path=request.path,
        flash=flash_message(request),
        **context,
    )
    response = web.Response(text=html, status=status, content_type="text/html", charset="utf-8")
    if person is None and request.cookies.get(ANON_CSRF_COOKIE) != token:
        response.set_cookie(
            ANON_CSRF_COOKIE, token, httponly=True, samesite="Lax", path=PREFIX,
            secure=secure_cookies(request),
        )  # fmt: skip
    return response


def redirect(
    location: str, message: str = "", anchor: str = "", **numbers: int
) -> web.HTTPSeeOther:
    """After a change: back to a page (at `anchor`), with a catalogue message
    (web.flash.KEY) to show there and the whole numbers it needs."""
    if message:
        query = urlencode({"msg": message, **numbers})
        location += ("&" if "?" in location else "?") + query
    return web.HTTPSeeOther(location + (f"#{anchor}" if anchor else ""))


def flash_message(request: web.Request) -> str:
    """The message a redirect asked for; unknown keys and non-numbers are ignored."""
    key = f"web.flash.{request.query.get('msg', '')}"
    if not has(key):
        return ""
    numbers = {k: int(v) for k, v in request.query.items() if k != "msg" and v.isdigit()}
    try:
        return t(key, **numbers)
    except UndefinedError:
        return ""


@dataclass(frozen=True)
class NavItem:
    key: str
    path: str
    access: str


# The menu, in order. A new page is one more item here, a route and a template.
NAV = (
    NavItem("home", f"{PREFIX}/", "member"),
    NavItem("records", f"{PREFIX}/records", "member"),
    NavItem("import", f"{PREFIX}/import", "member"),
    NavItem("charts", f"{PREFIX}/charts", "member"),
    NavItem("invites", f"{PREFIX}/invites", "coordinator"),
    NavItem("units", f"{PREFIX}/units", "coordinator"),
)


def navigation(person: Viewer | None) -> list[NavItem]:
    if person is None:
        return []
    return [item for item in NAV if item.access == "member" or person.is_coordinator]
