"""Several bot processes on one database: one person's messages are handled one after the
other whichever process receives them, every update once, every reminder once.

The first test runs on SQLite and PostgreSQL (two apps, each with its own connection pool,
stand for two processes). The second starts two real `doingoai run` processes on one
PostgreSQL database behind one webhook URL, and runs only where a server is configured."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import os
import socket
import subprocess
import sys
from datetime import timedelta

import pytest
from aiohttp import ClientSession, web
from sqlalchemy import func, select

from bot.app import open_app
from storage import repo
from storage.clock import utcnow
from storage.models import ProcessedUpdate, Record
from storage.rounds import add_adhoc_round
from tests import databases
from tests.conftest import TZ_NOW, ChatUser, invite_code, make_settings, registered
from tests.fakes.telegram_api import FakeTelegramAPI
from tests.test_telegram import SECRET, TOKEN, TelegramUser


async def test_one_persons_messages_wait_for_each_other_across_processes(settings, monkeypatch):
    first = await open_app(settings, clock=lambda: TZ_NOW)
    second = await open_app(settings, clock=lambda: TZ_NOW)
    user = await registered(first, "lan")
    await user.send("/moi")
    await user.press("Khen thưởng")
    assert "Hình thức khen thưởng" in user.text

    inside, release = asyncio.Event(), asyncio.Event()
    save_state = repo.save_state

    async def save_when_released(db, saved, state):
        if not inside.is_set():  # the first process stops just before its commit
            inside.set()
            await release.wait()
        await save_state(db, saved, state)

    monkeypatch.setattr(repo, "save_state", save_when_released)
    answer_one = asyncio.create_task(ChatUser(first, "lan").send("Bằng khen"))
    await inside.wait()
    answer_two = asyncio.create_task(ChatUser(second, "lan").send("Tổ chức KOICA"))
    await asyncio.sleep(0.5)
    assert not answer_two.done(), "the second process must wait for the first one's commit"
    release.set()
    await asyncio.gather(answer_one, answer_two)

    on_second = ChatUser(second, "lan")
    for answer in ["1", "Hàn Quốc", "Hỗ trợ giáo dục", "12/QĐ-UBND", "1/2/2023"]:
        await on_second.send(answer)
    assert "• Hình thức khen thưởng: Bằng khen" in on_second.text, on_second.text
    assert "• Người, tập thể được khen: Tổ chức KOICA" in on_second.text
    await first.close()
    await second.close()


# --- two real processes on PostgreSQL ------------------------------------------------------

needs_postgres = pytest.mark.skipif(
    not databases.POSTGRES_ADMIN_URL,
    reason="two processes share one database only on PostgreSQL (DOINGOAI_TEST_POSTGRES_URL)",
)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


async def _balancer(ports: list[int]) -> tuple[web.AppRunner, str]:
    """One webhook URL in front of both processes, taking them in turn (a load balancer)."""
    turns = itertools.cycle(ports)
    client = ClientSession()

    async def forward(request: web.Request) -> web.Response:
        url = f"http://127.0.0.1:{next(turns)}{request.path}"
        async with client.post(url, data=await request.read(), headers=request.headers) as sent:
            return web.Response(status=sent.status, body=await sent.read())

    async def close_client(_app) -> None:
        await client.close()

    balancer = web.Application()
    balancer.router.add_post("/telegram/webhook", forward)
    balancer.on_cleanup.append(close_client)
    runner = web.AppRunner(balancer)
    await runner.setup()
    port = _free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    return runner, f"http://127.0.0.1:{port}"


class Processes:
    """Two `doingoai run` processes with their own ports, on one database."""

    def __init__(self, env: dict[str, str], ports: list[int]) -> None:
        self.env, self.ports, self.running = env, ports, []

    async def start(self) -> None:
        for port in self.ports:
            process = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "bot.cli", "run",
                env={**self.env, "DOINGOAI_LISTEN_PORT": str(port)},
                stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            )  # fmt: skip
            line = await asyncio.wait_for(process.stdout.readline(), 60)
            if "đang chạy" not in line.decode():
                raise AssertionError((await process.stderr.read()).decode()[-2000:])
            self.running.append(process)

    def kill(self) -> None:
        """After a failed test: no process outlives it."""
        for process in self.running:
            with contextlib.suppress(ProcessLookupError):
                process.kill()

    async def stop(self) -> None:
        for process in self.running:
            process.terminate()
        for process in self.running:
            assert await asyncio.wait_for(process.wait(), 30) == 0
        self.running = []


@needs_postgres
async def test_two_processes_behind_one_webhook_url(tmp_path):
    settings = make_settings(tmp_path / "data")
    ports = [_free_port(), _free_port()]
    balancer, public_url = await _balancer(ports)
    env = {
        **os.environ,
        "DOINGOAI_DATA_DIR": str(tmp_path / "data"),
        "DOINGOAI_DATABASE_URL": settings.database_url,
        "DOINGOAI_TELEGRAM_BOT_TOKEN": TOKEN,
        "DOINGOAI_TELEGRAM_MODE": "webhook",
        "DOINGOAI_TELEGRAM_WEBHOOK_SECRET": SECRET,
        "DOINGOAI_PUBLIC_BASE_URL": public_url,
        "DOINGOAI_QUIET_HOURS": '["00:00", "00:00"]',
    }
    app = await open_app(settings)
    codes = [await invite_code(app) for _ in range(8)]
    coordinator_code = await invite_code(app, role="coordinator")
    async with FakeTelegramAPI(token=TOKEN) as fake:
        env["DOINGOAI_TELEGRAM_API_BASE_URL"] = fake.base_url
        processes = Processes(env, ports)
        try:
            await two_processes_serve(fake, processes, app, codes, coordinator_code)
        finally:
            processes.kill()
            await balancer.cleanup()
            await app.close()


async def two_processes_serve(fake, processes, app, codes, coordinator_code) -> None:
    """Eight people fill a form at once, their messages alternating between the processes;
    then a reminder slot is due in both."""
    await processes.start()
    users = [TelegramUser(fake, 8100 + number) for number in range(len(codes))]
    coordinator = TelegramUser(fake, 8000)
    await coordinator.say(f"/start {coordinator_code}", "Chào mừng")

    async def fill_in(user: TelegramUser, code: str) -> None:
        """Each message goes to the other process than the one before it."""
        await user.say(f"/start {code}", "Chào mừng")
        await user.say("/moi", "Chọn loại")
        await user.tap("Khen thưởng", "Hình thức khen thưởng")
        for answer, expect in [
            ("Bằng khen", "Khen thưởng cho ai"),
            (f"Tổ chức số {user.user_id}", "tập thể hay cá nhân"),
            ("1", "Thuộc nước hoặc tổ chức nào?"),
            ("Hàn Quốc", "Thành tích"),
            ("Hỗ trợ giáo dục", "Số quyết định"),
            ("12/QĐ-UBND", "Ngày ký quyết định"),
            ("1/2/2023", "Kiểm tra lại"),
        ]:
            await user.say(answer, expect)
        await user.tap("Lưu", "Đã lưu")

    await asyncio.gather(*(fill_in(user, code) for user, code in zip(users, codes, strict=True)))
    deliveries = len(fake.webhook_deliveries)
    for delivery in fake.webhook_deliveries[:20]:  # the other process gets them again
        assert await fake.redeliver(delivery["update_id"]) == 200
    await processes.stop()

    async with app.sessions() as db:
        saved = (await db.scalars(select(Record).order_by(Record.id))).all()
        handled = await db.scalar(select(func.count()).select_from(ProcessedUpdate))
    assert sorted(r.values["doi_tuong"] for r in saved) == sorted(
        f"Tổ chức số {user.user_id}" for user in users
    )
    assert all(r.values["danh_hieu"] == "Bằng khen" for r in saved)
    assert handled == deliveries
    for user in users:  # every answer was answered once: no reply twice, none lost
        replies = [m["text"] for m in user.messages() if m.get("text")]
        assert sum("Đã lưu" in text for text in replies) == 1

    async with app.sessions() as db, db.begin():
        await add_adhoc_round(
            db, start=TZ_NOW.date() - timedelta(days=30), end=TZ_NOW.date(),
            deadline=utcnow().date() + timedelta(days=5), message="Báo cáo đột xuất",
            created_by=None, created_at=utcnow() - timedelta(minutes=1),
        )  # fmt: skip
    await processes.start()  # both processes find the same slot due at their start

    def reminders(user: TelegramUser) -> list[dict]:
        return [m for m in user.messages() if "Báo cáo đột xuất" in (m.get("text") or "")]

    await fake.wait_until(
        lambda: all(reminders(user) for user in users), timeout=30, what="every reminder"
    )
    await processes.stop()  # lets both finish their waves: a second copy would show now
    assert [len(reminders(user)) for user in users] == [1] * len(users)


async def test_a_message_that_meets_a_locked_database_waits_and_is_answered(app):
    """Another connection of the process (the web, the scheduler) holds SQLite's write lock:
    the message is handled once it is released, not answered with an error."""
    from storage.models import Unit

    user = await registered(app, "minh")
    async with app.sessions() as db, db.begin():
        db.add(Unit(name="Ban Dân tộc tỉnh", code="bdt", group="so_nganh"))
        await db.flush()  # the write lock is held until this block ends
        answer = asyncio.create_task(user.send("/moi"))
        await asyncio.sleep(0.3)
    await answer
    assert "Chọn loại" in user.text, user.text
    async with app.sessions() as db:
        assert await repo.unit_by_name(db, "Ban Dân tộc tỉnh") is not None
