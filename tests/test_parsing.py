"""Table-driven tests for domain.parsing (what officials type on a phone)."""

import datetime
import unicodedata
from decimal import Decimal

import pytest

from domain.parsing import (
    ParseError,
    fold,
    nfc,
    parse_choice,
    parse_date,
    parse_int,
    parse_money,
    parse_text,
    parse_yes_no,
)

TODAY = datetime.date(2023, 6, 15)


def nfd(text: str) -> str:
    """Decomposed Unicode, as some phones and old keyboards send it."""
    return unicodedata.normalize("NFD", text)


# ---------------------------------------------------------------------------
# ParseError, nfc, fold
# ---------------------------------------------------------------------------


def test_parse_error_carries_code_and_params() -> None:
    error = ParseError("too_long", max_len=10, length=12)
    assert isinstance(error, ValueError)
    assert error.code == "too_long"
    assert error.params == {"max_len": 10, "length": 12}


def test_parse_error_without_params() -> None:
    error = ParseError("empty")
    assert error.code == "empty"
    assert error.params == {}


def test_nfc_composes_decomposed_text() -> None:
    decomposed = nfd("Sở Ngoại vụ")
    assert decomposed != "Sở Ngoại vụ"
    assert nfc(decomposed) == "Sở Ngoại vụ"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("  Bỏ   QUA ", "bo qua"),
        ("Đoàn vào", "doan vao"),
        (nfd("Đoàn vào"), "doan vao"),
        ("Tổ chức\tquốc tế\n", "to chuc quoc te"),
        ("ĐẦU MỐI", "dau moi"),
        ("Người Việt Nam ở nước ngoài", "nguoi viet nam o nuoc ngoai"),
        ("", ""),
    ],
)
def test_fold(raw: str, expected: str) -> None:
    assert fold(raw) == expected


# ---------------------------------------------------------------------------
# parse_text
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("  Đoàn công tác của UBND tỉnh  ", "Đoàn công tác của UBND tỉnh"),
        (nfd("Hội thảo quốc tế về biến đổi khí hậu"), "Hội thảo quốc tế về biến đổi khí hậu"),
        ("Làm việc   với\t\tĐại sứ quán Lào", "Làm việc với Đại sứ quán Lào"),
        ("Dòng 1   \nDòng 2", "Dòng 1\nDòng 2"),
        ("Mục 1\n\n\n\nMục 2", "Mục 1\n\nMục 2"),
        ("Mục 1\n   \n \nMục 2", "Mục 1\n\nMục 2"),
        ("Mục 1\r\nMục 2", "Mục 1\nMục 2"),
        ("Ký kết MOU\u00a0với tỉnh Khăm Muộn", "Ký kết MOU với tỉnh Khăm Muộn"),
    ],
)
def test_parse_text_valid(raw: str, expected: str) -> None:
    assert parse_text(raw, max_len=500) == expected


@pytest.mark.parametrize("raw", ["", "   ", "\n\n\t", " \r\n "])
def test_parse_text_empty(raw: str) -> None:
    with pytest.raises(ParseError) as caught:
        parse_text(raw, max_len=100)
    assert caught.value.code == "empty"


def test_parse_text_too_long() -> None:
    with pytest.raises(ParseError) as caught:
        parse_text("Đoàn ra " * 20, max_len=100)
    assert caught.value.code == "too_long"
    # "Đoàn ra " * 20 is 160 characters, 159 once the trailing space is gone.
    assert caught.value.params == {"max_len": 100, "length": 159}


def test_parse_text_length_counted_after_normalisation() -> None:
    # NFD makes this 15 code points; NFC and collapsed spaces make it 9.
    raw = nfd("Hội    nghị")
    assert len(raw) > 10
    assert parse_text(raw, max_len=10) == "Hội nghị"


def test_parse_text_exactly_max_len_is_accepted() -> None:
    assert parse_text("a" * 10, max_len=10) == "a" * 10


