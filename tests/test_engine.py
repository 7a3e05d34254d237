"""The conversation engine end to end: registration, every activity type, edits, deletes,
bad input, restarts, redelivered updates and permissions."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import func, select

from bot.app import open_app
from domain.forms import load_forms
from domain.messages import Incoming
from storage.models import AuditEntry, Record
from tests.conftest import TZ_NOW, ChatUser, invite_code, registered

FORMS = load_forms()


async def records_in_db(app) -> list[Record]:
    async with app.sessions() as db:
        return list((await db.scalars(select(Record).order_by(Record.id))).all())


async def fill_form(user: ChatUser, kind: str) -> None:
    """Choose `kind` and answer every question with the field's own example."""
    await user.send("/moi")
    await user.press(FORMS[kind].label)
    for field in FORMS[kind].fields:
        assert field.question in user.text, (field.key, user.text)
        await user.send(field.example)
    assert "Kiểm tra lại trước khi lưu" in user.text, user.text


async def test_unregistered_person_is_told_how_to_get_an_invite(app):
    stranger = ChatUser(app, "999")
    await stranger.send("xin chào")
    assert "chưa đăng ký" in stranger.text and "/start" in stranger.text
    await stranger.send("/moi")
    assert "chưa đăng ký" in stranger.text
    await stranger.send("/start ABCDEFGH")
    assert "không đúng" in stranger.text
    assert await records_in_db(app) == []


async def test_invite_code_is_single_use(app):
    code = await invite_code(app)
    first, second = ChatUser(app, "1"), ChatUser(app, "2")
    await first.send(f"/start {code}")
    assert "Chào mừng" in first.text and "Sở Ngoại vụ" in first.text
    await second.send(f"/start {code.lower()}")
    assert "đã được dùng" in second.text


@pytest.mark.parametrize("kind", list(FORMS))
async def test_every_activity_type_recorded_edited_and_deleted(app, kind):
    user = await registered(app, "100")
    form = FORMS[kind]
    await fill_form(user, kind)

    # Edit before saving: the first field gets a new value.
    first = form.fields[0]
    await user.press(f"Sửa: {first.label}")
    assert "Giá trị hiện tại" in user.text
    new_value = first.example if first.type != "text" else "Giá trị đã sửa <b>&</b> {{ 7*7 }}"
    await user.send(new_value)
    assert "Kiểm tra lại trước khi lưu" in user.text
    await user.press("Lưu")
    assert "Đã lưu hoạt động số 1" in user.text

    [record] = await records_in_db(app)
    assert record.kind == kind and record.version == 1
    expected = {f.key: f.to_json(f.parse(f.example, TZ_NOW.date())) for f in form.fields}
    if first.type == "text":
        expected[first.key] = "Giá trị đã sửa <b>&</b> {{ 7*7 }}"
    assert record.values == expected
    if form.date_field:
        assert record.event_date == form.field(form.date_field).parse(
            form.field(form.date_field).example, TZ_NOW.date()
        )
    else:
        assert record.round_id == "2023-Y"

    # Edit after saving, through the unit's list.
    await user.send("/cuatoi")
    assert "#1" in user.text
    await user.press("#1")
    await user.press("Sửa")
    last = form.fields[-1]
    await user.press(f"Sửa: {last.label}")
    replacement = {"text": "Nội dung mới", "date": "hôm nay", "int": "3"}.get(last.type)
    if replacement is None:  # choices: take the second option
        await user.send("2")
    else:
        await user.send(replacement)
    if "Chọn lại?" in user.text:  # a planned status for past dates is asked about
        await user.press("Vẫn là")
    await user.press("Lưu")
    assert "Đã lưu thay đổi của hoạt động số 1" in user.text
    [record] = await records_in_db(app)
    assert record.version == 2 and record.values[last.key] != expected[last.key]

    # Delete, confirmed.
    await user.send("/xem 1")
    await user.press("Xóa")
    await user.press("Có, xóa")
    assert "Đã xóa hoạt động số 1" in user.text
    [record] = await records_in_db(app)
    assert record.deleted_at is not None
    await user.send("/cuatoi")
    assert "chưa có hoạt động" in user.text
    async with app.sessions() as db:
        actions = (await db.scalars(select(AuditEntry.action).order_by(AuditEntry.id))).all()
    assert actions == ["register", "create", "update", "delete"]


