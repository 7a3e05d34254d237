"""What officials actually type, read by the parsers: currencies named in either
direction, years taken from the other date, two dates in one answer, "khoảng", "không có",
Telex typed without conversion, and countries under their many names. Valid and invalid."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest

from domain.countries import canonical_country, nearest_country, split_countries
from domain.entry import kind_named
from domain.forms import load_forms
from domain.parsing import (
    ParseError,
    parse_choice,
    parse_date,
    parse_date_range,
    parse_int,
    parse_money,
    parse_yes_no,
)
from domain.telex import untelex

TODAY = datetime.date(2023, 6, 15)
FORMS = load_forms()
D = datetime.date


# --- currencies ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "amount", "currency"),
    [
        ("600 triệu đồng", 600_000_000, "VND"),
        ("1,5 tỷ đồng", 1_500_000_000, "VND"),
        ("2 tỷ VNĐ", 2_000_000_000, "VND"),
        ("5 trieu dong", 5_000_000, "VND"),
        ("300 triệu đ", 300_000_000, "VND"),
        ("150.000.000₫", 150_000_000, "VND"),
        ("2 tỷ đồng Việt Nam", 2_000_000_000, "VND"),
        ("10.000 USD", 10_000, "USD"),
        ("10,000 USD", 10_000, "USD"),
        ("$10,000", 10_000, "USD"),
        ("250 nghìn đô", 250_000, "USD"),
        ("250 nghìn đô la Mỹ", 250_000, "USD"),
        ("1,2 triệu dollars", 1_200_000, "USD"),
        ("50.000 euro", 50_000, "EUR"),
        ("3 triệu yên", 3_000_000, "JPY"),
        ("1 tỷ won", 1_000_000_000, "KRW"),
        ("200 nghìn nhân dân tệ", 200_000, "CNY"),
        ("5 triệu kíp", 5_000_000, "LAK"),
        ("1,2", Decimal("1.2"), None),
        ("1,25 USD", Decimal("1.25"), "USD"),
    ],
)
def test_money_names_its_currency(raw, amount, currency):
    assert parse_money(raw) == (amount, currency)


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        ("600 triệu đồng 10 USD", "two_currencies"),
        ("100 USD đồng", "two_currencies"),
        ("9" * 50, "number_too_long"),
        ("1" * 19 + " USD", "number_too_long"),
        ("600 triệu gạo", "not_money"),
    ],
)
def test_money_refused(raw, code):
    with pytest.raises(ParseError) as caught:
        parse_money(raw)
    assert caught.value.code == code


@pytest.mark.parametrize(
    ("kind", "key", "raw", "typed"),
    [
        ("vien_tro", "cam_ket_usd", "600 triệu đồng", "600.000.000 đồng"),
        ("vien_tro", "cam_ket_usd", "1,5 tỷ đồng", "1.500.000.000 đồng"),
        ("vien_tro", "cam_ket_usd", "2 tỷ VNĐ", "2.000.000.000 đồng"),
        ("vien_tro", "giai_ngan_usd", "5 trieu dong", "5.000.000 đồng"),
        ("hoi_nghi", "kinh_phi_vnd", "10.000 USD", "10.000 USD"),
        ("nguoi_vn_nn", "so_tien_vnd", "$500", "500 USD"),
        ("vien_tro", "cam_ket_usd", "50 nghìn euro", "50.000 euro"),
    ],
)
def test_another_currency_than_the_fields_is_refused(kind, key, raw, typed):
    with pytest.raises(ParseError) as caught:
        FORMS[kind].field(key).parse(raw, TODAY)
    assert caught.value.code == "other_currency" and caught.value.params["typed"] == typed


@pytest.mark.parametrize(
    ("kind", "key", "raw", "value"),
    [
        ("vien_tro", "cam_ket_usd", "1,2", 1.2),
        ("vien_tro", "cam_ket_usd", "250 nghìn USD", 250_000),
        ("vien_tro", "cam_ket_usd", "120.000,5", 120_000.5),
        ("vien_tro", "cam_ket_usd", "khoảng 600 nghìn", 600_000),
        ("hoi_nghi", "kinh_phi_vnd", "150 triệu đồng", 150_000_000),
        ("hoi_nghi", "kinh_phi_vnd", "0,5", 1),  # whole đồng
        ("nguoi_vn_nn", "so_tien_vnd", "300 triệu", 300_000_000),
    ],
)
def test_amounts_in_the_fields_currency(kind, key, raw, value):
    assert FORMS[kind].field(key).parse(raw, TODAY) == value


# --- counts ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("khoảng 15 người", 15),
        ("khoảng 200", 200),
        ("Khoang 200 luot", 200),
        ("tầm 30 người", 30),
        ("gần 40", 40),
        ("hơn 1.000 lượt khách", 1000),
        ("trên 50", 50),
        ("xấp xỉ 12", 12),
        ("~25", 25),
        ("không có", 0),
        ("Không có ạ".replace(" ạ", ""), 0),
        ("chưa có", 0),
        ("0 người.", 0),
        ("12 người.", 12),
    ],
)
def test_counts_as_typed(raw, expected):
    assert parse_int(raw) == expected


@pytest.mark.parametrize(
    ("raw", "minimum", "code"),
    [
        ("không có", 1, "too_small"),
        ("khoảng mười lăm", None, "not_integer"),
        ("khoảng", None, "empty"),
        ("1" * 40, None, "number_too_long"),
        ("khoảng 2,5", None, "not_integer"),
    ],
)
def test_counts_refused(raw, minimum, code):
    with pytest.raises(ParseError) as caught:
        parse_int(raw, minimum)
    assert caught.value.code == code


# --- years and ranges --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "after", "expected"),
    [
        ("15/3", D(2023, 3, 12), D(2023, 3, 15)),
        ("15/3", D(2021, 3, 12), D(2021, 3, 15)),
        ("3/1", D(2023, 12, 28), D(2024, 1, 3)),  # over the new year
        ("15 tháng 3", D(2022, 3, 1), D(2022, 3, 15)),
        ("15/3/2026", D(2023, 3, 12), D(2026, 3, 15)),  # a year typed is kept
        ("12/3", None, D(2023, 3, 12)),  # nothing to follow: this year
    ],
)
def test_a_date_without_year_takes_the_year_of_the_date_it_follows(raw, after, expected):
    assert parse_date(raw, TODAY, after=after) == expected


def test_a_date_without_year_before_another_takes_its_year():
    assert parse_date("28/12", TODAY, before=D(2024, 1, 3)) == D(2023, 12, 28)
    assert parse_date("12/3", TODAY, before=D(2021, 3, 15)) == D(2021, 3, 12)


@pytest.mark.parametrize(
    ("raw", "start", "end"),
    [
        ("từ 12/3 đến 15/3/2023", D(2023, 3, 12), D(2023, 3, 15)),
        ("Từ ngày 12/3 đến ngày 15/3/2023", D(2023, 3, 12), D(2023, 3, 15)),
        ("12-15/3/2023", D(2023, 3, 12), D(2023, 3, 15)),
        ("12 - 15/3/2023", D(2023, 3, 12), D(2023, 3, 15)),
        ("12/3 - 15/3", D(2023, 3, 12), D(2023, 3, 15)),
        ("12/3/2023 – 15/3/2023", D(2023, 3, 12), D(2023, 3, 15)),
        ("12-3-2023 - 15-3-2023", D(2023, 3, 12), D(2023, 3, 15)),
        ("28/12 đến 3/1/2024", D(2023, 12, 28), D(2024, 1, 3)),
        ("từ 30/4 tới 2/5/2022", D(2022, 4, 30), D(2022, 5, 2)),
        ("tu 12/3 den 15/3/2021", D(2021, 3, 12), D(2021, 3, 15)),
        ("từ hôm qua đến mai", D(2023, 6, 14), D(2023, 6, 16)),
    ],
)
def test_two_dates_in_one_answer(raw, start, end):
    assert parse_date_range(raw, TODAY) == (start, end)


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        ("12/3/2023", "not_range"),
        ("từ 12/3", "not_range"),
        ("từ 31 đến 15/2/2023", "impossible_date"),
        ("từ 20 đến 15/3/2023", "impossible_date"),  # the 20th is after the 15th
    ],
)
def test_ranges_refused(raw, code):
    with pytest.raises(ParseError) as caught:
        parse_date_range(raw, TODAY)
    assert caught.value.code == code


# --- Telex typed without conversion -------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "folded"),
    [
        ("ddoanf vaof", "doan vao"),
        ("ddoanf ra", "doan ra"),
        ("nuwowcs sachj", "nuoc sach"),
        ("Hanf Quoocs", "han quoc"),
        ("khoong", "khong"),
        ("cos", "co"),
        ("Ddaij sws quans Lafo", "dai su quan lao"),
        ("thuwj", "thu"),
    ],
)
def test_telex_decoded_for_matching(typed, folded):
    assert untelex(typed.lower()) == folded


@pytest.mark.parametrize(
    ("typed", "kind"),
    [
        ("ddoanf vaof", "doan_vao"),
        ("Ddoanf ra", "doan_ra"),
        ("hooij nghij", "hoi_nghi"),
        ("vieenj trowj", "vien_tro"),
        ("bieen giowis", "bien_gioi"),
        ("doan vao", "doan_vao"),
        ("biên giới", "bien_gioi"),
    ],
)
def test_activity_types_named_in_telex_or_words(typed, kind):
    assert kind_named(typed) == kind


def test_ambiguous_type_words_name_none():
    assert kind_named("đoàn") is None and kind_named("xyz") is None


@pytest.mark.parametrize(
    ("typed", "key"),
    [
        ("ddax thuwcj hieenj", "da_thuc_hien"),
        ("Kees hoachj", "ke_hoach"),
        ("ke hoach", "ke_hoach"),
    ],
)
def test_choices_typed_in_telex(typed, key):
    assert parse_choice(typed, FORMS["doan_vao"].field("trang_thai").choices) == key


@pytest.mark.parametrize(("typed", "answer"), [("cos", True), ("khoong", False), ("ddungs", True)])
def test_yes_no_typed_in_telex(typed, answer):
    assert parse_yes_no(typed) is answer


# --- countries ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "canonical"),
    [
        ("Han Quoc", "Hàn Quốc"),
        ("Hàn", "Hàn Quốc"),
        ("Korea", "Hàn Quốc"),
        ("South Korea", "Hàn Quốc"),
        ("Hanf Quoocs", "Hàn Quốc"),
        ("Lao", "Lào"),
        ("Lào", "Lào"),
        ("CHDCND Lào", "Lào"),
        ("nước Lào", "Lào"),
        ("Laos", "Lào"),
        ("Japan", "Nhật Bản"),
        ("Nhật", "Nhật Bản"),
        ("nhat ban", "Nhật Bản"),
        ("Mỹ", "Hoa Kỳ"),
        ("USA", "Hoa Kỳ"),
        ("Thai Lan", "Thái Lan"),
        ("Thailand", "Thái Lan"),
        ("Úc", "Australia"),
        ("Anh", "Vương quốc Anh"),
        ("United Kingdom", "Vương quốc Anh"),
        ("Cambodia", "Campuchia"),
        ("CHLB Đức", "Đức"),
        ("Nga", "Liên bang Nga"),
        ("Trung Quoc", "Trung Quốc"),
        ("Singapo", "Singapore"),
    ],
)
def test_country_variants_have_one_canonical_name(typed, canonical):
    assert canonical_country(typed) == canonical


@pytest.mark.parametrize(
    "typed", ["UNICEF", "Tổ chức JICA", "KOICA", "World Vision", "Bolykhamxay"]
)
def test_organisations_and_places_are_no_country(typed):
    assert canonical_country(typed) is None and nearest_country(typed) is None


@pytest.mark.parametrize(
    ("typed", "suggestion"),
    [("Han Qoc", "Hàn Quốc"), ("Campuchea", "Campuchia"), ("Thai Lang", "Thái Lan")],
)
def test_a_near_miss_is_suggested_not_taken(typed, suggestion):
    assert canonical_country(typed) is None and nearest_country(typed) == suggestion


@pytest.mark.parametrize(
    ("typed", "items"),
    [
        ("Lào, Thái Lan", ["Lào", "Thái Lan"]),
        ("Lào và Campuchia", ["Lào", "Campuchia"]),
        ("Lào; Nhật", ["Lào", "Nhật"]),
        ("Trinidad và Tobago", ["Trinidad và Tobago"]),
        ("UNICEF, Lào", ["UNICEF", "Lào"]),
        ("Sở Ngoại vụ và Tổ chức JICA", ["Sở Ngoại vụ và Tổ chức JICA"]),
    ],
)
def test_lists_of_countries(typed, items):
    assert split_countries(typed) == items


def test_country_fields_store_canonical_names():
    assert FORMS["doan_ra"].field("nuoc_den").parse("Lao, Thai lan", TODAY) == "Lào, Thái Lan"
    assert FORMS["doan_vao"].field("nuoc").parse("Korea", TODAY) == "Hàn Quốc"
    assert FORMS["doan_vao"].field("nuoc").parse("UNICEF", TODAY) == "UNICEF"
    hoi_nghi = FORMS["hoi_nghi"].field("nuoc_to_chuc")
    assert hoi_nghi.parse("Japan, UNICEF", TODAY) == "Nhật Bản, UNICEF"