# ---------------------------------------------------------------------------
# parse_int
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("1.700", 1700),
        ("1700", 1700),
        ("1 700", 1700),
        ("1,700", 1700),
        ("2.139", 2139),
        ("12 người", 12),
        ("15 đoàn", 15),
        ("179 lượt khách", 179),
        ("341 lượt CBCC", 341),
        ("02", 2),
        ("0", 0),
        ("  8  ", 8),
        ("1.234.567", 1234567),
        ("1,5 nghìn", 1500),
        ("2 nghìn lượt", 2000),
        ("500 tr", 500),  # "tr" = "trang" (pages) for counts
        (nfd("12 người"), 12),
    ],
)
def test_parse_int_valid(raw: str, expected: int) -> None:
    assert parse_int(raw) == expected


def test_parse_int_negative_without_minimum() -> None:
    assert parse_int("-3") == -3


def test_parse_int_at_minimum() -> None:
    assert parse_int("1 người", minimum=1) == 1


@pytest.mark.parametrize(
    ("raw", "minimum", "code"),
    [
        ("", None, "empty"),
        ("   ", 1, "empty"),
        ("2,5", None, "not_integer"),
        ("2.5", None, "not_integer"),
        ("mười hai", None, "not_integer"),
        ("12 15", None, "not_integer"),
        ("1.2.3", None, "not_integer"),
        ("1,2345 nghìn", None, "not_integer"),
        ("12a3", None, "not_integer"),
        ("-3", 0, "too_small"),
        ("0", 1, "too_small"),
    ],
)
def test_parse_int_invalid(raw: str, minimum: int | None, code: str) -> None:
    with pytest.raises(ParseError) as caught:
        parse_int(raw, minimum=minimum)
    assert caught.value.code == code


def test_parse_int_too_small_params() -> None:
    with pytest.raises(ParseError) as caught:
        parse_int("0 người", minimum=1)
    assert caught.value.code == "too_small"
    assert caught.value.params == {"minimum": 1}


# ---------------------------------------------------------------------------
# parse_money
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "amount", "currency"),
    [
        ("2.500.000", 2_500_000, None),
        ("2500000", 2_500_000, None),
        ("2 500 000", 2_500_000, None),
        ("600 nghìn", 600_000, None),
        ("600 ngàn", 600_000, None),
        ("600k", 600_000, None),
        ("600K", 600_000, None),
        ("600 nghìn USD", 600_000, "USD"),
        ("1,1 triệu", 1_100_000, None),
        ("1.1 triệu", 1_100_000, None),
        ("1,1tr", 1_100_000, None),
        ("2,5 tỷ", 2_500_000_000, None),
        ("2,5 tỉ", 2_500_000_000, None),
        ("2,2 tỷ đồng", 2_200_000_000, "VND"),
        ("2,125 triệu", 2_125_000, None),
        ("3 triệu 500 nghìn", 3_500_000, None),
        ("3 triệu 500", 3_500_000, None),
        ("3 triệu rưỡi", 3_500_000, None),
        ("2 tỷ 200 triệu", 2_200_000_000, None),
        ("$600", 600, "USD"),
        ("600$", 600, "USD"),
        ("600 đô la", 600, "USD"),
        ("600.000 đồng", 600_000, "VND"),
        ("600.000đ", 600_000, "VND"),
        ("600.000 VNĐ", 600_000, "VND"),
        ("600.000 vnd", 600_000, "VND"),
        ("1.234.567,89", Decimal("1234567.89"), None),
        ("1.234,5", Decimal("1234.5"), None),
        ("1,700", 1700, None),
        ("0,4", Decimal("0.4"), None),
        (nfd("1,1 triệu đồng"), 1_100_000, "VND"),
    ],
)
def test_parse_money_valid(raw: str, amount: Decimal, currency: str | None) -> None:
    assert parse_money(raw) == (amount, currency)


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        ("", "empty"),
        ("  ", "empty"),
        ("triệu", "not_money"),
        ("USD", "not_money"),
        ("sáu trăm nghìn", "not_money"),
        ("-600.000", "not_money"),
        ("600 nghìn 2 triệu", "not_money"),
        ("3 triệu 5", "not_money"),
        ("1.2.3", "not_money"),
        ("1234.567", "not_money"),
        ("600 nghìn/người", "not_money"),
    ],
)
def test_parse_money_invalid(raw: str, code: str) -> None:
    with pytest.raises(ParseError) as caught:
        parse_money(raw)
    assert caught.value.code == code


