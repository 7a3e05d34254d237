"""Reminder waves to 1,000 focal points, every channel real, servers on 127.0.0.1.

Scenario "telegram": the real python-telegram-bot stack (AIORateLimiter) against the fake
Bot API enforcing 30 messages/second; the wall time against the 33.3 s floor (1,000 / 30),
the 429 answers, duplicates and misses.

Scenario "zalo-email": half the focal points on Zalo (the fake Zalo Bot API) and all with an
e-mail address (a local aiosmtpd server); the whole wave, then per channel: messages,
duplicates (an address that got the reminder twice), misses (never), and the time of the
channel's last send against that channel's floor, measured in the same run: the same
number of messages sent straight through the channel adapter with the same concurrency
(DOINGOAI_REMINDER_CONCURRENCY), without the reminder log, the delivery log or the database.
A member's channels are sent one after the other, so the wave's floor is the channels'
floors added. Zalo documents no rate, so its floor is the fake's speed, not a quota.

Usage: .venv/bin/python benchmarks/reminders.py [--scenario all|telegram|zalo-email]
       [--members 1000] [--limit 30] [--concurrency 4]
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from collections import Counter
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.app import open_app  # noqa: E402
from bot.channels import Channels  # noqa: E402
from bot.mail import CHANNEL as EMAIL  # noqa: E402
from bot.telegram import CHANNEL, TelegramChannel  # noqa: E402
from bot.zalo import CHANNEL as ZALO  # noqa: E402
from bot.zalo import ZaloChannel  # noqa: E402
from domain.messages import SENT, Delivery, Outgoing  # noqa: E402
from domain.settings import Settings  # noqa: E402
from scheduler.reminders import Reminders  # noqa: E402
from storage import repo  # noqa: E402
from storage.models import Member  # noqa: E402
from tests.fakes.smtp import FakeSMTP  # noqa: E402
from tests.fakes.telegram_api import FakeTelegramAPI  # noqa: E402
from tests.fakes.zalo_api import FakeZaloAPI  # noqa: E402

TOKEN = "123456:BENCH"
ZALO_TOKEN = "zalo-bench-token"
FIRST_CHAT = 100_000
MOMENT = datetime.fromisoformat("2023-05-18T08:00:00+07:00")  # a d7 slot


async def add_focal_points(app, count: int) -> list[int]:
    async with app.sessions() as db, db.begin():
        units = await repo.list_units(db)
        chats = []
        for index in range(count):
            member = Member(
                name=f"Đầu mối {index}", role="focal_point", unit_id=units[index % len(units)].id
            )
            db.add(member)
            await db.flush()
            chat = FIRST_CHAT + index
            await repo.add_identity(db, member, CHANNEL, str(chat), str(chat))
            chats.append(chat)
    return chats


async def telegram_wave(args) -> None:
    async with FakeTelegramAPI(token=TOKEN, rate_limit_per_second=args.limit) as fake:
        with tempfile.TemporaryDirectory() as folder:
            settings = Settings(
                data_dir=Path(folder),
                database_url="",
                telegram_bot_token=TOKEN,
                telegram_api_base_url=fake.base_url,
                telegram_file_base_url=fake.base_file_url,
            )
            app = await open_app(settings)
            chats = await add_focal_points(app, args.members)
            telegram = TelegramChannel(app)
            await telegram.start()
            channels = Channels()
            channels.register(CHANNEL, telegram.send)
            reminders = Reminders(app.sessions, settings, channels.deliver)
            started = time.perf_counter()
            delivered = await reminders.tick(MOMENT)
            elapsed = time.perf_counter() - started
            again = await reminders.tick(MOMENT)  # a second tick must send nothing
            received = Counter(
                chat for chat in chats for m in fake.sent(chat) if m["text"].startswith("🔔")
            )
            duplicates = sum(1 for chat in chats if received[chat] > 1)
            misses = sum(1 for chat in chats if received[chat] == 0)
            floor = args.members / args.limit
            print(f"== telegram: members={args.members}  server limit={args.limit}/s")
            print(
                f"wall time   {elapsed:6.1f} s   (floor {floor:.1f} s, ratio {elapsed / floor:.2f})"
            )
            print(f"delivered   {delivered}   second tick sent {again}")
            print(f"429 answers {fake.rate_limited_count}")
            print(f"duplicates  {duplicates}")
            print(f"misses      {misses}")
            await telegram.stop()
            await app.close()


async def add_zalo_email_focal_points(app, count: int) -> tuple[list[str], list[str]]:
    """Every focal point with an address; every second one on Zalo too."""
    async with app.sessions() as db, db.begin():
        units = await repo.list_units(db)
        chats, addresses = [], []
        for index in range(count):
            member = Member(
                name=f"Đầu mối {index}", role="focal_point", unit_id=units[index % len(units)].id
            )
            db.add(member)
            await db.flush()
            address = f"dau.moi.{index}@bench.hatinh.gov.vn"
            await repo.add_identity(db, member, EMAIL, address, address)
            addresses.append(address)
            if index % 2 == 0:
                chat = f"z{FIRST_CHAT + index}"
                await repo.add_identity(db, member, ZALO, chat, chat)
                chats.append(chat)
    return chats, addresses


class Timed:
    """A channel's sender that notes when its last send finished."""

    def __init__(self, send, started: float) -> None:
        self.send, self.started, self.last = send, started, 0.0

    async def __call__(self, outgoing: Outgoing) -> Delivery:
        outcome = await self.send(outgoing)
        self.last = time.perf_counter() - self.started
        return outcome


