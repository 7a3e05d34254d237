"""Whatever arrives, a parser answers with a value or its own ParseError, never another
exception: the chat, the import and the web forms can rely on that."""

from __future__ import annotations

import contextlib
import datetime

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from domain.countries import canonical_country, nearest_country, split_countries
from domain.entry import kind_named, read_entries
from domain.forms import load_forms
from domain.parsing import (
    ParseError,
    parse_choice,
    parse_date,
    parse_date_range,
    parse_int,
    parse_money,
    parse_text,
    parse_yes_no,
)
from domain.rounds import parse_round_id

TODAY = datetime.date(2023, 6, 15)
CHOICES = load_forms()["doan_vao"].field("loai_khach").choices
PARSERS = {
    "text": lambda raw: parse_text(raw, 300),
    "int": parse_int,
    "int_min": lambda raw: parse_int(raw, 1),
    "money": parse_money,
    "date": lambda raw: parse_date(raw, TODAY),
    "date_after": lambda raw: parse_date(raw, TODAY, after=datetime.date(2023, 12, 28)),
    "date_before": lambda raw: parse_date(raw, TODAY, before=datetime.date(1975, 1, 2)),
    "range": lambda raw: parse_date_range(raw, TODAY),
    "yes_no": parse_yes_no,
    "choice": lambda raw: parse_choice(raw, CHOICES),
    "round": lambda raw: parse_round_id(raw, TODAY),
    "country": canonical_country,
    "near_country": nearest_country,
    "country_list": split_countries,
    "kind": kind_named,
    "template": read_entries,
}
NUMBERISH = st.text(alphabet="0123456789.,-/ ~kKtrđ$", max_size=80)
ODD = st.one_of(
    st.text(max_size=200),
    NUMBERISH,
    st.text(alphabet="0123456789", min_size=15, max_size=5000),
    st.from_regex(r"(từ )?\d{1,3}[/.-]\d{1,3}([/.-]\d{1,6})?( (đến|-) \d{1,3}/\d{1,3}(/\d+)?)?"),
)
HUGE = ["9" * 50, "1" * 100_000, "1" * 4301, "9" * 19 + " USD", "0," + "5" * 5000,
        "1" * 10_000 + " triệu", "31/12/99999", "1.2" * 3000, "\x00\x01", "²³", "١٢٣"]  # fmt: skip


def _only_parse_errors(parser, raw: str) -> None:
    with contextlib.suppress(ParseError):  # any other exception fails the test
        parser(raw)


@pytest.mark.parametrize("name", list(PARSERS))
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(raw=ODD)
def test_parsers_raise_only_their_own_error(name, raw):
    _only_parse_errors(PARSERS[name], raw)


@pytest.mark.parametrize("name", list(PARSERS))
@pytest.mark.parametrize("raw", HUGE)
def test_huge_and_odd_inputs(name, raw):
    _only_parse_errors(PARSERS[name], raw)


def test_the_reported_crashes_are_parse_errors():
    with pytest.raises(ParseError):
        parse_money("9" * 50)
    with pytest.raises(ParseError):
        parse_choice("1" * 100_000, CHOICES)


FIELDS = [(kind, spec.key) for kind, form in load_forms().items() for spec in form.fields]


@pytest.mark.parametrize(("kind", "key"), FIELDS)
@settings(max_examples=25, deadline=None)
@given(raw=st.one_of(st.text(max_size=120), NUMBERISH, st.sampled_from(HUGE)))
def test_every_field_reads_any_answer_in_context(kind, key, raw):
    form = load_forms()[kind]
    values = {"tu_ngay": datetime.date(2023, 3, 12), "den_ngay": datetime.date(2023, 3, 15)}
    with contextlib.suppress(ParseError):
        form.interpret(key, raw, {k: v for k, v in values.items() if k in form.by_key}, TODAY)
