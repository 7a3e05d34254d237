"""Kill loop: people fill forms over (fake) Telegram while a real `doingoai run` process is
killed with SIGKILL and started again, on one SQLite file. Used by tests/test_kill_loop.py
(a few people, a few kills) and benchmarks/killloop.py (more of both).

Each person registers, then records activities of type "Công tác biên giới" (date,
content, number), each value unique to the person and the record, answering whatever the
newest message asks. An impatient person sends an answer again when nothing came back for
a while: the answer that the old bot applied to the next question.

What is checked afterwards (`Outcome`): every update the fake delivered was processed
(claimed once), every saved record was confirmed to its person, no record twice, no
value in another field, and how many messages the fake received twice.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import re
import signal
import socket
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import select

from bot.app import open_app
from domain.settings import Settings
from storage.models import ProcessedUpdate, Record
from storage.outbox import PENDING, counts
from tests.fakes.telegram_api import FakeTelegramAPI

TOKEN = "123456:KILL-loop"
SECRET = "kill-Loop_secret"
ROOT = Path(__file__).resolve().parent.parent
STEP = re.compile(r"câu (\d)/3")
SAVED = re.compile(r"Đã lưu hoạt động số (\d+)")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def answer(user: int, number: int, step: int) -> str:
    """The person's answer to question `step` of their record `number`."""
    return [f"{1 + number % 28}/5/2023", f"Tuần tra chung {user}-{number}", str(10 + number)][
        step - 1
    ]


def expected_values(user: int, number: int) -> dict[str, object]:
    return {
        "ngay": f"2023-05-{1 + number % 28:02d}",
        "noi_dung": f"Tuần tra chung {user}-{number}",
        "so_hai_cot": 10 + number,
    }


@dataclass
class Person:
    fake: FakeTelegramAPI
    user_id: int
    records: int
    patience: float
    seen: int = 0  # messages of the bot already read
    saved: list[int] = field(default_factory=list)  # record ids confirmed to them, in order
    number: int = 0  # the record being entered
    doubled: int = 0  # confirmations received a second time

    def _messages(self) -> list[dict]:
        return self.fake.sent(self.user_id)

    async def _next(self) -> dict | None:
        """The newest message after those read, once some arrived (None: patience ran out)."""
        try:
            await self.fake.wait_until(lambda: len(self._messages()) > self.seen, self.patience)
        except AssertionError:
            return None
        await asyncio.sleep(0.05)  # a burst of replies: read them all
        new = self._messages()[self.seen :]
        self.seen += len(new)
        for message in new:
            found = SAVED.search(message["text"] or "")
            if found and int(found.group(1)) not in self.saved:
                self.saved.append(int(found.group(1)))
            elif found:
                self.doubled += 1
        return new[-1]

    async def run(self, code: str) -> None:
        """Act on the newest question or choice on the screen, once: answer it, or press
        a button (resume the draft, save, the activity type, a new record); a note alone
        is read. With nothing back for a while, a typed answer is sent once more."""
        again: str | None = f"/start {code}"
        await self.fake.send_text(self.user_id, again, first_name=f"Người {self.user_id}")
        acted: set[int] = set()
        while len(self.saved) < self.records:
            if await self._next() is None:
                if again is not None:
                    await self.fake.send_text(self.user_id, again)
                    again = None
                continue
            again = None
            self.number = len(self.saved)
            target = next((m for m in reversed(self._messages()) if _action(m)), None)
            if self.number >= self.records or target is None or target["message_id"] in acted:
                continue
            acted.add(target["message_id"])
            kind, value = _action(target)
            if kind == "step":
                again = answer(self.user_id, self.number, value)
                await self.fake.send_text(self.user_id, again)
            else:
                await self.fake.press_button(self.user_id, target["message_id"], value)