async def floor(send, targets: list[str], concurrency: int) -> float:
    """The channel alone: the same number of sends, same concurrency, no database."""
    gate = asyncio.Semaphore(concurrency)
    text = "🔔 Nhắc báo cáo đối ngoại (đo tốc độ kênh) " + "x" * 600

    async def one(target: str) -> str:
        async with gate:
            sent = await send(Outgoing(text=text, chat_id=target, subject="[Đo tốc độ]"))
            return sent.outcome

    started = time.perf_counter()
    outcomes = await asyncio.gather(*(one(target) for target in targets))
    assert all(outcome == SENT for outcome in outcomes), Counter(outcomes)
    return time.perf_counter() - started


async def zalo_email_wave(args) -> None:
    async with FakeZaloAPI(token=ZALO_TOKEN) as fake, FakeSMTP() as smtp:
        with tempfile.TemporaryDirectory() as folder:
            settings = Settings(
                data_dir=Path(folder), database_url="", zalo_bot_token=ZALO_TOKEN,
                zalo_api_base_url=fake.base_url, zalo_mode="polling",
                reminder_concurrency=args.concurrency, **smtp.settings(),
            )  # fmt: skip
            app = await open_app(settings)
            chats, addresses = await add_zalo_email_focal_points(app, args.members)
            zalo = ZaloChannel(app)
            await zalo.start()
            started = time.perf_counter()
            timed = {
                ZALO: Timed(zalo.send, started),
                EMAIL: Timed(app.engine.mailer.transmit, started),
            }
            channels = Channels()
            for name, sender in timed.items():
                channels.register(name, sender)
            reminders = Reminders(app.sessions, settings, channels.deliver)
            delivered = await reminders.tick(MOMENT)
            elapsed = time.perf_counter() - started
            again = await reminders.tick(MOMENT)
            zalo_got = Counter(
                chat for chat in chats for text in fake.sent(chat) if text.startswith("🔔")
            )
            mail_got = Counter(
                m["To"] for m in smtp.messages if m["Subject"].startswith("[Nhắc báo cáo]")
            )
            floors = {
                ZALO: await floor(
                    zalo.send, [f"f{i}" for i in range(len(chats))], args.concurrency
                ),
                EMAIL: await floor(
                    app.engine.mailer.transmit,
                    [f"floor.{i}@bench.hatinh.gov.vn" for i in range(len(addresses))],
                    args.concurrency,
                ),
            }
            print(
                f"== zalo-email: members={args.members} ({len(chats)} on Zalo, all by e-mail)"
                f"  concurrency={args.concurrency}"
            )
            both = sum(floors.values())  # a member's channels are sent one after the other
            print(
                f"whole wave  {elapsed:6.1f} s   (floor {both:.1f} s = the channels' floors"
                f" added, ratio {elapsed / both:.2f})   reached {delivered}"
                f"   second tick sent {again}"
            )
            for name, targets, got in ((ZALO, chats, zalo_got), (EMAIL, addresses, mail_got)):
                duplicates = sum(1 for target in targets if got[target] > 1)
                misses = sum(1 for target in targets if got[target] == 0)
                last, base = timed[name].last, floors[name]
                print(
                    f"{name:6} {len(targets):5} messages  last send at {last:6.1f} s"
                    f"  (floor {base:.1f} s, ratio {last / base:.2f})"
                    f"  duplicates {duplicates}  misses {misses}"
                )
            await zalo.stop()
            await app.close()


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--scenario", choices=("all", "telegram", "zalo-email"), default="all")
    parser.add_argument("--members", type=int, default=1000)
    parser.add_argument("--limit", type=int, default=30, help="fake Bot API's messages/second")
    parser.add_argument("--concurrency", type=int, default=Settings().reminder_concurrency)
    args = parser.parse_args()
    if args.scenario in ("all", "telegram"):
        await telegram_wave(args)
    if args.scenario in ("all", "zalo-email"):
        await zalo_email_wave(args)


if __name__ == "__main__":
    asyncio.run(main())
