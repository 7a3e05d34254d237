"""Delivery through the outbox when the Bot API fails: server errors and an outage are
retried until the message goes through, once; a send answered after the client's timeout
may have arrived and is not sent again; an answer typed before its question arrived is not
applied to the next one; a reply to an older question applies to that question."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import select

from bot.app import open_app
from bot.telegram import TelegramChannel
from bot.zalo import ZaloChannel
from domain.messages import SENT, Delivery, Outgoing
from storage import outbox, repo
from storage.clock import utcnow
from storage.models import OutboxMessage, Record
from tests.conftest import TZ_NOW, invite_code, outbox_drained
from tests.fakes.zalo_api import FakeZaloAPI
from tests.test_telegram import TelegramUser, fake, telegram_settings  # noqa: F401
from tests.test_zalo import TOKEN, ZaloUser, zalo_settings


def count(user: TelegramUser, text: str) -> int:
    return sum(text in (m["text"] or "") for m in user.messages())


async def test_a_failing_api_drops_no_reply_and_sends_none_twice(tmp_path, fake):  # noqa: F811
    settings = telegram_settings(tmp_path, fake, send_timeout=1, outbox_first_wait_seconds=0.05)
    app = await open_app(settings, clock=lambda: TZ_NOW)
    channel = TelegramChannel(app)
    await channel.start()
    lan = TelegramUser(fake, 5101)
    await lan.say(f"/start {await invite_code(app)}", "Bạn muốn làm gì")
    fake.fail_next("sendMessage", status=500, times=2)  # refused before acceptance: retried
    await lan.say("/moi", "Chọn loại hoạt động")
    fake.delay_next("sendMessage", seconds=2)  # taken, answered after the client gave up
    await lan.tap("Công tác biên giới", "câu 1/3")
    fake.fail_next("sendMessage", status=502, times=6)  # an outage
    await lan.say("1/5/2023", "câu 2/3")
    await lan.say("Tuần tra chung", "câu 3/3")
    await lan.say("2", "Kiểm tra lại")
    await lan.tap("Lưu", "Đã lưu hoạt động số 1")
    await outbox_drained(app)
    for text in ("Chọn loại hoạt động", "câu 1/3", "câu 2/3", "câu 3/3", "Đã lưu hoạt động"):
        assert count(lan, text) == 1, text
    async with app.sessions() as db:
        statuses = [row.status for row in await db.scalars(select(OutboxMessage))]
        record = await db.scalar(select(Record))
    assert statuses.count("uncertain") == 1 and statuses.count("pending") == 0
    assert record.values == {"ngay": "2023-05-01", "noi_dung": "Tuần tra chung", "so_hai_cot": 2}
    await channel.stop()
    await app.close()


async def on_the_menu(tmp_path, fake, user_id: int, role: str = "focal_point"):  # noqa: F811
    """A bot on the fake Telegram and a person just registered, at the main menu."""
    app = await open_app(telegram_settings(tmp_path, fake), clock=lambda: TZ_NOW)
    channel = TelegramChannel(app)
    await channel.start()
    person = TelegramUser(fake, user_id)
    await person.say(f"/start {await invite_code(app, role)}", "Bạn muốn làm gì")
    return app, channel, person


async def on_the_date_question(tmp_path, fake, user_id: int):  # noqa: F811
    """A bot on the fake Telegram and a person at "câu 1/3" (the date) of a new record."""
    app, channel, person = await on_the_menu(tmp_path, fake, user_id)
    await person.say("/moi", "Chọn loại hoạt động")
    await person.tap("Công tác biên giới", "câu 1/3")
    return app, channel, person


async def written_earlier(fake, person: TelegramUser, text: str, message_id: int, expect: str):  # noqa: F811
    """`text` arriving now with the id it got when it was typed, earlier; the bot's answer."""
    before = len(person.messages())
    await fake.send_text(person.user_id, text, message_id=message_id)
    return await person._expect(before, expect)


async def conversation_state(app, user_id: int) -> dict:
    async with app.sessions() as db:
        return (await repo.person_and_state(db, "telegram", str(user_id)))[1].state


