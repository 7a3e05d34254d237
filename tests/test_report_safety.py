"""User text is data: template syntax, Markdown markers and XML-special characters in a
record appear literally in the Markdown, the .docx and the .xlsx."""

from __future__ import annotations

from datetime import date

from docx import Document
from openpyxl import load_workbook

from domain.periods import round_period
from storage import repo
from templates.report.build import build_report

NASTY = "{{ 7*7 }} {% if x %}<b>&amp; \"Hà\" 'Tĩnh'</b> *nghiêng* **đậm** [^9] # a & b < c"


async def add(app, kind: str, values: dict, event_date=None, round_id=None) -> None:
    async with app.sessions() as db, db.begin():
        unit = await repo.unit_by_name(db, "Sở Ngoại vụ")
        await repo.create_record(
            db,
            kind=kind,
            unit_id=unit.id,
            submitted_by=None,
            values=values,
            event_date=event_date,
            round_id=round_id,
        )


async def test_user_text_appears_literally(app, tmp_path):
    day = date(2021, 3, 1)
    await add(app, "ket_qua_khac", {"ngay": "2021-03-01", "linh_vuc": "Văn hóa",
                                    "noi_dung": NASTY}, day)  # fmt: skip
    await add(app, "kho_khan", {"dot": "2021-H1", "noi_dung": f"Khó khăn {NASTY}"}, None, "2021-H1")
    await add(app, "doan_vao", {
        "ten_doan": f"Đoàn {NASTY}", "truong_doan": "Đại sứ", "nuoc": "Lào",
        "loai_khach": "co_quan_dai_dien", "lanh_dao_tinh_tiep": True, "noi_dung": "Thăm",
        "so_nguoi": 3, "tu_ngay": "2021-03-01", "den_ngay": "2021-03-01",
        "trang_thai": "da_thuc_hien"}, day)  # fmt: skip
    await add(app, "doan_vao", {
        "ten_doan": "Đoàn WB", "truong_doan": "Trưởng nhóm", "nuoc": "WB",
        "loai_khach": "to_chuc_quoc_te", "lanh_dao_tinh_tiep": False, "noi_dung": "Khảo sát",
        "so_nguoi": 5, "tu_ngay": "2021-03-02", "den_ngay": "2021-03-02",
        "trang_thai": "da_thuc_hien"}, date(2021, 3, 2))  # fmt: skip
    await add(app, "dang_ky_pcpnn", {"to_chuc": f"Tổ chức {NASTY}", "hinh_thuc": "cap_moi",
                                     "ngay": "2021-03-01"}, day)  # fmt: skip
    report = await build_report(
        app.sessions, app.settings, round_period("2021-H1", date(2021, 5, 25)), "6thang"
    )

    markdown = report.markdown
    assert markdown.count(NASTY) == 4  # other result, difficulty, delegation, footnote
    assert "49" not in markdown and "&lt;" not in markdown

    document = Document(str(report.write_docx(tmp_path / "r.docx")))
    body = "\n".join(p.text for p in document.paragraphs)
    assert body.count(NASTY) == 3
    assert "49" not in body
    footnotes = next(
        rel.target_part for rel in document.part.rels.values() if rel.reltype.endswith("/footnotes")
    )
    assert "Tổ chức {{ 7*7 }} {% if x %}&lt;b&gt;&amp;amp;" in footnotes.blob.decode()
    # Markdown markers in user text are not formatting: the run holding them is plain.
    runs = [r for p in document.paragraphs for r in p.runs if "*nghiêng*" in r.text]
    assert runs and not any(r.bold or r.italic for r in runs)

    workbook = load_workbook(report.write_data_xlsx(tmp_path / "r.xlsx"))
    assert workbook["ket_qua_khac"]["E2"].value == NASTY
    assert workbook["doan_vao"]["C2"].value == f"Đoàn {NASTY}"
    assert workbook["doan_vao"].max_row == 3


async def test_control_characters_do_not_break_the_documents(app, tmp_path):
    await add(app, "thong_tin_dn", {"ngay": "2021-02-01", "noi_dung": "Bài\x07 viết\x1b hay"},
              date(2021, 2, 1))  # fmt: skip
    report = await build_report(
        app.sessions, app.settings, round_period("2021-H1", date(2021, 5, 25)), "nam"
    )
    assert "thông tin đối ngoại: bài viết hay." in report.markdown
    document = Document(str(report.write_docx(tmp_path / "r.docx")))
    assert any("bài viết hay" in p.text for p in document.paragraphs)
    workbook = load_workbook(report.write_data_xlsx(tmp_path / "r.xlsx"))
    assert workbook["thong_tin_dn"]["D2"].value == "Bài viết hay"


async def test_line_breaks_in_user_text_cannot_forge_a_heading(app):
    forged = "Hợp tác tốt.\n\n## II. MỤC GIẢ MẠO\n\n**Kết luận giả**"
    await add(app, "ket_qua_khac", {"ngay": "2021-03-01", "linh_vuc": "Văn hóa",
                                    "noi_dung": forged}, date(2021, 3, 1))  # fmt: skip
    report = await build_report(
        app.sessions, app.settings, round_period("2021-H1", date(2021, 5, 25)), "6thang"
    )
    lines = report.markdown.splitlines()
    assert not any(line.startswith("## II. MỤC GIẢ MẠO") for line in lines)
    assert any("Hợp tác tốt. ## II. MỤC GIẢ MẠO **Kết luận giả**" in line for line in lines)
