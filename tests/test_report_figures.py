"""Figures from hand-built record sets (no database): zero, one, many, planned, deleted,
previous-year comparisons, periodic figures and per-round types."""

from __future__ import annotations

from datetime import date, datetime

import pytest

from domain.periods import round_period
from templates.report.figures import Change, Metric, ReportRecord, aggregate
from templates.report.render import round_nicely

H1_2021 = round_period("2021-H1", date(2021, 5, 25))


def rec(kind: str, unit: str = "Sở Ngoại vụ", deleted: bool = False, **values) -> dict:
    """A record as a plain dict, its values as the database stores them (ISO dates)."""
    stored = {k: v.isoformat() if isinstance(v, date) else v for k, v in values.items()}
    return {
        "kind": kind,
        "unit": unit,
        "values": stored,
        "deleted_at": datetime(2021, 6, 1) if deleted else None,
    }


def outgoing(day: date, people: int = 5, leader: bool = False, status="da_thuc_hien", **extra):
    values = dict(
        ten_doan="Đoàn công tác",
        truong_doan="Phó Chủ tịch UBND tỉnh",
        lanh_dao_tinh=leader,
        nuoc_den="Lào, Thái Lan",
        noi_dung="Làm việc",
        so_nguoi=people,
        tu_ngay=day,
        den_ngay=day,
        trang_thai=status,
    )
    values.update(extra)
    return rec("doan_ra", **values)


def conference(day: date, status="da_to_chuc", vn=20, abroad=0):
    return rec(
        "hoi_nghi",
        ten="Hội thảo",
        don_vi_to_chuc="Sở Y tế",
        cap_cho_phep="ubnd_tinh",
        dai_bieu_viet_nam=vn,
        dai_bieu_nn_trong_nuoc=1,
        dai_bieu_nn_tu_nuoc_ngoai=abroad,
        noi_dung="Chia sẻ kinh nghiệm",
        tu_ngay=day,
        den_ngay=day,
        dia_diem="TP Hà Tĩnh",
        nguon_kinh_phi="Dự án",
        trang_thai=status,
    )


def figure(kind: str, value: int, day: date, unit="Sở Ngoại vụ", note=""):
    return rec("so_lieu", unit=unit, chi_tieu=kind, gia_tri=value, ngay=day, ghi_chu=note)


def test_no_records_gives_zero_and_nothing_to_compare():
    f = aggregate([], H1_2021)
    assert f.outgoing.count == 0 and f.incoming.visitors == 0 and f.conferences.count == 0
    assert f.aid.committed_usd == 0 and f.consular.count == 0 and f.awards.count == 0
    assert f.outgoing.count.change is None
    assert f.records == [] and f.periodic == {} and f.difficulties == []
    assert f.consular.by_kind == {"yeu_to_nuoc_ngoai": 0, "bao_ho_cong_dan": 0}


def test_one_outgoing_delegation():
    f = aggregate([outgoing(date(2021, 3, 2), people=7, leader=True)], H1_2021)
    assert (f.outgoing.count, f.outgoing.people, f.outgoing.led_by_leader) == (1, 7, 1)
    assert f.outgoing.countries == ["Lào", "Thái Lan"]
    assert isinstance(f.outgoing.count, Metric) and f.outgoing.count.previous is None


def test_many_counted_done_only_and_within_the_cut_off():
    records = [
        outgoing(date(2021, 1, 5), people=4),
        outgoing(date(2021, 2, 5), people=6, leader=True, nuoc_den="lào; Nhật Bản"),
        outgoing(date(2021, 4, 5), people=10, status="ke_hoach"),  # planned
        outgoing(date(2021, 5, 26), people=3),  # after the as-of date
        outgoing(date(2021, 3, 1), people=99, deleted=True),  # deleted
    ]
    f = aggregate(records, H1_2021)
    assert (f.outgoing.count, f.outgoing.people, f.outgoing.led_by_leader) == (2, 10, 1)
    assert f.outgoing.countries == ["Lào", "Thái Lan", "Nhật Bản"]
    assert [r.get("so_nguoi") for r in f.outgoing.planned] == [10]


