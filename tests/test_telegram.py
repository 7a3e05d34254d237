"""The Telegram channel: the real python-telegram-bot against a fake Bot API server on
127.0.0.1, in polling and webhook modes."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import select

from bot.app import open_app
from bot.render import split_text
from bot.telegram import MAX_TEXT, TelegramChannel
from bot.web import build_web_app
from storage.models import Identity, Record
from tests.conftest import TZ_NOW, invite_code, make_settings, outbox_drained
from tests.fakes.telegram_api import FakeTelegramAPI

TOKEN = "123456:TEST-token"
SECRET = "s3cret-Token_1"


@pytest.fixture
async def fake() -> AsyncIterator[FakeTelegramAPI]:
    async with FakeTelegramAPI(token=TOKEN) as server:
        yield server


def telegram_settings(tmp_path, fake, **overrides):
    return make_settings(
        tmp_path / "data",
        telegram_bot_token=TOKEN,
        telegram_api_base_url=fake.base_url,
        telegram_file_base_url=fake.base_file_url,
        telegram_webhook_secret=SECRET,
        **overrides,
    )


@pytest.fixture
async def polling_bot(tmp_path, fake):
    app = await open_app(telegram_settings(tmp_path, fake), clock=lambda: TZ_NOW)
    channel = TelegramChannel(app)
    await channel.start()
    yield app, channel
    await channel.stop()
    await app.close()


class TelegramUser:
    """A person in a private chat with the bot, typing and tapping buttons."""

    def __init__(self, fake: FakeTelegramAPI, user_id: int) -> None:
        self.fake, self.user_id = fake, user_id

    def messages(self) -> list[dict]:
        return self.fake.sent(self.user_id)

    async def _expect(self, before: int, expected: str) -> str:
        def shown(message: dict) -> str:
            return message["text"] or message["caption"] or ""

        def arrived() -> bool:
            return any(expected in shown(m) for m in self.messages()[before:])

        await self.fake.wait_until(arrived, timeout=10, what=f"a reply containing {expected!r}")
        return "\n".join(shown(m) for m in self.messages()[before:])

    async def say(self, text: str, expect: str) -> str:
        before = len(self.messages())
        await self.fake.send_text(self.user_id, text, first_name="Lan")
        return await self._expect(before, expect)

    async def tap(self, label: str, expect: str) -> str:
        """Press the newest button whose label contains `label`."""
        for message in reversed(self.messages()):
            markup = message.get("reply_markup") or {}
            for row in markup.get("inline_keyboard", []):
                for button in row:
                    if label in button["text"]:
                        before = len(self.messages())
                        await self.fake.press_button(
                            self.user_id, message["message_id"], button["callback_data"]
                        )
                        return await self._expect(before, expect)
        raise AssertionError(f"no button {label!r} in {self.messages()[-3:]}")


async def records(app) -> list[Record]:
    async with app.sessions() as db:
        return list((await db.scalars(select(Record).order_by(Record.id))).all())


def test_long_texts_are_split_at_line_boundaries():
    text = "\n".join(f"dòng {i:04d} " + "x" * 40 for i in range(200))
    pieces = split_text(text, MAX_TEXT)
    assert len(pieces) == 3 and all(len(p) <= 4096 for p in pieces)
    assert "\n".join(pieces) == text
    assert split_text("a" * 5000, MAX_TEXT) == ["a" * 4096, "a" * 904]


async def test_register_by_deep_link_and_record_with_buttons(polling_bot, fake):
    app, _ = polling_bot
    assert {c["command"] for c in fake.my_commands()} >= {"moi", "cuatoi", "huy", "trogiup"}
    assert "Ghi nhận hoạt động mới" in [c["description"] for c in fake.my_commands()]
    lan = TelegramUser(fake, 5001)
    code = await invite_code(app, unit="UBND huyện Nghi Xuân")
    await lan.say(f"/start {code}", "Bạn muốn làm gì")

    # doan_vao: buttons for choices, typing for the rest.
    await lan.tap("Ghi nhận hoạt động mới", "Chọn loại hoạt động")
    await lan.tap("Đoàn vào", "Tên đoàn khách là gì?")
    await lan.say("Đoàn Tổng Lãnh sự quán Lào tại Đà Nẵng", "Trưởng đoàn")
    await lan.say("Ông Phuthon Mixay, Tổng Lãnh sự", "Đoàn đến từ nước")
    await lan.say("Lào", "Đoàn thuộc loại nào?")
    prompt_id = lan.messages()[-1]["message_id"]
    await lan.tap("Cơ quan đại diện", "Lãnh đạo tỉnh có tiếp đoàn không?")
    edited = next(m for m in lan.messages() if m["message_id"] == prompt_id)
    assert "→ Đã chọn: Cơ quan đại diện" in edited["text"] and not edited["reply_markup"]
    await lan.tap("Có", "Nội dung làm việc")
    await lan.say("Chào xã giao", "bao nhiêu người")
    await lan.say("6", "Đoàn đến ngày nào?")
    await lan.say("12/3/2023", "rời tỉnh ngày nào")
    await lan.say("13/3/2023", "Kinh phí")
    await lan.say("bỏ qua", "Đoàn đã đến hay mới là kế hoạch?")
    await lan.tap("Đã thực hiện", "Kiểm tra lại trước khi lưu")
    await lan.tap("Sửa: Số lượt khách", "Giá trị hiện tại: 6")
    await lan.say("7", "• Số lượt khách: 7")
    await lan.tap("Lưu", "Đã lưu hoạt động số 1")

    # hoi_nghi.
    await lan.tap("Ghi nhận hoạt động khác", "Chọn loại hoạt động")
    await lan.tap("Hội nghị", "Tên hội nghị")
    answers = [
        ("Hội thảo quốc tế về du lịch", "Đơn vị nào tổ chức?"),
        ("UBND huyện Nghi Xuân", "phối hợp"),
        ("bỏ qua", "Cấp nào cho phép"),
    ]
    for text, expect in answers:
        await lan.say(text, expect)
    await lan.tap("UBND tỉnh", "đại biểu Việt Nam")
    for text, expect in [
        ("80", "đang sống ở Việt Nam"),
        ("5", "từ nước ngoài sang"),
        ("10", "những nước"),
        ("Lào, Nhật Bản", "Nội dung chính"),
        ("Phát triển du lịch biển", "Bắt đầu ngày nào?"),
        ("20/4/2023", "Kết thúc ngày nào?"),
        ("21/4/2023", "Tổ chức ở đâu?"),
        ("Thị trấn Xuân An", "Kinh phí từ nguồn nào?"),
        ("Dự án JICA", "Tổng kinh phí"),
        ("150 triệu", "Đã tổ chức hay mới là kế hoạch?"),
    ]:
        await lan.say(text, expect)
    await lan.tap("Đã tổ chức", "Kiểm tra lại")
    await lan.tap("Lưu", "Đã lưu hoạt động số 2")

    visit, workshop = await records(app)
    assert visit.kind == "doan_vao" and visit.values["so_nguoi"] == 7
    assert visit.values["loai_khach"] == "co_quan_dai_dien"
    assert visit.values["lanh_dao_tinh_tiep"] is True
    assert workshop.kind == "hoi_nghi" and workshop.values["kinh_phi_vnd"] == 150_000_000
    assert workshop.values["cap_cho_phep"] == "ubnd_tinh"
    assert len(fake.answered_callbacks) >= 8


async def test_user_text_comes_back_exactly(polling_bot, fake):
    app, _ = polling_bot
    tricky = "<b>Đoàn</b> & <script>alert(1)</script> *đậm* _nghiêng_ [link](x) `code` {{ 7*7 }}"
    user = TelegramUser(fake, 5002)
    await user.say(f"/start {await invite_code(app)}", "Bạn muốn làm gì")
    await user.say("/moi", "Chọn loại")
    await user.tap("Thông tin đối ngoại", "ngày nào")
    await user.say("hôm nay", "Nội dung hoạt động")
    await user.say(tricky, "Cơ quan báo chí nào")
    summary = await user.say("bỏ qua", "Kiểm tra lại")
    assert f"• Nội dung: {tricky}" in summary
    assert all(m["parse_mode"] is None for m in user.messages())


async def test_rate_limited_send_is_retried_and_blocked_user_marked(polling_bot, fake):
    app, _ = polling_bot
    user = TelegramUser(fake, 5003)
    await user.say(f"/start {await invite_code(app)}", "Bạn muốn làm gì")
    fake.fail_next("sendMessage", chat_id=5003, times=1, status=429, retry_after=0.3)
    text = await user.say("/trogiup", "Bạn muốn làm gì")
    assert "Hướng dẫn sử dụng" in text
    assert "/moi" in text
    assert any(e[2] == 429 for e in fake.errors)

    fake.block_user(5003)
    await fake.send_text(5003, "/menu")

    async def blocked() -> bool:
        async with app.sessions() as db:
            identity = await db.scalar(select(Identity).where(Identity.user_id == "5003"))
            return identity.blocked_at is not None

    for _ in range(100):
        if await blocked():
            break
        await asyncio.sleep(0.05)
    assert await blocked()
    fake.unblock_user(5003)
    await user.say("/menu", "Bạn muốn làm gì")  # writing again: reachable again
    assert not await blocked()
    forbidden = [e for e in fake.errors if e[2] == 403]
    assert len(forbidden) == 1, [(e[0], e[1].get("text")) for e in forbidden]  # not retried


async def test_webhook_checks_the_secret_and_processes_each_update_once(tmp_path, fake):
    settings = telegram_settings(
        tmp_path, fake, telegram_mode="webhook", public_base_url="http://127.0.0.1:1"
    )
    app = await open_app(settings, clock=lambda: TZ_NOW)
    channel = TelegramChannel(app, webhook=True)
    await channel.start()
    assert fake.webhook["url"] == "http://127.0.0.1:1/telegram/webhook"
    assert fake.webhook["secret_token"] == SECRET

    from aiohttp.test_utils import TestClient, TestServer

    client = TestClient(TestServer(build_web_app(app, channel), host="127.0.0.1"))
    await client.start_server()
    code = await invite_code(app)

    def update(update_id: int, text: str) -> dict:
        return {
            "update_id": update_id,
            "message": {
                "message_id": 1000 + update_id,  # after the bot's messages in this chat
                "date": 1700000000,
                "chat": {"id": 6001, "type": "private"},
                "from": {"id": 6001, "is_bot": False, "first_name": "Minh"},
                "text": text,
            },
        }

    header = "X-Telegram-Bot-Api-Secret-Token"
    wrong = await client.post("/telegram/webhook", json=update(1, f"/start {code}"))
    assert wrong.status == 403
    wrong = await client.post(
        "/telegram/webhook", json=update(1, f"/start {code}"), headers={header: "nope"}
    )
    assert wrong.status == 403
    assert fake.sent(6001) == []

    script = [f"/start {code}", "/moi", "Công tác biên giới", "hôm nay", "Tuần tra chung", "0"]
    for number, text in enumerate(script, start=10):
        response = await client.post(
            "/telegram/webhook", json=update(number, text), headers={header: SECRET}
        )
        assert response.status == 200
        await outbox_drained(app)  # a person answers what they have seen
    save = {
        "update_id": 99,
        "callback_query": {
            "id": "cb-99",
            "from": {"id": 6001, "is_bot": False, "first_name": "Minh"},
            "chat_instance": "1",
            "data": "save",
            "message": fake.message_json(6001, fake.sent(6001)[-1]["message_id"]),
        },
    }
    for _ in range(2):  # Telegram redelivers when it did not see the 200
        response = await client.post("/telegram/webhook", json=save, headers={header: SECRET})
        assert response.status == 200
    assert len(await records(app)) == 1
    await outbox_drained(app)
    assert sum("Đã lưu hoạt động số 1" in (m["text"] or "") for m in fake.sent(6001)) == 1

    bad = await client.post("/telegram/webhook", data=b"{oops", headers={header: SECRET})
    assert bad.status == 400
    health = await client.get("/healthz")
    assert health.status == 200 and (await health.json())["status"] == "ok"
    await client.close()
    await channel.stop()
    await app.close()


async def test_wrong_token_stops_the_start_with_one_line(tmp_path, fake):
    env = {
        **os.environ,
        "DOINGOAI_DATA_DIR": str(tmp_path / "data"),
        "DOINGOAI_TELEGRAM_BOT_TOKEN": "999:WRONG",
        "DOINGOAI_TELEGRAM_API_BASE_URL": fake.base_url,
    }
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot.cli", "run", env=env,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip
    out, err = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode == 2
    assert err.decode().strip() == (
        "Token Telegram không hợp lệ (máy chủ Telegram từ chối). "
        "Kiểm tra lại biến DOINGOAI_TELEGRAM_BOT_TOKEN."
    )


async def test_sigterm_mid_conversation_loses_nothing(tmp_path, fake):
    settings = make_settings(tmp_path / "data")
    env = {
        **os.environ,
        "DOINGOAI_DATA_DIR": str(tmp_path / "data"),
        "DOINGOAI_DATABASE_URL": settings.database_url,
        "DOINGOAI_TELEGRAM_BOT_TOKEN": TOKEN,
        "DOINGOAI_TELEGRAM_API_BASE_URL": fake.base_url,
        "DOINGOAI_LISTEN_PORT": "0",
    }

    async def start_bot():
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot.cli", "run", env=env,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        )  # fmt: skip
        line = await asyncio.wait_for(process.stdout.readline(), 60)
        assert "đang chạy" in line.decode(), line
        return process

    app = await open_app(settings)
    code = await invite_code(app)
    await app.close()

    user = TelegramUser(fake, 7001)
    bot = await start_bot()
    await user.say(f"/start {code}", "Bạn muốn làm gì")
    await user.say("/moi", "Chọn loại")
    await user.tap("Khen thưởng", "Hình thức khen thưởng")
    await user.say("Bằng khen", "Khen thưởng cho ai")
    await user.say("Tổ chức KOICA", "tập thể hay cá nhân")
    bot.send_signal(signal.SIGTERM)
    assert await asyncio.wait_for(bot.wait(), 30) == 0

    bot = await start_bot()
    text = await user.say("1", "Thuộc nước hoặc tổ chức nào?")
    assert "câu 4/7" in text
    for answer, expect in [
        ("Hàn Quốc", "Thành tích"),
        ("Hỗ trợ giáo dục", "Số quyết định"),
        ("12/QĐ-UBND", "Ngày ký quyết định"),
        ("1/2/2023", "Kiểm tra lại"),
    ]:
        await user.say(answer, expect)
    summary = user.messages()[-1]["text"]
    assert "• Người, tập thể được khen: Tổ chức KOICA" in summary
    assert "• Tập thể hay cá nhân: Tập thể" in summary
    bot.send_signal(signal.SIGTERM)
    assert await asyncio.wait_for(bot.wait(), 30) == 0


async def test_health_check_reports_the_database(tmp_path, fake):
    from aiohttp.test_utils import TestClient, TestServer
    from sqlalchemy.ext.asyncio import create_async_engine

    from bot.app import App
    from storage.db import session_factory

    app = await open_app(telegram_settings(tmp_path, fake))
    broken_engine = create_async_engine(f"sqlite+aiosqlite:///{tmp_path}/missing/dir/x.db")
    broken = App(app.settings, broken_engine, session_factory(broken_engine), app.engine)
    for target, status in ((app, 200), (broken, 503)):
        client = TestClient(TestServer(build_web_app(target), host="127.0.0.1"))
        await client.start_server()
        response = await client.get("/healthz")
        assert response.status == status
        await client.close()
    await broken_engine.dispose()
    await app.close()


async def test_reminder_buttons_confirm_and_the_coordinator_sees_it(polling_bot, fake):
    from datetime import datetime

    from bot.channels import Channels
    from scheduler.reminders import Reminders

    app, channel = polling_bot
    focal, boss = TelegramUser(fake, 8001), TelegramUser(fake, 8002)
    await focal.say(f"/start {await invite_code(app, unit='Sở Y tế')}", "Bạn muốn làm gì")
    await boss.say(f"/start {await invite_code(app, role='coordinator')}", "Bạn muốn làm gì")

    channels = Channels()
    channels.register("telegram", channel.send)
    moment = datetime.fromisoformat("2023-10-03T08:00:00+07:00")  # d7 of 2023-Y
    assert await Reminders(app.sessions, app.settings, channels.deliver).tick(moment) == 1
    reminder = focal.messages()[-1]
    assert reminder["text"].startswith("🔔 Nhắc báo cáo đối ngoại năm 2023")
    labels = [b["text"] for row in reminder["reply_markup"]["inline_keyboard"] for b in row]
    assert labels == [
        "Ghi nhận hoạt động", "Xác nhận đã báo cáo đủ", "Không có hoạt động phát sinh"
    ]  # fmt: skip
    summary = boss.messages()[-1]["text"]
    assert summary.startswith("📋 Đợt năm 2023") and "• Sở Y tế" in summary

    await focal.tap("Xác nhận đã báo cáo đủ", "chưa thể xác nhận")  # nothing recorded
    await focal.tap("Không có hoạt động phát sinh", "Bạn muốn làm gì")
    assert any("Sở Y tế xác nhận không có hoạt động" in m["text"] for m in focal.messages())
    await boss.say("/tiendo", "Chọn đợt báo cáo")
    text = await boss.tap("năm 2023 (hạn 10/10/2023)", "Bạn muốn làm gì")
    assert "✅ Sở Y tế — không có hoạt động phát sinh" in text


async def test_an_edited_message_is_answered_not_ignored(polling_bot, fake):
    app, _ = polling_bot
    lan = TelegramUser(fake, 8101)
    await lan.say(f"/start {await invite_code(app)}", "Bạn muốn làm gì")
    await lan.say("/moi", "Chọn loại hoạt động")
    await lan.tap("Công tác biên giới", "Hoạt động diễn ra ngày nào?")
    await lan.say("12/4/2023", "Nội dung hoạt động?")
    before = len(lan.messages())
    await fake.edit_last_text(8101, "13/4/2023")
    reply = await lan._expect(before, "Tin nhắn đã sửa không được áp dụng")
    assert "giữ nguyên" in reply
    await lan.say("Tuần tra chung", "Số hài cốt")
    summary = await lan.say("bỏ qua", "Kiểm tra lại")
    assert "• Ngày: 12/04/2023" in summary  # the edit changed nothing silently


async def test_one_message_entry_on_telegram(polling_bot, fake):
    from tests.test_quick_entry import FORMS, fill

    app, _ = polling_bot
    lan = TelegramUser(fake, 8201)
    await lan.say(f"/start {await invite_code(app)}", "Bạn muốn làm gì")
    await lan.tap("Nhập nhanh", "Nhập nhanh: chọn loại hoạt động")
    await lan.tap("Đoàn vào", "Loại hoạt động: Đoàn vào")
    template = lan.messages()[-1]["text"]
    values = {f.key: f.example for f in FORMS["doan_vao"].fields}
    summary = await lan.say(fill(template, "doan_vao", values), "Kiểm tra lại trước khi lưu")
    assert "Đã đọc 11/11 mục" in summary
    await lan.tap("Lưu", "Đã lưu hoạt động số 1")
    [record] = await records(app)
    assert record.values["nuoc"] == "Lào" and record.values["trang_thai"] == "da_thuc_hien"
