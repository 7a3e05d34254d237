"""`doingoai doctor`: one line per check an operator needs before trusting a deployment,
and a non-zero exit code when one fails.

Checks: the settings load; the database answers and is at the latest migration (nothing
is migrated here); each configured messenger accepts its token and has its webhook where
the settings say (or none, when polling); the SMTP server accepts the login; free space
in the data folder; the next reminder slots of the open rounds.
"""

from __future__ import annotations

import shutil
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime

from aiosmtplib import SMTPAuthenticationError, SMTPException
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import select

from bot.mail import EmailChannel
from bot.zalo_client import ZaloClient, ZaloError
from domain.catalog import t
from domain.rounds import round_label
from domain.settings import Settings
from scheduler.plan import is_open, recurring_rounds, slots
from storage import db as database
from storage.models import Round

# The doctor warns while there is still room to act: at ten times the free space below
# which the bot stops taking messages (settings.min_free_mb).
WARN_FREE_FACTOR = 10


@dataclass(frozen=True)
class Check:
    ok: bool
    line: str


CheckRun = Callable[[Settings], Awaitable[list[Check]]]


async def run_doctor(settings: Settings, now: datetime | None = None) -> int:
    """Print every check; 0 when all pass, 1 otherwise."""
    now = now or datetime.now(settings.tz)
    results: list[Check] = [Check(True, t("doctor.settings_ok"))]
    for check in (_database, _telegram, _zalo, _email, _disk):
        try:
            results += await check(settings)
        except Exception as error:  # a check must report, never crash the doctor
            results.append(Check(False, t("doctor.check_crashed", error=_short(error))))
    results += await _next_slots(settings, now)
    for result in results:
        print(("✓ " if result.ok else "✗ ") + result.line)
    return 0 if all(result.ok for result in results) else 1


def _short(error: BaseException) -> str:
    return " ".join(str(error).split())[:200] or type(error).__name__


async def _database(settings: Settings) -> list[Check]:
    engine = database.create_engine(settings.resolved_database_url)
    try:
        async with engine.connect() as connection:
            current = await connection.run_sync(
                lambda sync: MigrationContext.configure(sync).get_current_revision()
            )
    except Exception as error:
        return [Check(False, t("doctor.db_unreachable", error=_short(error)))]
    finally:
        await engine.dispose()
    head = ScriptDirectory.from_config(database.alembic_config("")).get_current_head()
    if current != head:
        return [Check(False, t("doctor.db_not_migrated", current=current or "—", head=head))]
    return [Check(True, t("doctor.db_ok", head=head))]


async def _telegram(settings: Settings) -> list[Check]:
    if not settings.telegram_bot_token:
        return [Check(True, t("doctor.telegram_off"))]
    from telegram import Bot
    from telegram.error import InvalidToken, TelegramError

    bot = Bot(settings.telegram_bot_token, base_url=settings.telegram_api_base_url)
    try:
        async with bot:
            me = await bot.get_me()
            info = await bot.get_webhook_info()
    except InvalidToken:
        return [Check(False, t("doctor.telegram_bad_token"))]
    except TelegramError as error:
        return [Check(False, t("doctor.telegram_unreachable", error=_short(error)))]
    checks = [Check(True, t("doctor.telegram_ok", name=me.username))]
    expected = _webhook_url(settings, "telegram") if settings.telegram_mode == "webhook" else ""
    checks.append(_webhook_check("Telegram", info.url or "", expected))
    return checks


async def _zalo(settings: Settings) -> list[Check]:
    if not settings.zalo_bot_token:
        return [Check(True, t("doctor.zalo_off"))]
    try:
        async with ZaloClient(
            settings.zalo_bot_token, base_url=settings.zalo_api_base_url, retries=0
        ) as client:
            me = await client.get_me()
            info = await client.get_webhook_info() or {}
    except ZaloError as error:
        key = "doctor.zalo_bad_token" if error.error_code == 401 else "doctor.zalo_unreachable"
        return [Check(False, t(key, error=_short(error)))]
    checks = [Check(True, t("doctor.zalo_ok", name=me.get("account_name", "")))]
    expected = _webhook_url(settings, "zalo") if settings.zalo_webhook else ""
    checks.append(_webhook_check("Zalo", info.get("url", "") or "", expected))
    return checks


async def _email(settings: Settings) -> list[Check]:
    """SMTP: connect (TLS as configured) and log in, when a server is set."""
    if not settings.email_enabled:
        return [Check(True, t("doctor.email_off"))]
    try:
        await EmailChannel(settings).check_login()
    except SMTPAuthenticationError as error:
        return [Check(False, t("doctor.email_bad_login", error=_short(error)))]
    except (SMTPException, OSError) as error:
        return [Check(False, t("doctor.email_unreachable", error=_short(error)))]
    return [Check(True, t("doctor.email_ok", host=settings.smtp_host, port=settings.smtp_port))]


def _webhook_url(settings: Settings, channel: str) -> str:
    return f"{settings.public_base_url.rstrip('/')}/{channel}/webhook"


def _webhook_check(messenger: str, actual: str, expected: str) -> Check:
    if actual == expected:
        key = "doctor.webhook_ok" if expected else "doctor.polling_ok"
        return Check(True, t(key, messenger=messenger, url=expected))
    return Check(
        False, t("doctor.webhook_wrong", messenger=messenger, actual=actual, expected=expected)
    )


async def _disk(settings: Settings) -> list[Check]:
    folder = settings.data_dir
    folder.mkdir(parents=True, exist_ok=True)
    free = shutil.disk_usage(folder).free // 2**20
    minimum = settings.min_free_mb * WARN_FREE_FACTOR
    key = "doctor.disk_ok" if free >= minimum else "doctor.disk_low"
    return [Check(free >= minimum, t(key, folder=folder, free=free, minimum=minimum))]


async def _next_slots(settings: Settings, now: datetime) -> list[Check]:
    """The next reminder of each open round (information, never a failure)."""
    engine = database.create_engine(settings.resolved_database_url)
    try:
        async with engine.connect() as connection:
            rows = (await connection.execute(select(Round))).scalars().all()
    except Exception:
        return []  # the database check already said why
    finally:
        await engine.dispose()
    known = {r.id: r.deadline for r in rows}
    for spec in recurring_rounds(now.year, settings):
        known.setdefault(spec.id, spec.deadline)
    lines = []
    for round_id, deadline in sorted(known.items(), key=lambda item: item[1]):
        upcoming = [s for s in slots(deadline, settings, settings.tz) if s.due > now]
        if is_open(deadline, now, settings) and upcoming:
            lines.append(
                Check(True, t("doctor.next_slot", round=round_label(round_id), due=upcoming[0].due))
            )
    return lines or [Check(True, t("doctor.no_slot"))]
