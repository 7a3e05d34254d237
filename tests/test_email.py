"""The e-mail channel against a real SMTP server on 127.0.0.1 (aiosmtpd): linking an address
with a code, reminders per channel, refusals shown to coordinators, reports by mail."""

from __future__ import annotations

import asyncio
import io
import re
from collections.abc import AsyncIterator
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from docx import Document
from sqlalchemy import select, update

from bot.app import open_app
from bot.channels import Channels
from bot.outbox import OutboxSender
from bot.zalo import ZaloChannel
from scheduler.reminders import Reminders
from storage import identities
from storage.models import Delivery, Identity, OutboxMessage, Unit
from tests.conftest import ChatUser, make_settings, outbox_drained, registered
from tests.fakes.smtp import FakeSMTP
from tests.fakes.zalo_api import FakeZaloAPI

TZ = ZoneInfo("Asia/Ho_Chi_Minh")
D7 = datetime(2023, 5, 18, 8, 0, tzinfo=TZ)  # the H1 round's reminder 7 days before 25/5
TOKEN = "zalo-mail-token"


@pytest.fixture
async def smtp() -> AsyncIterator[FakeSMTP]:
    async with FakeSMTP() as server:
        yield server


@pytest.fixture
async def clock():
    return {"now": datetime(2023, 5, 10, 9, 0, tzinfo=TZ)}


@pytest.fixture
async def mail_app(tmp_path, smtp, clock):
    settings = make_settings(tmp_path / "data", **smtp.settings())
    app = await open_app(settings, clock=lambda: clock["now"])
    yield app
    await app.close()


def mailed_code(message) -> str:
    return re.search(r"\b(\d{6})\b", message.get_body(("plain",)).get_content()).group(1)


async def link_by_code(user: ChatUser, smtp: FakeSMTP, address: str) -> None:
    await user.send(f"/email {address}")
    assert "Đã gửi mã xác nhận" in user.text, user.text
    await user.send(mailed_code(smtp.to(address)[-1]))
    assert f"Đã liên kết thư điện tử {address}" in user.text, user.text


async def test_an_address_is_linked_with_the_code_mailed_to_it(mail_app, smtp):
    lan = await registered(mail_app, "e1", unit="Sở Y tế")
    await lan.send("/email khong-phai-dia-chi")
    assert "không phải địa chỉ thư điện tử hợp lệ" in lan.text and smtp.messages == []

    await lan.send("/email lan.nguyen@SoYTe.HaTinh.gov.vn")
    address = "lan.nguyen@soyte.hatinh.gov.vn"  # the domain as the server stores it
    assert f"Đã gửi mã xác nhận gồm 6 chữ số tới {address}" in lan.text
    [mail] = smtp.to(address)
    assert mail["Subject"] == "Mã xác nhận địa chỉ thư điện tử — Sở Ngoại vụ"
    assert mail.get_body(("html",)) is not None
    code = mailed_code(mail)
    await lan.send(str((int(code) + 1) % 1_000_000).zfill(6))
    assert "Mã chưa đúng. Bạn còn 4 lần thử." in lan.text
    await lan.send(f"mã là {code}")
    assert f"Đã liên kết thư điện tử {address}" in lan.text

    await lan.send("/kenh")
    assert f"e-mail ({address}): đang nhận nhắc nhở" in lan.text
    await lan.send("kenh tat email")  # without the slash, as on Zalo
    assert "Đã tắt nhắc nhở qua e-mail." in lan.text
    assert f"e-mail ({address}): đã tắt nhắc nhở" in lan.text
    await lan.send("/kenh tat fax")
    assert "Bạn chưa liên kết kênh fax." in lan.text
    await lan.send("/kenh bat")
    assert "Chưa rõ yêu cầu" in lan.text
    await lan.press("Bật nhắc nhở qua e-mail")  # a button on Telegram, a number on Zalo
    assert "Đã bật nhắc nhở qua e-mail." in lan.text
    await lan.send("1")  # the first line: this (test) chat
    assert "Đã tắt nhắc nhở qua test." in lan.text
    await lan.send("2")  # e-mail is now the only channel on
    assert "đây là kênh duy nhất đang nhận nhắc nhở" in lan.text

    other = await registered(mail_app, "e2", unit="Sở Tư pháp")
    await other.send(f"/email {address}")
    assert "đã được liên kết với người khác" in other.text and len(smtp.to(address)) == 1