# ---------------------------------------------------------------------------
# parse_date
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("12/3/2023", datetime.date(2023, 3, 12)),
        ("12-03-2023", datetime.date(2023, 3, 12)),
        ("12.3.2023", datetime.date(2023, 3, 12)),
        ("12/03/23", datetime.date(2023, 3, 12)),
        ("25/5/2021", datetime.date(2021, 5, 25)),
        ("12/3", datetime.date(2023, 3, 12)),
        ("1/12", datetime.date(2023, 12, 1)),
        ("2023-03-12", datetime.date(2023, 3, 12)),
        ("hôm nay", TODAY),
        ("Hôm nay", TODAY),
        ("hom nay", TODAY),
        ("nay", TODAY),
        ("hôm qua", datetime.date(2023, 6, 14)),
        ("hom qua", datetime.date(2023, 6, 14)),
        ("hôm kia", datetime.date(2023, 6, 13)),
        ("ngày 12 tháng 3 năm 2023", datetime.date(2023, 3, 12)),
        ("12 tháng 3 năm 2023", datetime.date(2023, 3, 12)),
        ("12 tháng 3", datetime.date(2023, 3, 12)),
        ("Ngày 10 tháng 10 năm 2023", datetime.date(2023, 10, 10)),
        ("ngày 12/3/2023", datetime.date(2023, 3, 12)),
        ("29/2/2024", datetime.date(2024, 2, 29)),
        ("1/1/1975", datetime.date(1975, 1, 1)),
        ("31/12/2033", datetime.date(2033, 12, 31)),
        (nfd("hôm nay"), TODAY),
        (nfd("hôm qua"), datetime.date(2023, 6, 14)),
        (nfd("ngày 12 tháng 3 năm 2023"), datetime.date(2023, 3, 12)),
    ],
)
def test_parse_date_valid(raw: str, expected: datetime.date) -> None:
    assert parse_date(raw, today=TODAY) == expected


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        ("", "empty"),
        ("   ", "empty"),
        ("tuần trước", "not_date"),
        ("12", "not_date"),
        ("12/3/202", "not_date"),
        ("12/3-2023", "not_date"),
        ("tháng 3 năm 2023", "not_date"),
        ("abc", "not_date"),
    ],
)
def test_parse_date_unrecognised(raw: str, code: str) -> None:
    with pytest.raises(ParseError) as caught:
        parse_date(raw, today=TODAY)
    assert caught.value.code == code


@pytest.mark.parametrize(
    ("raw", "params"),
    [
        ("29/2/2023", {"day": 29, "month": 2, "year": 2023}),
        ("31/2/2023", {"day": 31, "month": 2, "year": 2023}),
        ("0/1/2023", {"day": 0, "month": 1, "year": 2023}),
        ("12/13/2023", {"day": 12, "month": 13, "year": 2023}),
        ("31/4/2023", {"day": 31, "month": 4, "year": 2023}),
        ("29/2", {"day": 29, "month": 2, "year": 2023}),
        ("31 tháng 6 năm 2023", {"day": 31, "month": 6, "year": 2023}),
    ],
)
def test_parse_date_impossible(raw: str, params: dict[str, int]) -> None:
    with pytest.raises(ParseError) as caught:
        parse_date(raw, today=TODAY)
    assert caught.value.code == "impossible_date"
    assert caught.value.params == params


@pytest.mark.parametrize(
    ("raw", "year"),
    [
        ("1/1/1974", 1974),
        ("1/1/2034", 2034),
        ("12/3/99", 2099),
        ("12 tháng 3 năm 1900", 1900),
    ],
)
def test_parse_date_year_out_of_range(raw: str, year: int) -> None:
    with pytest.raises(ParseError) as caught:
        parse_date(raw, today=TODAY)
    assert caught.value.code == "year_out_of_range"
    assert caught.value.params == {"year": year}


