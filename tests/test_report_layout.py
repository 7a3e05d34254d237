"""The signed document and its annexes read back with their libraries: a header set per
report, the layout details of Nghị định 30/2020 an officer would otherwise fix by hand,
the annex tables as the Ministry's forms, and text that never turns into a formula."""

from __future__ import annotations

from datetime import date

import pytest
from docx import Document
from docx.enum.text import WD_COLOR_INDEX
from openpyxl import load_workbook

from domain.periods import range_period, round_period
from storage import repo
from templates.report.build import build_report
from templates.report.docx_writer import SIGNATURE_SPACE
from templates.report.header import Header
from templates.report.render import BLANK_DAY
from tests.conftest import FIXTURES, confirm_all_units
from tests.test_report_golden import imported

W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
ANNUAL = round_period("2021-Y", date(2021, 11, 10))
HEADER = Header(
    addressee="Sở Kế hoạch và Đầu tư",
    request_number="3194/UBND-TH",
    request_date=date(2021, 5, 25),
    request_issuer="UBND tỉnh",
    request_subject="báo cáo tình hình kinh tế - xã hội năm 2021",
    recipients=("Như trên;", "Sở Kế hoạch và Đầu tư;", "Lưu: VT, VPTTr."),
    signer_titles=("KT. GIÁM ĐỐC", "PHÓ GIÁM ĐỐC"),
    signer_name="Nguyễn Văn A",
)


async def add(app, kind: str, values: dict, day: date | None) -> None:
    async with app.sessions() as db, db.begin():
        unit = await repo.unit_by_name(db, "Sở Ngoại vụ")
        await repo.create_record(
            db, kind=kind, unit_id=unit.id, submitted_by=None, values=values,
            event_date=day, round_id=None,
        )  # fmt: skip


async def planned_trip(app, name: str, day: date, leader: bool) -> None:
    values = {
        "ten_doan": name, "truong_doan": "Lãnh đạo tỉnh", "lanh_dao_tinh": leader,
        "nuoc_den": "Lào", "noi_dung": "Dự hội nghị", "so_nguoi": 10,
        "tu_ngay": day.isoformat(), "den_ngay": day.isoformat(), "trang_thai": "ke_hoach",
    }  # fmt: skip
    await add(app, "doan_ra", values, day)


async def test_signer_block_blank_day_spacing_and_subject_rule(app, tmp_path):
    report = await build_report(app.sessions, app.settings, ANNUAL, "kh_dt", header=HEADER)
    text = report.markdown
    assert "Kính gửi: Sở Kế hoạch và Đầu tư" in text
    assert (
        "Thực hiện văn bản số 3194/UBND-TH ngày 25/5/2021 của UBND tỉnh về việc báo cáo tình"
        " hình kinh tế - xã hội năm 2021; Sở Ngoại vụ báo cáo" in text
    )
    assert "- Sở Kế hoạch và Đầu tư;" not in text  # "Như trên" already names it
    assert "Sở Ngoại vụ báo cáo để Sở Kế hoạch và Đầu tư tổng hợp./." in text

    document = Document(str(report.write_docx(tmp_path / "bc.docx")))
    place = document.tables[0].rows[1].cells[1].text
    assert place == f"Hà Tĩnh, ngày {BLANK_DAY} tháng 11 năm 2021"
    recipients, signer = document.tables[1].rows[0].cells
    assert [p.text for p in recipients.paragraphs] == [
        "Nơi nhận:", "- Như trên;", "- Lưu: VT, VPTTr."
    ]  # fmt: skip
    lines = [p.text for p in signer.paragraphs]
    assert lines[:2] == ["KT. GIÁM ĐỐC", "PHÓ GIÁM ĐỐC"] and lines[-1] == "Nguyễn Văn A"
    assert lines[2:-1] == [""] * SIGNATURE_SPACE  # room for the signature and the seal
    assert all(signer.paragraphs[i].runs[0].bold for i in (0, 1, -1))
    assert document.tables[1].rows[0]._tr.trPr.find(f"{W}cantSplit") is not None

    texts = [p.text for p in document.paragraphs]
    subject_end = texts.index("và nhiệm vụ trọng tâm năm 2022")
    rule = document.paragraphs[subject_end + 1]
    assert rule.text == "" and rule._p.pPr.find(f"{W}pBdr/{W}bottom") is not None
    assert texts[subject_end + 2] == "Kính gửi: Sở Kế hoạch và Đầu tư"

    gaps = [r for p in document.paragraphs for r in p.runs if "[CẦN BỔ SUNG" in r.text]
    assert gaps and all(r.font.highlight_color == WD_COLOR_INDEX.YELLOW for r in gaps)


