"""Figures of a report: a pure function of records and a period (no database, no I/O).

`aggregate(records, period)` counts what was done from the period's start to its effective
end, and the same for the same span a year earlier (cùng kỳ). Every count and sum is a
`Metric`: an int that also knows its previous-year value and how it changed, so templates
write `{{ f.conferences.count | count }}` and `{{ m.so_sanh(f.conferences.count, ...) }}`.

Rules:
- Only done activities are results: `trang_thai` da_thuc_hien / da_to_chuc / da_ky; types
  without `trang_thai` always count. Planned ones (ke_hoach, du_kien) dated from the period
  start up to one year after its end go to the plan lists used by the annexes.
- Per-round types (kho_khan, de_xuat, phuong_huong) are selected by round id, not by date.
- Periodic figures (so_lieu) are running totals: per indicator and unit the latest value on
  or before the cut-off counts, summed over units. Indicator `khac` is told apart by its
  note (`ghi_chu`).
- A comparison exists only when the previous-year period holds at least one record of the
  type (a system that started collecting this year says nothing about last year), and
  only for a period of at most a year (a longer one would overlap its comparison span).
- A period over several calendar years also has the figures of each year (`by_year`).
- `coverage` tells which units have confirmed the round: a sentence saying that nothing
  happened is only supported when every unit has confirmed (`Figures.complete`).
- Deleted records (deleted_at set) never count.
"""

from __future__ import annotations

import re
import sys
from collections.abc import AsyncIterable, AsyncIterator, Iterable, Mapping
from dataclasses import InitVar, dataclass, field, fields, is_dataclass
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from domain.countries import canonical_country, split_countries
from domain.forms import Form, load_forms
from domain.parsing import fold
from domain.periods import Period, previous_year

DONE = frozenset({"da_thuc_hien", "da_to_chuc", "da_ky"})
PER_ROUND_KINDS = ("kho_khan", "de_xuat", "phuong_huong")
PLAN_HORIZON = timedelta(days=366)

# Control characters XML cannot hold, and the private-use block the renderer uses as
# markers; neither belongs in a report.
_UNSAFE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ue000-\uf8ff\ufffe\uffff]")


def clean_text(value: Any) -> Any:
    """User text fit for a report: no unsafe characters, and its line breaks folded into
    spaces, so that a value is one run of text (it cannot start a heading or paragraph)."""
    return " ".join(_UNSAFE.sub("", value).split()) if isinstance(value, str) else value


def _stored(value: Any) -> Any:
    """A value as the database stores it (dates as ISO text), cleaned."""
    return value.isoformat() if isinstance(value, date) else clean_text(value)


# --- records ----------------------------------------------------------------------------


@dataclass(slots=True)
class ReportRecord:
    """A record as the report sees it: its unit's name and its typed, cleaned values.

    `values` (the JSON as stored) is read once: `data` keeps the typed values (dates as
    dates) that are set, cleaned of characters a document cannot hold; a field that is not
    set reads as None. Templates read fields as attributes: `r.ten_doan`. A national
    report holds 150,000 of these, so repeated strings (units, choice keys) are shared.
    """

    kind: str
    unit: str
    event_date: date | None = None
    round_id: str | None = None
    values: InitVar[Mapping[str, Any] | None] = None
    id: int | None = None
    deleted: bool = False
    data: dict[str, Any] = field(init=False, repr=False)

    def __post_init__(self, values: Mapping[str, Any] | None) -> None:
        form = load_forms().get(self.kind)
        stored = {k: _stored(v) for k, v in (values or {}).items() if v is not None and v != ""}
        self.kind = sys.intern(self.kind)
        self.unit = sys.intern(clean_text(self.unit))
        if form is None:
            self.data = stored
            return
        self.data = {
            key: sys.intern(value) if isinstance(value, str) and len(value) < 40 else value
            for key, value in form.values_from_json(stored).items()
        }
        if self.event_date is None and form.date_field:
            self.event_date = self.data.get(form.date_field)
        if self.round_id is None and form.round_field:
            self.round_id = self.data.get(form.round_field)

    def __getitem__(self, key: str) -> Any:
        return self.data.get(key)

    def get(self, key: str, default: Any = None) -> Any:
        value = self.data.get(key)
        return default if value is None else value

    @property
    def form(self) -> Form | None:
        return load_forms().get(self.kind)

    @property
    def done(self) -> bool:
        """A result (not a plan): types without a status always are."""
        form = self.form
        if form is None or "trang_thai" not in form.by_key:
            return True
        return self.data.get("trang_thai") in DONE

    def display(self, key: str) -> str:
        """The value as a person reads it (choice labels, có/không, 1.700)."""
        form = self.form
        if form is None or key not in form.by_key:
            return str(self.data.get(key) or "")
        value = self.data.get(key)
        return "" if value is None or value == "" else form.field(key).display(value)