# ---------------------------------------------------------------------------
# parse_yes_no
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "raw",
    [
        "có",
        "Có",
        "CÓ",
        "co",
        "c",
        "yes",
        "Y",
        "ừ",
        "u",
        "đúng",
        "dung",
        "phải",
        "phai",
        "rồi",
        "roi",
        "có.",
        "dạ có ạ",
        nfd("Có"),
        nfd("Đúng"),
        "ok",
        "vâng",
    ],
)
def test_parse_yes_no_yes(raw: str) -> None:
    assert parse_yes_no(raw) is True


@pytest.mark.parametrize(
    "raw",
    [
        "không",
        "Không",
        "khong",
        "k",
        "K",
        "ko",
        "kg",
        "no",
        "n",
        "chưa",
        "chua",
        "sai",
        "không ạ",
        nfd("Không"),
    ],
)
def test_parse_yes_no_no(raw: str) -> None:
    assert parse_yes_no(raw) is False


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        ("", "empty"),
        ("  ", "empty"),
        ("có lẽ", "not_yes_no"),
        ("không biết", "not_yes_no"),
        ("2", "not_yes_no"),
        ("dạ không có ạ nhưng", "not_yes_no"),
    ],
)
def test_parse_yes_no_invalid(raw: str, code: str) -> None:
    with pytest.raises(ParseError) as caught:
        parse_yes_no(raw)
    assert caught.value.code == code


# ---------------------------------------------------------------------------
# parse_choice
# ---------------------------------------------------------------------------

LOAI_KHACH = [
    ("co_quan_dai_dien", "Cơ quan đại diện"),
    ("to_chuc_quoc_te", "Tổ chức quốc tế"),
    ("to_chuc_phi_chinh_phu", "Tổ chức phi chính phủ"),
    ("dia_phuong_nuoc_ngoai", "Địa phương nước ngoài"),
    ("doanh_nghiep", "Doanh nghiệp"),
    ("khac", "Khác"),
]


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("1", "co_quan_dai_dien"),
        ("2", "to_chuc_quoc_te"),
        ("2.", "to_chuc_quoc_te"),
        ("số 2", "to_chuc_quoc_te"),
        ("So 2", "to_chuc_quoc_te"),
        (" 6 ", "khac"),
        ("to_chuc_quoc_te", "to_chuc_quoc_te"),
        ("DOANH_NGHIEP", "doanh_nghiep"),
        ("Tổ chức quốc tế", "to_chuc_quoc_te"),
        ("tổ chức QUỐC TẾ", "to_chuc_quoc_te"),
        ("to chuc quoc te", "to_chuc_quoc_te"),
        (nfd("Tổ chức phi chính phủ"), "to_chuc_phi_chinh_phu"),
        ("khác", "khac"),
        ("Khac", "khac"),
        ("doanh", "doanh_nghiep"),
        ("dia phuong", "dia_phuong_nuoc_ngoai"),
        ("cơ quan", "co_quan_dai_dien"),
        ("tổ chức phi", "to_chuc_phi_chinh_phu"),
        (nfd("Địa phương"), "dia_phuong_nuoc_ngoai"),
        ("quoc te", "to_chuc_quoc_te"),  # words found in one label only
        ("phi chính phủ", "to_chuc_phi_chinh_phu"),
    ],
)
def test_parse_choice_valid(raw: str, expected: str) -> None:
    assert parse_choice(raw, LOAI_KHACH) == expected


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        ("", "empty"),
        ("   ", "empty"),
        ("0", "not_choice"),
        ("7", "not_choice"),
        ("số 9", "not_choice"),
        ("tổ chức", "not_choice"),  # ambiguous prefix: two labels start with it
        ("to", "not_choice"),  # prefix shorter than 3 characters
        ("đại sứ quán", "not_choice"),
        ("nhà nước", "not_choice"),  # in no label
    ],
)
def test_parse_choice_invalid(raw: str, code: str) -> None:
    with pytest.raises(ParseError) as caught:
        parse_choice(raw, LOAI_KHACH)
    assert caught.value.code == code
    if code == "not_choice":
        assert caught.value.params == {"count": len(LOAI_KHACH)}


def test_parse_choice_exact_label_beats_longer_prefix() -> None:
    choices = [("khac", "Khác"), ("khac_biet", "Khác biệt")]
    assert parse_choice("khac", choices) == "khac"
    assert parse_choice("khác b", choices) == "khac_biet"