def test_plans_reach_a_year_past_the_period_end():
    records = [
        outgoing(date(2021, 11, 1), status="ke_hoach"),
        outgoing(date(2022, 6, 1), status="ke_hoach"),
        outgoing(date(2023, 1, 1), status="ke_hoach"),  # beyond the horizon
        outgoing(date(2020, 12, 1), status="ke_hoach"),  # before the period
        rec("thoa_thuan", ten="MoU", doi_tac="Tỉnh Khăm Muộn", nuoc="Lào", cap_ky="cap_tinh",
            ngay_ky=date(2021, 9, 1), co_quan_de_xuat="Sở Ngoại vụ", trang_thai="du_kien"),
        rec("thoa_thuan", ten="Biên bản", doi_tac="Tỉnh Bolykhămxay", nuoc="Lào",
            cap_ky="cap_huyen", ngay_ky=date(2021, 4, 1), co_quan_de_xuat="UBND huyện",
            trang_thai="da_ky"),
    ]  # fmt: skip
    f = aggregate(records, H1_2021)
    assert [r.event_date for r in f.outgoing.planned] == [date(2021, 11, 1), date(2022, 6, 1)]
    assert f.agreements.count == 1 and list(f.agreements.by_level) == ["cap_huyen"]
    assert [r.get("ten") for r in f.agreements.listed] == ["Biên bản", "MoU"]


def test_deleted_records_never_count():
    live = ReportRecord(
        kind="lanh_su",
        unit="Công an tỉnh",
        values={
            "loai_vu_viec": "bao_ho_cong_dan",
            "ngay": "2021-02-01",
            "nuoc": "Lào",
            "mo_ta": "A",
        },
    )
    gone = ReportRecord(
        kind="lanh_su",
        unit="Công an tỉnh",
        deleted=True,
        values={
            "loai_vu_viec": "bao_ho_cong_dan",
            "ngay": "2021-02-02",
            "nuoc": "Lào",
            "mo_ta": "B",
        },
    )
    f = aggregate([live, gone], H1_2021)
    assert f.consular.count == 1 and f.consular.by_kind["bao_ho_cong_dan"] == 1
    assert [r.get("mo_ta") for r in f.records] == ["A"]


def test_comparison_with_the_same_period_a_year_earlier():
    records = [conference(date(2021, m, 10)) for m in range(1, 6)]
    records += [conference(date(2021, 4, 11)) for _ in range(3)]
    records += [
        conference(date(2020, 1, 14)),
        conference(date(2020, 5, 26)),  # after the cut-off a year earlier
        conference(date(2020, 3, 1), status="ke_hoach"),  # planned then, not held
    ]
    f = aggregate(records, H1_2021)
    change = f.conferences.count.change
    assert (f.conferences.count, f.conferences.count.previous) == (8, 1)
    assert (change.direction, change.difference, change.percent) == ("tang", 7, 700)
    assert f.incoming.count.change is None  # no incoming delegations recorded in 2020


@pytest.mark.parametrize(
    ("current", "previous", "direction", "difference", "percent"),
    [
        (2139, 1584, "tang", 555, 35),
        (3, 5, "giam", 2, 40),
        (4, 4, "bang", 0, 0),
        (2, 0, "tang", 2, None),
    ],
)
def test_change(current, previous, direction, difference, percent):
    change = Change(current, previous)
    assert (change.direction, change.difference, change.percent) == (direction, difference, percent)


def test_periodic_figures_take_the_latest_value_per_unit_and_sum_units():
    records = [
        figure("trang_bien_dich", 1000, date(2021, 3, 31)),
        figure("trang_bien_dich", 2000, date(2021, 5, 20)),  # latest for Sở Ngoại vụ
        figure("trang_bien_dich", 9999, date(2021, 5, 30)),  # after the cut-off
        figure("trang_bien_dich", 139, date(2021, 4, 30), unit="Trường Đại học Hà Tĩnh"),
        figure("trang_bien_dich", 1584, date(2020, 5, 20)),
        figure("khac", 26, date(2021, 5, 20), note="Hồ sơ thủ tục hành chính"),
        figure("khac", 4, date(2021, 5, 20), note="Lượt phóng viên nước ngoài"),
    ]
    f = aggregate(records, H1_2021)
    pages = f.indicator("trang_bien_dich")
    assert (pages.value, pages.value.previous, pages.units) == (2139, 1584, 2)
    assert pages.value.change.percent == 35 and pages.as_of == date(2021, 5, 20)
    assert [(x.value, x.note) for x in f.other_indicators()] == [
        (26, "Hồ sơ thủ tục hành chính"),
        (4, "Lượt phóng viên nước ngoài"),
    ]


