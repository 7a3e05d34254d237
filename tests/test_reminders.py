"""Rounds, confirmations and reminders in simulated time: no sleeping, a clock we move."""

from __future__ import annotations

import asyncio
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from bot.app import open_app
from domain.messages import BLOCKED, FAILED, SENT, Outgoing
from scheduler.plan import current_slot, move_out_of_quiet_hours
from scheduler.reminders import Reminders
from storage.models import ReminderLog, Round
from tests.conftest import ChatUser, make_settings, registered

TZ = ZoneInfo("Asia/Ho_Chi_Minh")


def at(day: str, clock: str = "08:00") -> datetime:
    d, m, y = (int(p) for p in day.split("/"))
    hours, minutes = (int(p) for p in clock.split(":"))
    return datetime(y, m, d, hours, minutes, tzinfo=TZ)


class Simulation:
    """The app on a moving clock, with a recording messenger."""

    def __init__(self, app, sim) -> None:
        self.app, self.sim = app, sim
        self.sent: list[tuple[date, str, Outgoing]] = []
        self.outcomes: dict[str, list[str]] = {}  # chat id -> outcomes to return, in order

    async def deliver(self, channel: str, outgoing: Outgoing) -> str:
        queued = self.outcomes.get(outgoing.chat_id)
        outcome = queued.pop(0) if queued else SENT
        if outcome == SENT:
            self.sent.append((self.sim["now"].date(), outgoing.chat_id, outgoing))
        return outcome

    def reminders(self) -> Reminders:
        return Reminders(
            self.app.sessions, self.app.settings, self.deliver, lambda: self.sim["now"]
        )

    async def run_until(self, end: datetime, times=("07:00", "08:00", "08:05", "15:00")) -> None:
        service = self.reminders()
        day = self.sim["now"].date()
        while True:
            for clock in times:
                moment = datetime.combine(day, datetime.strptime(clock, "%H:%M").time(), TZ)
                if self.sim["now"] <= moment <= end:
                    self.sim["now"] = moment
                    await service.tick()
            day += timedelta(days=1)
            if datetime.combine(day, datetime.min.time(), TZ) > end:
                self.sim["now"] = end
                return

    def log(self, kind: str = "🔔") -> list[tuple[str, str]]:
        """(day, chat) of each message of this kind, by day then chat (a wave's order
        within a day is not fixed: it sends several at once)."""
        return sorted(
            (
                (f"{d.day}/{d.month}", chat)
                for d, chat, out in self.sent
                if out.text.startswith(kind)
            ),
            key=lambda pair: (tuple(reversed([int(x) for x in pair[0].split("/")])), pair[1]),
        )


@pytest.fixture
async def sim(tmp_path):
    clock = {"now": at("1/5/2023", "06:00")}
    app = await open_app(make_settings(tmp_path / "data"), clock=lambda: clock["now"])
    simulation = Simulation(app, clock)
    yield simulation
    await app.close()


