"""/baocao in chat: coordinators get a preview and the two files; focal points are refused.
Telegram sends the files as documents, Zalo as links."""

from __future__ import annotations

import io

from docx import Document
from openpyxl import load_workbook

from storage.transfer import import_records
from tests.conftest import FIXTURES, TZ_NOW, registered

GOLDEN = FIXTURES / "bao_cao_6_thang_2021.csv"


async def load_golden(app) -> None:
    async with app.sessions() as db, db.begin():
        result = await import_records(db, GOLDEN, TZ_NOW.date())
    assert result.errors == []


async def test_coordinator_gets_preview_docx_and_xlsx(app):
    await load_golden(app)
    boss = await registered(app, "c1", role="coordinator")
    await boss.send("/baocao")
    assert "Soạn báo cáo cho đợt nào?" in boss.text
    await boss.press("Khoảng thời gian khác")
    await boss.send("1/1/2024")
    assert "chưa tới" in boss.text
    await boss.send("1/1/2020")
    await boss.send("quay lại")
    assert "tính từ ngày nào" in boss.text
    await boss.send("1/1/2021")
    await boss.send("31/12/2020")
    assert "không được trước ngày bắt đầu" in boss.text
    await boss.send("30/6/2021")
    texts = [reply.text for reply in boss.replies]
    assert any("Đang soạn báo cáo" in text for text in texts)
    preview = next(text for text in texts if text.startswith("Xem nhanh dự thảo"))
    assert "15 đoàn với 179 lượt khách quốc tế" in preview
    assert "**" not in preview and "##" not in preview
    files = [reply.file_path for reply in boss.replies if reply.file_path]
    assert [f.suffix for f in files] == [".docx", ".xlsx", ".xlsx"]
    body = "\n".join(p.text for p in Document(files[0]).paragraphs)
    assert "08 hội thảo quốc tế (tăng 07 hội thảo so với cùng kỳ năm 2020)" in body
    assert "Mẫu 04 - Kế hoạch đoàn ra" in load_workbook(files[1]).sheetnames
    assert "hoi_nghi" in load_workbook(files[2]).sheetnames


async def test_recent_rounds_are_offered(app):
    boss = await registered(app, "c2", role="coordinator")
    await boss.send("/baocao")
    labels = [c.label for c in boss.last.choices]
    assert any(label.startswith("năm 2022") for label in labels)
    assert any(label.startswith("6 tháng đầu năm 2023") for label in labels)


async def test_focal_points_are_refused_politely(app):
    focal = await registered(app, "f1")
    await focal.send("baocao")
    assert "dành cho điều phối viên" in focal.text
    assert all(reply.file_path is None for reply in focal.replies)


async def test_telegram_sends_the_files_as_documents(tmp_path):
    from bot.app import open_app
    from bot.telegram import TelegramChannel
    from tests.conftest import invite_code
    from tests.fakes.telegram_api import FakeTelegramAPI
    from tests.test_telegram import TOKEN, TelegramUser, telegram_settings

    async with FakeTelegramAPI(token=TOKEN) as fake:
        app = await open_app(telegram_settings(tmp_path, fake), clock=lambda: TZ_NOW)
        await load_golden(app)
        channel = TelegramChannel(app)
        await channel.start()
        boss = TelegramUser(fake, 9001)
        await boss.say(f"/start {await invite_code(app, role='coordinator')}", "Bạn muốn làm gì")
        await boss.say("/baocao", "Soạn báo cáo cho đợt nào?")
        await boss.tap("Khoảng thời gian khác", "từ ngày nào")
        await boss.say("1/1/2021", "Đến ngày nào")
        await boss.say("30/6/2021", "Số liệu chi tiết để rà soát")
        documents = [m for m in fake.sent(9001) if m["filename"]]
        assert [d["filename"].rsplit(".", 1)[1] for d in documents] == ["docx", "xlsx", "xlsx"]
        document = Document(io.BytesIO(documents[0]["content"]))
        assert any("179 lượt khách quốc tế" in p.text for p in document.paragraphs)
        await channel.stop()
        await app.close()


async def test_zalo_sends_a_link_that_downloads_the_docx(tmp_path):
    from aiohttp.test_utils import TestClient, TestServer

    from bot.app import open_app
    from bot.web import build_web_app
    from bot.zalo import ZaloChannel
    from tests.conftest import invite_code
    from tests.fakes.zalo_api import FakeZaloAPI
    from tests.test_zalo import TOKEN, ZaloUser, zalo_settings

    async with FakeZaloAPI(token=TOKEN) as fake:
        app = await open_app(zalo_settings(tmp_path, fake), clock=lambda: TZ_NOW)
        await load_golden(app)
        client = TestClient(TestServer(build_web_app(app), host="127.0.0.1"))
        await client.start_server()
        app.settings.public_base_url = str(client.make_url("")).rstrip("/")
        channel = ZaloChannel(app)
        await channel.start()
        boss = ZaloUser(fake, "zb")
        await boss.say(f"/start {await invite_code(app, role='coordinator')}", "Bạn muốn làm gì")
        await boss.say("baocao", "Soạn báo cáo cho đợt nào?")
        await boss.say("khoang thoi gian khac", "từ ngày nào")
        await boss.say("1/1/2021", "Đến ngày nào")
        text = await boss.say("30/6/2021", "Số liệu chi tiết để rà soát")
        links = [line.split("Tải tệp: ")[1] for line in text.splitlines() if "Tải tệp: " in line]
        assert len(links) == 3 and links[0].startswith(app.settings.public_base_url)
        response = await client.get(links[0].removeprefix(app.settings.public_base_url))
        assert response.status == 200
        document = Document(io.BytesIO(await response.read()))
        assert any("179 lượt khách quốc tế" in p.text for p in document.paragraphs)
        await channel.stop()
        await client.close()
        await app.close()
