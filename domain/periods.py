"""Reporting periods: what a report counts, up to when, and how the period reads.

Pure functions of dates and settings values; no database and no clock.

Round ids are `YYYY-H1` (6 months) and `YYYY-Y` (year). Their boundaries are day/month
pairs from settings (`round_h1_period`, `round_y_period`); a start after the end lies in
the previous year, so the Nghị định 09/2019 cut-offs (15/12 of the previous year to 14/6,
or to 14/12) are a configuration change. A coordinator may also give an explicit range.

A report is compiled on its as-of date, often before the period ends (the 6-month round is
due 25/5): it counts what happened from `start` to `effective_end = min(end, as_of)`.

How the period reads (`phrase`):
- a round whose as-of date is on or after its end, or falls in the round's last month or
  the month before it, reads as the round: "6 tháng đầu năm 2021", "năm 2023" (the 6-month
  report due 25/5 is still the 6-month report);
- a round compiled earlier reads "N tháng đầu năm YYYY" with N = the as-of month, the
  current month counted as under way ("10 tháng đầu năm 2023" for an annual report compiled
  in October, the usual "ước" practice);
- an explicit range reads "từ ngày 01/3/2023 đến ngày 31/5/2023" (to the effective end).
`as_of_phrase` gives "Tính đến ngày 20/5/2021".
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date

from domain.catalog import t
from domain.parsing import ParseError
from domain.rounds import parse_round_id

ROUND_KINDS = ("H1", "Y")


class PeriodError(ValueError):
    """A period that cannot be built; `code` is a catalogue key suffix under report.errors."""

    def __init__(self, code: str, **params: object) -> None:
        super().__init__(code)
        self.code = code
        self.params = params


@dataclass(frozen=True)
class DayMonth:
    day: int
    month: int

    @classmethod
    def parse(cls, text: str) -> DayMonth:
        """ "15/12" or "01/01"."""
        day, month = (int(part) for part in text.strip().split("/"))
        date(2000, month, day)  # validates (2000 is a leap year, so 29/2 passes)
        return cls(day, month)

    def in_year(self, year: int) -> date:
        return _safe_date(year, self.month, self.day)


@dataclass(frozen=True)
class RoundBoundaries:
    """Start and end (day/month) of the 6-month and annual rounds."""

    h1: tuple[DayMonth, DayMonth] = (DayMonth(1, 1), DayMonth(30, 6))
    year: tuple[DayMonth, DayMonth] = (DayMonth(1, 1), DayMonth(31, 12))

    @classmethod
    def from_settings(cls, settings: object) -> RoundBoundaries:
        """From `round_h1_period` and `round_y_period` ("d/m" pairs) when present."""
        default = cls()
        h1 = getattr(settings, "round_h1_period", None)
        year = getattr(settings, "round_y_period", None)
        return cls(
            h1=tuple(DayMonth.parse(x) for x in h1) if h1 else default.h1,
            year=tuple(DayMonth.parse(x) for x in year) if year else default.year,
        )

    def span(self, kind: str, year: int) -> tuple[date, date]:
        first, last = self.h1 if kind == "H1" else self.year
        end = last.in_year(year)
        start = first.in_year(year)
        if start > end:
            start = first.in_year(year - 1)
        return start, end


@dataclass(frozen=True)
class Period:
    """What a report covers. `label` is the round id ("2021-H1") or "" for a range.

    `round_ids` are the rounds whose per-round records (difficulties, proposals, next-period
    tasks) belong to the report: the round itself, or for a range the rounds it contains.
    """

    start: date
    end: date
    as_of: date
    label: str = ""
    round_ids: tuple[str, ...] = ()

    @property
    def effective_end(self) -> date:
        return min(self.end, self.as_of)

    @property
    def kind(self) -> str:
        """ "H1", "Y" or "" for an explicit range."""
        return self.label.partition("-")[2] if self.label else ""

    @property
    def year(self) -> int:
        """The year the period is named after: the round's year, or the end's year."""
        return int(self.label[:4]) if self.label else self.end.year

    @property
    def is_partial(self) -> bool:
        return self.as_of < self.end

    @property
    def comparable(self) -> bool:
        """A "so với cùng kỳ" comparison makes sense: the period spans at most a year, so
        it does not overlap the same span a year earlier."""
        return _shift_year(self.start, 1) > self.end

    @property
    def years(self) -> list[int]:
        """The calendar years the period touches (a term report spans several)."""
        return list(range(self.start.year, self.effective_end.year + 1))

    def clipped_to_year(self, year: int) -> Period:
        """The part of the period within one calendar year (for per-year breakdowns)."""
        return replace(
            self,
            start=max(self.start, date(year, 1, 1)),
            end=min(self.end, date(year, 12, 31)),
            as_of=min(self.as_of, date(year, 12, 31)),
        )

    def contains(self, day: date) -> bool:
        """Within start .. effective end (what the report counts as done)."""
        return self.start <= day <= self.effective_end

    @property
    def months_elapsed(self) -> int:
        """The as-of month within the period's year (the month under way counts)."""
        if not self.is_partial:
            return self.end.month
        return self.as_of.month if self.as_of.year == self.year else 0

    @property
    def reads_as_round(self) -> bool:
        return bool(self.label) and (
            not self.is_partial or self.months_elapsed >= self.end.month - 1
        )

    def phrase(self) -> str:
        """ "6 tháng đầu năm 2021", "năm 2023", "10 tháng đầu năm 2023", or a date range."""
        if self.label and self.reads_as_round:
            return t(f"report.period.{self.kind.lower()}", year=self.year)
        if self.label and self.months_elapsed > 0:
            return t("report.period.months", months=self.months_elapsed, year=self.year)
        return t("report.period.range", start=self.start, end=self.effective_end)

    def round_phrase(self) -> str:
        """The round's own name regardless of the as-of date (titles of the document)."""
        if self.label:
            return t(f"report.period.{self.kind.lower()}", year=self.year)
        return t("report.period.range", start=self.start, end=self.end)

    def next_phrase(self) -> str:
        """What the tasks section plans for: "6 tháng cuối năm 2021", "năm 2024", or
        "thời gian tới" for a range."""
        kind = self.kind.lower() if self.label else "range"
        return t(f"report.period.next_{kind}", year=self.year)

    def as_of_phrase(self) -> str:
        """ "Tính đến ngày 20/5/2021"."""
        return t("report.period.as_of", day=self.effective_end)