def _action(message: dict) -> tuple[str, object] | None:
    """What a person does with a message: answer question `step`, press a button."""
    if step := STEP.search(message["text"] or ""):
        return "step", int(step.group(1))
    markup = message["reply_markup"] or {}
    buttons = {b["callback_data"] for row in markup.get("inline_keyboard", []) for b in row}
    press = next((key for key in ("resume", "save", "bien_gioi", "new") if key in buttons), None)
    return ("press", press) if press else None


@dataclass
class Outcome:
    updates: int
    lost: int
    processed_twice: int
    records: int
    unconfirmed: int
    duplicates: int
    shifted: int
    messages_doubled: int
    kills: int
    seconds: float
    shifted_values: list[dict] = field(default_factory=list)  # the records concerned

    def line(self, mode: str) -> str:
        return (
            f"{mode:8} updates {self.updates:5}  lost {self.lost}  records {self.records:4}  "
            f"unconfirmed {self.unconfirmed}  duplicates {self.duplicates}  "
            f"shifted {self.shifted}  messages doubled {self.messages_doubled}  "
            f"kills {self.kills}  {self.seconds:.1f} s"
        )


def _environment(settings: Settings, fake: FakeTelegramAPI, mode: str, port: int, **more):
    return {
        **os.environ,
        "DOINGOAI_DATA_DIR": str(settings.data_dir),
        "DOINGOAI_DATABASE_URL": settings.database_url,
        "DOINGOAI_TELEGRAM_BOT_TOKEN": TOKEN,
        "DOINGOAI_TELEGRAM_API_BASE_URL": fake.base_url,
        "DOINGOAI_TELEGRAM_FILE_BASE_URL": fake.base_file_url,
        "DOINGOAI_TELEGRAM_MODE": mode,
        "DOINGOAI_TELEGRAM_WEBHOOK_SECRET": SECRET,
        "DOINGOAI_PUBLIC_BASE_URL": f"http://127.0.0.1:{port}",
        "DOINGOAI_LISTEN_PORT": str(port),
        "DOINGOAI_FLOOD_BURST": "100000",
        **{f"DOINGOAI_{key.upper()}": value for key, value in more.items()},
    }


class Bot:
    """`python -m bot.cli run` on the fake, started again after each kill."""

    def __init__(self, env: dict[str, str]) -> None:
        self.env = env
        self.process: asyncio.subprocess.Process | None = None
        self._drain: asyncio.Task | None = None

    async def start(self) -> None:
        self.process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot.cli", "run", env=self.env, cwd=ROOT,
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        line = await asyncio.wait_for(self.process.stdout.readline(), 60)
        if "đang chạy" not in line.decode():
            raise RuntimeError(f"the bot did not start: {line!r}")
        self._drain = asyncio.create_task(self.process.stdout.read())

    async def kill(self) -> None:
        self.process.send_signal(signal.SIGKILL)
        await self.process.wait()
        await asyncio.gather(self._drain, return_exceptions=True)

    async def __aenter__(self) -> Bot:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        """Never left running, whatever happened."""
        if self.process.returncode is None:
            await self.kill()

    async def stop(self) -> None:
        self.process.send_signal(signal.SIGTERM)
        await asyncio.wait_for(self.process.wait(), 60)
        await asyncio.gather(self._drain, return_exceptions=True)


async def _kill_loop(bot: Bot, kills: int, rng: random.Random) -> int:
    """SIGKILL the bot a moment after each start, `kills` times (on after the people are
    done, if they finish first: then it is the restarts that are tested)."""
    for _ in range(kills):
        await asyncio.sleep(rng.uniform(0.2, 1.2))
        await bot.kill()
        await bot.start()
    return kills


async def _drained(settings: Settings, fake: FakeTelegramAPI, timeout: float = 60) -> None:
    """Wait until the bot has sent everything queued and Telegram has nothing pending."""
    app = await open_app(settings)
    try:
        async with asyncio.timeout(timeout):
            while True:
                async with app.sessions() as db:
                    pending = (await counts(db)).get(PENDING, 0)
                if not pending and not fake.pending_updates:
                    return
                await asyncio.sleep(0.1)
    finally:
        await app.close()