def test_per_round_types_are_selected_by_round_id():
    records = [
        rec("kho_khan", dot="2021-H1", noi_dung="Dịch bệnh"),
        rec("kho_khan", dot="2021-Y", noi_dung="Cả năm"),
        rec("kho_khan", dot="2020-H1", noi_dung="Năm trước"),
        rec("phuong_huong", dot="2021-H1", noi_dung="Hội nghị cấp cao"),
        rec("de_xuat", dot="2021-H1", noi_dung="Tập huấn", deleted=True),
    ]
    f = aggregate(records, H1_2021)
    assert [r.get("noi_dung") for r in f.difficulties] == ["Dịch bệnh"]
    assert [r.get("noi_dung") for r in f.tasks] == ["Hội nghị cấp cao"]
    assert f.proposals == []
    assert len(f.records) == 2


def test_incoming_aid_registrations_awards_and_narratives():
    day = date(2021, 3, 1)
    records = [
        rec("doan_vao", ten_doan="Đoàn ĐSQ Lào", truong_doan="Đại sứ", nuoc="Lào",
            loai_khach="co_quan_dai_dien", lanh_dao_tinh_tiep=True, noi_dung="Thăm",
            so_nguoi=10, tu_ngay=day, den_ngay=day, trang_thai="da_thuc_hien"),
        rec("doan_vao", ten_doan="Đoàn WB", truong_doan="Trưởng nhóm", nuoc="WB",
            loai_khach="to_chuc_quoc_te", lanh_dao_tinh_tiep=False, noi_dung="Khảo sát",
            so_nguoi=8, tu_ngay=day, den_ngay=day, trang_thai="da_thuc_hien"),
        rec("vien_tro", to_chuc="World Vision", ten_du_an="Nước sạch", linh_vuc="y_te",
            cam_ket_usd=400000, giai_ngan_usd=100000, ngay=day),
        rec("vien_tro", to_chuc="world vision", ten_du_an="Trường học", linh_vuc="giao_duc",
            cam_ket_usd=212500, ngay=day),
        rec("dang_ky_pcpnn", to_chuc="Plan", hinh_thuc="gia_han", ngay=day),
        rec("dang_ky_pcpnn", to_chuc="HelpAge", hinh_thuc="bo_sung", ngay=day),
        rec("khen_thuong", danh_hieu="Bằng khen", doi_tuong="Ông A", loai_doi_tuong="ca_nhan",
            nuoc="Pháp", thanh_tich="Đóng góp", so_quyet_dinh="1/QĐ", ngay_quyet_dinh=day),
        rec("khen_thuong", danh_hieu="Bằng khen", doi_tuong="Bộ CHQS", loai_doi_tuong="tap_the",
            nuoc="Lào", thanh_tich="Quy tập", so_quyet_dinh="2/QĐ", ngay_quyet_dinh=day),
        rec("khen_thuong", danh_hieu="Bằng khen", doi_tuong="Ông B", loai_doi_tuong="ca_nhan",
            nuoc="Lào", thanh_tich="Quy tập", so_quyet_dinh="2/QĐ", ngay_quyet_dinh=day),
        rec("bien_gioi", ngay=day, noi_dung="Hồi hương", so_hai_cot=11),
        rec("bien_gioi", ngay=day, noi_dung="Tuần tra"),
        rec("nguoi_vn_nn", ngay=day, noi_dung="Ủng hộ", so_tien_vnd=300_000_000),
        rec("ket_qua_khac", ngay=day, linh_vuc="Hợp tác quốc tế", noi_dung="Hỗ trợ Lào"),
        rec("ket_qua_khac", ngay=day, linh_vuc="hop tac quoc te", noi_dung="APOTC"),
        rec("ket_qua_khac", ngay=day, linh_vuc="Văn hóa", noi_dung="Giao lưu"),
    ]  # fmt: skip
    f = aggregate(records, H1_2021)
    assert (f.incoming.count, f.incoming.visitors, f.incoming.received_by_leader) == (2, 18, 1)
    assert f.incoming.types == ["co_quan_dai_dien", "to_chuc_quoc_te"]
    assert (f.aid.committed_usd, f.aid.disbursed_usd, f.aid.projects) == (612500, 100000, 2)
    assert f.aid.organisations == ["World Vision"]
    assert f.registrations.count == 2 and f.registrations.forms == ["gia_han", "bo_sung"]
    assert (f.awards.groups, f.awards.persons) == (1, 2)
    assert [(c.country, c.groups, c.persons) for c in f.awards.by_country] == [
        ("Lào", 1, 1),
        ("Pháp", 0, 1),
    ]
    assert f.narratives.remains == 11 and f.narratives.overseas_donations_vnd == 300_000_000
    assert [r.get("noi_dung") for r in f.other_results("Hợp tác Quốc tế")] == [
        "Hỗ trợ Lào",
        "APOTC",
    ]
    assert list(f.other_results_except("Hợp tác quốc tế")) == ["Văn hóa"]
    assert f.units == ["Sở Ngoại vụ"]


