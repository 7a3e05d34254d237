"""One reminder wave to 1,000 focal points through the real python-telegram-bot stack
(AIORateLimiter) against the fake Bot API on 127.0.0.1 enforcing 30 messages/second.

Prints the wall time against the 33.3 s floor (1,000 / 30), the 429 answers, and the
duplicates and misses (chats that got the reminder more than once, or never).

Usage: .venv/bin/python benchmarks/reminders.py [--members 1000] [--limit 30]
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
from bot.telegram import CHANNEL, TelegramChannel  # noqa: E402
from domain.settings import Settings  # noqa: E402
from scheduler.reminders import Reminders  # noqa: E402
from storage import repo  # noqa: E402
from storage.models import Member  # noqa: E402
from tests.fakes.telegram_api import FakeTelegramAPI  # noqa: E402

TOKEN = "123456:BENCH"
FIRST_CHAT = 100_000


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


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--members", type=int, default=1000)
    parser.add_argument("--limit", type=int, default=30, help="fake server's messages/second")
    args = parser.parse_args()
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
            moment = datetime.fromisoformat("2023-05-18T08:00:00+07:00")  # a d7 slot
            started = time.perf_counter()
            delivered = await reminders.tick(moment)
            elapsed = time.perf_counter() - started
            again = await reminders.tick(moment)  # a second tick must send nothing
            received = Counter(
                chat for chat in chats for m in fake.sent(chat) if m["text"].startswith("🔔")
            )
            duplicates = sum(1 for chat in chats if received[chat] > 1)
            misses = sum(1 for chat in chats if received[chat] == 0)
            floor = args.members / args.limit
            print(f"members={args.members}  server limit={args.limit}/s")
            print(
                f"wall time   {elapsed:6.1f} s   (floor {floor:.1f} s, ratio {elapsed / floor:.2f})"
            )
            print(f"delivered   {delivered}   second tick sent {again}")
            print(f"429 answers {fake.rate_limited_count}")
            print(f"duplicates  {duplicates}")
            print(f"misses      {misses}")
            await telegram.stop()
            await app.close()


if __name__ == "__main__":
    asyncio.run(main())
