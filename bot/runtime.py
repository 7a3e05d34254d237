"""`doingoai run` with a messenger token: the backend and the channels in one process,
stopped gracefully on SIGTERM or SIGINT."""

from __future__ import annotations

import asyncio
import logging
import signal
import sys
from datetime import datetime

from aiohttp import web
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from telegram.error import InvalidToken, NetworkError

from bot.app import App
from bot.channels import Channels
from bot.telegram import CHANNEL, TelegramChannel
from bot.web import build_web_app
from scheduler.reminders import Reminders
from templates.catalog import t

log = logging.getLogger(__name__)


async def serve(app: App, stop: asyncio.Event | None = None) -> int:
    """Run until `stop` is set or a signal arrives; returns the exit code."""
    settings = app.settings
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)

    telegram = TelegramChannel(app, webhook=settings.telegram_mode == "webhook")
    channels = Channels()
    channels.register(CHANNEL, telegram.send)
    scheduler = AsyncIOScheduler(timezone=settings.tz)
    reminders = Reminders(app.sessions, settings, channels.deliver)
    runner = web.AppRunner(build_web_app(app, telegram), shutdown_timeout=10)
    await runner.setup()
    site = web.TCPSite(runner, settings.listen_host, settings.listen_port)
    try:
        await telegram.start()
    except InvalidToken:
        print(t("cli.bad_telegram_token"), file=sys.stderr)
        await runner.cleanup()
        return 2
    except NetworkError as error:
        print(t("cli.telegram_unreachable", error=str(error)), file=sys.stderr)
        await runner.cleanup()
        return 2
    await site.start()
    # Every minute, and once right away: slots missed while the process was down go out now.
    scheduler.add_job(
        reminders.tick, "interval", minutes=1, next_run_time=datetime.now(settings.tz),
        max_instances=1, coalesce=True,
    )  # fmt: skip
    scheduler.start()
    print(
        t("cli.running", username=telegram.username, mode=settings.telegram_mode,
          host=settings.listen_host, port=settings.listen_port),
        flush=True,
    )  # fmt: skip
    await stop.wait()
    log.info("stopping: no new updates, finishing those in flight")
    scheduler.shutdown(wait=False)
    await runner.shutdown()  # the webhook stops taking requests; in-flight ones complete
    await telegram.stop()  # polling stops; handlers still running are awaited
    await runner.cleanup()
    return 0
