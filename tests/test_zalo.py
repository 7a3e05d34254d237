"""The Zalo channel: the real client against a fake Zalo Bot API on 127.0.0.1, polling and
webhook, with files offered by link."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from aiohttp.test_utils import TestClient, TestServer
from docx import Document
from sqlalchemy import select, update

from bot.app import open_app
from bot.web import build_web_app
from bot.zalo import ZaloChannel
from storage.models import FileLink, Record
from tests.conftest import TZ_NOW, ChatUser, invite_code, make_settings, outbox_drained
from tests.fakes.zalo_api import FakeZaloAPI

TOKEN = "zalo-test-token"
SECRET = "zalo-secret-123"


@pytest.fixture
async def fake() -> AsyncIterator[FakeZaloAPI]:
    async with FakeZaloAPI(token=TOKEN) as server:
        yield server


def zalo_settings(tmp_path, fake, **overrides):
    return make_settings(
        tmp_path / "data",
        zalo_bot_token=TOKEN,
        zalo_api_base_url=fake.base_url,
        zalo_webhook_secret=SECRET,
        **overrides,
    )


@pytest.fixture
async def polling_bot(tmp_path, fake):
    app = await open_app(zalo_settings(tmp_path, fake), clock=lambda: TZ_NOW)
    channel = ZaloChannel(app)
    await channel.start()
    yield app, channel
    await channel.stop()
    await app.close()


class ZaloUser:
    def __init__(self, fake: FakeZaloAPI, user_id: str) -> None:
        self.fake, self.user_id = fake, user_id

    async def say(self, text: str, expect: str) -> str:
        before = len(self.fake.sent(self.user_id))

        def arrived() -> bool:
            return any(expect in m for m in self.fake.sent(self.user_id)[before:])

        await self.fake.send_text(self.user_id, text, display_name="Hoa")
        await self.fake.wait_until(arrived, timeout=10, what=repr(expect))
        return "\n".join(self.fake.sent(self.user_id)[before:])


async def records(app) -> list[Record]:
    async with app.sessions() as db:
        return list((await db.scalars(select(Record).order_by(Record.id))).all())


async def test_register_and_record_an_agreement_with_numbered_choices(polling_bot, fake):
    app, _ = polling_bot
    hoa = ZaloUser(fake, "z1")
    code = await invite_code(app, unit="Sở Giáo dục và Đào tạo")
    menu = await hoa.say(f"/start {code}", "Bạn muốn làm gì")
    assert "Chào mừng Hoa" in menu and "1. Ghi nhận hoạt động mới" in menu
    assert "Gõ số thứ tự" in menu
    await hoa.say("moi", "Chọn loại hoạt động")  # a command without the slash
    await hoa.say("4", "Tên thỏa thuận là gì?")  # Thỏa thuận quốc tế, by number
    await hoa.say("Biên bản ghi nhớ hợp tác giáo dục", "Đối tác nước ngoài")
    await hoa.say("Sở Giáo dục tỉnh Khăm Muộn", "thuộc nước nào")
    prompt = await hoa.say("Lào", "Thỏa thuận ký ở cấp nào?")
    assert "2. Cấp sở, ngành" in prompt
    await hoa.say("cap so nganh", "Ngày ký")  # a choice by words, without accents
    await hoa.say("5/5/2023", "Cơ quan nào đề xuất")
    await hoa.say("Sở Giáo dục và Đào tạo", "phối hợp")
    await hoa.say("bỏ qua", "lĩnh vực")
    await hoa.say("Giáo dục", "Đã ký hay mới dự kiến?")
    summary = await hoa.say("1", "Kiểm tra lại")
    assert "• Cấp ký: Cấp sở, ngành" in summary
    await hoa.say("lưu", "Đã lưu hoạt động số 1")
    [record] = await records(app)
    assert record.kind == "thoa_thuan" and record.values["cap_ky"] == "cap_so_nganh"
    assert record.values["trang_thai"] == "da_ky" and "co_quan_phoi_hop" not in record.values


async def test_a_long_reply_arrives_as_ordered_messages(polling_bot, fake):
    app, _ = polling_bot
    user = ZaloUser(fake, "z2")
    await user.say(f"/start {await invite_code(app)}", "Bạn muốn làm gì")
    await user.say("/moi", "Chọn loại")
    await user.say("Lãnh sự", "Vụ việc thuộc loại nào?")
    await user.say("2", "ngày nào")
    await user.say("8/5/2023", "Quốc tịch")
    await user.say("Hàn Quốc", "Mô tả ngắn")
    description = "\n".join(f"Dòng mô tả số {i:02d}: " + "chi tiết " * 8 for i in range(1, 22))
    assert 1800 < len(description) <= 2000
    await user.say(description, "Kết quả xử lý")
    before = len(fake.sent("z2"))
    await fake.send_text("z2", "Đã hỗ trợ đưa công dân về nước an toàn " * 12)
    await fake.wait_until(lambda: len(fake.sent("z2")) >= before + 2, timeout=10)
    first, second = fake.sent("z2")[before : before + 2]
    assert len(first) <= 2000 and len(second) <= 2000 and len(first) + len(second) > 2500
    assert first.startswith("Kiểm tra lại trước khi lưu") and "Dòng mô tả số 01" in first
    assert "1. Lưu" in second and second.rstrip().endswith("(Gõ số thứ tự hoặc nội dung lựa chọn.)")


async def test_non_text_events_get_a_polite_answer(polling_bot, fake):
    await fake.send_event("z3", "sticker")
    texts = await fake.wait_for_sent("z3", 1)
    assert "chỉ nhận tin nhắn văn bản" in texts[0]
    await fake.send_event("z3", "voice")
    texts = await fake.wait_for_sent("z3", 2)
    assert "chưa nghe được tin nhắn thoại" in texts[1]


async def test_withheld_content_gets_no_reply(polling_bot, fake):
    """An unsupported event is a protected user whose message Zalo withheld: telling them
    "text only" would be wrong; nothing is sent. A later text is answered as usual."""
    await fake.send_event("z-protected", "unsupported")
    await fake.send_text("z-protected", "xin chào")
    texts = await fake.wait_for_sent("z-protected", 1)
    assert len(texts) == 1 and "trợ lý tự động" in texts[0]


async def test_a_text_of_emoji_is_split_below_the_limit(polling_bot, fake):
    from domain.messages import SENT, Outgoing

    _, channel = polling_bot
    assert (await channel.send(Outgoing(text="😀" * 2000, chat_id="z-emoji"))).outcome == SENT
    pieces = fake.sent("z-emoji")
    assert "".join(pieces) == "😀" * 2000 and len(pieces) == 3
    assert all(len(p.encode("utf-16-le")) // 2 < 2000 for p in pieces)


async def test_polling_refused_stops_with_one_message(tmp_path, fake, caplog):
    """getUpdates answering 400 (a webhook set elsewhere): the webhook is deleted once, then
    polling stops with one clear message instead of retrying forever."""
    app = await open_app(zalo_settings(tmp_path, fake, zalo_mode="polling"), clock=lambda: TZ_NOW)
    channel = ZaloChannel(app)
    fake.fail_next("getUpdates", times=1000, status=400, description="Bad request")
    await channel.start()
    await asyncio.wait_for(channel._poller, timeout=10)
    assert len(fake.calls_to("getUpdates")) == 2
    assert len(fake.calls_to("deleteWebhook")) == 2  # at start, and once on the refusal
    stopped = [r for r in caplog.records if "ngừng nhận tin qua polling" in r.getMessage()]
    assert len(stopped) == 1
    await channel.stop()
    await app.close()


async def test_webhook_secret_and_redelivery(tmp_path, fake):
    settings = zalo_settings(
        tmp_path, fake, zalo_mode="webhook", public_base_url="https://bot.songoaivu.example.vn"
    )
    app = await open_app(settings, clock=lambda: TZ_NOW)
    channel = ZaloChannel(app, webhook=True)
    client = TestClient(TestServer(build_web_app(app, zalo=channel), host="127.0.0.1"))
    await client.start_server()
    app.settings.public_base_url = str(client.make_url("")).rstrip("/")
    await channel.start()
    assert fake.webhook["url"].endswith("/zalo/webhook") and fake.webhook["secret_token"] == SECRET

    event = {
        "event_name": "message.text.received",
        "message": {
            "from": {"id": "z4", "display_name": "Nam", "is_bot": False},
            "chat": {"id": "z4", "chat_type": "PRIVATE"},
            "text": f"/start {await invite_code(app)}",
            "message_id": "abc123",
            "date": 1700000000000,
        },
    }
    for headers in ({}, {"X-Bot-Api-Secret-Token": "wrong-secret"}):
        response = await client.post("/zalo/webhook", json=event, headers=headers)
        assert response.status == 403
    assert fake.sent("z4") == []
    good = {"X-Bot-Api-Secret-Token": SECRET}
    for _ in range(2):  # the same event delivered twice
        response = await client.post("/zalo/webhook", json=event, headers=good)
        assert response.status == 200
    await outbox_drained(app)
    assert sum("Chào mừng Nam" in text for text in fake.sent("z4")) == 1

    user = ZaloUser(fake, "z4")  # through the fake's own webhook delivery
    await user.say("trogiup", "Hướng dẫn sử dụng")
    await client.close()
    await channel.stop()
    await app.close()


async def test_files_come_as_links_that_expire(polling_bot, fake, tmp_path):
    from domain.messages import Outgoing

    app, channel = polling_bot
    app.settings.public_base_url = "http://127.0.0.1:9"
    document = Document()
    document.add_paragraph("Báo cáo 6 tháng đầu năm 2023")
    path = app.settings.data_dir / "reports" / "bao-cao.docx"  # where reports are written
    path.parent.mkdir(parents=True, exist_ok=True)
    document.save(path)
    await channel.send(Outgoing(text="Báo cáo đã sẵn sàng.", chat_id="z5", file_path=path))
    [text] = fake.sent("z5")
    link = text.split("Tải tệp: ")[1].strip()
    token = link.rsplit("/", 1)[1]
    assert link.startswith("http://127.0.0.1:9/files/") and len(token) >= 30

    client = TestClient(TestServer(build_web_app(app), host="127.0.0.1"))
    await client.start_server()
    response = await client.get(f"/files/{token}")
    assert response.status == 200
    download = tmp_path / "downloaded.docx"
    download.write_bytes(await response.read())
    assert Document(download).paragraphs[0].text == "Báo cáo 6 tháng đầu năm 2023"
    assert "bao-cao.docx" in response.headers["Content-Disposition"]

    async with app.sessions() as db, db.begin():
        await db.execute(update(FileLink).values(expires_at=FileLink.created_at))
    expired = await client.get(f"/files/{token}")
    assert expired.status == 404 and "hết hạn" in await expired.text()
    unknown = await client.get("/files/not-a-token")
    assert unknown.status == 404
    await client.close()


async def test_one_person_on_two_messengers(polling_bot, fake):
    app, _ = polling_bot
    elsewhere = ChatUser(app, "tg-77", channel="telegram")
    await elsewhere.send(f"/start {await invite_code(app, unit='Sở Tư pháp')}")
    await elsewhere.send("/moi")
    await elsewhere.press("Công tác biên giới")
    for answer in ("hôm nay", "Tuần tra chung", "bỏ qua"):
        await elsewhere.send(answer)
    await elsewhere.press("Lưu")
    await elsewhere.send("/moi")
    await elsewhere.press("Thông tin đối ngoại")
    await elsewhere.send("hôm qua")  # a draft on Telegram
    await elsewhere.send("/lienket")
    code = elsewhere.text.split("Mã liên kết: ")[1].split()[0]

    same = ZaloUser(fake, "z6")
    welcome = await same.say(f"/start {code}", "Bạn muốn làm gì")
    assert "Sở Tư pháp" in welcome
    assert "Tiếp tục bản nháp" not in welcome  # drafts are per messenger
    listing = await same.say("/cuatoi", "Để xem, sửa hoặc xóa")
    assert "#1 · Công tác biên giới" in listing


async def test_error_403_is_retried_and_nobody_is_marked_blocked(polling_bot, fake):
    """Zalo documents 403 as "Internal server error": retried, and never taken to mean the
    user blocked the bot (no code is documented for that)."""
    from domain.messages import FAILED, SENT, Outgoing
    from storage.models import Identity

    app, channel = polling_bot
    user = ZaloUser(fake, "z7")
    await user.say(f"/start {await invite_code(app)}", "Bạn muốn làm gì")
    fake.fail_next("sendMessage", times=1, status=403)
    assert (await channel.send(Outgoing(text="Nhắc báo cáo", chat_id="z7"))).outcome == SENT
    assert fake.sent("z7")[-1] == "Nhắc báo cáo"
    fake.fail_next("sendMessage", times=100, status=403)
    delivery = await channel.send(Outgoing(text="Nhắc lần hai", chat_id="z7"))
    assert delivery.outcome == FAILED and "403" in delivery.error
    async with app.sessions() as db:
        identity = await db.scalar(select(Identity).where(Identity.user_id == "z7"))
    assert identity.blocked_at is None


async def test_one_message_entry_sent_back_in_two_parts(polling_bot, fake):
    from tests.test_quick_entry import FORMS, fill

    app, _ = polling_bot
    hoa = ZaloUser(fake, "z-quick")
    await hoa.say(f"/start {await invite_code(app)}", "Bạn muốn làm gì")
    await hoa.say("nhanh hội nghị", "Loại hoạt động: Hội nghị")  # no slash on Zalo
    template = fake.sent("z-quick")[-1]
    values = {f.key: f.example for f in FORMS["hoi_nghi"].fields}
    values["noi_dung"] = "Chia sẻ kinh nghiệm quản lý tài nguyên nước. " * 30
    lines = fill(template, "hoi_nghi", values).splitlines()
    first, second = "\n".join(lines[:10]), "\n".join(lines[10:])
    assert max(len(first), len(second)) < 2000 < len(first) + len(second)  # Zalo's limit
    await hoa.say(first, "Còn 5 mục")
    summary = await hoa.say(second, "1. Lưu")  # the summary may come in two messages
    assert "• Trạng thái: Đã tổ chức" in summary
    await hoa.say("lưu", "Đã lưu hoạt động số 1")
    [record] = await records(app)
    assert record.kind == "hoi_nghi" and record.values["kinh_phi_vnd"] == 150_000_000