async def run(
    folder: Path, mode: str, users: int, records: int, kills: int, seed: int = 1
) -> Outcome:
    """One kill loop in `mode` (polling or webhook); the figures to check."""
    from tests.conftest import invite_code, make_settings

    rng = random.Random(seed)
    started = time.monotonic()
    async with FakeTelegramAPI(token=TOKEN, webhook_retry_seconds=0.5) as fake:
        # The SQLite file in this folder (or the suite's PostgreSQL database); the bot's
        # messenger settings are in its environment.
        settings = make_settings(folder / mode)
        app = await open_app(settings)
        codes = [await invite_code(app, unit="Sở Ngoại vụ") for _ in range(users)]
        await app.close()
        async with Bot(_environment(settings, fake, mode, free_port())) as bot:
            people = [
                Person(fake, 8000 + n, records, patience=rng.uniform(1.5, 4)) for n in range(users)
            ]
            killer = asyncio.create_task(_kill_loop(bot, kills, rng))
            try:  # a bound, so that a lost reply fails the run instead of hanging it
                async with asyncio.timeout(120 + 10 * kills + 5 * users * records):
                    await asyncio.gather(*(p.run(c) for p, c in zip(people, codes, strict=True)))
            except BaseException:
                killer.cancel()  # no restart after the bot is put down
                raise
            killed = await killer
            await _drained(settings, fake)
            await asyncio.sleep(1)  # replies to the last impatient repeats
            await _drained(settings, fake)
            await bot.stop()
        for person in people:  # every message again, confirmations after the end too
            person.seen, person.doubled = 0, 0
            person.saved.clear()
            await person._next()
        return await _outcome(settings, fake, people, killed, time.monotonic() - started)


def _as_entered(values: dict) -> bool:
    """The record holds what its person typed for it, each value in its own field."""
    found = re.fullmatch(r"Tuần tra chung (\d+)-(\d+)", str(values.get("noi_dung")))
    return found is not None and values == expected_values(*map(int, found.groups()))


async def _outcome(settings, fake, people: list[Person], kills: int, seconds: float) -> Outcome:
    app = await open_app(settings)
    async with app.sessions() as db:
        claimed = Counter(
            u for u in await db.scalars(select(ProcessedUpdate.update_id).where(
                ProcessedUpdate.channel == "telegram"))
        )  # fmt: skip
        rows = (await db.scalars(select(Record).where(Record.deleted_at.is_(None)))).all()
    await app.close()
    delivered = {str(u["update_id"]) for u in fake.updates}
    confirmed = {record_id for p in people for record_id in p.saved}
    by_content = Counter(r.values.get("noi_dung") for r in rows)
    shifted = [row.values for row in rows if not _as_entered(row.values)]
    doubled = 0
    for person in people:
        texts = Counter((m["text"], str(m["reply_markup"])) for m in fake.sent(person.user_id))
        doubled += sum(
            n - 1 for (text, _), n in texts.items() if n > 1 and SAVED.search(text or "")
        )
    return Outcome(
        updates=len(delivered),
        lost=len(delivered - set(claimed)),
        processed_twice=sum(n > 1 for n in claimed.values()),
        records=len(rows),
        unconfirmed=sum(r.id not in confirmed for r in rows),
        duplicates=sum(n - 1 for n in by_content.values()),
        shifted=len(shifted),
        shifted_values=shifted,
        messages_doubled=sum(p.doubled for p in people),
        kills=kills,
        seconds=seconds,
    )


# --- a reminder wave ---------------------------------------------------------------------

COORDINATOR_CHAT = 7000
FIRST_FOCAL_CHAT = 100_000