async def test_a_sign_date_fills_the_day_and_empty_values_leave_no_markup(app, tmp_path):
    header = Header(sign_date=date(2021, 12, 3))
    ministry = await build_report(
        app.sessions, app.settings, ANNUAL, "bo_ngoai_giao", header=header
    )
    text = ministry.markdown
    assert "*Hà Tĩnh, ngày 03 tháng 12 năm 2021*" in text
    assert "****" not in text and "Kính gửi: Bộ Ngoại giao" in text
    assert "**PHÓ CHỦ TỊCH**" in text  # the template's own signer lines
    # No request letter given: the opening asks for it instead of inventing one.
    assert "[CẦN BỔ SUNG: Thực hiện văn bản số …" in text


async def test_a_saved_header_is_used_and_overridden_value_by_value(app):
    from storage import report_texts

    async with app.sessions() as db, db.begin():
        await report_texts.set_header(db, "2021-Y", "kh_dt", HEADER.to_values())
    report = await build_report(
        app.sessions, app.settings, ANNUAL, "kh_dt", header=Header(signer_name="Trần Thị B")
    )
    assert "**KT. GIÁM ĐỐC**" in report.markdown and "**Trần Thị B**" in report.markdown
    assert "Nguyễn Văn A" not in report.markdown
    other = await build_report(app.sessions, app.settings, ANNUAL, "nam")
    assert "Thái Phúc Sơn" in other.markdown  # saved for the kh_dt report only


async def test_annexes_as_the_ministrys_forms(app, tmp_path):
    await imported(app, FIXTURES / "khen_thuong_2021.csv")
    await planned_trip(app, "Đoàn Tỉnh ủy", date(2022, 4, 10), True)
    await planned_trip(app, "Đoàn Sở Y tế", date(2022, 5, 2), False)
    await planned_trip(app, "Đoàn tháng 12", date(2021, 12, 1), True)
    await add(app, "thoa_thuan", {
        "ten": "=1+1", "doi_tac": "@Tổ chức I.P.M", "nuoc": "Nhật Bản", "cap_ky": "cap_tinh",
        "ngay_ky": "2021-11-30", "co_quan_de_xuat": "UBND tỉnh Hà Tĩnh", "trang_thai": "du_kien",
    }, date(2021, 11, 30))  # fmt: skip
    await add(app, "hoi_nghi", {
        "ten": "Hội thảo", "don_vi_to_chuc": "Sở Y tế", "cap_cho_phep": "ubnd_tinh",
        "dai_bieu_viet_nam": 30, "dai_bieu_nn_trong_nuoc": 0, "dai_bieu_nn_tu_nuoc_ngoai": 2,
        "noi_dung": "Y tế", "tu_ngay": "2021-05-01", "den_ngay": "2021-05-01",
        "dia_diem": "Hà Tĩnh", "nguon_kinh_phi": "Dự án", "trang_thai": "da_to_chuc",
    }, date(2021, 5, 1))  # fmt: skip
    report = await build_report(app.sessions, app.settings, ANNUAL, "bo_ngoai_giao")
    workbook = load_workbook(report.write_xlsx(tmp_path / "phu-luc.xlsx"))

    trips = workbook["Mẫu 04 - Kế hoạch đoàn ra"]
    rows = [[c.value for c in row] for row in trips.iter_rows()]
    assert rows[1][0] == "BẢNG TỔNG HỢP KẾ HOẠCH ĐOÀN RA NĂM 2022 CỦA LÃNH ĐẠO ĐỊA PHƯƠNG"
    assert rows[4] == [None] + [str(n) for n in range(1, 11)]  # the column-number row
    listed = [row[1] for row in rows[5:]]
    assert listed == ["Đoàn Tỉnh ủy"]  # a leader's trip in the plan year only
    assert rows[5][8] == "Tháng 4/2022"

    agreements = workbook["Mẫu 06.1 - Thỏa thuận QT"]
    rows = [[c.value for c in row] for row in agreements.iter_rows()]
    assert rows[3][:8] == [
        "STT", "Tên điều ước, thỏa thuận, hợp đồng quốc tế", "Đối tác nước ngoài",
        "Nước ký kết", "Danh nghĩa ký", "Dự kiến ngày ký", "Cơ quan, địa phương đề xuất ký",
        "Cơ quan phối hợp thực hiện",
    ]  # fmt: skip
    assert rows[3][8] is None  # exactly 8 columns
    assert rows[4][:8] == [f"({n})" for n in range(1, 9)]
    cell = agreements.cell(row=6, column=2)
    assert cell.value == "=1+1" and cell.data_type == "s"  # text, never a formula
    assert rows[5][2] == "@Tổ chức I.P.M" and rows[5][4] == "Cấp tỉnh"  # a label, not a key
    assert rows[5][5] == "Tháng 11/2021"
    partnerships = next(i for i, row in enumerate(rows) if "CẶP QUAN HỆ" in str(row[0]))
    assert rows[partnerships + 1][0] == "(Từ trước đến thời điểm hiện nay)"
    assert [row[2] for row in rows[partnerships + 5 :]][:2] == [
        "Tỉnh Bolykhămxay",
        "Tỉnh Khăm Muộn",
    ]

    conferences = workbook["Hội nghị, hội thảo QT"]
    first = next(r for r in conferences.iter_rows(values_only=True) if r[1] == "Hội thảo")
    assert first[6] is None and first[7] == 2  # an empty count is blank, not "0"

    awards = [r for r in workbook["Khen thưởng đối ngoại"].iter_rows(values_only=True)]
    banners = [r[0] for r in awards if r[0] and isinstance(r[0], str)]
    # Countries are stored by their canonical names (domain/countries.toml): "CHDCND Lào"
    # in the fixture is Lào.
    assert "Lào" in banners
    assert "Cộng Lào: 05 tập thể, 19 cá nhân" in banners
    assert any(b.startswith("Cộng Cơ quan phát triển Pháp") and "01 cá nhân" in b for b in banners)
    assert banners[-1] == "Tổng: 25, trong đó: 05 tập thể, 20 cá nhân"


