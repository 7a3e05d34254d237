"""One-message entry (/nhanh): the template of each type filled and sent back in one
message, with one field wrong and one missing; several templates in one message; a long
one in two parts."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from domain.entry import template
from domain.forms import Field, load_forms
from storage.models import Record
from tests.conftest import TZ_NOW, ChatUser, invite_code, registered

FORMS = load_forms()
WRONG = {"date": "31/2/2023", "int": "mười hai", "money": "rất nhiều", "choice": "99",
         "yesno": "có lẽ", "round": "đợt X"}  # fmt: skip


def wrong_and_missing(kind: str) -> tuple[Field, Field]:
    """The field answered wrongly (the first one a parser can refuse) and the one left out
    (the first other required field)."""
    fields = FORMS[kind].fields
    wrong = next(f for f in fields if f.type in WRONG)
    missing = next(f for f in fields if not f.optional and f is not wrong)
    return wrong, missing


def fill(template: str, kind: str, values: dict[str, str]) -> str:
    """The template as a person fills it: each line's value after its colon."""
    form, lines = FORMS[kind], []
    for line in template.splitlines():
        label = line.split(":")[0].split(" (")[0]
        spec = next((f for f in form.fields if f.label.split(" (")[0] == label), None)
        lines.append(f"{line.rstrip()} {values.get(spec.key, '')}" if spec else line)
    return "\n".join(lines)


async def records(app) -> list[Record]:
    async with app.sessions() as db:
        return list((await db.scalars(select(Record).order_by(Record.id))).all())


@pytest.mark.parametrize("kind", list(FORMS))
async def test_one_message_entry_of_every_type(app, kind):
    form = FORMS[kind]
    user = await registered(app, f"q-{kind}")
    await user.send(f"/nhanh {form.label}")
    instructions, sent = (reply.text for reply in user.replies)
    assert "Sao chép mẫu" in instructions and sent == template(form).strip()
    wrong, missing = wrong_and_missing(kind)
    answers = {f.key: f.example for f in form.fields if f is not missing}
    answers[wrong.key] = WRONG[wrong.type]
    await user.send(fill(sent, kind, answers))
    steps = len(form.fields)
    assert f"Đã đọc {steps - 2}/{steps} mục" in user.text and "Còn 2 mục" in user.text
    first, second = sorted((wrong, missing), key=form.fields.index)
    assert first.question in user.text
    await user.send(first.example_for(TZ_NOW.date()))
    assert second.question in user.text
    await user.send(second.example_for(TZ_NOW.date()))
    assert "Kiểm tra lại trước khi lưu" in user.text
    await user.press("Lưu")
    [record] = await records(app)
    expected = {
        f.key: f.to_json(form.interpret(f.key, f.example, {}, TZ_NOW.date()).values[f.key])
        for f in form.fields
    }
    assert record.kind == kind and record.values == expected


async def test_the_wrong_field_is_explained_when_asked(app):
    user = await registered(app, "q1")
    await user.send("/nhanh đoàn vào")
    await user.send(fill(user.replies[-1].text, "doan_vao", {
        "ten_doan": "Đoàn Đại sứ quán Lào", "truong_doan": "Ông A", "nuoc": "Lao",
        "loai_khach": "1", "lanh_dao_tinh_tiep": "có", "noi_dung": "Chào xã giao",
        "so_nguoi": "khoảng 8", "tu_ngay": "12/3/2023", "den_ngay": "31/2",
        "trang_thai": "Đã thực hiện",
    }))  # fmt: skip
    assert "Còn 1 mục" in user.text and "Ngày 31/2/2023 không tồn tại" in user.text
    assert "Đoàn rời tỉnh ngày nào?" in user.text
    await user.send("13/3")
    assert "• Nước, tổ chức: Lào" in user.text and "• Số lượt khách: 8" in user.text
    assert "• Nguồn kinh phí: (chưa có)" in user.text