async def report_records(rows: AsyncIterable[Any]) -> AsyncIterator[ReportRecord]:
    """ReportRecords from the rows storage.repo.stream_records_between yields."""
    async for row in rows:
        yield ReportRecord(
            kind=row.kind,
            unit=row.unit,
            event_date=row.event_date,
            round_id=row.round_id,
            values=row.values,
            id=row.id,
        )


def coerce(item: Any) -> ReportRecord:
    """Accept a ReportRecord, a dict or any object with the same names."""
    if isinstance(item, ReportRecord):
        return item
    get = item.get if isinstance(item, Mapping) else lambda k, d=None: getattr(item, k, d)
    return ReportRecord(
        kind=get("kind"),
        unit=get("unit") or get("don_vi") or "",
        event_date=get("event_date"),
        round_id=get("round_id"),
        values=get("values") or {},
        id=get("id"),
        deleted=bool(get("deleted") or get("deleted_at")),
    )


# --- metrics ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Change:
    """How a figure moved against the same period a year earlier."""

    current: int
    previous: int

    @property
    def direction(self) -> str:
        """ "tang", "giam" or "bang"."""
        if self.current > self.previous:
            return "tang"
        return "giam" if self.current < self.previous else "bang"

    @property
    def difference(self) -> int:
        return abs(self.current - self.previous)

    @property
    def percent(self) -> int | None:
        """Whole percent of the change (35 for 2.139 against 1.584); None from zero."""
        if not self.previous:
            return None
        ratio = Decimal(self.difference) * 100 / Decimal(self.previous)
        return int(ratio.quantize(Decimal(1), rounding=ROUND_HALF_UP))


class Metric(int):
    """An int with its previous-year value (None when there is nothing to compare)."""

    previous: int | None

    def __new__(cls, value: int, previous: int | None = None) -> Metric:
        metric = super().__new__(cls, value)
        metric.previous = previous
        return metric

    @property
    def change(self) -> Change | None:
        return None if self.previous is None else Change(int(self), self.previous)


# --- sections ---------------------------------------------------------------------------


@dataclass
class Outgoing:
    count: int = 0
    people: int = 0
    led_by_leader: int = 0
    countries: list[str] = field(default_factory=list)
    items: list[ReportRecord] = field(default_factory=list)
    planned: list[ReportRecord] = field(default_factory=list)


@dataclass
class Incoming:
    count: int = 0
    visitors: int = 0
    received_by_leader: int = 0
    by_type: dict[str, int] = field(default_factory=dict)
    items: list[ReportRecord] = field(default_factory=list)
    received: list[ReportRecord] = field(default_factory=list)
    planned: list[ReportRecord] = field(default_factory=list)

    @property
    def types(self) -> list[str]:
        """The kinds of visitors (loai_khach keys) that came, in the form's order."""
        return [key for key, count in self.by_type.items() if count]