async def test_the_data_file_keeps_typed_formulas_as_text(app, tmp_path):
    values = {"ngay": "2021-03-01", "linh_vuc": '=HYPERLINK("x")', "noi_dung": "+cmd|' /C'!A0"}
    await add(app, "ket_qua_khac", values, date(2021, 3, 1))
    report = await build_report(app.sessions, app.settings, ANNUAL, "nam")
    sheet = load_workbook(report.write_data_xlsx(tmp_path / "du-lieu.xlsx"))["ket_qua_khac"]
    assert sheet["D2"].value == '=HYPERLINK("x")' and sheet["D2"].data_type == "s"
    assert sheet["E2"].value == "+cmd|' /C'!A0" and sheet["E2"].data_type == "s"


async def test_three_years_sum_without_a_same_period_comparison(app):
    def conference(day: date) -> dict:
        return {"ten": "Hội thảo", "don_vi_to_chuc": "Sở Y tế", "cap_cho_phep": "ubnd_tinh",
                "dai_bieu_viet_nam": 30, "dai_bieu_nn_trong_nuoc": 0,
                "dai_bieu_nn_tu_nuoc_ngoai": 2, "noi_dung": "Y tế", "tu_ngay": day.isoformat(),
                "den_ngay": day.isoformat(), "dia_diem": "Hà Tĩnh", "nguon_kinh_phi": "Dự án",
                "trang_thai": "da_to_chuc"}  # fmt: skip

    for year, count in ((2020, 4), (2021, 2), (2022, 3), (2023, 5)):
        for month in range(1, count + 1):
            await add(app, "hoi_nghi", conference(date(year, month, 10)), date(year, month, 10))
    term = range_period(date(2021, 1, 1), date(2023, 12, 31))
    text = (await build_report(app.sessions, app.settings, term, "nam")).markdown
    assert "đã tổ chức 10 hội thảo quốc tế (năm 2021: 02 hội thảo; năm 2022: 03 hội thảo;" in text
    assert "năm 2023: 05 hội thảo)" in text
    assert "cùng kỳ" not in text
    one_year = round_period("2022-Y", date(2022, 12, 31))
    text = (await build_report(app.sessions, app.settings, one_year, "nam")).markdown
    assert "03 hội thảo quốc tế (tăng 01 hội thảo so với cùng kỳ năm 2021)" in text


@pytest.mark.parametrize("template", ["6thang", "kh_dt"])
async def test_the_chat_preview_opens_with_what_is_missing(app, template):
    await imported(app, FIXTURES / "bao_cao_6_thang_2021.csv")
    period = round_period("2021-H1", date(2021, 5, 25))
    preview = (await build_report(app.sessions, app.settings, period, template)).text
    assert preview.startswith("[CẦN BỔ SUNG: 50/50 đơn vị chưa xác nhận báo cáo đủ: Sở Ngoại vụ,")
    await confirm_all_units(app, "2021-H1")
    preview = (await build_report(app.sessions, app.settings, period, template)).text
    assert not preview.startswith("[CẦN BỔ SUNG: 50/50")