async def test_a_near_miss_in_a_template_is_asked_before_storing(app):
    user = await registered(app, "q2")
    await user.send("/nhanh lãnh sự")
    filled = fill(user.replies[-1].text, "lanh_su", {
        "loai_vu_viec": "2", "ngay": "8/5/2023", "nuoc": "Han Qoc",
        "mo_ta": "Công dân gặp tai nạn lao động",
    })  # fmt: skip
    await user.send(filled)
    assert "Có phải là Hàn Quốc?" in user.text
    await user.press("Hàn Quốc")
    assert "• Quốc tịch, nước: Hàn Quốc" in user.text


async def test_several_templates_in_one_message_are_reviewed_in_turn(app):
    user = await registered(app, "q3")
    examples = {f.key: f.example for f in FORMS["doan_vao"].fields}
    visit = fill(template(FORMS["doan_vao"]), "doan_vao", examples)
    border = "\n".join([
        "Loại hoạt động: Công tác biên giới",
        "Ngày: 12/4/2023",
        "Nội dung: Tiếp nhận hài cốt liệt sỹ",
        "hy sinh tại Lào",  # a value may run over several lines
        "Số hài cốt hồi hương: 11",
    ])  # fmt: skip
    await user.send(visit + "\n\n" + border)
    assert "Đã nhận 2 mẫu" in user.text and "Kiểm tra lại trước khi lưu — Đoàn vào" in user.text
    await user.press("Lưu")
    assert "Tiếp theo: mẫu Công tác biên giới" in user.text
    assert "• Nội dung: Tiếp nhận hài cốt liệt sỹ\nhy sinh tại Lào" in user.text
    await user.press("Lưu")
    assert [r.kind for r in await records(app)] == ["doan_vao", "bien_gioi"]
    assert user.key_of("Ghi nhận hoạt động khác") == "new"  # the queue is done


async def test_a_long_template_in_two_messages(app):
    user = ChatUser(app, "q4", channel="zalo")
    await user.send(f"/start {await invite_code(app)}")
    await user.send("nhanh hội nghị")  # Zalo users type commands without the slash
    values = {f.key: f.example for f in FORMS["hoi_nghi"].fields}
    values["noi_dung"] = "Chia sẻ kinh nghiệm quản lý tài nguyên nước. " * 30  # long
    lines = fill(user.replies[-1].text, "hoi_nghi", values).splitlines()
    half = len(lines) // 2
    first, second = "\n".join(lines[:half]), "\n".join(lines[half:])
    assert len(first) < 2000 and len(second) < 2000 and len(first + second) > 2000
    await user.send(first)
    assert "Còn" in user.text  # what is still missing is asked
    await user.send(second)  # the rest of the same template
    assert "Kiểm tra lại trước khi lưu — Hội nghị" in user.text
    await user.press("Lưu")
    [record] = await records(app)
    assert record.values["noi_dung"].startswith("Chia sẻ kinh nghiệm")
    assert record.values["trang_thai"] == "da_to_chuc"


async def test_unknown_lines_are_shown_not_dropped(app):
    user = await registered(app, "q5")
    await user.send("\n".join([
        "Loại hoạt động: Thông tin đối ngoại",
        "Ngày: 3/3/2023",
        "Nội dung: Đón phóng viên NHK",
        "Ghi chú riêng: gửi kèm ảnh",
    ]))  # fmt: skip
    assert "Những dòng chưa nhận ra" in user.text and "• Ghi chú riêng: gửi kèm ảnh" in user.text
    assert "Kiểm tra lại trước khi lưu" in user.text


async def test_a_template_while_a_draft_is_open_waits_for_it(app):
    user = await registered(app, "q6")
    await user.send("/moi")
    await user.press("Công tác biên giới")
    await user.send("hôm nay")
    await user.send("Loại hoạt động: Kết quả nổi bật khác\nNgày: 30/4/2023\nLĩnh vực: Hợp tác"
                    "\nNội dung: Hỗ trợ vật tư y tế")  # fmt: skip
    assert "sẽ xem sau khi xong bản nháp Công tác biên giới" in user.text
    assert "Nội dung hoạt động?" in user.text  # the open draft goes on
    await user.send("Tuần tra")
    await user.send("bỏ qua")
    await user.press("Lưu")
    assert "Tiếp theo: mẫu Kết quả nổi bật khác" in user.text
    await user.press("Lưu")
    assert [r.kind for r in await records(app)] == ["bien_gioi", "ket_qua_khac"]