@dataclass
class Conferences:
    count: int = 0
    delegates_vn: int = 0
    delegates_foreign: int = 0
    delegates_from_abroad: int = 0
    budget_vnd: int = 0
    items: list[ReportRecord] = field(default_factory=list)
    planned: list[ReportRecord] = field(default_factory=list)


@dataclass
class Agreements:
    count: int = 0
    by_level: dict[str, list[ReportRecord]] = field(default_factory=dict)
    items: list[ReportRecord] = field(default_factory=list)
    planned: list[ReportRecord] = field(default_factory=list)

    @property
    def listed(self) -> list[ReportRecord]:
        """Signed and expected agreements together, by date (the Mẫu 06.1 table)."""
        return sorted(self.items + self.planned, key=_by_date)


@dataclass
class Aid:
    committed_usd: int = 0
    disbursed_usd: int = 0
    projects: int = 0
    organisations: list[str] = field(default_factory=list)
    items: list[ReportRecord] = field(default_factory=list)


@dataclass
class Registrations:
    count: int = 0
    organisations: list[str] = field(default_factory=list)
    forms: list[str] = field(default_factory=list)
    items: list[ReportRecord] = field(default_factory=list)


@dataclass
class Consular:
    count: int = 0
    by_kind: dict[str, int] = field(default_factory=dict)
    items_by_kind: dict[str, list[ReportRecord]] = field(default_factory=dict)
    items: list[ReportRecord] = field(default_factory=list)


@dataclass
class CountryAwards:
    country: str
    groups: int = 0
    persons: int = 0


@dataclass
class Awards:
    count: int = 0
    groups: int = 0
    persons: int = 0
    by_country: list[CountryAwards] = field(default_factory=list)
    items: list[ReportRecord] = field(default_factory=list)


@dataclass
class PeriodicFigure:
    indicator: str
    note: str
    value: int = 0
    as_of: date | None = None
    units: int = 0


@dataclass
class Narratives:
    other: dict[str, list[ReportRecord]] = field(default_factory=dict)
    overseas: list[ReportRecord] = field(default_factory=list)
    overseas_donations_vnd: int = 0
    information: list[ReportRecord] = field(default_factory=list)
    border: list[ReportRecord] = field(default_factory=list)
    remains: int = 0


@dataclass
class Documents:
    """van_ban: documents drafted for a higher body or issued by a unit."""

    count: int = 0
    by_body: dict[str, list[ReportRecord]] = field(default_factory=dict)
    items: list[ReportRecord] = field(default_factory=list)


@dataclass
class Events:
    """su_kien: notable events, by the report section and the form they belong to."""

    count: int = 0
    with_leader: int = 0
    foreign_guests: int = 0
    items: list[ReportRecord] = field(default_factory=list)

    def grouped(self, *sections: str) -> dict[str, list[ReportRecord]]:
        """The events of these sections (linh_vuc keys) by form (hinh_thuc key), in the
        form's order of choices."""
        chosen = [r for r in self.items if r.get("linh_vuc") in sections]
        return _grouped(chosen, "su_kien", "hinh_thuc")


@dataclass(frozen=True)
class Coverage:
    """Which units have confirmed their report for the round the report covers."""

    round_id: str
    units: int
    pending: tuple[str, ...]  # names of the units that have not confirmed
    changed: tuple[str, ...] = ()  # confirmed, then changed their records

    @property
    def confirmed(self) -> int:
        return self.units - len(self.pending)