async def test_the_units_file_address_is_linked_at_registration(mail_app, smtp):
    async with mail_app.sessions() as db, db.begin():
        unit = await db.scalar(select(Unit).where(Unit.name == "Sở Xây dựng"))
        unit.email = "soxd@hatinh.gov.vn"
    hung = await registered(mail_app, "e3", unit="Sở Xây dựng")
    assert "Nhắc nhở cũng sẽ được gửi tới thư điện tử soxd@hatinh.gov.vn" in hung.text
    second = await registered(mail_app, "e4", unit="Sở Xây dựng")
    assert "soxd@hatinh.gov.vn" not in second.text  # one address, one person


async def _register_on_zalo(app, fake: FakeZaloAPI, user_id: str, unit: str) -> None:
    from tests.conftest import invite_code

    code = await invite_code(app, unit=unit)
    before = len(fake.sent(user_id))
    await fake.send_text(user_id, f"/start {code}", display_name=f"Zalo {user_id}")
    await fake.wait_until(lambda: len(fake.sent(user_id)) > before, timeout=10)


async def _mail_only(app, smtp, user_id: str, unit: str, address: str, role="focal_point"):
    """Registered in the test chat, reminders by e-mail only."""
    user = await registered(app, user_id, unit=unit, role=role)
    await link_by_code(user, smtp, address)
    async with app.sessions() as db, db.begin():
        member_id = await identities.email_owner(db, address)
        await identities.set_reminders(db, member_id, "test", False)
    return user


@pytest.fixture
async def zalo_mail(tmp_path, smtp, clock):
    async with FakeZaloAPI(token=TOKEN) as fake:
        settings = make_settings(
            tmp_path / "data", zalo_bot_token=TOKEN, zalo_api_base_url=fake.base_url,
            zalo_mode="polling", zalo_quota_pause_minutes=30, **smtp.settings(),
            reminder_concurrency=1,  # one focal point at a time: the order is known
        )  # fmt: skip
        app = await open_app(settings, clock=lambda: clock["now"])
        zalo = ZaloChannel(app)
        await zalo.start()
        routes = Channels()
        routes.register("zalo", zalo.send)
        routes.register("email", app.engine.mailer.transmit)
        reminders = Reminders(app.sessions, settings, routes.deliver, lambda: clock["now"])
        yield app, fake, reminders
        await zalo.stop()
        await app.close()


def reminders_in(texts: list[str]) -> int:
    return sum(text.startswith("🔔") for text in texts)


