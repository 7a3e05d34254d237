"""How the templates read with zero, one and many records (rendered without a database)."""

from __future__ import annotations

from datetime import date

import pytest

from domain.periods import range_period, round_period
from domain.settings import Settings
from templates.report.figures import Coverage, aggregate
from templates.report.render import TEMPLATES, render, report_context

PERIOD = round_period("2023-Y", date(2023, 10, 10))
ALL_CONFIRMED = Coverage("2023-Y", units=40, pending=())
NEGATIVES = (
    "không tổ chức đoàn cán bộ đi công tác nước ngoài",
    "không có đoàn khách quốc tế đến làm việc tại tỉnh",
    "không tổ chức hội nghị, hội thảo quốc tế nào",
    "Không ký kết thỏa thuận quốc tế nào",
    "không có chương trình, dự án viện trợ phi chính phủ nước ngoài mới được cam kết",
    "không phát sinh vụ việc lãnh sự, bảo hộ công dân",
    "không có hình thức khen thưởng cho tập thể, cá nhân người nước ngoài",
)


def markdown(
    records: list[dict], template: str = "nam", coverage=ALL_CONFIRMED, period=PERIOD
) -> str:
    figures = aggregate(records, period, coverage)
    return render(template, report_context(figures, Settings(), period.as_of)).markdown()


def rec(kind: str, **values) -> dict:
    stored = {k: v.isoformat() if isinstance(v, date) else v for k, v in values.items()}
    return {"kind": kind, "unit": "Sở Ngoại vụ", "values": stored}


def outgoing(day: date, people: int, leader: bool, country: str = "Lào") -> dict:
    return rec("doan_ra", ten_doan="Đoàn", truong_doan="Lãnh đạo", lanh_dao_tinh=leader,
               nuoc_den=country, noi_dung="Làm việc", so_nguoi=people, tu_ngay=day,
               den_ngay=day, trang_thai="da_thuc_hien")  # fmt: skip


def incoming(day: date, people: int, received: bool, name: str = "Đoàn ĐSQ Lào") -> dict:
    return rec("doan_vao", ten_doan=name, truong_doan="Đại sứ", nuoc="Lào",
               loai_khach="co_quan_dai_dien", lanh_dao_tinh_tiep=received, noi_dung="Thăm",
               so_nguoi=people, tu_ngay=day, den_ngay=day, trang_thai="da_thuc_hien")  # fmt: skip


def conference(day: date) -> dict:
    return rec("hoi_nghi", ten="Hội thảo", don_vi_to_chuc="Sở Y tế", cap_cho_phep="ubnd_tinh",
               dai_bieu_viet_nam=30, dai_bieu_nn_trong_nuoc=0, dai_bieu_nn_tu_nuoc_ngoai=2,
               noi_dung="Y tế", tu_ngay=day, den_ngay=day, dia_diem="Hà Tĩnh",
               nguon_kinh_phi="Dự án", trang_thai="da_to_chuc")  # fmt: skip


@pytest.mark.parametrize("template", list(TEMPLATES))
def test_nothing_recorded_when_every_unit_confirmed_reads_naturally(template):
    text = markdown([], template)
    for phrase in NEGATIVES:
        assert phrase in text, (template, phrase)
    assert "[CẦN BỔ SUNG: chưa có hoạt động nào được ghi nhận trong kỳ" in text
    assert " 00 " not in text and "None" not in text and "[^" not in text
    assert "10 tháng đầu năm 2023" in text


@pytest.mark.parametrize("template", list(TEMPLATES))
def test_an_empty_round_with_units_pending_states_no_negative(template):
    """The records cannot say nothing happened while units have not reported: every such
    sentence is a gap to fill, and the top of the draft says who is missing."""
    pending = Coverage("2023-Y", units=40, pending=tuple(f"Đơn vị {i}" for i in range(12)))
    text = markdown([], template, pending)
    for phrase in NEGATIVES:
        assert phrase not in text, (template, phrase)
    assert "[CẦN BỔ SUNG: số đoàn ra, số lượt cán bộ đi công tác nước ngoài trong kỳ]" in text
    first_gap = text.index("[CẦN BỔ SUNG: 12/40 đơn vị chưa xác nhận báo cáo đủ: ")
    assert first_gap < text.index("## I.")
    assert "Đơn vị 0, Đơn vị 1, Đơn vị 2, Đơn vị 3, Đơn vị 4 và 07 đơn vị khác" in text
    assert "[^1]: Đơn vị 0; Đơn vị 1;" in text and "Đơn vị 11\n" in text


