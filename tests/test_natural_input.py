"""Answers as officials type them, through the engine: the right value stored, or a
question asked, never a wrong value stored in silence (issue: input as officials type it)."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select

from storage.models import Record
from tests.conftest import ChatUser, registered


async def saved_values(app) -> dict:
    async with app.sessions() as db:
        [record] = (await db.scalars(select(Record))).all()
    return record.values


async def answer(user: ChatUser, *texts: str) -> None:
    for text in texts:
        await user.send(text)


async def start(user: ChatUser, label: str, *texts: str) -> None:
    await user.send("/moi")
    await user.press(label)
    await answer(user, *texts)


AID = ("Tổ chức Tầm nhìn Thế giới", "Hoa Kỳ", "Dự án nước sạch", "Y tế", "bỏ qua")
VISIT = ("Đoàn Đại sứ quán Lào", "Ông A, Đại sứ", "Lào", "1", "có", "Chào xã giao", "8")


# --- 1. money and its currency -------------------------------------------------------------


async def test_an_amount_in_dong_at_a_usd_question_is_refused_not_taken(app):
    user = await registered(app, "m1")
    await start(user, "Viện trợ", *AID)
    for typed in ("600 triệu đồng", "1,5 tỷ đồng", "2 tỷ VNĐ", "5 trieu dong"):
        await user.send(typed)
        assert "Mục này tính bằng USD" in user.text and "quy đổi sang USD" in user.text
        assert "Giá trị cam kết là bao nhiêu USD?" in user.text  # asked again
    await user.send("1,2")  # kept as 1.2, not rounded
    await answer(user, "bỏ qua", "10/4/2023")
    assert "• Giá trị cam kết (USD): 1,2 USD" in user.text
    await user.press("Lưu")
    assert (await saved_values(app))["cam_ket_usd"] == 1.2


async def test_usd_at_a_dong_question_is_refused(app):
    user = await registered(app, "m2")
    await start(user, "người Việt Nam ở nước ngoài", "15/1/2023", "Gặp mặt kiều bào")
    await user.send("10.000 USD")
    assert "Mục này tính bằng đồng, nhưng bạn nhập 10.000 USD" in user.text
    await user.send("250 triệu đồng")
    assert "• Số tiền ủng hộ (đồng): 250.000.000 đồng" in user.text


async def test_zero_in_a_required_amount_is_questioned(app):
    user = await registered(app, "m3")
    await start(user, "Viện trợ", *AID)
    await user.send("0")
    assert "Giá trị cam kết (USD) là 0 — đúng vậy không?" in user.text
    await user.press("Nhập lại")
    assert "Giá trị cam kết là bao nhiêu USD?" in user.text
    await user.send("không có")
    await user.press("Đúng, là 0 USD")
    assert "Đã giải ngân bao nhiêu USD?" in user.text


# --- 2. the year of a date -------------------------------------------------------------------


async def test_an_end_date_without_year_takes_the_start_dates_year(app):
    user = await registered(app, "y1")
    await start(user, "Đoàn ra", "Đoàn tỉnh", "Ông B", "có", "Lào", "bỏ qua", "Hội nghị", "5")
    await answer(user, "12/3/2021", "15/3")
    assert "Kinh phí từ nguồn nào?" in user.text
    await answer(user, "bỏ qua", "bỏ qua", "1")
    assert "• Đến ngày: 15/03/2021" in user.text


async def test_a_span_over_a_year_is_questioned(app):
    user = await registered(app, "y2")
    await start(user, "Đoàn vào", *VISIT, "12/3/2023")
    await user.send("15/3/2026")
    assert "hơn một năm" in user.text
    await user.press("Nhập lại")
    await user.send("15/3")
    assert "Kinh phí đón đoàn" in user.text


# --- 3. status against the dates ------------------------------------------------------------


async def test_status_is_suggested_from_the_dates_and_a_contradiction_asked(app):
    user = await registered(app, "s1")
    await start(user, "Đoàn vào", *VISIT, "12/3/2023", "15/3/2023", "bỏ qua")
    assert "Theo ngày đã nhập: Đã thực hiện" in user.text
    await user.send("kế hoạch")  # but the visit is over
    assert "theo ngày đã nhập (12/03/2023 – 15/03/2023) thì hoạt động là “Đã thực hiện”" in (
        user.text
    )
    await user.press("Đã thực hiện")
    await user.press("Lưu")
    assert (await saved_values(app))["trang_thai"] == "da_thuc_hien"


async def test_a_future_visit_recorded_as_done_is_asked_about(app):
    user = await registered(app, "s2")
    await start(user, "Đoàn vào", *VISIT, "1/9/2023", "3/9/2023", "bỏ qua")
    await user.send("đúng")  # agrees with the suggestion: planned
    assert "• Trạng thái: Kế hoạch (chưa thực hiện)" in user.text
    await user.press("Sửa: Trạng thái")
    await user.send("Đã thực hiện")
    assert "Chọn lại?" in user.text
    await user.press("Vẫn là")  # the person insists: kept, after being asked
    await user.press("Lưu")
    assert (await saved_values(app))["trang_thai"] == "da_thuc_hien"


async def test_changing_a_date_after_the_status_asks_about_the_status(app):
    user = await registered(app, "s3")
    await start(user, "Đoàn vào", *VISIT, "12/3/2023", "15/3/2023", "bỏ qua", "1")
    await user.press("Sửa: Từ ngày")
    await user.send("từ 1/9 đến 3/9/2023")
    assert "Chọn lại?" in user.text
    await user.press("Kế hoạch")
    assert "• Từ ngày: 01/09/2023" in user.text and "• Đến ngày: 03/09/2023" in user.text
    assert "• Trạng thái: Kế hoạch (chưa thực hiện)" in user.text


# --- 4. a message key missing from the catalogue ----------------------------------------------


async def test_a_unit_name_over_200_characters_is_explained(app):
    coordinator = await registered(app, "u1", role="coordinator")
    await coordinator.send("/themdonvi " + "Trung tâm " * 30)
    assert "sự cố" not in coordinator.text
    assert "Chưa thêm được đơn vị" in coordinator.text and "tối đa 200 ký tự" in coordinator.text


# --- 5. going back or editing keeps the current value -----------------------------------------


async def test_back_and_edit_keep_the_current_value(app):
    user = await registered(app, "k1")
    await start(user, "Đoàn vào", *VISIT[:3])
    await user.send("quay lại")
    assert "Giá trị hiện tại: Lào" in user.text
    await user.send("")  # an empty answer keeps it
    assert "Đoàn thuộc loại nào?" in user.text
    await user.send("quay lại")
    await user.send("giữ nguyên")
    assert "Đoàn thuộc loại nào?" in user.text
    await answer(user, *VISIT[3:], "12/3/2023", "13/3/2023", "bỏ qua", "1")
    await user.press("Sửa: Số lượt khách")
    await user.press("Giữ nguyên")
    assert "• Số lượt khách: 8" in user.text
    await user.press("Sửa: Số lượt khách")
    await user.send("Giữ nguyên: 8")  # the button's label typed
    await user.press("Sửa: Loại khách")
    await user.send("7")  # the number of "Giữ nguyên: Cơ quan đại diện"
    assert "• Loại khách: Cơ quan đại diện" in user.text
    await user.press("Sửa: Loại khách")
    await user.press("Giữ nguyên: Cơ quan đại diện")
    await user.press("Lưu")
    values = await saved_values(app)
    assert values["nuoc"] == "Lào" and values["so_nguoi"] == 8
    assert "giữ nguyên" not in str(values).lower()


# --- 6. natural answers ---------------------------------------------------------------------


async def test_natural_answers_are_understood(app):
    user = await registered(app, "n1")
    await user.send("/moi")
    await user.send("ddoanf vaof")  # Telex typed without conversion
    assert "Tên đoàn khách là gì?" in user.text
    await answer(user, *VISIT[:6])
    await user.send("khoảng 15 người")
    await user.send("từ 12/3 đến 15/3/2023")  # both dates in one answer
    assert "Kinh phí đón đoàn" in user.text  # the end date is not asked again
    await answer(user, "không có", "1")  # "không có" for an optional field: nothing
    summary = user.text
    assert "• Số lượt khách: 15" in summary and "• Đến ngày: 15/03/2023" in summary
    assert "• Nguồn kinh phí: (chưa có)" in summary


async def test_none_is_zero_for_a_count(app):
    user = await registered(app, "n2")
    await start(user, "Hội nghị", "Hội thảo A", "Sở Y tế", "bỏ qua", "1", "khoảng 200")
    await user.send("không có")
    assert "Có bao nhiêu đại biểu nước ngoài từ nước ngoài sang?" in user.text
    await answer(user, "5", "Japan, UNICEF", "Nội dung", "20/4/2023", "21/4", "Hà Tĩnh")
    await answer(user, "JICA", "150 triệu", "1")
    summary = user.text
    assert "• Đại biểu Việt Nam: 200" in summary
    assert "• Đại biểu nước ngoài ở Việt Nam: 0" in summary
    assert "• Nước, tổ chức của đại biểu nước ngoài: Nhật Bản, UNICEF" in summary


async def test_a_word_that_is_no_choice_offers_other(app):
    user = await registered(app, "n3")
    await start(user, "Viện trợ", "Tổ chức A", "Hoa Kỳ", "Dự án B")
    await user.send("nước sạch")
    assert 'Không có lựa chọn "nước sạch". Xếp vào "Khác"' in user.text
    await user.press("Khác")
    assert "Dự án thực hiện ở địa bàn nào?" in user.text


async def test_the_date_error_gives_its_example_once(app):
    user = await registered(app, "n4")
    await start(user, "Công tác biên giới")
    await user.send("tuần trước")
    assert user.text.count("12/4/2023") == 1 and "Chưa đọc được ngày" in user.text


# --- 7. countries -----------------------------------------------------------------------------


async def test_countries_stored_by_their_canonical_name(app):
    user = await registered(app, "c1")
    await start(user, "Lãnh sự", "2", "8/5/2023")
    await user.send("Han Quoc")
    assert "Mô tả ngắn vụ việc?" in user.text
    await answer(user, "Công dân gặp tai nạn", "bỏ qua")
    await user.press("Lưu")
    assert (await saved_values(app))["nuoc"] == "Hàn Quốc"


async def test_a_near_miss_is_asked_and_an_organisation_kept(app):
    user = await registered(app, "c2")
    await start(user, "Đoàn vào", "Đoàn A", "Ông B")
    await user.send("Han Qoc")
    assert 'Bạn nhập "Han Qoc". Có phải là Hàn Quốc?' in user.text
    await user.press('Giữ nguyên "Han Qoc"')
    assert "Đoàn thuộc loại nào?" in user.text
    await user.send("quay lại")
    await user.send("UNICEF")  # an organisation is a right answer here
    assert "Đoàn thuộc loại nào?" in user.text


async def test_an_unknown_country_where_only_countries_fit_is_asked(app):
    user = await registered(app, "c3")
    await start(user, "Thỏa thuận", "Biên bản ghi nhớ", "Sở Giáo dục Khăm Muộn")
    await user.send("Bolykhamxay")
    assert 'Chưa nhận ra tên nước "Bolykhamxay"' in user.text
    await user.send("Lào")  # typed again instead of pressing a button
    assert "Thỏa thuận ký ở cấp nào?" in user.text


# --- 8. rounds by their names --------------------------------------------------------------


async def test_the_round_is_asked_by_its_name_never_its_code(app):
    user = await registered(app, "r1")
    await user.send("/moi")
    await user.press("Khó khăn")
    assert "2023-Y" not in user.text and "Ví dụ: năm 2023" in user.text
    assert [c.label for c in user.last.choices] == [
        "năm 2023", "6 tháng đầu năm 2023", "năm 2022"
    ]  # fmt: skip
    await user.send("năm nay")
    await user.send("Thiếu kinh phí")
    await user.press("Lưu")
    async with app.sessions() as db:
        [record] = (await db.scalars(select(Record))).all()
    assert record.round_id == "2023-Y" and record.event_date is None


async def test_dates_in_summary_and_record(app):
    user = await registered(app, "r2")
    await start(user, "Công tác biên giới", "12/4", "Tuần tra", "bỏ qua")
    await user.press("Lưu")
    async with app.sessions() as db:
        [record] = (await db.scalars(select(Record))).all()
    assert record.event_date == date(2023, 4, 12)


async def test_a_button_of_an_older_question_is_not_applied_to_a_new_one(app):
    user = await registered(app, "c4")
    await start(user, "Đoàn vào", "Đoàn A", "Ông B", "Han Qoc")
    old_key = user.key_of("Hàn Quốc")
    await user.press("Nhập lại")
    await user.send("Thai Lang")
    assert "Có phải là Thái Lan?" in user.text
    await user.send(choice=old_key)  # "Hàn Quốc" from the earlier question
    assert "câu hỏi trước" in user.text
    await user.send("Thái Lan")
    await answer(user, "1", "có", "Chào xã giao", "8", "12-13/3/2023", "bỏ qua", "1")
    await user.press("Lưu")
    assert (await saved_values(app))["nuoc"] == "Thái Lan"