async def test_late_answers_are_not_shifted_and_replies_bind(tmp_path, fake):  # noqa: F811
    app, channel, lan = await on_the_date_question(tmp_path, fake, 5102)
    date_question = lan.messages()[-1]["message_id"]
    late = fake.reserve_message_id(5102)  # the date typed again before "câu 2/3" arrives
    await lan.say("1/5/2023", "câu 2/3")

    # The same date again, delivered late (a restart, a slow network): not taken as the
    # content, and said so, naming the question waiting for its answer.
    text = await written_earlier(fake, lan, "1/5/2023", late, "chưa được ghi vào mục nào")
    assert "“1/5/2023” được gửi trước khi câu hỏi “Nội dung” hiện ra" in text

    # A reply to the date question changes the date; the current question stays.
    before = len(lan.messages())
    await fake.send_text(5102, "3/5/2023", reply_to_message_id=date_question)
    text = await lan._expect(before, "Đã ghi “03/05/2023” vào mục “Ngày”")
    await lan.say("Tuần tra chung", "câu 3/3")
    await lan.say("2", "Kiểm tra lại")
    await lan.tap("Lưu", "Đã lưu hoạt động số 1")
    async with app.sessions() as db:
        record = await db.scalar(select(Record))
    assert record.values == {"ngay": "2023-05-03", "noi_dung": "Tuần tra chung", "so_hai_cot": 2}
    await channel.stop()
    await app.close()


async def test_an_answer_written_before_the_type_list_appeared_picks_no_type(tmp_path, fake):  # noqa: F811
    """A numeric answer sent again while the bot was away, arriving once the list of
    activity types is shown, is not taken as the type: "10" would start a record of another
    type and put the next answers in its fields."""
    app, channel, lan = await on_the_menu(tmp_path, fake, 5104)
    late = fake.reserve_message_id(5104)  # "10" typed before the list arrives
    await lan.say("/moi", "Chọn loại hoạt động")

    text = await written_earlier(fake, lan, "10", late, "nên chưa được dùng")
    assert "Tin nhắn “10” được gửi trước khi tin nhắn mới nhất của bot đến" in text
    state = await conversation_state(app, 5104)
    assert state["screen"] == "pick_type" and "draft" not in state

    text = await lan.say("10", "câu 1/")  # typed now, it is the choice
    assert "Thông tin đối ngoại, báo chí nước ngoài" in text
    await channel.stop()
    await app.close()


async def test_a_number_written_before_the_next_page_of_units_picks_nothing_on_it(
    tmp_path,
    fake,  # noqa: F811
):
    """A list shown again counts from its newest showing: "3" typed while page 1 was on
    the screen, arriving once page 2 is, would pick page 2's third unit."""
    app, channel, lan = await on_the_menu(tmp_path, fake, 5105, role="coordinator")
    await lan.say("/donvi", "Chọn đơn vị")
    written = fake.reserve_message_id(5105)  # "3" typed while page 1 is on the screen
    await lan.tap("Trang sau", "Chọn đơn vị")

    text = await written_earlier(fake, lan, "3", written, "nên chưa được dùng")  # page 2 on
    assert "Tin nhắn “3” được gửi trước khi tin nhắn mới nhất của bot đến" in text
    state = await conversation_state(app, 5105)
    assert state["screen"] == "pick_unit" and state["page"] == 1
    await channel.stop()
    await app.close()


async def test_a_reply_never_overtakes_an_earlier_one_waiting_for_its_retry(tmp_path, fake):  # noqa: F811
    """Replies are handed to the sender with their turn's commit, but one queued while an
    earlier reply to the same chat waits for a retry goes out after it, not before."""
    settings = telegram_settings(tmp_path, fake, outbox_first_wait_seconds=0.3)
    app = await open_app(settings, clock=lambda: TZ_NOW)
    channel = TelegramChannel(app)
    await channel.start()
    lan = TelegramUser(fake, 5103)
    await lan.say(f"/start {await invite_code(app)}", "Bạn muốn làm gì")
    before = len(lan.messages())
    fake.fail_next("sendMessage", status=500, times=1)  # the reply to /moi waits 0.3 s
    await fake.send_text(5103, "/moi")
    await fake.send_text(5103, "/menu")
    await lan._expect(before, "Bạn muốn làm gì")
    await lan._expect(before, "Chọn loại hoạt động")
    texts = [m["text"] for m in lan.messages()[before:]]
    assert len(texts) == 2  # each once
    assert "Chọn loại hoạt động" in texts[0] and "Bạn muốn làm gì" in texts[1]
    await channel.stop()
    await app.close()