@dataclass
class WaveOutcome:
    members: int
    missed: int
    doubled: int
    summaries: int
    summary_count: int | None  # the number the summary says was reminded
    kills: int
    seconds: float

    def line(self) -> str:
        return (
            f"wave     members {self.members}  missed {self.missed}  doubled {self.doubled}  "
            f"summaries {self.summaries} saying {self.summary_count}  kills {self.kills}  "
            f"{self.seconds:.1f} s"
        )


async def _wave_people(app, members: int) -> None:
    """A coordinator, and `members` focal points spread over the units, all on Telegram;
    an ad hoc round created a minute ago, which a tick announces to them."""
    from datetime import timedelta

    from storage import repo
    from storage.clock import utcnow
    from storage.models import Member
    from storage.rounds import add_adhoc_round

    async with app.sessions() as db, db.begin():
        units = await repo.list_units(db)
        coordinator = Member(name="Điều phối", role="coordinator")
        db.add(coordinator)
        await db.flush()
        await repo.add_identity(db, coordinator, "telegram", *[str(COORDINATOR_CHAT)] * 2)
        for index in range(members):
            member = Member(
                name=f"Đầu mối {index}", role="focal_point", unit_id=units[index % len(units)].id
            )
            db.add(member)
            await db.flush()
            await repo.add_identity(db, member, "telegram", *[str(FIRST_FOCAL_CHAT + index)] * 2)
        today = utcnow().date()
        await add_adhoc_round(
            db, start=today - timedelta(days=30), end=today, deadline=today + timedelta(days=10),
            message="Báo cáo nhanh", created_by=None, created_at=utcnow() - timedelta(minutes=1),
        )  # fmt: skip


def _awake_now(settings: Settings) -> str:
    """Quiet hours that do not hold now: one minute, twelve hours away."""
    from datetime import datetime, timedelta

    start = datetime.now(settings.tz) + timedelta(hours=12)
    return json.dumps([f"{start:%H:%M}", f"{start + timedelta(minutes=1):%H:%M}"])


async def wave(folder: Path, members: int, kills: int, seed: int = 1) -> WaveOutcome:
    """An ad hoc round announced to `members` focal points while the bot is killed
    `kills` times during the wave; then the coordinator's summary."""
    from tests.conftest import make_settings

    rng = random.Random(seed)
    started = time.monotonic()
    async with FakeTelegramAPI(token=TOKEN) as fake:
        settings = make_settings(folder / "wave")
        app = await open_app(settings)
        await _wave_people(app, members)
        await app.close()
        env = _environment(
            settings, fake, "polling", free_port(), quiet_hours=_awake_now(settings),
            reminder_tick_seconds="2",
        )  # fmt: skip
        async with Bot(env) as bot:
            for _ in range(kills):
                await asyncio.sleep(rng.uniform(1.0, 3.0))
                await bot.kill()
                await bot.start()

            def summarised() -> bool:
                return any("vừa nhắc" in (m["text"] or "") for m in fake.sent(COORDINATOR_CHAT))

            await fake.wait_until(summarised, timeout=120, what="the coordinator's summary")
            await _drained(settings, fake)
            await asyncio.sleep(3)  # a tick more: a second summary would come now
            await bot.stop()
    received = [
        sum((m["text"] or "").startswith("📣") for m in fake.sent(FIRST_FOCAL_CHAT + index))
        for index in range(members)
    ]
    summaries = [m["text"] for m in fake.sent(COORDINATOR_CHAT) if "vừa nhắc" in (m["text"] or "")]
    said = re.search(r"vừa nhắc (\S+) đầu mối", summaries[0]) if summaries else None
    return WaveOutcome(
        members=members,
        missed=received.count(0),
        doubled=sum(n - 1 for n in received if n > 1),
        summaries=len(summaries),
        summary_count=int(said.group(1).replace(".", "")) if said else None,
        kills=kills,
        seconds=time.monotonic() - started,
    )
