"""The backend: one aiohttp application serving the health check and the webhooks."""

from __future__ import annotations

import hmac
import json
import logging

from aiohttp import web
from sqlalchemy import text

from bot.app import App

log = logging.getLogger(__name__)

APP_KEY = web.AppKey("doingoai", App)
TELEGRAM_KEY = web.AppKey("telegram", object)


async def healthz(request: web.Request) -> web.Response:
    """200 when the database answers, 503 otherwise."""
    app = request.app[APP_KEY]
    try:
        async with app.sessions() as db:
            await db.execute(text("SELECT 1"))
    except Exception as error:  # any database failure means unhealthy
        log.warning("health check failed: %s", error)
        return web.json_response({"status": "error", "database": "unreachable"}, status=503)
    return web.json_response({"status": "ok"})


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
    if not isinstance(data, dict) or "update_id" not in data:
        return web.json_response({"ok": False, "error": "not an update"}, status=400)
    await request.app[TELEGRAM_KEY].process_json(data)
    return web.json_response({"ok": True})


def build_web_app(app: App, telegram=None) -> web.Application:
    web_app = web.Application(client_max_size=1024**2)
    web_app[APP_KEY] = app
    web_app.router.add_get("/healthz", healthz)
    if telegram is not None:
        web_app[TELEGRAM_KEY] = telegram
        web_app.router.add_post("/telegram/webhook", telegram_webhook)
    return web_app