async def test_zalo_updates_fetched_before_a_crash_are_processed_at_the_next_start(tmp_path):
    """Zalo's getUpdates never returns an update twice: one fetched by a process that died
    before processing it waits in the inbox, and the next start processes it."""
    async with FakeZaloAPI(token=TOKEN) as zalo:
        app = await open_app(zalo_settings(tmp_path, zalo), clock=lambda: TZ_NOW)
        event = {
            "event_name": "message.text.received",
            "message": {
                "from": {"id": "z9", "display_name": "Hoa", "is_bot": False},
                "chat": {"id": "z9", "chat_type": "PRIVATE"},
                "text": f"/start {await invite_code(app)}",
                "message_id": "fetched-then-killed",
                "date": 1700000000000,
            },
        }
        async with app.sessions() as db, db.begin():  # what the killed process had stored
            await outbox.receive(db, "zalo", "fetched-then-killed", event)
        channel = ZaloChannel(app)
        await channel.start()
        await zalo.wait_until(lambda: any("Chào mừng Hoa" in m for m in zalo.sent("z9")))
        await outbox_drained(app)
        await channel.stop()
        async with app.sessions() as db:
            assert not await outbox.unprocessed(db, "zalo")
        assert sum("Chào mừng Hoa" in m for m in zalo.sent("z9")) == 1
        await app.close()


async def test_on_zalo_an_answer_to_a_list_not_delivered_yet_is_not_used(tmp_path):
    """Zalo's message ids carry no order: what counts is whether the list was delivered.
    "4" typed while the list of types waits for a retry is not taken as type 4."""
    async with FakeZaloAPI(token=TOKEN) as zalo:
        settings = zalo_settings(tmp_path, zalo, outbox_first_wait_seconds=1.0)
        app = await open_app(settings, clock=lambda: TZ_NOW)
        channel = ZaloChannel(app)
        await channel.start()
        hoa = ZaloUser(zalo, "z7")
        await hoa.say(f"/start {await invite_code(app)}", "Bạn muốn làm gì")
        # The list of types fails past the client's own retries: it waits in the outbox.
        zalo.fail_next("sendMessage", times=4)
        await zalo.send_text("z7", "moi", display_name="Hoa")
        text = await hoa.say("4", "nên chưa được dùng")
        assert "Chọn loại hoạt động" in text  # the list came first, then the note
        async with app.sessions() as db:
            state = (await repo.person_and_state(db, "zalo", "z7"))[1].state
        assert state["screen"] == "pick_type" and "draft" not in state
        await hoa.say("4", "Tên thỏa thuận là gì?")  # typed now, it is the choice
        await channel.stop()
        await app.close()


def test_each_outcome_reads_as_a_reason_for_coordinators():
    from domain.delivery import reason

    assert reason("uncertain", "sendMessage: timed out") == (
        "có thể đã gửi (mạng gián đoạn, không nhận được xác nhận — nên kiểm tra lại)"
    )
    assert (
        reason("deferred", "zalo 429 Quota exceeded") == "đang chờ gửi lại (vượt hạn mức gửi tin)"
    )
    assert reason("failed", "zalo 403 Internal server error") == (
        "máy chủ Zalo báo lỗi nội bộ (đã thử lại nhiều lần)"
    )


async def held_back(app) -> None:
    """Every message sent so far waited a minute in the outbox (a restart, an outage)."""
    from datetime import timedelta

    async with app.sessions() as db, db.begin():
        for row in await db.scalars(select(OutboxMessage)):
            row.created_at -= timedelta(minutes=1)


async def test_an_answer_sent_again_while_its_next_question_was_held_back_is_queried(
    tmp_path,
    fake,  # noqa: F811
):
    app, channel, lan = await on_the_date_question(tmp_path, fake, 5103)
    await lan.say("1/5/2023", "câu 2/3")
    await held_back(app)  # "câu 2/3" among them

    # The person, seeing nothing for a while, had sent the date again: not the content.
    text = await lan.say("1/5/2023", "xin gửi lại lần nữa")
    assert "Bạn vừa gửi lại “1/5/2023”" in text and "mục “Nội dung”" in text
    await lan.say("1/5/2023", "câu 3/3")  # sent once more: it is the content after all
    await lan.say("2", "Kiểm tra lại")
    await lan.tap("Lưu", "Đã lưu hoạt động số 1")
    async with app.sessions() as db:
        record = await db.scalar(select(Record))
    assert record.values == {"ngay": "2023-05-01", "noi_dung": "1/5/2023", "so_hai_cot": 2}
    await channel.stop()
    await app.close()