async def test_a_simulated_reporting_season(sim):
    early = await registered(sim.app, "a", unit="Sở Y tế")
    late = await registered(sim.app, "b", unit="UBND huyện Can Lộc")
    await registered(sim.app, "c", unit="Trường Đại học Hà Tĩnh")  # never confirms
    await registered(sim.app, "boss", role="coordinator")

    sim.sim["now"] = at("2/5/2023", "10:00")
    await early.send("/xong")
    assert "Chọn đợt báo cáo" in early.text  # H1 and Y are both open in May
    await early.press("6 tháng đầu năm 2023")
    assert "chưa ghi nhận hoạt động nào" in early.text
    await early.press("Xác nhận đã báo cáo đủ")  # with nothing recorded: asked, not taken
    assert "chưa thể xác nhận" in early.text
    await early.press("Không có hoạt động phát sinh")
    assert "Sở Y tế xác nhận không có hoạt động phát sinh cho đợt 6 tháng đầu năm" in early.text

    await sim.run_until(at("22/5/2023", "10:00"))
    await late.press_reminder("Không có hoạt động phát sinh", sim)
    assert "xác nhận không có hoạt động phát sinh cho đợt 6 tháng đầu năm 2023" in late.text
    await sim.run_until(at("1/6/2023", "12:00"))

    assert sim.log() == [
        ("18/5", "b"), ("18/5", "c"),
        ("22/5", "b"), ("22/5", "c"),
        ("24/5", "c"),
        ("25/5", "c"),
        ("26/5", "c"),
    ]  # fmt: skip
    summaries = [(d, chat, out.text) for d, chat, out in sim.sent if out.text.startswith("📋")]
    assert [(f"{d.day}/{d.month}", chat) for d, chat, _ in summaries] == [
        ("18/5", "boss"), ("22/5", "boss"), ("24/5", "boss"), ("25/5", "boss"), ("26/5", "boss"),
    ]  # fmt: skip
    assert "vừa nhắc 2 đầu mối" in summaries[0][2]
    assert "• UBND huyện Can Lộc" in summaries[0][2] and "• Sở Y tế" not in summaries[0][2]
    assert "• UBND huyện Can Lộc" not in summaries[2][2]
    assert "• Trường Đại học Hà Tĩnh" in summaries[4][2]

    reminder = next(out for d, chat, out in sim.sent if chat == "c" and d == date(2023, 5, 24))
    assert "Hạn gửi: 25/5/2023 (còn 1 ngày)" in reminder.text
    assert [c.key for c in reminder.choices] == ["new", "xongok:2023-H1", "xongkhong:2023-H1"]
    overdue = next(out for d, chat, out in sim.sent if chat == "c" and d == date(2023, 5, 26))
    assert "đã quá hạn 1 ngày" in overdue.text

    # The annual round: nobody has confirmed it, so all three hear about it.
    sim.sent.clear()
    await sim.run_until(at("20/10/2023", "12:00"))
    days = ["3/10", "7/10", "9/10", "10/10", "11/10"]
    assert sim.log() == [(day, chat) for day in days for chat in ("a", "b", "c")]


async def _press_reminder(user: ChatUser, label: str, simulation) -> None:
    """Tap a button of the last reminder this user received."""
    reminder = [out for _, chat, out in simulation.sent if chat == user.user_id][-1]
    key = next(c.key for c in reminder.choices if label in c.label)
    await user.send(choice=key)


ChatUser.press_reminder = lambda self, label, simulation: _press_reminder(self, label, simulation)


async def test_reminder_shows_what_the_unit_recorded(sim):
    user = await registered(sim.app, "d", unit="Sở Tư pháp")
    sim.sim["now"] = at("10/5/2023", "09:00")
    await user.send("/moi")
    await user.press("Công tác biên giới")
    for answer in ("9/5/2023", "Tuần tra song phương", "bỏ qua"):
        await user.send(answer)
    await user.press("Lưu")
    assert any("Xác nhận đã báo cáo đủ" in c.label for c in user.last.choices)
    await sim.run_until(at("18/5/2023", "09:00"))
    [(_, _, reminder)] = [s for s in sim.sent if s[1] == "d"]
    assert "Sở Tư pháp đã ghi nhận 01 hoạt động cho đợt này" in reminder.text
    assert "• Công tác biên giới: 01" in reminder.text


async def test_restart_in_the_middle_of_a_wave(sim):
    units = ["Sở Y tế", "Sở Tư pháp", "Sở Xây dựng", "Sở Nội vụ", "Sở Tài chính"]
    for i, unit in enumerate(units):
        await registered(sim.app, f"u{i}", unit=unit)
    sim.sim["now"] = at("18/5/2023", "08:00")
    calls = []

    async def dying_deliver(channel, outgoing):
        calls.append(outgoing.chat_id)
        if len(calls) > 2:
            await asyncio.Event().wait()  # the process dies while these are in flight
        return await sim.deliver(channel, outgoing)

    first = Reminders(sim.app.sessions, sim.app.settings, dying_deliver, lambda: sim.sim["now"])
    task = asyncio.create_task(first.tick())

    async def recorded() -> int:
        async with sim.app.sessions() as db:
            return len(
                (await db.scalars(select(ReminderLog).where(ReminderLog.status == SENT))).all()
            )

    while len(calls) < 5 or await recorded() < 2:
        await asyncio.sleep(0.01)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    delivered_before = [chat for _, chat, _ in sim.sent]
    assert len(delivered_before) == 2

    sim.sim["now"] = at("18/5/2023", "08:01")
    await sim.reminders().tick()  # restarted: the ones cut off wait for their backoff
    assert [chat for _, chat, _ in sim.sent] == delivered_before
    for minute in ("08:05", "15:00"):
        sim.sim["now"] = at("18/5/2023", minute)
        await sim.reminders().tick()
    assert sorted(chat for _, chat, out in sim.sent if out.text.startswith("🔔")) == [
        f"u{i}" for i in range(5)
    ]  # everyone exactly once


