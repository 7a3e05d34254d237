"""The 6-month 2021 draft rebuilt from the reconstructed records states every figure of
seeds/bao-cao-6-thang-2021.txt the way the seed phrases it; the .docx and .xlsx read back
with the layout of Nghị định 30/2020 and the annex tables."""

from __future__ import annotations

import csv
from collections import Counter
from datetime import date
from pathlib import Path

import pytest
from docx import Document
from docx.shared import Length
from openpyxl import load_workbook

from domain.forms import load_forms
from domain.periods import round_period
from storage.transfer import import_records
from templates.report.build import build_report
from templates.report.render import BLANK_DAY
from templates.report.xlsx_writer import HEADER_ROW, load_annexes
from tests.conftest import FIXTURES, TZ_NOW, confirm_all_units

W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
SIX_MONTHS = FIXTURES / "bao_cao_6_thang_2021.csv"
AS_OF = date(2021, 5, 25)

SEED_PHRASES = [
    "tiếp đón 15 đoàn với 179 lượt khách quốc tế",
    "không tổ chức đoàn cán bộ đi công tác nước ngoài",
    "tổ chức 08 hội thảo quốc tế (tăng 07 hội thảo so với cùng kỳ năm 2020)",
    "giá trị cam kết viện trợ phi chính phủ nước ngoài ước đạt trên 600 nghìn USD",
    "bổ sung Giấy đăng ký hoạt động cho 01 tổ chức phi chính phủ nước ngoài",
    "xử lý 09 vụ việc liên quan đến công tác lãnh sự và bảo hộ công dân",
    "tiếp nhận 11 hài cốt liệt sỹ",
    "2.139 trang biên dịch các loại (tăng 35% so với cùng kỳ năm 2020)",
    "11 hồ sơ đề nghị chứng nhận lãnh sự, hợp pháp hóa lãnh sự",
    "26 hồ sơ thủ tục hành chính",
    "tiếp nhận 300 triệu đồng",
]
SECTIONS = [
    "I. Kết quả đạt được trên các lĩnh vực",
    "1. Công tác hợp tác quốc tế",
    "2. Công tác quản lý đoàn ra đoàn vào",
    "3. Công tác khen thưởng đối ngoại",
    "4. Một số kết quả khác",
    "II. Những thuận lợi, khó khăn vướng mắc",
    "III. Phương hướng nhiệm vụ trọng tâm 6 tháng cuối năm 2021",
]


async def imported(app, *paths: Path) -> None:
    for path in paths:
        async with app.sessions() as db, db.begin():
            result = await import_records(db, path, TZ_NOW.date())
            assert result.errors == [], result.errors[:3]


@pytest.fixture
async def six_months(app):
    await imported(app, SIX_MONTHS)
    await confirm_all_units(app, "2021-H1")
    period = round_period("2021-H1", AS_OF)
    return await build_report(app.sessions, app.settings, period, "6thang")


async def test_markdown_states_the_seed_figures(six_months):
    text = six_months.markdown
    for phrase in SEED_PHRASES:
        assert phrase in text, phrase
    assert "15 đoàn với 179 lượt khách quốc tế" in text and "trên 600 nghìn USD" in text
    assert "Tính đến ngày 25/5/2021".lower() in text.lower()
    # Footnotes: the NGO and both kinds of consular case, as Markdown notes.
    assert "phi chính phủ nước ngoài[^1]" in text
    assert "\n[^1]: Tổ chức HelpAge International (Vương quốc Anh)\n" in text
    assert "[^2]: Giải quyết, xử lý 01 trường hợp công dân Đài Loan" in text
    assert "[^3]: Công dân huyện Can Lộc tử vong ở Đài Loan" in text
    # Per-round texts copied from the seed appear in their sections, in order.
    positions = [text.index(title) for title in SECTIONS]
    assert positions == sorted(positions)
    assert text.index("Chưa tổ chức ký kết Thỏa thuận") > text.index("2. Khó khăn, vướng mắc")
    assert text.count("\n1. Tiếp tục tham mưu tỉnh") == 1 and "\n5. Tiếp tục nắm bắt" in text
    # The heading block and signature come from the settings.
    assert text.startswith("UBND TỈNH HÀ TĨNH  \n**SỞ NGOẠI VỤ**")
    # The day is left blank for the day of signing.
    assert f"*Hà Tĩnh, ngày {BLANK_DAY} tháng 5 năm 2021*" in text and "Số:      /BC-SNgV" in text
    assert "Kính gửi: Sở Kế hoạch và Đầu tư" in text
    assert "- Lưu: VT, VPTTr." in text and "**GIÁM ĐỐC**" in text
    assert "\ue000" not in text and "\ue002" not in text


