"""A draft that writes the narrative: documents drafted for the province cited in
footnotes, notable events grouped into their sections in an official's sentences, long
lists moved to footnotes, standing paragraphs carried from the last round of the same kind
(marked for review) or written for this round, and no sentence said twice."""

from __future__ import annotations

import re
from datetime import date

import pytest

from domain.periods import round_period
from storage import repo, report_texts
from templates.report.build import build_report
from tests.conftest import confirm_all_units

AS_OF = date(2021, 12, 20)
PERIOD = round_period("2021-Y", AS_OF)

DOCUMENTS = [
    ("53/KH-UBND", "2021-02-26", "ke_hoach", "ubnd_tinh",
     "Kế hoạch hoạt động đối ngoại và hội nhập quốc tế năm 2021"),
    ("46/2021/QĐ-UBND", "2021-10-29", "quyet_dinh", "ubnd_tinh",
     "Ban hành Quy chế phối hợp quản lý hoạt động thông tin, báo chí của báo chí nước ngoài"),
    ("1520/UBND-NV", "2021-03-15", "cong_van", "ubnd_tinh",
     "về việc tăng cường quản lý người nước ngoài trên địa bàn tỉnh"),
    ("07-CT/TU", "2021-05-10", "chi_thi", "tinh_uy", "Về tăng cường công tác đối ngoại nhân dân"),
    ("12/KH-SNgV", "2021-04-02", "ke_hoach", "don_vi", "Kế hoạch thông tin đối ngoại năm 2021"),
]  # fmt: skip
PARTNERS = [f"Đại sứ quán nước {i}" for i in range(1, 9)]  # 8 working sessions
FORUMS = [
    "Hội nghị trực tuyến Hợp tác kinh tế Việt Nam - Thái Lan",
    "Tọa đàm Xúc tiến hợp tác địa phương Việt Nam - Liên bang Nga",
    "Hội nghị Thương mại và Đầu tư Bangladesh",
]
LETTERS = [
    "Điện chúc mừng kỷ niệm 66 năm ngày thành lập Đảng Nhân dân Cách mạng Lào",
    "Điện chúc mừng Đại hội Đại biểu toàn quốc lần thứ XI của Đảng Nhân dân Cách mạng Lào",
]


async def add(app, kind: str, values: dict, day: date | None = None, round_id=None) -> None:
    async with app.sessions() as db, db.begin():
        unit = await repo.unit_by_name(db, "Sở Ngoại vụ")
        await repo.create_record(
            db, kind=kind, unit_id=unit.id, submitted_by=None, values=values,
            event_date=day, round_id=round_id,
        )  # fmt: skip


async def event(app, day: date, form: str, name: str, section: str, **extra) -> None:
    values = {"ngay": day.isoformat(), "hinh_thuc": form, "ten": name, "linh_vuc": section,
              "lanh_dao_tinh": False, **extra}  # fmt: skip
    await add(app, "su_kien", values, day)


async def set_text(app, round_id: str, section: str, text: str) -> None:
    async with app.sessions() as db, db.begin():
        await report_texts.set_text(db, round_id, section, text, source="test")


@pytest.fixture
async def narrative(app):
    for number, day, kind, body, subject in DOCUMENTS:
        values = {"so_ky_hieu": number, "ngay_ban_hanh": day, "loai_van_ban": kind,
                  "co_quan_ban_hanh": body, "trich_yeu": subject}  # fmt: skip
        await add(app, "van_ban", values, date.fromisoformat(day))
    for i, partner in enumerate(PARTNERS):
        await event(app, date(2021, 3, 1 + i), "lam_viec", f"Làm việc với {partner}",
                    "hop_tac_quoc_te", doi_tac=partner, lanh_dao_tinh=i < 3)  # fmt: skip
    for i, forum in enumerate(FORUMS):
        await event(app, date(2021, 6, 1 + i), "du_hoi_nghi", forum, "hop_tac_quoc_te")
    for i, letter in enumerate(LETTERS):
        await event(app, date(2021, 4, 10 + i), "thu_dien", letter, "hop_tac_quoc_te")
    await event(app, date(2021, 9, 2), "to_chuc_su_kien", "Gặp mặt phóng viên nước ngoài",
                "thong_tin_doi_ngoai", so_dai_bieu_nn=12)  # fmt: skip
    # Standing texts: last year's (carried, to review) and one written for this round.
    await set_text(app, "2020-Y", "bien_gioi", "Tuyến biên giới với hai tỉnh Bolykhămxay, "
                   "Khăm Muộn cơ bản ổn định.\nTuần tra 51 đợt trong năm 2020.")  # fmt: skip
    await set_text(app, "2020-Y", "kho_khan", "Nguồn lực cho công tác đối ngoại còn hạn chế.")
    await set_text(app, "2021-Y", "kho_khan", "Dịch Covid-19 ảnh hưởng đến đoàn ra, đoàn vào.")
    await set_text(
        app, "2021-H1", "thong_tin", "Đoạn của đợt 6 tháng, không mang sang báo cáo năm."
    )
    await confirm_all_units(app, "2021-Y")
    return app