def test_a_range_is_not_taken_for_a_complete_round():
    period = range_period(date(2023, 1, 1), date(2023, 3, 31))
    text = markdown([], "nam", coverage=None, period=period)
    assert "không gắn với một đợt báo cáo" in text
    assert not any(phrase in text for phrase in NEGATIVES)


def test_one_delegation_each_way():
    text = markdown([outgoing(date(2023, 3, 1), 5, True), incoming(date(2023, 4, 1), 8, True)])
    assert (
        "có 01 đoàn ra với 05 lượt CBCC đi công tác tại Lào, do lãnh đạo tỉnh làm Trưởng"
        " đoàn;" in text
    )
    assert (
        "tiếp đón 01 đoàn với 08 lượt khách quốc tế thuộc các cơ quan đại diện nước ngoài đến"
        " làm việc tại tỉnh, do lãnh đạo tỉnh chủ trì đón tiếp." in text
    )


def test_many_delegations_read_as_the_seed():
    records = [outgoing(date(2023, 1 + i % 9, 1), 5 + (i < 21), i < 4) for i in range(64)]
    records += [incoming(date(2023, 2, 1), 10, i < 2, f"Đoàn {i}") for i in range(14)]
    text = markdown(records)
    assert (
        "có 64 đoàn ra với 341 lượt CBCC đi công tác tại Lào, trong đó có 04 đoàn do lãnh"
        " đạo tỉnh làm Trưởng đoàn" in text
    )
    assert "tiếp đón 14 đoàn với 140 lượt khách quốc tế" in text
    assert "trong đó có 02 đoàn do lãnh đạo tỉnh chủ trì đón tiếp (Đoàn 0 và Đoàn 1)" in text


@pytest.mark.parametrize(
    ("this_year", "last_year", "phrase"),
    [
        (3, 5, "tổ chức 03 hội thảo quốc tế (giảm 02 hội thảo so với cùng kỳ năm 2022)"),
        (2, 2, "tổ chức 02 hội thảo quốc tế (bằng cùng kỳ năm 2022)"),
        (12, 1, "tổ chức 12 hội thảo quốc tế (tăng 11 hội thảo so với cùng kỳ năm 2022)"),
        (1, 0, "tổ chức 01 hội thảo quốc tế với sự tham gia"),
    ],
)
def test_comparisons(this_year, last_year, phrase):
    records = [conference(date(2023, 5, 1))] * this_year + [
        conference(date(2022, 5, 1))
    ] * last_year
    assert phrase in markdown(records)


def test_one_consular_case_and_aid_amounts():
    records = [
        rec("lanh_su", loai_vu_viec="bao_ho_cong_dan", ngay=date(2023, 2, 1), nuoc="Lào",
            mo_ta="Công dân gặp nạn"),
        rec("vien_tro", to_chuc="KOICA", ten_du_an="Nước sạch", linh_vuc="y_te",
            cam_ket_usd=1_460_000, giai_ngan_usd=1_130_000, ngay=date(2023, 2, 1)),
    ]  # fmt: skip
    text = markdown(records)
    assert "xử lý 01 vụ việc liên quan đến công tác lãnh sự và bảo hộ công dân, là vụ việc" in text
    assert "[^1]: Công dân gặp nạn" in text
    # Compiled on 10/10 for the whole year: amounts are estimates.
    assert "ước đạt gần 1,5 triệu USD với 01 chương trình, dự án của 01 tổ chức" in text
    assert "giá trị giải ngân ước đạt trên 1,1 triệu USD" in text
    year_end = round_period("2023-Y", date(2023, 12, 31))
    assert "đạt gần 1,5 triệu USD" in markdown(records, period=year_end)
    assert "ước đạt" not in markdown(records, period=year_end)