async def test_a_wave_reaches_zalo_and_email_users_and_shows_who_was_not(zalo_mail, smtp, clock):
    app, fake, reminders = zalo_mail
    await _register_on_zalo(app, fake, "z1", "Sở Y tế")
    await _register_on_zalo(app, fake, "z2", "Sở Tư pháp")
    both = await registered(app, "both", unit="Sở Xây dựng")
    await link_by_code(both, smtp, "both@hatinh.gov.vn")
    await _mail_only(app, smtp, "m1", "Sở Nội vụ", "m1@hatinh.gov.vn")
    await _mail_only(app, smtp, "bad", "Sở Tài chính", "sai@hatinh.gov.vn")
    smtp.refuse("sai@hatinh.gov.vn")
    boss = await _mail_only(app, smtp, "boss", None, "boss@hatinh.gov.vn", role="coordinator")

    clock["now"] = D7
    fake.fail_next("sendMessage", status=403)  # Zalo's internal error: retried
    await reminders.tick()
    clock["now"] = D7.replace(minute=1)
    await reminders.tick()  # nothing twice

    assert reminders_in(fake.sent("z1")) == 1 and reminders_in(fake.sent("z2")) == 1
    for address in ("both@hatinh.gov.vn", "m1@hatinh.gov.vn"):
        [mail] = [m for m in smtp.to(address) if m["Subject"].startswith("[Nhắc báo cáo]")]
        assert mail["Subject"] == "[Nhắc báo cáo] Đợt 6 tháng đầu năm 2023 — hạn 25/5/2023"
        assert "Hạn gửi: 25/5/2023 (còn 7 ngày)" in mail.get_body(("plain",)).get_content()
        assert "Hạn gửi: 25/5/2023" in mail.get_body(("html",)).get_content()
    assert smtp.to("sai@hatinh.gov.vn")[-1]["Subject"].startswith("Mã xác nhận")

    [summary] = [m for m in smtp.to("boss@hatinh.gov.vn") if "Tổng hợp" in m["Subject"]]
    body = summary.get_body(("plain",)).get_content()
    assert "vừa nhắc 4 đầu mối (nhận được qua e-mail: 2, Zalo: 2)" in body
    async with app.sessions() as db:
        rows = (await db.scalars(select(Delivery))).all()
        blocked = await db.scalar(select(Identity).where(Identity.blocked_at.is_not(None)))
    assert blocked is None
    failed = [(r.channel, r.outcome, r.error) for r in rows if r.outcome != "sent"]
    assert failed == [
        ("test", "failed", "no test channel running"),  # "both" also has the test chat
        ("email", "failed", "smtp 550 5.1.1 <sai@hatinh.gov.vn>: mailbox unavailable"),
    ]

    await boss.send("/tiendo")
    await boss.press("6 tháng đầu năm 2023")
    assert "📵 Chưa nhận được nhắc nhở (1 đầu mối, cần gọi điện):" in boss.text
    assert "• Người dùng bad (Sở Tài chính): e-mail — máy chủ thư từ chối địa chỉ (550" in boss.text
    assert "Người dùng m1" not in boss.text.split("📵")[1]


async def test_quota_exceeded_pauses_zalo_and_the_reminders_go_out_after(zalo_mail, smtp, clock):
    app, fake, reminders = zalo_mail
    for user_id, unit in (("q1", "Sở Y tế"), ("q2", "Sở Tư pháp"), ("q3", "Sở Nội vụ")):
        await _register_on_zalo(app, fake, user_id, unit)
    await _mail_only(app, smtp, "m2", "Sở Xây dựng", "m2@hatinh.gov.vn")
    await _mail_only(app, smtp, "boss2", None, "boss2@hatinh.gov.vn", role="coordinator")
    await outbox_drained(app)  # the welcome messages have left
    calls_before = len(fake.calls_to("sendMessage"))

    clock["now"] = D7
    fake.fail_next("sendMessage", status=429)
    await reminders.tick()
    assert len(fake.calls_to("sendMessage")) == calls_before + 1  # the rest waited
    assert sum(reminders_in(fake.sent(u)) for u in ("q1", "q2", "q3")) == 0
    assert len(smtp.to("m2@hatinh.gov.vn")) == 2  # the code, then the reminder
    [notice] = [m for m in smtp.to("boss2@hatinh.gov.vn") if "Tạm dừng" in m["Subject"]]
    text = notice.get_body(("plain",)).get_content()
    assert "Zalo báo đã vượt hạn mức gửi tin. 3 đầu mối chưa nhận được nhắc" in text
    assert "gửi lại lúc 08:30" in text

    clock["now"] = D7.replace(minute=20)
    await reminders.tick()  # still in the pause
    restarted = Reminders(app.sessions, app.settings, reminders.deliver, lambda: clock["now"])
    await restarted.tick()  # a restart forgets the pause, the log does not
    assert sum(reminders_in(fake.sent(u)) for u in ("q1", "q2", "q3")) == 0
    assert len(fake.calls_to("sendMessage")) == calls_before + 1
    for minute in (30, 31, 45):
        clock["now"] = D7.replace(minute=minute)
        await reminders.tick()
    assert [reminders_in(fake.sent(u)) for u in ("q1", "q2", "q3")] == [1, 1, 1]
    assert len(smtp.to("m2@hatinh.gov.vn")) == 2  # e-mail was not sent again
    async with app.sessions() as db:
        blocked = await db.scalar(select(Identity).where(Identity.blocked_at.is_not(None)))
    assert blocked is None