async def test_wrong_answers_are_explained_and_nothing_is_lost(app):
    user = await registered(app, "200")
    await user.send("/moi")
    await user.press("Đoàn vào")
    await user.send("Đoàn Đại sứ quán Lào")
    await user.send("Ông A, Đại sứ")
    await user.send("Lào")
    await user.send("9")  # only 6 kinds of visitor
    assert "gõ số từ 1 đến 6" in user.text and "Đoàn thuộc loại nào?" in user.text
    await user.send("tổ chức quốc tế")
    await user.send("k")
    await user.send("Chào xã giao")
    await user.send("mười hai")
    assert "số nguyên" in user.text and "Ví dụ: 8" in user.text
    await user.send("0")
    assert "từ 1 trở lên" in user.text
    await user.send("1.200")
    await user.send("31/2/2023")
    assert "31/2/2023 không tồn tại" in user.text
    await user.send("12/3/2023")
    await user.send("10/3/2023")
    assert "không được trước từ ngày (12/03/2023)" in user.text
    await user.send("quay lại")
    assert "Đoàn đến ngày nào?" in user.text and "Giá trị hiện tại: 12/03/2023" in user.text
    await user.send("9/3/2023")
    await user.send("13/3/2023")
    await user.send("bỏ qua")  # kinh_phi is optional
    await user.send("bỏ qua")  # trang_thai is not
    assert "bắt buộc" in user.text
    await user.send("1")
    summary = user.text
    assert "• Loại khách: Tổ chức quốc tế" in summary
    assert "• Lãnh đạo tỉnh tiếp: Không" in summary
    assert "• Số lượt khách: 1.200" in summary
    assert "• Từ ngày: 09/03/2023" in summary
    assert "• Nguồn kinh phí: (chưa có)" in summary


async def test_decomposed_unicode_input_is_understood(app):
    import unicodedata

    user = await registered(app, "201")
    await user.send(unicodedata.normalize("NFD", "/moi"))
    await user.send(unicodedata.normalize("NFD", "Đoàn vào"))
    assert "Tên đoàn khách là gì?" in user.text


async def test_restart_mid_form_resumes_at_the_same_question(settings):
    first_run = await open_app(settings, clock=lambda: TZ_NOW)
    user = await registered(first_run, "300")
    await user.send("/moi")
    await user.press("Thỏa thuận quốc tế")
    await user.send("Biên bản ghi nhớ về giáo dục")
    await user.send("Sở Giáo dục tỉnh Khăm Muộn")
    await first_run.close()

    second_run = await open_app(settings, clock=lambda: TZ_NOW)
    same_user = ChatUser(second_run, "300")
    await same_user.send("Lào")
    assert "Thỏa thuận ký ở cấp nào?" in same_user.text
    for answer in ("Cấp tỉnh", "5/9/2023", "Sở Giáo dục và Đào tạo", "bỏ qua", "bỏ qua", "Dự kiến"):
        await same_user.send(answer)
    assert "• Tên thỏa thuận: Biên bản ghi nhớ về giáo dục" in same_user.text
    assert "• Nước: Lào" in same_user.text
    await same_user.press("Lưu")
    [record] = await records_in_db(second_run)
    assert record.values["doi_tac"] == "Sở Giáo dục tỉnh Khăm Muộn"
    assert record.event_date == date(2023, 9, 5)
    await second_run.close()


async def test_a_redelivered_update_changes_nothing(app):
    user = await registered(app, "400")
    await fill_form(user, "bien_gioi")
    save = Incoming(
        channel="test", user_id="400", chat_id="400", choice="save", update_id="same-update"
    )
    first = await app.engine.handle(save)
    again = await app.engine.handle(save)
    assert "Đã lưu" in first[0].text
    assert again == []
    assert len(await records_in_db(app)) == 1


async def test_focal_point_cannot_touch_another_units_record(app):
    owner = await registered(app, "500", unit="Sở Ngoại vụ")
    await fill_form(owner, "thong_tin_dn")
    await owner.press("Lưu")
    other = await registered(app, "501", unit="UBND huyện Hương Sơn")
    await other.send("/xem 1")
    assert (
        "Không tìm thấy hoạt động số 1 trong các hoạt động của UBND huyện Hương Sơn" in other.text
    )
    await other.send("/cuatoi")
    assert "chưa có hoạt động" in other.text
    [record] = await records_in_db(app)
    assert record.deleted_at is None and record.version == 1