async def test_downtime_across_a_slot_and_a_closed_round(sim):
    await registered(sim.app, "x", unit="Sở Y tế")
    sim.sim["now"] = at("21/5/2023", "12:00")  # down from before 18/5 (the d7 slot)
    await sim.reminders().tick()
    assert sim.log() == [("21/5", "x")]
    await sim.reminders().tick()
    assert len(sim.sent) == 1
    sim.sent.clear()
    sim.sim["now"] = at("2/6/2023", "09:00")  # down across the end of the grace period
    await sim.reminders().tick()
    assert sim.sent == []


async def test_failed_sends_are_retried_and_blocked_users_are_not(sim):
    await registered(sim.app, "f", unit="Sở Y tế")
    await registered(sim.app, "g", unit="Sở Tư pháp")
    sim.outcomes = {"f": [FAILED, FAILED], "g": [BLOCKED]}
    sim.sim["now"] = at("18/5/2023", "08:00")
    service = sim.reminders()
    for minutes in (0, 1, 2, 3, 7, 30, 60):
        sim.sim["now"] = at("18/5/2023", "08:00") + timedelta(minutes=minutes)
        await service.tick()
    assert sim.log() == [("18/5", "f")]
    async with sim.app.sessions() as db:
        entries = {e.member_id: e for e in await db.scalars(select(ReminderLog))}
    statuses = sorted((e.status, e.attempts) for e in entries.values())
    assert statuses == [(BLOCKED, 1), (SENT, 3)]


def test_quiet_hours_move_a_slot_to_the_morning(tmp_path):
    settings = make_settings(tmp_path, reminder_time="22:30")
    moved = move_out_of_quiet_hours(at("17/5/2023", "22:30"), settings)
    assert moved == at("18/5/2023", "07:00")
    assert move_out_of_quiet_hours(at("18/5/2023", "06:59"), settings) == at("18/5/2023", "07:00")
    assert move_out_of_quiet_hours(at("18/5/2023", "12:00"), settings) == at("18/5/2023", "12:00")
    deadline = date(2023, 5, 25)
    # d7 falls on 18/5 at 22:30, inside quiet hours: it is sent at 07:00 on 19/5.
    assert current_slot(deadline, at("18/5/2023", "23:00"), settings) is None
    assert current_slot(deadline, at("19/5/2023", "07:00"), settings).name == "d7"


async def test_quiet_hours_respected_by_the_wave(tmp_path):
    clock = {"now": at("18/5/2023", "22:30")}
    app = await open_app(
        make_settings(tmp_path / "d", reminder_time="22:30"), clock=lambda: clock["now"]
    )
    simulation = Simulation(app, clock)
    await registered(app, "q", unit="Sở Y tế")
    await simulation.reminders().tick()
    assert simulation.sent == []
    clock["now"] = at("19/5/2023", "07:00")
    await simulation.reminders().tick()
    assert simulation.log() == [("19/5", "q")]
    await app.close()


