"""Reporting periods: boundaries, cut-off, cùng kỳ and how a period reads."""

from __future__ import annotations

from datetime import date
from types import SimpleNamespace

import pytest

from domain.periods import (
    Period,
    PeriodError,
    RoundBoundaries,
    previous_year,
    range_period,
    round_period,
)
from domain.settings import Settings


def test_six_month_round_counts_up_to_the_as_of_date():
    period = round_period("2021-H1", date(2021, 5, 25))
    assert (period.start, period.end) == (date(2021, 1, 1), date(2021, 6, 30))
    assert period.effective_end == date(2021, 5, 25)
    assert period.round_ids == ("2021-H1",)
    assert period.contains(date(2021, 5, 25)) and not period.contains(date(2021, 5, 26))


def test_annual_round_after_its_end_counts_the_whole_year():
    period = round_period("2023-y", date(2024, 2, 1))
    assert (period.start, period.effective_end) == (date(2023, 1, 1), date(2023, 12, 31))
    assert period.label == "2023-Y" and not period.is_partial


def test_boundaries_come_from_settings_and_may_start_the_previous_year():
    decree_09 = SimpleNamespace(
        round_h1_period=("15/12", "14/6"), round_y_period=("15/12", "14/12")
    )
    boundaries = RoundBoundaries.from_settings(decree_09)
    h1 = round_period("2023-H1", date(2023, 6, 30), boundaries)
    assert (h1.start, h1.end) == (date(2022, 12, 15), date(2023, 6, 14))
    year = round_period("2023-Y", date(2023, 12, 31), boundaries)
    assert (year.start, year.end) == (date(2022, 12, 15), date(2023, 12, 14))
    default = RoundBoundaries.from_settings(Settings())
    assert default.span("H1", 2023) == (date(2023, 1, 1), date(2023, 6, 30))


def test_previous_year_is_the_same_span_to_the_same_day():
    period = round_period("2021-H1", date(2021, 5, 25))
    before = previous_year(period)
    assert (before.start, before.effective_end) == (date(2020, 1, 1), date(2020, 5, 25))
    assert before.label == "2020-H1" and before.round_ids == ("2020-H1",)
    leap = previous_year(Period(date(2024, 1, 1), date(2024, 12, 31), date(2024, 2, 29)))
    assert leap.as_of == date(2023, 2, 28)


@pytest.mark.parametrize(
    ("round_id", "as_of", "phrase"),
    [
        ("2021-H1", date(2021, 5, 25), "6 tháng đầu năm 2021"),
        ("2021-H1", date(2021, 8, 1), "6 tháng đầu năm 2021"),
        ("2021-H1", date(2021, 4, 20), "4 tháng đầu năm 2021"),
        ("2023-Y", date(2023, 10, 10), "10 tháng đầu năm 2023"),
        ("2023-Y", date(2023, 11, 20), "năm 2023"),
        ("2023-Y", date(2024, 1, 5), "năm 2023"),
    ],
)
def test_phrase(round_id, as_of, phrase):
    period = round_period(round_id, as_of)
    assert period.phrase() == phrase


def test_round_phrase_and_as_of_phrase():
    period = round_period("2023-Y", date(2023, 10, 10))
    assert period.round_phrase() == "năm 2023"
    assert round_period("2021-H1", date(2021, 5, 20)).as_of_phrase() == "Tính đến ngày 20/5/2021"


def test_explicit_range():
    period = range_period(date(2023, 1, 1), date(2023, 12, 31), date(2023, 5, 31))
    assert period.label == "" and period.effective_end == date(2023, 5, 31)
    assert period.phrase() == "từ ngày 1/1/2023 đến ngày 31/5/2023"
    assert set(period.round_ids) == {"2023-H1", "2023-Y"}
    spring = range_period(date(2023, 3, 1), date(2023, 5, 31))
    assert spring.round_ids == () and spring.as_of == date(2023, 5, 31)


@pytest.mark.parametrize(
    ("call", "code"),
    [
        (lambda: round_period("2023-Q3", date(2023, 9, 1)), "bad_round"),
        (lambda: round_period("2023-H1", date(2022, 12, 1)), "as_of_before_start"),
        (lambda: range_period(date(2023, 5, 1), date(2023, 4, 1)), "end_before_start"),
        (
            lambda: range_period(date(2023, 5, 1), date(2023, 6, 1), date(2023, 4, 1)),
            "as_of_before_start",
        ),
    ],
)
def test_bad_periods(call, code):
    with pytest.raises(PeriodError) as caught:
        call()
    assert caught.value.code == code
