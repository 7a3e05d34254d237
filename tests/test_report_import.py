"""Start from last year's report: a signed report imported as a round's standing texts,
carried into the next draft of the same kind, marked for review, its figures never
presented as this year's."""

from __future__ import annotations

import argparse
from datetime import date

from bot.report_cli import add_report_parser, run_report
from domain.periods import round_period
from storage import report_texts
from templates.report import markup
from templates.report.build import build_report
from templates.report.previous import place, read_paragraphs
from templates.report.standing import UNPLACED
from tests.conftest import FIXTURES, confirm_all_units
from tests.test_report_golden import SIX_MONTHS, imported

MINISTRY_2021 = FIXTURES / "bao_cao_nam_2021_bo_ngoai_giao.txt"


def parse(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="doingoai")
    add_report_parser(parser.add_subparsers(dest="command", required=True))
    return parser.parse_args(["report", "text", "import", *argv])


def paragraph_after(text: str, start: str) -> str:
    return next(line for line in text.splitlines() if start in line)


async def test_last_years_report_prefills_the_next_draft(app, capsys):
    assert await run_report(app, parse("--round", "2021-Y", str(MINISTRY_2021))) == 0
    out = capsys.readouterr().out
    assert "bien_gioi\tBiên giới lãnh thổ: 11 đoạn" in out
    assert "1 câu mở đầu" in out and "730 dòng nơi nhận, chữ ký và phụ lục" in out

    period = round_period("2022-Y", date(2022, 11, 10))
    text = (await build_report(app.sessions, app.settings, period, "bo_ngoai_giao")).markdown
    border = text[text.index("### 7. Công tác biên giới") : text.index("### 8.")]
    assert "[RÀ SOÁT SỐ LIỆU] Hà Tĩnh có 164,488 km đường biên giới chung" in border
    information = text[text.index("### 6. Công tác thông tin") : text.index("### 7.")]
    assert "[RÀ SOÁT] Bên cạnh đó, tỉnh đã quan tâm chỉ đạo công tác tuyên truyền" in information
    consular = text[text.index("### 8. Công tác lãnh sự") : text.index("### 9.")]
    assert "[RÀ SOÁT SỐ LIỆU] Sở Ngoại vụ Hà Tĩnh đã làm tốt công tác tiếp nhận hồ sơ" in consular
    assert "xử lý 05 vụ việc" not in consular  # last year's count of cases
    tasks = text[text.index("## V. Phương hướng") :]
    assert "[RÀ SOÁT SỐ LIỆU] 3. Tổ chức các hoạt động kỷ niệm 60 năm" in tasks

    # The 2021 counts the records state for 2022 are left out, not carried as current.
    for stale in ("Tiếp 14 đoàn với 54 lượt khách", "đã tổ chức 15 hội nghị, hội thảo",
                  "05 tập thể, 19 cá nhân", "bảo hộ công dân cho 05 trường hợp",
                  "ký kết 02 Thỏa thuận", "quy tập được 11 bộ hài cốt"):  # fmt: skip
        assert stale not in text, stale
    # Every other carried paragraph with a number is marked for checking.
    carried = [line for line in text.splitlines() if line.startswith("[RÀ SOÁT")]
    assert len(carried) > 40
    assert all(line.startswith("[RÀ SOÁT SỐ LIỆU]") for line in carried if any(
        ch.isdigit() for ch in line.removeprefix("[RÀ SOÁT SỐ LIỆU]")))  # fmt: skip
    # Year words move where they are a time phrase, stay where they are not.
    assert paragraph_after(text, "tình hình dịch bệnh Covid-19 tại Lào diễn biến").startswith(
        "[RÀ SOÁT SỐ LIỆU] Năm 2022, tình hình dịch bệnh Covid-19 tại Lào"
    )
    assert "Trong năm 2022, các lực lượng liên quan của tỉnh đã tổ chức 27 đợt" in text
    assert "Năm 2021 là năm đầu tiên triển khai Nghị quyết Đại hội Đảng bộ tỉnh" in text
    assert "Năm học 2020-2021, có 1.637 Lưu học sinh" in text or "1.637 Lưu học sinh" not in text