@dataclass
class Figures:
    period: Period
    previous_period: Period
    outgoing: Outgoing
    incoming: Incoming
    conferences: Conferences
    agreements: Agreements
    aid: Aid
    registrations: Registrations
    consular: Consular
    awards: Awards
    periodic: dict[str, PeriodicFigure]
    narratives: Narratives
    documents: Documents
    events: Events
    difficulties: list[ReportRecord]
    proposals: list[ReportRecord]
    tasks: list[ReportRecord]
    records: list[ReportRecord]
    coverage: Coverage | None = None
    by_year: dict[int, Figures] = field(default_factory=dict)

    @property
    def complete(self) -> bool:
        """Every unit has confirmed the round: a missing record means nothing happened."""
        return self.coverage is not None and not self.coverage.pending

    @property
    def units(self) -> list[str]:
        """The units whose records the report counts, in order of first appearance."""
        return _unique(r.unit for r in self.records)

    def indicator(self, key: str) -> PeriodicFigure | None:
        return self.periodic.get(key)

    def other_indicators(self, *excluded: str) -> list[PeriodicFigure]:
        """The `khac` figures (told apart by their note), in order of appearance, except
        those whose note contains one of the `excluded` phrases (placed elsewhere)."""
        left_out = [fold(phrase) for phrase in excluded]
        return [
            fig
            for fig in self.periodic.values()
            if fig.indicator == "khac" and not any(p in fold(fig.note) for p in left_out)
        ]

    def indicator_noted(self, phrase: str, excluding: str = "") -> PeriodicFigure | None:
        """The first `khac` figure whose note contains `phrase` and not `excluding`
        (accents and case ignored): "hồ sơ thủ tục hành chính", "quá hạn"."""
        wanted, unwanted = fold(phrase), fold(excluding)
        return next(
            (
                fig
                for fig in self.other_indicators()
                if wanted in fold(fig.note) and not (unwanted and unwanted in fold(fig.note))
            ),
            None,
        )

    def other_results(self, *fields_wanted: str) -> list[ReportRecord]:
        """ket_qua_khac whose field (linh_vuc) is one of these, accent- and case-blind."""
        wanted = {fold(name) for name in fields_wanted}
        return [r for name, rs in self.narratives.other.items() if fold(name) in wanted for r in rs]

    def other_results_except(self, *fields_taken: str) -> dict[str, list[ReportRecord]]:
        """ket_qua_khac grouped by field, leaving out fields a template placed elsewhere."""
        taken = {fold(name) for name in fields_taken}
        return {k: v for k, v in self.narratives.other.items() if fold(k) not in taken}

    def records_of(self, kind: str) -> list[ReportRecord]:
        return [r for r in self.records if r.kind == kind]


# --- aggregation ------------------------------------------------------------------------


def aggregate(records: Iterable[Any], period: Period, coverage: Coverage | None = None) -> Figures:
    """The figures of `period` from every record given (other periods' are ignored)."""
    live = [r for r in map(coerce, records) if not r.deleted]
    previous = previous_year(period)
    current = _Sections.compute(live, period)
    before = _Sections.compute(live, previous)
    compared_kinds = (
        {r.kind for r in live if _dated_in(r, previous)} if period.comparable else set()
    )
    current.attach_previous(before, compared_kinds)
    plans = _plans(live, period)
    current.outgoing.planned = plans.get("doan_ra", [])
    current.incoming.planned = plans.get("doan_vao", [])
    current.conferences.planned = plans.get("hoi_nghi", [])
    current.agreements.planned = plans.get("thoa_thuan", [])
    in_round = [r for r in live if r.kind in PER_ROUND_KINDS and r.round_id in period.round_ids]
    return Figures(
        period=period,
        previous_period=previous,
        outgoing=current.outgoing,
        incoming=current.incoming,
        conferences=current.conferences,
        agreements=current.agreements,
        aid=current.aid,
        registrations=current.registrations,
        consular=current.consular,
        awards=current.awards,
        periodic=current.periodic,
        narratives=current.narratives,
        documents=current.documents,
        events=current.events,
        difficulties=[r for r in in_round if r.kind == "kho_khan"],
        proposals=[r for r in in_round if r.kind == "de_xuat"],
        tasks=[r for r in in_round if r.kind == "phuong_huong"],
        records=sorted([r for r in live if _dated_in(r, period)] + in_round, key=lambda r: r.kind),
        coverage=coverage,
        by_year=_by_year(live, period),
    )