async def test_a_choice_sent_again_while_the_list_was_held_back_is_queried(tmp_path, fake):  # noqa: F811
    """The same on a list: "1" picked "Ghi nhận hoạt động mới" on the menu; sent again
    just after the list of types arrived late, it is asked about, not taken as type 1."""
    app, channel, lan = await on_the_menu(tmp_path, fake, 5106)
    await lan.say("1", "Chọn loại hoạt động")
    await held_back(app)

    text = await lan.say("1", "xin gửi lại lần nữa")
    assert "Tin nhắn mới nhất của bot đến chậm và bạn vừa gửi lại “1”" in text
    assert "draft" not in await conversation_state(app, 5106)
    text = await lan.say("1", "câu 1/")  # sent once more: the choice after all
    assert "Đoàn ra" in text
    await channel.stop()
    await app.close()


async def test_a_mark_that_cannot_be_written_loses_none_written_with_it(app, monkeypatch):
    """The sender writes the marks of sends that finish together in one transaction. One
    that fails there costs the others nothing: they are written again on their own (a
    lost mark would send its message a second time after the restart)."""
    async with app.sessions() as db, db.begin():
        chats = [f"chat-{number}" for number in range(5)]
        await outbox.enqueue(db, "test", [Outgoing("Xin chào", chat_id=chat) for chat in chats])
    written = outbox.mark

    async def mark(db, row, *args, **kwargs):
        if row.chat_id == "chat-3":
            raise RuntimeError("this mark cannot be written")
        await written(db, row, *args, **kwargs)

    async def send(outgoing, done: int = 0) -> Delivery:
        await asyncio.sleep(0)  # the sends finish together
        return Delivery(SENT, (outgoing.chat_id,))

    monkeypatch.setattr(outbox, "mark", mark)
    with pytest.raises(RuntimeError):
        await app.sender("test", send).send_due()
    async with app.sessions() as db:
        rows = {row.chat_id: row.status for row in await db.scalars(select(OutboxMessage))}
    assert rows == {chat: SENT for chat in chats} | {"chat-3": outbox.PENDING}


async def test_a_row_nobody_hands_over_goes_out_while_replies_keep_coming(app):
    """A reminder (the scheduler queues it and wakes no sender) is found by the sender's
    search even while replies handed over with their claim keep the sender busy."""
    sent: list[str] = []

    async def send(outgoing, done: int = 0) -> Delivery:
        sent.append(outgoing.text)
        return Delivery(SENT, (str(len(sent)),))

    sender = app.sender("test", send)
    sender.start()
    await asyncio.sleep(0.1)  # its first search found the outbox empty
    async with app.sessions() as db, db.begin():
        reminder = Outgoing("Nhắc báo cáo", chat_id="reminded")
        await outbox.enqueue(db, "test", [reminder], priority=outbox.REMINDER)
    for number in range(20):  # a reply every 0.2 s, for 4 s
        async with app.sessions() as db, db.begin():
            claim = outbox.claim_end(utcnow(), app.settings.send_timeout)
            reply = Outgoing(f"Trả lời {number}", chat_id=f"chat-{number}")
            rows = await outbox.enqueue(db, "test", [reply], claimed_until=claim)
        sender.wake(rows)
        await asyncio.sleep(0.2)
    await sender.stop()
    assert "Nhắc báo cáo" in sent[:-5]  # long before the replies stopped
    assert len(sent) == 21


async def test_a_reply_whose_claim_runs_short_is_left_for_another_claim(app):
    """A reply handed over with a claim that would run out during its send (it waited too
    long for its turn) is not sent: once the claim is over another process may take it,
    and must not find it being sent. It stays in the outbox for the next claim."""
    from datetime import timedelta

    sent: list[str] = []

    async def send(outgoing, done: int = 0) -> Delivery:
        sent.append(outgoing.text)
        return Delivery(SENT, ("1",))

    sender = app.sender("test", send)
    sender.start()
    await asyncio.sleep(0.1)  # started: what an earlier run held is free again
    async with app.sessions() as db, db.begin():
        short = utcnow() + timedelta(seconds=app.settings.send_timeout)  # under two sends' time
        reply = Outgoing("Xin chào", chat_id="late-turn")
        rows = await outbox.enqueue(db, "test", [reply], claimed_until=short)
    sender.wake(rows)
    await asyncio.sleep(0.3)
    await sender.stop()
    async with app.sessions() as db:
        (row,) = await db.scalars(select(OutboxMessage))
    assert sent == [] and row.status == outbox.PENDING