async def test_docx_follows_decree_30(six_months, tmp_path):
    path = six_months.write_docx(tmp_path / "bao-cao.docx")
    document = Document(str(path))

    section = document.sections[0]
    assert (mm(section.page_width), mm(section.page_height)) == (210, 297)  # A4 portrait
    assert (mm(section.top_margin), mm(section.bottom_margin)) == (20, 20)
    assert (mm(section.left_margin), mm(section.right_margin)) == (30, 15)

    normal = document.styles["Normal"]
    assert normal.font.name == "Times New Roman" and normal.font.size.pt == 14
    fonts = normal.element.rPr.rFonts
    assert fonts.get(f"{W}eastAsia") == "Times New Roman" == fonts.get(f"{W}cs")
    assert round(normal.paragraph_format.first_line_indent.cm, 2) == 1.27
    assert normal.paragraph_format.space_after.pt == 6
    assert normal.paragraph_format.line_spacing == 1.15
    for paragraph in document.paragraphs:
        for run in paragraph.runs:
            assert run.font.name in (None, "Times New Roman")

    heading, signature = document.tables
    left, right = (cell.text for cell in heading.rows[0].cells)
    number, place = heading.rows[1].cells
    assert left.split("\n")[:2] == ["UBND TỈNH HÀ TĨNH", "SỞ NGOẠI VỤ"]
    assert right.split("\n")[:2] == [
        "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM",
        "Độc lập - Tự do - Hạnh phúc",
    ]
    assert number.text.startswith("Số:") and number.text.endswith("/BC-SNgV")
    assert place.text == f"Hà Tĩnh, ngày {BLANK_DAY} tháng 5 năm 2021"
    assert place.paragraphs[0].runs[0].italic
    issuer = heading.rows[0].cells[0].paragraphs[1].runs[0]
    assert issuer.bold and issuer.font.size.pt == 13
    assert heading.rows[0].cells[1].paragraphs[1].runs[0].font.size.pt == 14
    borders = heading._tbl.tblPr.find(f"{W}tblBorders")
    assert {edge.get(f"{W}val") for edge in borders} == {"nil"}

    texts = [p.text for p in document.paragraphs]
    kind = document.paragraphs[texts.index("BÁO CÁO")]
    assert kind.runs[0].bold and kind.alignment == 1  # centred
    title = document.paragraphs[texts.index("BÁO CÁO") + 1]
    assert title.text.startswith("Hoạt động đối ngoại") and title.runs[0].bold
    positions = [next(i for i, t in enumerate(texts) if t.startswith(s)) for s in SECTIONS]
    assert positions == sorted(positions)
    assert all(document.paragraphs[i].runs[0].bold for i in positions)
    body = "\n".join(texts)
    for phrase in SEED_PHRASES:
        assert phrase in body, phrase

    recipients, signer = (cell for cell in signature.rows[0].cells)
    assert recipients.paragraphs[0].text == "Nơi nhận:"
    assert recipients.paragraphs[0].runs[0].bold and recipients.paragraphs[0].runs[0].italic
    assert recipients.paragraphs[0].runs[0].font.size.pt == 12
    assert recipients.paragraphs[1].text == "- Như trên;"
    assert recipients.paragraphs[1].runs[0].font.size.pt == 11
    assert signer.paragraphs[0].text == "GIÁM ĐỐC" and signer.paragraphs[-1].text == "Thái Phúc Sơn"

    assert section.different_first_page_header_footer
    assert section.first_page_header.paragraphs[0].text == ""
    header = section.header.paragraphs[0]
    assert "PAGE" in "".join(t.text for t in header._p.iter(f"{W}instrText"))
    assert header.alignment == 1

    references = list(document.element.body.iter(f"{W}footnoteReference"))
    assert [r.get(f"{W}id") for r in references] == ["1", "2", "3"]
    part = next(
        rel.target_part for rel in document.part.rels.values() if rel.reltype.endswith("/footnotes")
    )
    assert b"HelpAge International (V\xc6\xb0\xc6\xa1ng qu\xe1\xbb\x91c Anh)" in part.blob