async def test_ad_hoc_round_from_chat_with_progress_and_withdrawal(sim):
    boss = await registered(sim.app, "boss", role="coordinator")
    unit = await registered(sim.app, "h", unit="Sở Y tế")
    sim.sim["now"] = at("1/8/2023", "09:00")
    await boss.send("/yeucau")
    await boss.send("1/7/2023")
    await boss.send("30/6/2023")
    assert "không được trước ngày bắt đầu" in boss.text
    await boss.send("31/7/2023")
    await boss.send("1/1/2023")
    assert "không được ở quá khứ" in boss.text
    await boss.send("10/8/2023")
    await boss.send("bỏ qua")  # the purpose names the round: it is required
    assert "Bạn chưa nhập gì" not in boss.text and "Tạo đợt này?" in boss.text
    await boss.press("Nhập lại từ đầu")
    for answer in ("1/7/2023", "31/7/2023", "10/8/2023", "Phục vụ hội nghị tổng kết"):
        await boss.send(answer)
    assert "Tạo đợt báo cáo đột xuất “Phục vụ hội nghị tổng kết”" in boss.text
    assert "thông báo ngay cho đầu mối của 1 đơn vị; 49 đơn vị chưa có đầu mối" in boss.text
    async with sim.app.sessions() as db:
        assert await db.get(Round, "2023-A1") is None  # nothing created before confirming
    await boss.press("Tạo và thông báo")
    assert "Đã tạo đợt báo cáo đột xuất “Phục vụ hội nghị tổng kết”" in boss.text
    assert "2023-A1" not in boss.text  # officials never see round codes

    # The units hear of it at the next tick, not at the first reminder slot days later.
    sim.sim["now"] = at("1/8/2023", "09:01")
    await sim.reminders().tick()
    announcement = next(out for _, chat, out in sim.sent if chat == "h")
    assert "📣 Yêu cầu báo cáo đột xuất “Phục vụ hội nghị tổng kết”" in announcement.text
    sim.sent.clear()
    await sim.reminders().tick(at("1/8/2023", "10:00"))
    assert [chat for _, chat, _ in sim.sent] == []  # told once

    sim.sim["now"] = at("7/8/2023", "08:00")  # d3 of the ad hoc round
    await sim.reminders().tick()
    reminder = next(out for _, chat, out in sim.sent if chat == "h")
    assert "🔔 Nhắc báo cáo đối ngoại đột xuất “Phục vụ hội nghị tổng kết”" in reminder.text

    await unit.send(choice="xongkhong:2023-A1")
    await boss.send("/tiendo")
    await boss.press("Phục vụ hội nghị")
    assert "✅ Sở Y tế — không có hoạt động phát sinh" in boss.text and "1/" in boss.text
    await unit.send("/moi")
    await unit.press("Thông tin đối ngoại")
    for answer in ("15/7/2023", "Đón phóng viên", "bỏ qua"):
        await unit.send(answer)
    await unit.press("Lưu")
    await boss.send("/tiendo")
    await boss.press("Phục vụ hội nghị")
    assert "✅ Sở Y tế — không có hoạt động phát sinh ⚠️ có cập nhật sau khi xác nhận" in boss.text

    await unit.send("/xong")
    await unit.press("Phục vụ hội nghị")
    await unit.press("Rút lại xác nhận")
    assert "Đã rút lại xác nhận đợt đột xuất “Phục vụ hội nghị tổng kết”" in unit.text
    await boss.send("/tiendo")
    await boss.press("Phục vụ hội nghị")
    assert "⏳ Sở Y tế — 01 hoạt động" in boss.text


async def test_nothing_to_report_only_without_records(sim):
    user = await registered(sim.app, "n", unit="Sở Nội vụ")
    sim.sim["now"] = at("20/9/2023", "09:00")
    await user.send("/xong")
    assert "năm 2023" in user.text
    await user.press("Không có hoạt động phát sinh")
    assert "xác nhận không có hoạt động phát sinh cho đợt năm 2023" in user.text
    await sim.reminders().tick(at("3/10/2023"))
    assert sim.sent == []


async def test_dry_run_plan_lists_who_and_why(sim):
    await registered(sim.app, "p", unit="Sở Y tế")
    planned = await sim.reminders().plan(at("24/5/2023", "08:30"))
    assert [(p.round_id, p.slot, p.unit) for p in planned] == [("2023-H1", "d1", "Sở Y tế")]
    assert "nhắc trước hạn 1 ngày" in planned[0].reason
    async with sim.app.sessions() as db:
        assert (await db.scalars(select(ReminderLog))).all() == []  # a plan writes nothing
    await sim.reminders().tick(at("24/5/2023", "08:30"))
    assert await sim.reminders().plan(at("24/5/2023", "09:00")) == []