def section(text: str, heading: str, next_heading: str) -> str:
    return text[text.index(heading) : text.index(next_heading)]


async def test_documents_are_cited_in_footnotes_by_issuing_body(narrative):
    report = await build_report(narrative.sessions, narrative.settings, PERIOD, "kh_dt")
    text = report.markdown
    part = section(text, "### 1. Công tác tham mưu ban hành", "### 2. Kết quả trên")
    assert "Tham mưu UBND tỉnh ban hành 03 văn bản về công tác đối ngoại[^1]." in part
    assert (
        "Tham mưu Tỉnh ủy, Ban Thường vụ Tỉnh ủy ban hành Chỉ thị số 07-CT/TU ngày 10/05/2021"
        " về tăng cường công tác đối ngoại nhân dân." in part
    )
    assert "Các cơ quan, đơn vị ban hành theo thẩm quyền Kế hoạch số 12/KH-SNgV" in part
    footnote = next(line for line in text.splitlines() if line.startswith("[^1]: "))
    assert (
        "Kế hoạch số 53/KH-UBND ngày 26/02/2021 về hoạt động đối ngoại và hội nhập quốc tế năm"
        " 2021" in footnote
    )
    assert "Công văn số 1520/UBND-NV ngày 15/03/2021 về việc tăng cường quản lý" in footnote
    assert "Quyết định số 46/2021/QĐ-UBND ngày 29/10/2021 về ban hành Quy chế" in footnote


async def test_events_go_to_their_sections_with_long_lists_in_footnotes(narrative):
    report = await build_report(narrative.sessions, narrative.settings, PERIOD, "kh_dt")
    text = report.markdown
    cooperation = section(text, "#### 2.1.", "#### 2.2.")
    assert (
        "Làm việc với 08 đoàn, đối tác nước ngoài: Đại sứ quán nước 1, Đại sứ quán nước 2, Đại"
        " sứ quán nước 3, Đại sứ quán nước 4, Đại sứ quán nước 5 và 03 đối tác khác[^"
    ) in cooperation
    assert "trong đó 03 buổi làm việc có lãnh đạo tỉnh chủ trì" in cooperation
    assert "Tham dự 03 hội nghị, diễn đàn[^" in cooperation
    assert f"Tham mưu lãnh đạo tỉnh gửi {LETTERS[0]} và {LETTERS[1]}." in cooperation
    notes = [line for line in text.splitlines() if line.startswith("[^")]
    assert any("; ".join(PARTNERS) in line for line in notes)  # the full list
    assert any("; ".join(FORUMS) in line for line in notes)
    information = section(text, "#### 2.2.", "#### 2.3.")
    assert (
        "Tổ chức 01 sự kiện đối ngoại tại tỉnh: Gặp mặt phóng viên nước ngoài, với sự tham gia"
        " của 12 đại biểu, khách nước ngoài." in information
    )
    assert "Làm việc với" not in information


async def test_standing_paragraphs_carried_for_review_or_written_for_the_round(narrative):
    report = await build_report(narrative.sessions, narrative.settings, PERIOD, "nam")
    text = report.markdown
    border = section(text, "### 7. Công tác biên giới", "### 8.")
    # Carried from last year's annual round: marked, the one with a figure marked as such.
    assert "[RÀ SOÁT] Tuyến biên giới với hai tỉnh Bolykhămxay, Khăm Muộn cơ bản ổn định." in border
    # Its year moves with the round; its figure waits for a check.
    assert "[RÀ SOÁT SỐ LIỆU] Tuần tra 51 đợt trong năm 2021." in border
    # No gap where a standing text covers the section.
    assert "CẦN BỔ SUNG" not in border
    difficulties = section(text, "### 1. Khó khăn, vướng mắc", "### 2. Kiến nghị")
    assert "Dịch Covid-19 ảnh hưởng đến đoàn ra, đoàn vào." in difficulties
    assert "RÀ SOÁT" not in difficulties and "Nguồn lực" not in difficulties
    # The 6-month round's text belongs to the 6-month reports only.
    assert "Đoạn của đợt 6 tháng" not in text


async def test_no_sentence_is_said_twice(narrative):
    for template in ("nam", "kh_dt", "bo_ngoai_giao", "6thang"):
        report = await build_report(narrative.sessions, narrative.settings, PERIOD, template)
        body = report.text
        sentences = [
            s.strip()
            for s in re.split(r"(?<=[.;])\s+", body)
            if len(s.strip()) > 25 and not s.strip().startswith("[")
        ]
        repeated = {s for s in sentences if sentences.count(s) > 1}
        assert repeated == set(), (template, repeated)