async def test_cancel_asks_first_when_the_draft_has_answers(app):
    user = await registered(app, "600")
    await user.send("/moi")
    await user.press("Công tác biên giới")
    await user.send("hôm nay")
    await user.send("/huy")
    assert "Bạn có chắc muốn hủy?" in user.text
    await user.press("Không, tiếp tục")
    assert "Nội dung hoạt động?" in user.text
    await user.send("/huy")
    await user.press("Có, hủy")
    assert "Đã hủy" in user.text
    await user.send("/moi")
    assert "Tiếp tục bản nháp" not in user.text


async def test_draft_survives_leaving_the_form_and_unknown_commands(app):
    user = await registered(app, "601")
    await user.send("/moi")
    await user.press("Công tác biên giới")
    await user.send("hôm qua")
    await user.send("/khongco")
    assert 'Không có lệnh "/khongco"' in user.text
    assert "Nội dung hoạt động?" in user.text  # the pending question, asked again
    await user.send("/menu")
    await user.press("Tiếp tục bản nháp")
    assert "Nội dung hoạt động?" in user.text
    await user.send("Tiếp nhận hài cốt liệt sỹ")
    await user.send("11")
    await user.press("Lưu")
    [record] = await records_in_db(app)
    assert record.values == {
        "ngay": "2023-06-14",
        "noi_dung": "Tiếp nhận hài cốt liệt sỹ",
        "so_hai_cot": 11,
    }


async def test_stale_button_is_refused_politely(app):
    user = await registered(app, "602")
    await user.send("/moi")
    await user.press("Đoàn ra")
    await user.send(choice="da_thuc_hien")  # a button from an older message
    assert "câu hỏi trước" in user.text and "Tên đoàn là gì?" in user.text


async def test_coordinator_invites_a_focal_point_and_works_for_any_unit(app):
    coordinator = await registered(app, "700", role="coordinator")
    await coordinator.send("/taoma")
    await coordinator.press("Đầu mối đơn vị")
    await coordinator.send("hương khê")
    assert "Mã mời:" in coordinator.text and "UBND huyện Hương Khê" in coordinator.text
    code = coordinator.text.split("Mã mời: ")[1].split()[0]

    focal = ChatUser(app, "701")
    await focal.send(code)  # the bare code works too
    assert "UBND huyện Hương Khê" in focal.text

    await coordinator.send("/moi")
    assert "Chọn đơn vị" in coordinator.text
    await coordinator.send("Hương Khê")
    assert "Chọn loại hoạt động" in coordinator.text
    await coordinator.press("Lãnh sự")
    for answer in ("2", "8/5/2023", "Hàn Quốc", "Công dân gặp tai nạn lao động", "bỏ qua"):
        await coordinator.send(answer)
    await coordinator.press("Lưu")
    await focal.send("/cuatoi")
    assert "#1 · Lãnh sự, bảo hộ công dân · 08/05/2023" in focal.text

    await focal.send("/taoma")
    assert "chỉ dành cho điều phối viên" in focal.text


async def test_coordinator_adds_a_unit(app):
    coordinator = await registered(app, "800", role="coordinator")
    await coordinator.send("/themdonvi Trung tâm Xúc tiến Đầu tư thử nghiệm")
    assert "Đã thêm đơn vị" in coordinator.text
    await coordinator.send("/themdonvi trung tam xuc tien dau tu thu nghiem")
    assert "đã có trong danh sách" in coordinator.text


async def test_list_is_paged_newest_first(app):
    user = await registered(app, "900")
    for _ in range(10):
        await fill_form(user, "thong_tin_dn")
        await user.press("Lưu")
    await user.send("/cuatoi")
    assert "1–8 trên tổng số 10" in user.text
    assert user.text.index("#10") < user.text.index("#3")
    await user.press("Trang sau")
    assert "9–10 trên tổng số 10" in user.text and "#2" in user.text and "#1" in user.text
    async with app.sessions() as db:
        assert await db.scalar(select(func.count(Record.id))) == 10