def mm(length: Length) -> float:
    """Millimetres to 0.1 mm (Word stores page sizes in twips)."""
    return round(length.mm, 1)


def expected_rows(path: Path, period) -> Counter:
    """Records per type the report counts, straight from the CSV file."""
    forms = load_forms()
    counts: Counter = Counter()
    with path.open(encoding="utf-8-sig", newline="") as handle:
        for row in csv.DictReader(handle):
            form = forms[row["loai"]]
            if form.round_field:
                counts[form.key] += row[form.round_field] in period.round_ids
                continue
            day, month, year = (int(x) for x in row[form.date_field].split("/"))
            counts[form.key] += period.contains(date(year, month, day))
    return counts


async def test_xlsx_annexes_and_a_separate_data_file(six_months, tmp_path):
    workbook = load_workbook(six_months.write_xlsx(tmp_path / "phu-luc.xlsx"))
    assert workbook.sheetnames == list(dict.fromkeys(a.sheet for a in load_annexes()))
    data = load_workbook(six_months.write_data_xlsx(tmp_path / "du-lieu.xlsx"))
    assert data.sheetnames == list(load_forms())
    expected = expected_rows(SIX_MONTHS, six_months.period)
    assert expected["doan_vao"] == 15 and expected["hoi_nghi"] == 8
    for key, form in load_forms().items():
        sheet = data[key]
        header = [cell.value for cell in sheet[1]]
        assert header == ["Loại hoạt động", "Đơn vị"] + [f.label for f in form.fields]
        assert all(cell.font.b for cell in sheet[1])
        assert sheet.max_row - 1 == expected[key], key
        assert sheet.page_setup.orientation == "landscape"
    visit = [c.value for c in data["doan_vao"][2]]
    assert visit[0] == "Đoàn vào (khách nước ngoài đến tỉnh)"  # labels, not keys
    assert visit[5] == "Cơ quan đại diện (đại sứ quán, lãnh sự quán)" and visit[6] == "Không"
    conferences = workbook["Hội nghị, hội thảo QT"]
    assert conferences.cell(HEADER_ROW, 2).value == "Tên/ Chủ đề hội nghị, hội thảo"
    assert conferences.cell(HEADER_ROW + 3, 14).value == "(13)"
    numbers = [c.value for c in conferences["A"] if isinstance(c.value, int)]
    assert numbers == list(range(1, 9))
    assert "F4:I4" in {str(r) for r in conferences.merged_cells.ranges}
    assert data["doan_vao"].column_dimensions["H"].width > 10
    assert data["doan_vao"]["H2"].alignment.wrap_text


async def test_annual_templates_with_the_annex_rows(app, tmp_path):
    await imported(app, FIXTURES / "hoi_nghi_2021.csv", FIXTURES / "khen_thuong_2021.csv")
    period = round_period("2021-Y", date(2021, 11, 10))
    annual = await build_report(app.sessions, app.settings, period, "nam")
    assert "tổ chức 15 hội thảo quốc tế" in annual.markdown
    assert "Phương hướng, nhiệm vụ năm 2022" in annual.markdown
    ministry = await build_report(app.sessions, app.settings, period, "bo_ngoai_giao")
    text = ministry.markdown
    # Countries are stored by their canonical names (domain/countries.toml): "CHDCND Lào" is Lào.
    assert "Bằng khen cho 05 tập thể, 19 cá nhân thuộc Lào và 01 cá nhân" in text
    assert "Kính gửi: Bộ Ngoại giao" in text and "Số:      /BC-UBND" in text
    assert "Mẫu 04 và Mẫu 05" in text and "**TM. ỦY BAN NHÂN DÂN**" in text
    document = Document(str(ministry.write_docx(tmp_path / "bo.docx")))
    left = document.tables[0].rows[0].cells[0].text.split("\n")
    assert left[:2] == ["ỦY BAN NHÂN DÂN", "TỈNH HÀ TĨNH"]
    workbook = load_workbook(ministry.write_xlsx(tmp_path / "bo.xlsx"))
    conferences = workbook["Hội nghị, hội thảo QT"]
    numbers = [c.value for c in conferences["A"] if isinstance(c.value, int)]
    assert numbers == list(range(1, 16)) + [1, 2, 3]
    awards = workbook["Khen thưởng đối ngoại"]
    assert [c.value for c in awards["A"] if isinstance(c.value, int)] == list(range(1, 26))
    assert any("05 tập thể, 20 cá nhân" in str(c.value) for c in awards["A"])
