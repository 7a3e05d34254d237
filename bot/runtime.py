"""`doingoai run` with messenger tokens: the backend, the channels and the reminder
scheduler in one process, stopped gracefully on SIGTERM or SIGINT."""

from __future__ import annotations

import asyncio
import logging
import signal
import sys
from datetime import datetime

from aiohttp import web
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from telegram.error import InvalidToken, NetworkError

from bot.app import App, demo_login_link, freeze_startup_objects
from bot.channels import Channels
from bot.mail import CHANNEL as EMAIL
from bot.telegram import TelegramChannel
from bot.web import build_web_app
from bot.webui.core import InviteLinks, Workspace
from bot.zalo import ZaloChannel
from bot.zalo_client import ZaloError, ZaloUnauthorized
from domain.catalog import t
from scheduler.housekeeping import prune_updates
from scheduler.reminders import Reminders

log = logging.getLogger(__name__)

# What a failed start means, per exception: a one-line message instead of a traceback.
START_ERRORS = {
    InvalidToken: "cli.bad_telegram_token",
    NetworkError: "cli.telegram_unreachable",
    ZaloUnauthorized: "cli.bad_zalo_token",
    ZaloError: "cli.zalo_unreachable",
}


def enabled_channels(app: App) -> dict[str, object]:
    """The messengers whose token is configured."""
    settings = app.settings
    channels: dict[str, object] = {}
    if settings.telegram_bot_token:
        channels["telegram"] = TelegramChannel(app, webhook=settings.telegram_mode == "webhook")
    if settings.zalo_bot_token:
        channels["zalo"] = ZaloChannel(app, webhook=settings.zalo_webhook)
    return channels


async def serve(app: App, stop: asyncio.Event | None = None) -> int:
    """Run until `stop` is set or a signal arrives; returns the exit code."""
    settings = app.settings
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)

    channels = enabled_channels(app)
    workspace = Workspace(app, None)  # "remind now" queues in the outbox
    runner = web.AppRunner(
        build_web_app(app, channels.get("telegram"), channels.get("zalo"), workspace),
        shutdown_timeout=10,
    )
    await runner.setup()
    started = []
    try:
        for channel in channels.values():
            await channel.start()
            started.append(channel)
    except tuple(START_ERRORS) as error:
        key = next(key for kind, key in START_ERRORS.items() if isinstance(error, kind))
        print(t(key, error=str(error)), file=sys.stderr)
        for channel in started:
            await channel.stop()
        await runner.cleanup()
        return 2
    await web.TCPSite(runner, settings.listen_host, settings.listen_port).start()

    mail_sender = None
    if app.engine.mailer is not None:  # e-mail has no updates, only its outbox's sender
        mail_sender = app.sender(EMAIL, app.engine.mailer.transmit)
        app.engine.queue_replies(EMAIL, mail_sender.wake)
        mail_sender.start()
    if "telegram" in channels:
        workspace.links = InviteLinks(telegram_username=channels["telegram"].username)
    scheduler = AsyncIOScheduler(timezone=settings.tz)
    # Every minute, and once right away: slots missed while the process was down go out now.
    reminders = Reminders(app.sessions, settings, None, queue_to=set(app.engine.queued_channels))
    scheduler.add_job(
        reminders.tick, "interval", seconds=settings.reminder_tick_seconds,
        next_run_time=datetime.now(settings.tz), max_instances=1, coalesce=True,
    )  # fmt: skip
    scheduler.add_job(
        prune_updates, "interval", days=1, args=[app.sessions],
        next_run_time=datetime.now(settings.tz), max_instances=1, coalesce=True,
    )  # fmt: skip
    scheduler.start()
    print(t("cli.running", channels=", ".join(channels), host=settings.listen_host,
            port=settings.listen_port), flush=True)  # fmt: skip

    freeze_startup_objects()
    await stop.wait()
    log.info("stopping: no new updates, finishing those in flight")
    scheduler.shutdown(wait=False)
    await runner.shutdown()  # webhooks stop taking requests; in-flight ones complete
    for channel in channels.values():
        await channel.stop()  # polling stops; handlers still running are awaited
    if mail_sender is not None:
        await mail_sender.stop()
    await runner.cleanup()
    return 0


async def start_demo_web(app: App) -> web.AppRunner | None:
    """The web workspace beside the terminal chat (no messenger to deliver reminders to);
    prints a sign-in link for the demo coordinator. None when the port is taken."""
    settings = app.settings
    runner = web.AppRunner(build_web_app(app, workspace=Workspace(app, Channels().deliver)))
    await runner.setup()
    try:
        await web.TCPSite(runner, settings.listen_host, settings.listen_port).start()
    except OSError as error:
        await runner.cleanup()
        print(t("cli.web_unavailable", error=str(error)), flush=True)
        return None
    print(t("cli.web_demo", link=await demo_login_link(app)), flush=True)
    return runner