def _by_year(records: list[ReportRecord], period: Period) -> dict[int, Figures]:
    """The figures of each calendar year of a period spanning several."""
    years = period.years
    if len(years) < 2:
        return {}
    return {year: aggregate(records, period.clipped_to_year(year)) for year in years}


def plan_horizon(period: Period) -> date:
    """The last day whose planned activities the annexes list."""
    return period.end + PLAN_HORIZON


def _dated_in(record: ReportRecord, period: Period) -> bool:
    return record.event_date is not None and period.contains(record.event_date)


def _plans(records: list[ReportRecord], period: Period) -> dict[str, list[ReportRecord]]:
    plans: dict[str, list[ReportRecord]] = {}
    for record in records:
        day = record.event_date
        if record.done or day is None or not period.start <= day <= plan_horizon(period):
            continue
        plans.setdefault(record.kind, []).append(record)
    return {kind: sorted(items, key=_by_date) for kind, items in plans.items()}


def _by_date(record: ReportRecord) -> tuple[date, int]:
    return record.event_date or date.min, record.id or 0


class _Sections:
    """Every section computed over the done records of one period, with plain ints."""

    SECTIONS = (
        "outgoing",
        "incoming",
        "conferences",
        "agreements",
        "aid",
        "registrations",
        "consular",
        "awards",
        "narratives",
        "documents",
        "events",
    )
    KINDS = {
        "outgoing": ("doan_ra",),
        "incoming": ("doan_vao",),
        "conferences": ("hoi_nghi",),
        "agreements": ("thoa_thuan",),
        "aid": ("vien_tro",),
        "registrations": ("dang_ky_pcpnn",),
        "consular": ("lanh_su",),
        "awards": ("khen_thuong",),
        "documents": ("van_ban",),
        "events": ("su_kien",),
    }
    NARRATIVE_KINDS = {
        "overseas_donations_vnd": "nguoi_vn_nn",
        "remains": "bien_gioi",
    }

    def __init__(self) -> None:
        self.outgoing = Outgoing()
        self.incoming = Incoming()
        self.conferences = Conferences()
        self.agreements = Agreements()
        self.aid = Aid()
        self.registrations = Registrations()
        self.consular = Consular()
        self.awards = Awards()
        self.periodic: dict[str, PeriodicFigure] = {}
        self.narratives = Narratives()
        self.documents = Documents()
        self.events = Events()

    @classmethod
    def compute(cls, records: list[ReportRecord], period: Period) -> _Sections:
        sections = cls()
        done = sorted((r for r in records if r.done and _dated_in(r, period)), key=_by_date)
        by_kind: dict[str, list[ReportRecord]] = {}
        for record in done:
            by_kind.setdefault(record.kind, []).append(record)
        sections._outgoing(by_kind.get("doan_ra", []))
        sections._incoming(by_kind.get("doan_vao", []))
        sections._conferences(by_kind.get("hoi_nghi", []))
        sections._agreements(by_kind.get("thoa_thuan", []))
        sections._aid(by_kind.get("vien_tro", []))
        sections._registrations(by_kind.get("dang_ky_pcpnn", []))
        sections._consular(by_kind.get("lanh_su", []))
        sections._awards(by_kind.get("khen_thuong", []))
        sections._periodic(by_kind.get("so_lieu", []))
        sections._narratives(by_kind)
        sections._documents(by_kind.get("van_ban", []))
        sections._events(by_kind.get("su_kien", []))
        return sections

    def _outgoing(self, items: list[ReportRecord]) -> None:
        section = self.outgoing
        section.items = items
        section.count = len(items)
        section.people = sum(r.get("so_nguoi", 0) for r in items)
        section.led_by_leader = sum(1 for r in items if r.get("lanh_dao_tinh"))
        section.countries = _unique(
            _country(name) for r in items for name in split_countries(r.get("nuoc_den", ""))
        )

    def _incoming(self, items: list[ReportRecord]) -> None:
        section = self.incoming
        section.items = items
        section.count = len(items)
        section.visitors = sum(r.get("so_nguoi", 0) for r in items)
        section.received = [r for r in items if r.get("lanh_dao_tinh_tiep")]
        section.received_by_leader = len(section.received)
        section.by_type = _counts(items, "doan_vao", "loai_khach")

    def _conferences(self, items: list[ReportRecord]) -> None:
        section = self.conferences
        section.items = items
        section.count = len(items)
        section.delegates_vn = sum(r.get("dai_bieu_viet_nam", 0) for r in items)
        section.delegates_from_abroad = sum(r.get("dai_bieu_nn_tu_nuoc_ngoai", 0) for r in items)
        section.delegates_foreign = section.delegates_from_abroad + sum(
            r.get("dai_bieu_nn_trong_nuoc", 0) for r in items
        )
        section.budget_vnd = sum(r.get("kinh_phi_vnd", 0) for r in items)

    def _agreements(self, items: list[ReportRecord]) -> None:
        section = self.agreements
        section.items = items
        section.count = len(items)
        section.by_level = _grouped(items, "thoa_thuan", "cap_ky")

    def _aid(self, items: list[ReportRecord]) -> None:
        section = self.aid
        section.items = items
        section.projects = len(items)
        section.committed_usd = sum(r.get("cam_ket_usd", 0) for r in items)
        section.disbursed_usd = sum(r.get("giai_ngan_usd", 0) for r in items)
        section.organisations = _unique(r.get("to_chuc", "") for r in items)

    def _registrations(self, items: list[ReportRecord]) -> None:
        section = self.registrations
        section.items = items
        section.count = len(items)
        section.organisations = _unique(r.get("to_chuc", "") for r in items)
        present = {r.get("hinh_thuc") for r in items}
        section.forms = [
            key for key in _choice_keys("dang_ky_pcpnn", "hinh_thuc") if key in present
        ]

    def _consular(self, items: list[ReportRecord]) -> None:
        section = self.consular
        section.items = items
        section.count = len(items)
        kinds = _choice_keys("lanh_su", "loai_vu_viec")
        section.items_by_kind = {k: [r for r in items if r.get("loai_vu_viec") == k] for k in kinds}
        section.by_kind = {k: len(rs) for k, rs in section.items_by_kind.items()}

    def _awards(self, items: list[ReportRecord]) -> None:
        section = self.awards
        section.items = items
        section.count = len(items)
        by_country: dict[str, CountryAwards] = {}
        for record in items:
            country = _country(record.get("nuoc", ""))
            entry = by_country.setdefault(country, CountryAwards(country))
            if record.get("loai_doi_tuong") == "tap_the":
                entry.groups += 1
            else:
                entry.persons += 1
        # Most awarded first; ties keep the order of first appearance.
        section.by_country = sorted(by_country.values(), key=lambda c: -(c.groups + c.persons))
        section.groups = sum(c.groups for c in section.by_country)
        section.persons = sum(c.persons for c in section.by_country)

    def _periodic(self, items: list[ReportRecord]) -> None:
        latest: dict[tuple[str, str], ReportRecord] = {}
        for record in items:  # sorted by date, so a later one replaces an earlier one
            latest[(_indicator_key(record), record.unit)] = record
        for (key, _unit), record in latest.items():
            figure = self.periodic.setdefault(
                key, PeriodicFigure(record.get("chi_tieu"), record.get("ghi_chu", ""))
            )
            figure.value += record.get("gia_tri", 0)
            figure.units += 1
            if figure.as_of is None or record.event_date > figure.as_of:
                figure.as_of = record.event_date

    def _narratives(self, by_kind: dict[str, list[ReportRecord]]) -> None:
        section = self.narratives
        spelling: dict[str, str] = {}  # folded field name -> the first spelling seen
        for record in by_kind.get("ket_qua_khac", []):
            name = record.get("linh_vuc", "").strip()
            name = spelling.setdefault(fold(name), name)
            section.other.setdefault(name, []).append(record)
        section.overseas = by_kind.get("nguoi_vn_nn", [])
        section.overseas_donations_vnd = sum(r.get("so_tien_vnd", 0) for r in section.overseas)
        section.information = by_kind.get("thong_tin_dn", [])
        section.border = by_kind.get("bien_gioi", [])
        section.remains = sum(r.get("so_hai_cot", 0) for r in section.border)

    def _documents(self, items: list[ReportRecord]) -> None:
        section = self.documents
        section.items = items
        section.count = len(items)
        section.by_body = _grouped(items, "van_ban", "co_quan_ban_hanh")

    def _events(self, items: list[ReportRecord]) -> None:
        section = self.events
        section.items = items
        section.count = len(items)
        section.with_leader = sum(1 for r in items if r.get("lanh_dao_tinh"))
        section.foreign_guests = sum(r.get("so_dai_bieu_nn", 0) for r in items)

    # -- previous year ------------------------------------------------------------------

    def attach_previous(self, before: _Sections, compared_kinds: set[str]) -> None:
        """Turn every int into a Metric carrying last year's value (or None)."""
        for name in self.SECTIONS:
            kinds = self.KINDS.get(name, ())
            _attach(getattr(self, name), getattr(before, name), compared_kinds, kinds)
        compare_periodic = "so_lieu" in compared_kinds
        for key, figure in self.periodic.items():
            old = before.periodic.get(key)
            previous = old.value if old is not None else None
            figure.value = Metric(figure.value, previous if compare_periodic else None)


