"""The backend: one aiohttp application serving the health check, the webhooks, file
links and the web workspace."""

from __future__ import annotations

import hmac
import json
import logging
from pathlib import Path
from urllib.parse import quote

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, generate_latest

from bot.app import App
from bot.webui.core import Workspace
from bot.webui.routes import add_workspace
from bot.zalo_client import SECRET_HEADER, parse_event
from domain.catalog import t
from storage import health, repo

log = logging.getLogger(__name__)

APP_KEY = web.AppKey("doingoai", App)
# Request bodies up to this size: Excel files uploaded on the web workspace.
UPLOAD_LIMIT = 10 * 1024**2
TELEGRAM_KEY = web.AppKey("telegram", object)
ZALO_KEY = web.AppKey("zalo", object)


async def healthz(request: web.Request) -> web.Response:
    """200 when a write to the database commits and the data folder has room; 503 with
    the reason otherwise."""
    app = request.app[APP_KEY]
    settings = app.settings
    try:
        await health.check_store(app.db_engine, settings.data_dir, settings.min_free_mb)
    except health.StorageProblem as problem:
        log.warning("health check failed: %s", problem.key)
        return web.json_response({"status": "error", "database": problem.key}, status=503)
    return web.json_response({"status": "ok"})


async def metrics(_request: web.Request) -> web.Response:
    """Counters for an operator's monitoring, in the Prometheus text format."""
    response = web.Response(body=generate_latest(REGISTRY))
    response.content_type = CONTENT_TYPE_LATEST.split(";")[0]
    return response


def secret_matches(request: web.Request, header: str, expected: str) -> bool:
    """Constant-time comparison; an unset secret refuses everything."""
    given = request.headers.get(header, "")
    return bool(expected) and hmac.compare_digest(given.encode(), expected.encode())


async def telegram_webhook(request: web.Request) -> web.Response:
    """Answers 200 only after the update has been processed and committed."""
    app = request.app[APP_KEY]
    if not secret_matches(
        request, "X-Telegram-Bot-Api-Secret-Token", app.settings.telegram_webhook_secret
    ):
        return web.json_response({"ok": False, "error": "forbidden"}, status=403)
    try:
        data = await request.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        return web.json_response({"ok": False, "error": "invalid JSON"}, status=400)
    telegram = request.app[TELEGRAM_KEY]
    try:
        update = telegram.parse_update(data if isinstance(data, dict) else {})
    except ValueError:
        return web.json_response({"ok": False, "error": "not an update"}, status=400)
    await telegram.process_update(update)
    return web.json_response({"ok": True})


async def zalo_webhook(request: web.Request) -> web.Response:
    """Zalo events: the secret header checked in constant time; 200 once processed."""
    app = request.app[APP_KEY]
    if not secret_matches(request, SECRET_HEADER, app.settings.zalo_webhook_secret):
        return web.json_response({"ok": False, "error": "forbidden"}, status=403)
    try:
        data = await request.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        return web.json_response({"ok": False, "error": "invalid JSON"}, status=400)
    if _zalo_event(data) is None:
        return web.json_response({"ok": False, "error": "not an event"}, status=400)
    await request.app[ZALO_KEY].process(data)
    return web.json_response({"ok": True})


def _zalo_event(data: object):
    """The event a webhook body holds, None when it is malformed."""
    try:
        return parse_event(data)
    except (ArithmeticError, TypeError, ValueError):  # e.g. "date": Infinity
        return None


async def download(request: web.Request) -> web.StreamResponse:
    """A generated file by its token; unknown or expired tokens get a short Vietnamese page."""
    app = request.app[APP_KEY]
    async with app.sessions() as db:
        link = await repo.file_for_token(db, request.match_info["token"])
    path = servable(link.path, app.settings.data_dir) if link is not None else None
    if path is None:
        page = EXPIRED_PAGE.format(title=t("files.expired_title"), text=t("files.expired"))
        return web.Response(text=page, status=404, content_type="text/html", charset="utf-8")
    return web.FileResponse(
        path,
        headers={"Content-Disposition": f"attachment; filename*=UTF-8''{quote(link.filename)}"},
    )


# The folders of the data directory that hold generated files (never the database or
# its key, which sit at the top).
GENERATED_FOLDERS = ("reports", "exports")


def servable(stored: str, data_dir: Path) -> Path | None:
    """The file a link names, only when it is a generated file inside the data directory
    (links and symbolic links resolved first)."""
    path = Path(stored).resolve()
    folders = [(data_dir / name).resolve() for name in GENERATED_FOLDERS]
    inside = any(path.is_relative_to(folder) for folder in folders)
    return path if inside and path.is_file() else None


EXPIRED_PAGE = (
    '<!doctype html><html lang="vi"><meta charset="utf-8"><title>{title}</title>'
    "<body><h1>{title}</h1><p>{text}</p></body></html>"
)


def build_web_app(
    app: App, telegram=None, zalo=None, workspace: Workspace | None = None
) -> web.Application:
    """The backend: health check, file links, the webhooks of the running messengers and,
    when given, the web workspace."""
    web_app = web.Application(client_max_size=UPLOAD_LIMIT)
    web_app[APP_KEY] = app
    if workspace is not None:
        add_workspace(web_app, workspace)
    web_app.router.add_get("/healthz", healthz)
    web_app.router.add_get("/metrics", metrics)
    web_app.router.add_get("/files/{token}", download)
    if telegram is not None:
        web_app[TELEGRAM_KEY] = telegram
        web_app.router.add_post("/telegram/webhook", telegram_webhook)
    if zalo is not None:
        web_app[ZALO_KEY] = zalo
        web_app.router.add_post("/zalo/webhook", zalo_webhook)
    return web_app