def test_records_accept_objects_and_clean_unsafe_characters():
    record = ReportRecord(kind="ket_qua_khac", unit="Sở\x00 Ngoại vụ", values={
        "ngay": date(2021, 2, 1), "linh_vuc": "Khác", "noi_dung": "A\x07B\ue000C"})  # fmt: skip
    assert record.unit == "Sở Ngoại vụ" and record.get("noi_dung") == "ABC"
    assert record.event_date == date(2021, 2, 1)
    assert record.get("khong_co", "x") == "x"


@pytest.mark.parametrize(
    ("value", "nice"),
    [(612_500, 600_000), (1_460_000, 1_500_000), (250_000, 250_000), (1_130_000, 1_100_000),
     (2_200_000_000, 2_200_000_000), (999_000, 1_000_000), (7, 7)],
)  # fmt: skip
def test_round_nicely(value, nice):
    assert round_nicely(value) == nice


def test_countries_are_counted_by_their_canonical_name():
    from datetime import date

    from domain.periods import round_period
    from templates.report.figures import aggregate

    def trip(countries: str) -> dict:
        values = {
            "ten_doan": "Đoàn", "truong_doan": "A", "lanh_dao_tinh": False,
            "nuoc_den": countries, "noi_dung": "Làm việc", "so_nguoi": 3,
            "tu_ngay": "2023-03-01", "den_ngay": "2023-03-02", "trang_thai": "da_thuc_hien",
        }  # fmt: skip
        return {"kind": "doan_ra", "unit": "Sở Ngoại vụ", "values": values}

    def award(country: str) -> dict:
        return {"kind": "khen_thuong", "unit": "Sở Ngoại vụ", "values": {
            "danh_hieu": "Bằng khen", "doi_tuong": "X", "loai_doi_tuong": "ca_nhan",
            "nuoc": country, "thanh_tich": "Y", "so_quyet_dinh": "1/QĐ",
            "ngay_quyet_dinh": "2023-04-01"}}  # fmt: skip

    records = [trip("Lao, Thái Lan"), trip("CHDCND Lào và Han Quoc"), trip("Japan")]
    records += [award("Lào"), award("Lao"), award("UNICEF")]
    figures = aggregate(records, round_period("2023-Y", date(2023, 12, 31)))
    assert figures.outgoing.countries == ["Lào", "Thái Lan", "Hàn Quốc", "Nhật Bản"]
    assert [(c.country, c.persons) for c in figures.awards.by_country] == [
        ("Lào", 2),
        ("UNICEF", 1),
    ]