async def test_people_no_channel_reached_are_listed_exactly(sim, capsys):
    """Some sends fail on every channel (one person on two channels): exactly those people
    are listed as not reached, to coordinators once at the morning check, by /tiendo and by
    `doingoai status --delivery`; the others are not."""
    import argparse

    from bot.cli_rounds import run_status
    from storage import deliveries, identities

    for user_id, unit in (("ok1", "Sở Y tế"), ("ok2", "Sở Tư pháp"), ("f1", "Sở Nội vụ")):
        await registered(sim.app, user_id, unit=unit)
    await registered(sim.app, "f2", unit="Sở Xây dựng")
    async with sim.app.sessions() as db, db.begin():
        member = (await repo_person(db, "f2")).member_id
        await identities.link_email(db, member, "f2@hatinh.gov.vn")
    boss = await registered(sim.app, "boss", role="coordinator")
    failing = [f"{FAILED}: zalo 400 chat not found"] * 10
    refused = [f"{FAILED}: smtp 550 5.1.1 no such user"] * 10
    sim.outcomes = {"f1": list(failing), "f2": list(failing), "f2@hatinh.gov.vn": refused}

    sim.sent.clear()
    await sim.run_until(at("18/5/2023", "11:00"), times=("08:00", "08:05", "09:00", "10:00"))
    async with sim.app.sessions() as db:
        people = await deliveries.unreached(db, "2023-H1", "d7")
    assert sorted(p.name for p in people) == ["Người dùng f1", "Người dùng f2"]
    f2 = next(p for p in people if p.name == "Người dùng f2")
    assert sorted(c.channel for c in f2.channels) == ["email", "test"]

    flags = [out.text for _, chat, out in sim.sent if chat == "boss" and "☎️" in out.text]
    assert len(flags) == 1
    assert "2 đầu mối chưa nhận được nhắc nhở qua kênh nào sáng nay" in flags[0]
    assert "• Người dùng f1 (Sở Nội vụ): test — Zalo từ chối (mã lỗi 400)" in flags[0]
    assert "e-mail — máy chủ thư từ chối địa chỉ (550 5.1.1 no such user)" in flags[0]
    assert "ok1" not in flags[0] and "ok2" not in flags[0]
    await sim.reminders().tick(at("18/5/2023", "11:00"))
    assert len([1 for _, chat, out in sim.sent if chat == "boss" and "☎️" in out.text]) == 1

    await boss.send("/tiendo")
    await boss.press("6 tháng đầu năm 2023")
    listed = boss.text.split("📵")[1]
    assert "Người dùng f1" in listed and "Người dùng f2" in listed and "ok1" not in listed
    await run_status(sim.app, argparse.Namespace(round_id="2023-H1", delivery=True))
    everyone, printed = capsys.readouterr().out.split("📵")
    assert "• Người dùng ok1 (Sở Y tế, 18/05 08:00): test — đã gửi" in everyone
    assert printed.count("• ") == 2 and "Người dùng f2 (Sở Xây dựng)" in printed


async def repo_person(db, user_id):
    from storage import repo

    return await repo.person_by_identity(db, "test", user_id)


async def test_a_busy_database_neither_stops_a_wave_nor_repeats_a_reminder(sim, monkeypatch):
    """SQLite answering "database is locked" to the log writes: they are tried again, and
    one that keeps failing is logged while the wave goes on; nobody is reminded twice."""
    import sqlite3

    from sqlalchemy.exc import OperationalError

    from storage import deliveries

    for i, unit in enumerate(("Sở Y tế", "Sở Tư pháp", "Sở Nội vụ")):
        await registered(sim.app, f"b{i}", unit=unit)
    record = deliveries.record
    refusals = {"left": 3}

    async def busy_then_fine(db, entry_id, *args, **kwargs):
        if refusals["left"]:
            refusals["left"] -= 1
            locked = sqlite3.OperationalError("database is locked")
            locked.sqlite_errorcode = 5
            raise OperationalError("INSERT INTO deliveries", {}, locked)
        await record(db, entry_id, *args, **kwargs)

    monkeypatch.setattr(deliveries, "record", busy_then_fine)
    sim.sim["now"] = at("18/5/2023", "08:00")
    await sim.reminders().tick()
    assert refusals["left"] == 0
    assert sim.log() == [("18/5", "b0"), ("18/5", "b1"), ("18/5", "b2")]
    async with sim.app.sessions() as db:
        assert len(await deliveries.unreached(db, "2023-H1", "d7")) == 0

    async def always_broken(*_args, **_kwargs):
        raise OperationalError("INSERT INTO deliveries", {}, sqlite3.OperationalError("disk I/O"))

    monkeypatch.setattr(deliveries, "record", always_broken)
    await registered(sim.app, "b3", unit="Sở Xây dựng")
    for minute in ("08:01", "09:00"):
        sim.sim["now"] = at("18/5/2023", minute)
        await sim.reminders().tick()
    assert [chat for _, chat, out in sim.sent if out.text.startswith("🔔")].count("b3") == 1