async def test_a_report_requested_in_chat_arrives_by_mail_as_docx(mail_app, smtp, clock):
    clock["now"] = datetime(2023, 6, 15, 9, 0, tzinfo=TZ)
    boss = await registered(mail_app, "chief", role="coordinator")
    await link_by_code(boss, smtp, "chief@hatinh.gov.vn")
    await boss.send("/baocao")
    await boss.press("6 tháng đầu năm 2023")
    assert "Đã gửi bản dự thảo tới thư điện tử chief@hatinh.gov.vn." in boss.text
    [mail] = [m for m in smtp.to("chief@hatinh.gov.vn") if "Dự thảo" in m["Subject"]]
    [attachment] = list(mail.iter_attachments())
    assert attachment.get_filename().endswith(".docx")
    document = Document(io.BytesIO(attachment.get_content()))
    assert any("6 THÁNG ĐẦU NĂM 2023" in p.text.upper() for p in document.paragraphs)


# --- the running bot's path: reminders queued in the outbox, one row per channel ----------


@pytest.fixture
async def queued(tmp_path, smtp, clock):
    """Zalo and e-mail as `doingoai run` has them: each channel's outbox sender, reminders
    queued for every channel running."""
    async with FakeZaloAPI(token=TOKEN) as fake:
        settings = make_settings(
            tmp_path / "data", zalo_bot_token=TOKEN, zalo_api_base_url=fake.base_url,
            zalo_mode="polling", zalo_quota_pause_minutes=30, **smtp.settings(),
            outbox_concurrency=1,  # one send at a time: which one meets the quota is known
        )  # fmt: skip
        app = await open_app(settings, clock=lambda: clock["now"])
        zalo = ZaloChannel(app)
        await zalo.start()
        mail = OutboxSender(app.sessions, settings, "email", app.engine.mailer.transmit)
        app.engine.queue_replies("email", mail.wake)
        mail.start()
        channels = set(app.engine.queued_channels)
        reminders = Reminders(app.sessions, settings, None, lambda: clock["now"], channels)
        yield app, fake, reminders, zalo
        await mail.stop()
        await zalo.stop()
        await app.close()


async def until(check, timeout: float = 10) -> None:
    """Wait for what the senders do on their own (`check` an async predicate)."""
    async with asyncio.timeout(timeout):
        while not await check():
            await asyncio.sleep(0.02)


async def outcomes(app) -> list[tuple[str, str, str, bool]]:
    """The delivery log: (address, channel, outcome, has the messenger's message id)."""
    async with app.sessions() as db:
        rows = (await db.scalars(select(Delivery).order_by(Delivery.address))).all()
    return [(r.address, r.channel, r.outcome, bool(r.message_id)) for r in rows]


async def test_queued_reminders_go_to_each_channel_and_the_log_has_each_outcome(
    queued, smtp, clock
):
    app, fake, reminders, _ = queued
    await _register_on_zalo(app, fake, "z1", "Sở Y tế")
    both = await registered(app, "both", unit="Sở Xây dựng")  # the test chat: not running
    await link_by_code(both, smtp, "both@hatinh.gov.vn")
    await _mail_only(app, smtp, "bad", "Sở Tài chính", "sai@hatinh.gov.vn")
    smtp.refuse("sai@hatinh.gov.vn")
    boss = await _mail_only(app, smtp, "boss", None, "boss@hatinh.gov.vn", role="coordinator")

    clock["now"] = D7
    assert await reminders.tick() == 3  # queued: z1 on Zalo, both and bad by e-mail
    await outbox_drained(app)
    clock["now"] = D7.replace(minute=1)
    assert await reminders.tick() == 0  # nothing twice; the slot settled: the summary
    await outbox_drained(app)

    assert reminders_in(fake.sent("z1")) == 1
    [mail] = [m for m in smtp.to("both@hatinh.gov.vn") if m["Subject"].startswith("[Nhắc báo")]
    assert mail["Subject"] == "[Nhắc báo cáo] Đợt 6 tháng đầu năm 2023 — hạn 25/5/2023"
    assert await outcomes(app) == [
        ("boss@hatinh.gov.vn", "email", "sent", False),  # the summary
        ("both@hatinh.gov.vn", "email", "sent", False),
        ("sai@hatinh.gov.vn", "email", "failed", False),
        ("z1", "zalo", "sent", True),
    ]
    [summary] = [m for m in smtp.to("boss@hatinh.gov.vn") if "Tổng hợp" in m["Subject"]]
    body = summary.get_body(("plain",)).get_content()
    assert "vừa nhắc 2 đầu mối (nhận được qua e-mail: 1, Zalo: 1)" in body
    await boss.send("/tiendo")
    await boss.press("6 tháng đầu năm 2023")
    assert "• Người dùng bad (Sở Tài chính): e-mail — máy chủ thư từ chối địa chỉ (550" in boss.text