def parse_round(round_id: str) -> tuple[int, str]:
    """(year, kind) of a recurring round ("2021-H1", "năm 2023"); PeriodError otherwise.
    The grammar is the chat's (domain.rounds.parse_round_id)."""
    try:
        canonical = parse_round_id(round_id)
    except ParseError as error:
        raise PeriodError("bad_round", value=round_id) from error
    year, _, kind = canonical.partition("-")
    if kind not in ROUND_KINDS:
        raise PeriodError("bad_round", value=round_id)
    return int(year), kind


def round_period(round_id: str, as_of: date, boundaries: RoundBoundaries | None = None) -> Period:
    """The period of a recurring round, counted up to `as_of`."""
    year, kind = parse_round(round_id)
    start, end = (boundaries or RoundBoundaries()).span(kind, year)
    if as_of < start:
        raise PeriodError("as_of_before_start", as_of=as_of, start=start)
    label = f"{year}-{kind}"
    return Period(start, end, as_of, label, (label,))


def range_period(
    start: date, end: date, as_of: date | None = None, boundaries: RoundBoundaries | None = None
) -> Period:
    """An explicit range; per-round records of the rounds lying inside it belong to it."""
    if end < start:
        raise PeriodError("end_before_start", start=start, end=end)
    as_of = as_of or end
    if as_of < start:
        raise PeriodError("as_of_before_start", as_of=as_of, start=start)
    spans = boundaries or RoundBoundaries()
    inside = []
    for year in range(start.year, end.year + 2):
        for kind in ROUND_KINDS:
            first, last = spans.span(kind, year)
            if start <= first and last <= end:
                inside.append(f"{year}-{kind}")
    return Period(start, end, as_of, "", tuple(inside))


def previous_year(period: Period) -> Period:
    """The same span one year earlier, up to the same day of the year (cùng kỳ)."""
    label = f"{period.year - 1}-{period.kind}" if period.label else ""
    return replace(
        period,
        start=_shift_year(period.start),
        end=_shift_year(period.end),
        as_of=_shift_year(period.as_of),
        label=label,
        round_ids=tuple(f"{int(r[:4]) - 1}{r[4:]}" for r in period.round_ids),
    )


def _shift_year(day: date, years: int = -1) -> date:
    return _safe_date(day.year + years, day.month, day.day)


def _safe_date(year: int, month: int, day: int) -> date:
    """29/2 in a common year becomes 28/2."""
    try:
        return date(year, month, day)
    except ValueError:
        return date(year, month, day - 1)
