"""First contact and the coordinator's flows: malformed codes, a second code in the same
chat, the report menu, floods, demo codes and settings checked at start."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import date, timedelta

from sqlalchemy import func, select

from bot.app import demo_invites, open_app
from storage import repo
from storage import rounds as store
from storage.models import Invite, Member
from tests.conftest import TZ_NOW, ChatUser, invite_code, make_settings, registered


async def test_a_malformed_code_is_told_so(app):
    stranger = ChatUser(app, "f1")
    for text in ("/start ABCDEFG0", "ma cua toi la ABCD12", "mã của tôi là K7QM2PXB"):
        await stranger.send(text)
        assert "không đúng" in stranger.text and "Chào mừng" not in stranger.text, text
    await stranger.send("xin chào")
    assert "chưa đăng ký" in stranger.text and "không đúng" not in stranger.text
    code = await invite_code(app)
    await stranger.send(f"mã mời của tôi là {code} ạ")  # the code inside a sentence
    assert "Chào mừng" in stranger.text


async def test_a_second_code_in_the_same_chat_changes_the_role(app):
    user = await registered(app, "f2", unit="Sở Ngoại vụ")
    await user.send("/baocao")
    assert "dành cho điều phối viên" in user.text
    await user.send(f"/start {await invite_code(app, role='coordinator')}")
    assert "từ nay bạn là điều phối viên của Sở Ngoại vụ" in user.text
    await user.send("/baocao")
    assert "Soạn báo cáo cho đợt nào?" in user.text
    await user.send(f"/start {await invite_code(app, role='coordinator')}")
    assert "Bạn đã đăng ký rồi" in user.text
    async with app.sessions() as db:
        assert await db.scalar(select(func.count(Member.id))) == 1


async def test_the_report_menu_keeps_its_numbers_and_sends_the_menu_last(app):
    boss = await registered(app, "f3", role="coordinator")
    await boss.send("/baocao")
    before = [c.label for c in boss.last.choices]
    async with app.sessions() as db, db.begin():
        await store.add_adhoc_round(
            db, start=date(2023, 1, 1), end=date(2023, 3, 31), deadline=date(2023, 6, 30),
            message="Phục vụ đoàn kiểm tra", created_by=None,
        )  # fmt: skip
    await boss.send("/baocao")
    after = [c.label for c in boss.last.choices]
    assert after[: len(before)] == before and "đột xuất “Phục vụ đoàn kiểm tra”" in after[-1]
    await boss.send("1")
    texts = [reply.text for reply in boss.replies]
    assert texts[0].startswith("⏳ Đang soạn báo cáo")
    assert "Xem nhanh dự thảo" in texts[1] and boss.replies[2].file_path is not None
    assert "Bạn muốn làm gì?" in texts[-1] and boss.last.choices  # the menu, after the files


async def test_a_flood_gets_one_answer_not_one_per_message(settings):
    ticks = {"now": 0.0}
    settings = make_settings(settings.data_dir, flood_burst=5, flood_per_minute=30)
    app = await open_app(settings, clock=lambda: TZ_NOW)
    app.engine._flood.clock = lambda: ticks["now"]
    user = await registered(app, "f4")
    replies = []
    for i in range(200):
        ticks["now"] = i * 0.055  # 200 messages in 11 seconds
        replies += await user.send("/menu")
    warnings = [r for r in replies if "gửi quá nhiều tin nhắn" in r.text]
    menus = [r for r in replies if "Bạn muốn làm gì?" in r.text]
    assert len(warnings) >= 1 and len(menus) + len(warnings) < 20  # not 200 full replies
    ticks["now"] += 60  # slowed down: answered again
    await user.send("/menu")
    assert "Bạn muốn làm gì?" in user.text
    other = await registered(app, "f5")  # one person's flood never silences another
    assert "Chào mừng" in other.text
    await app.close()


async def test_demo_codes_only_on_an_empty_database(app):
    codes = await demo_invites(app)
    assert codes is not None and set(codes) == {"coordinator", "focal_point"}
    assert await demo_invites(app) is None  # not again, even though nobody registered
    async with app.sessions() as db:
        assert await db.scalar(select(func.count(Invite.id))) == 2


async def test_a_real_database_never_gets_demo_codes(app):
    async with app.sessions() as db, db.begin():
        await repo.create_invite(db, role="coordinator", unit_id=None, ttl=timedelta(days=1))
    assert await demo_invites(app) is None


def test_wrong_settings_stop_the_start_with_vietnamese_lines(tmp_path):
    env = {**os.environ, "DOINGOAI_DATA_DIR": str(tmp_path), "DOINGOAI_INVITE_TTL_DAYS": "-1",
           "DOINGOAI_TELEGRAM_MODE": "webhok", "DOINGOAI_REMINDER_TIME": "8h"}  # fmt: skip
    done = subprocess.run(
        [sys.executable, "-m", "bot.cli", "units", "list"],
        capture_output=True, text=True, env=env, timeout=60,
    )  # fmt: skip
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert "Cấu hình chưa hợp lệ" in done.stderr
    assert "DOINGOAI_INVITE_TTL_DAYS = -1: phải lớn hơn 0" in done.stderr
    assert "DOINGOAI_TELEGRAM_MODE = webhok: chỉ nhận 'polling' hoặc 'webhook'" in done.stderr
    assert "DOINGOAI_REMINDER_TIME = 8h: phải có dạng giờ:phút" in done.stderr
    assert not (tmp_path / "doingoai.db").exists()  # nothing opened