async def test_a_quota_holds_every_queued_zalo_reminder_even_across_a_restart(queued, smtp, clock):
    app, fake, reminders, zalo = queued
    for user_id, unit in (("q1", "Sở Y tế"), ("q2", "Sở Tư pháp"), ("q3", "Sở Nội vụ")):
        await _register_on_zalo(app, fake, user_id, unit)
    await _mail_only(app, smtp, "m2", "Sở Xây dựng", "m2@hatinh.gov.vn")
    await _mail_only(app, smtp, "boss2", None, "boss2@hatinh.gov.vn", role="coordinator")
    await outbox_drained(app)
    calls_before = len(fake.calls_to("sendMessage"))

    clock["now"] = D7
    fake.fail_next("sendMessage", status=429)
    assert await reminders.tick() == 4

    async def settled() -> bool:
        return sorted(o[2] for o in await outcomes(app)) == ["deferred"] * 3 + ["sent"]

    await until(settled)  # one Zalo send met the quota: the other two waited with it
    assert len(fake.calls_to("sendMessage")) == calls_before + 1
    assert len(smtp.to("m2@hatinh.gov.vn")) == 2  # the code, then the reminder

    clock["now"] = D7.replace(minute=1)
    await reminders.tick()  # coordinators hear of the pause; no summary while Zalo waits

    async def told() -> bool:
        return any("Tạm dừng" in m["Subject"] for m in smtp.to("boss2@hatinh.gov.vn"))

    await until(told)
    [notice] = [m for m in smtp.to("boss2@hatinh.gov.vn") if "Tạm dừng" in m["Subject"]]
    text = notice.get_body(("plain",)).get_content()
    assert "Zalo báo đã vượt hạn mức gửi tin. 3 đầu mối chưa nhận được nhắc" in text
    assert not [m for m in smtp.to("boss2@hatinh.gov.vn") if "Tổng hợp" in m["Subject"]]

    restarted = OutboxSender(app.sessions, app.settings, "zalo", zalo.send)
    assert await restarted.send_due() == 0  # the pause is in the outbox, not in memory
    async with app.sessions() as db, db.begin():  # the pause is over
        await db.execute(update(OutboxMessage).values(not_before=None))
    assert await restarted.send_due() == 3
    assert [reminders_in(fake.sent(u)) for u in ("q1", "q2", "q3")] == [1, 1, 1]
    assert sorted(o[2] for o in await outcomes(app)) == ["sent"] * 5  # and the notice
    async with app.sessions() as db:
        attempts = await db.scalars(select(OutboxMessage.attempts).where(
            OutboxMessage.channel == "zalo", OutboxMessage.reminder_id.is_not(None)))  # fmt: skip
        assert list(attempts) == [1, 1, 1]  # waiting out the quota is not a failed try

    clock["now"] = D7.replace(minute=2)
    await reminders.tick()
    await outbox_drained(app)
    [summary] = [m for m in smtp.to("boss2@hatinh.gov.vn") if "Tổng hợp" in m["Subject"]]
    body = summary.get_body(("plain",)).get_content()
    assert "vừa nhắc 4 đầu mối (nhận được qua e-mail: 1, Zalo: 3)" in body