async def test_an_import_does_not_overwrite_the_rounds_own_texts(app, capsys):
    async with app.sessions() as db, db.begin():
        await report_texts.set_text(db, "2021-Y", "bien_gioi", "Đoạn đã viết.", source="cli")
    assert await run_report(app, parse("--round", "2021-Y", str(MINISTRY_2021))) == 2
    error = capsys.readouterr().err
    assert "Biên giới lãnh thổ" in error and "--replace" in error
    async with app.sessions() as db:
        assert (await report_texts.texts_of_round(db, "2021-Y"))[
            "bien_gioi"
        ].text == "Đoạn đã viết."
    assert await run_report(app, parse("--round", "2021-Y", "--replace", str(MINISTRY_2021))) == 0
    async with app.sessions() as db:
        texts = await report_texts.texts_of_round(db, "2021-Y")
    assert texts["bien_gioi"].text.startswith("Hà Tĩnh có 164,488 km")
    assert texts["bien_gioi"].source == "import:bao_cao_nam_2021_bo_ngoai_giao.txt"


async def test_a_docx_written_by_the_product_imports_back_whole(app, tmp_path):
    await imported(app, SIX_MONTHS)
    await confirm_all_units(app, "2021-H1")
    period = round_period("2021-H1", date(2021, 5, 25))
    report = await build_report(app.sessions, app.settings, period, "6thang")
    body = [
        block.text.strip()
        for block in markup.parse(report.rendered.parts["noi_dung"])
        if block.level == 0 and not block.text.startswith(("[CẦN BỔ SUNG", "Thực hiện"))
    ]
    closing = body.pop()  # "Sở Ngoại vụ tổng hợp báo cáo Sở Kế hoạch và Đầu tư./."
    assert closing.endswith("./.")

    placement = place(read_paragraphs(report.write_docx(tmp_path / "bc.docx")))
    placed = [p for key, found in placement.sections.items() for p in found if key != UNPLACED]
    assert placement.unplaced == []
    assert sorted(placed) == sorted(body)
    everything = "\n".join(placed)
    for heading_or_signature in ("UBND TỈNH HÀ TĨNH", "CỘNG HÒA", "Kính gửi", "Nơi nhận",
                                 "Như trên", "Thái Phúc Sơn", "GIÁM ĐỐC"):  # fmt: skip
        assert heading_or_signature not in everything
    assert placement.sections["lanh_su"][0].startswith("Phối hợp với các đơn vị chức năng")
    assert any("11 hài cốt" in p for p in placement.sections["bien_gioi"])


async def test_headings_the_template_does_not_know_leave_paragraphs_unplaced(app, tmp_path, capsys):
    odd = tmp_path / "bao-cao-la.txt"
    odd.write_text(
        "BÁO CÁO\nKính gửi: UBND tỉnh\n"
        "I. Công tác phòng chống thiên tai\n"
        "Đoạn thứ nhất về phòng chống bão lụt.\n"
        "1. Công tác cứu hộ\n"
        "Đoạn thứ hai về cứu hộ cứu nạn.\n"
        "II. Khó khăn, vướng mắc\n"
        "Thiếu kinh phí.\n"
        "Nơi nhận:\n- Như trên;\n",
        encoding="utf-8",
    )
    assert await run_report(app, parse("--round", "2023-Y", str(odd))) == 0
    out = capsys.readouterr().out
    assert "Chưa xếp được (lưu ở mục chua_xep, cần chuyển tay): Đoạn thứ nhất về phòng" in out
    assert "Chưa xếp được (lưu ở mục chua_xep, cần chuyển tay): Đoạn thứ hai về cứu hộ" in out
    assert "kho_khan\tKhó khăn, vướng mắc: 1 đoạn" in out
    async with app.sessions() as db:
        texts = await report_texts.texts_of_round(db, "2023-Y")
    assert texts[UNPLACED].text.splitlines() == [
        "Đoạn thứ nhất về phòng chống bão lụt.", "Đoạn thứ hai về cứu hộ cứu nạn."
    ]  # fmt: skip
    assert texts["kho_khan"].text == "Thiếu kinh phí."
