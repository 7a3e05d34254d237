"""Inputs that used to lose data, crash or cross permissions (found in review)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from storage.models import Confirmation, Record
from tests.conftest import TZ_NOW, ChatUser, registered


async def records(app) -> list[Record]:
    async with app.sessions() as db:
        return list((await db.scalars(select(Record).order_by(Record.id))).all())


async def start_form(user: ChatUser, label: str, *answers: str) -> None:
    await user.send("/moi")
    await user.press(label)
    for answer in answers:
        await user.send(answer)


async def save_border_record(user: ChatUser) -> None:
    await start_form(user, "Công tác biên giới", "hôm nay", "Tuần tra chung", "bỏ qua")
    await user.press("Lưu")


async def test_a_one_word_answer_is_not_a_command(app):
    user = await registered(app, "r1")
    await start_form(user, "Công tác biên giới", "hôm nay")
    await user.send("xong")  # the content of the activity, not /xong
    assert "Số hài cốt" in user.text
    await user.send("bỏ qua")
    assert "• Nội dung: xong" in user.text
    await user.send("huy")  # cancelling always works
    assert "Bạn có chắc muốn hủy?" in user.text


async def test_back_on_the_first_question_keeps_the_draft(app):
    user = await registered(app, "r2")
    await start_form(user, "Đoàn vào", "Đoàn A", "Ông B", "Lào")
    for _ in range(3):
        await user.send("quay lại")
    assert "Tên đoàn khách là gì?" in user.text and "chọn loại hoạt động khác" in user.text
    await user.send("quay lại")
    assert "Chọn loại hoạt động" in user.text
    await user.press("Tiếp tục bản nháp")
    assert "Giá trị hiện tại: Đoàn A" in user.text


async def test_another_type_or_an_edit_asks_before_dropping_a_draft(app):
    user = await registered(app, "r3")
    await save_border_record(user)
    await start_form(user, "Đoàn vào", "Đoàn A")
    await user.send("/moi")
    await user.send("5")  # still Viện trợ: the resume option is listed last
    assert "bản nháp Đoàn vào" in user.text and "Bỏ nó để làm việc mới" in user.text
    await user.press("Tiếp tục bản nháp")
    assert "Trưởng đoàn là ai" in user.text
    await user.send("/xem 1")
    await user.press("Sửa")
    assert "Bỏ nó để làm việc mới" in user.text
    await user.press("Bỏ bản nháp")
    assert "Sửa hoạt động số 1" in user.text


async def test_a_typed_number_in_the_list_is_the_record_number(app):
    user = await registered(app, "r4")
    for _ in range(3):
        await save_border_record(user)
    await user.send("/cuatoi")
    await user.send("1")
    assert "Hoạt động số 1 —" in user.text  # not the first line of the list (#3)


async def test_inputs_that_used_to_crash(app):
    user = await registered(app, "r5")
    for text in ("/xem 99999999999999999999999", "/xem ²", "²"):
        await user.send(text)
        assert "sự cố" not in user.text, text
    await start_form(user, "Đoàn vào", "Đoàn A", "Ông B", "Lào", "1", "có", "Chào xã giao")
    await user.send("9" * 5000)
    assert "quá lớn" in user.text and "Đoàn có bao nhiêu người" in user.text
    await user.send("1" + "0" * 30)
    assert "quá lớn" in user.text


async def test_old_reminder_buttons_on_a_closed_round(app):
    user = await registered(app, "r6")  # today is 15/6/2023: 2023-H1 closed on 30/5
    await save_border_record(user)
    await user.send("/xong")
    await user.send(choice="xongok:2023-H1")
    assert "đã đóng" in user.text
    await user.send(choice="xongok:2023-Y")
    assert "xác nhận đã báo cáo đủ cho đợt năm 2023" in user.text
    await user.send(choice="xongkhong:2023-Y")  # an older button must not rewrite it
    async with app.sessions() as db:
        [confirmation] = (await db.scalars(select(Confirmation))).all()
    assert confirmation.nothing_to_report is False


async def test_nothing_to_report_is_refused_when_the_unit_has_records(app):
    user = await registered(app, "r7")
    await save_border_record(user)
    await user.send(choice="xongkhong:2023-Y")
    assert "không thể xác nhận" in user.text
    async with app.sessions() as db:
        assert (await db.scalars(select(Confirmation))).all() == []


async def test_withdrawal_after_the_deadline_is_refused(app, settings):
    from bot.app import open_app

    clock = {"now": TZ_NOW}
    application = await open_app(settings, clock=lambda: clock["now"])
    user = await registered(application, "r8")
    await user.send(choice="xongok:2023-Y")
    clock["now"] = datetime.fromisoformat("2023-10-12T09:00:00+07:00")
    await user.send(choice="rutlai:2023-Y")
    assert "không rút lại xác nhận được nữa" in user.text
    await application.close()


async def test_pressed_keys_do_not_cross_permissions(app):
    owner = await registered(app, "p1", unit="Sở Ngoại vụ")
    await save_border_record(owner)
    other = await registered(app, "p2", unit="Sở Y tế")
    await other.send("/cuatoi")
    await other.send(choice="rec:1")  # a key that was never offered to them
    assert "Tuần tra chung" not in other.text
    for key in ("tiendo:2023-Y", "invite", "progress", "adhoc", "unit", "report"):
        await other.send(choice=key)
        assert "điều phối viên" in other.text, key
    await other.send("/xem 1")
    assert "Không tìm thấy hoạt động số 1 trong các hoạt động của Sở Y tế" in other.text
    await other.send(choice="edit")
    await other.send(choice="delete")
    [record] = await records(app)
    assert record.deleted_at is None and record.version == 1


async def test_a_deletion_after_confirming_is_shown_as_an_update(app):
    user = await registered(app, "d1", unit="Sở Tư pháp")
    boss = await registered(app, "d2", role="coordinator")
    await start_form(user, "Công tác biên giới", "14/6/2023", "Tuần tra", "bỏ qua")
    await user.press("Lưu")
    await user.send(choice="xongok:2023-Y")
    await boss.send(choice="tiendo:2023-Y")
    assert "✅ Sở Tư pháp — 01 hoạt động\n" in boss.text + "\n"
    await user.send("/xem 1")
    await user.press("Xóa")
    await user.press("Có, xóa")
    await boss.send(choice="tiendo:2023-Y")
    assert "✅ Sở Tư pháp — chưa có hoạt động ⚠️ có cập nhật sau khi xác nhận" in boss.text


async def test_a_range_report_plans_for_the_time_ahead_not_next_year(app):
    from datetime import date

    from domain.periods import range_period
    from templates.report.build import build_report

    period = range_period(date(2023, 1, 1), date(2023, 5, 20))
    markdown = (await build_report(app.sessions, app.settings, period)).markdown
    assert "## III. Phương hướng, nhiệm vụ thời gian tới" in markdown
    assert "năm 2024" not in markdown