def _attach(section: Any, before: Any, compared: set[str], kinds: tuple[str, ...]) -> None:
    for spec in fields(section):
        value = getattr(section, spec.name)
        old = getattr(before, spec.name)
        section_kinds = kinds or (_Sections.NARRATIVE_KINDS.get(spec.name, ""),)
        comparable = any(kind in compared for kind in section_kinds)
        if isinstance(value, int) and not isinstance(value, bool):
            setattr(section, spec.name, Metric(value, old if comparable else None))
        elif isinstance(value, dict) and all(isinstance(v, int) for v in value.values()):
            setattr(
                section,
                spec.name,
                {k: Metric(v, old.get(k, 0) if comparable else None) for k, v in value.items()},
            )
        elif is_dataclass(value):
            _attach(value, old, compared, kinds)


def _indicator_key(record: ReportRecord) -> str:
    indicator = record.get("chi_tieu", "khac")
    if indicator != "khac":
        return indicator
    return f"khac:{fold(record.get('ghi_chu', ''))}"


def _country(name: str) -> str:
    """The canonical name of a country ("Lao", "CHDCND Lào" -> "Lào"), so that a report
    counts one country once however it was typed; an organisation stays as written."""
    return canonical_country(name) or name.strip()


def _choice_keys(kind: str, key: str) -> list[str]:
    return [choice for choice, _label in load_forms()[kind].field(key).choices]


def _grouped(items: list[ReportRecord], kind: str, key: str) -> dict[str, list[ReportRecord]]:
    """Records by the value of a choice field, in the order of its choices; empty groups
    left out."""
    grouped = {
        choice: [r for r in items if r.get(key) == choice] for choice in _choice_keys(kind, key)
    }
    return {choice: records for choice, records in grouped.items() if records}


def _counts(items: list[ReportRecord], kind: str, key: str) -> dict[str, int]:
    return {c: sum(1 for r in items if r.get(key) == c) for c in _choice_keys(kind, key)}


def _unique(names: Iterable[str]) -> list[str]:
    seen: dict[str, str] = {}
    for name in names:
        name = name.strip()
        if name and fold(name) not in seen:
            seen[fold(name)] = name
    return list(seen.values())
