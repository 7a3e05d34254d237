"""Render a report template (templates/report/*.md.j2) into a marked-up document.

The environment is the catalogue's (`make_environment()`, with the Vietnamese filters)
plus a loader on this folder, `protect` as finalize (printed values stay literal) and a few
report filters. Templates extend `_khung.md.j2`, whose named blocks are the parts of an
official document; the .docx writer lays each block out, the Markdown is the whole render.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from functools import cache
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from jinja2 import Environment, FileSystemLoader

from domain.catalog import make_environment, t
from domain.forms import load_forms
from domain.parsing import fold
from templates.report import markup
from templates.report.figures import Figures, ReportRecord, clean_text
from templates.report.header import Header, recipients_without
from templates.report.standing import Standing, standing_function

TEMPLATE_DIR = Path(__file__).resolve().parent
TEMPLATES = {
    "6thang": "bao_cao_6_thang.md.j2",
    "nam": "bao_cao_nam.md.j2",
    "bo_ngoai_giao": "bao_cao_bo_ngoai_giao.md.j2",
    "kh_dt": "bao_cao_so_kh_dt.md.j2",
}
# The day of the date is left blank for the signing day: "ngày      tháng 10 năm 2023".
BLANK_DAY = "\u00a0" * 6
PARTS = (
    "co_quan_chu_quan",
    "co_quan_ban_hanh",
    "so_ky_hieu",
    "quoc_hieu",
    "tieu_ngu",
    "dia_danh_ngay",
    "loai_van_ban",
    "trich_yeu",
    "kinh_gui_dong",
    "noi_dung",
    "noi_nhan_tieu_de",
    "noi_nhan",
    "chuc_vu_ky",
    "nguoi_ky",
)


@dataclass
class RenderedReport:
    """A rendered template: the whole Markdown source and each part, with markers."""

    template: str
    source: str
    parts: dict[str, str]
    notes: list[str]
    refs: list[list[int]] = field(default_factory=list)  # record ids behind each figure
    sections: list[str] = field(default_factory=list)  # standing-text sections, in order

    def markdown(self) -> str:
        return markup.markdown(self.source, self.notes)

    def lines(self, part: str) -> list[str]:
        """A heading part as plain lines (organisation names, recipients, signer)."""
        return _lines(markup.plain(self.parts.get(part, "")))


def template_file(name: str) -> str:
    """ "6thang" -> "bao_cao_6_thang.md.j2"; a file name is accepted as is."""
    if name in TEMPLATES:
        return TEMPLATES[name]
    if (TEMPLATE_DIR / name).is_file() and not name.startswith("_"):
        return name
    raise KeyError(name)


def render(template_name: str, context: dict[str, Any]) -> RenderedReport:
    """Render the whole document, then each part alone (the blocks as resolved)."""
    env = report_environment()
    template = env.get_template(template_file(template_name))
    notes: list[str] = []
    refs: list[list[int]] = []
    sections: list[str] = []

    def note(text: object) -> markup.TemplateText:
        notes.append(_one_line(markup.plain(str(text))))
        return markup.note_mark(len(notes) - 1)

    def ref(text: object, records: Iterable[ReportRecord]) -> markup.TemplateText:
        refs.append([r.id for r in records if r.id is not None])
        return markup.reference(len(refs) - 1, str(text))

    def standing(key: str) -> markup.TemplateText:
        if key not in sections:
            sections.append(key)
        return context["standing"](key)

    extra = {"note": note, "ref": ref, "standing": standing}
    jinja_context = template.new_context({**context, **extra})
    try:
        source = "".join(template.root_render_func(jinja_context))
        parts = {
            name: "".join(jinja_context.blocks[name][0](jinja_context))
            for name in PARTS
            if name in jinja_context.blocks
        }
    except Exception:
        env.handle_exception()
    return RenderedReport(template_name, source, parts, notes, refs, sections)


def report_context(
    figures: Figures,
    settings: Any,
    compiled_on: date,
    header: Header | None = None,
    texts: Mapping[str, Standing] | None = None,
) -> dict[str, Any]:
    """What every report template sees."""
    period = figures.period
    header = header or Header()
    signed = header.sign_date or compiled_on
    return {
        "f": figures,
        "p": period,
        "pp": figures.previous_period,
        "cfg": settings,
        "ky": period.phrase(),
        "ky_ten": period.round_phrase(),
        "nam_bao_cao": period.year,
        "nam_truoc": period.year - 1,
        "nam_sau": period.year + 1,
        "ky_toi": period.next_phrase(),
        "ngay_lap": compiled_on,
        # The year the plan annexes (Mẫu 04, 05) are for: the next one in an annual report.
        "nam_ke_hoach": period.year + 1 if period.kind == "Y" else period.year,
        "partnerships": load_partnerships(getattr(settings, "partnerships_file", None)),
        "hdr": header,
        "standing": standing_function(texts or {}),
        # Nghị định 30/2020: days below 10 and months 1 and 2 take a leading zero.
        "ngay": f"{signed.day:02d}" if header.sign_date else BLANK_DAY,
        "thang": f"{signed.month:02d}" if signed.month < 3 else str(signed.month),
        "nam": str(signed.year),
    }


@cache
def report_environment() -> Environment:
    env = make_environment()
    env.loader = FileSystemLoader(TEMPLATE_DIR)
    env.finalize = markup.protect
    env.filters.update(
        lowerfirst=lower_first,
        upperfirst=upper_first,
        bare=bare,
        nice=round_nicely,
        plain=markup.plain,
        lines=_lines,
        cite=cite,
        month=month_phrase,
        at=figure_at,
        ten_doi_tac=partner_name,
        planned_item=planned_item,
        without_addressee=lambda lines, addressee: recipients_without(addressee, lines),
    )
    env.globals["choice_label"] = choice_label
    env.globals["gap"] = markup.gap
    env.globals["m"] = env.get_template("_macros.md.j2").module
    return env


# --- filters ----------------------------------------------------------------------------


def lower_first(text: str) -> str:
    """ "Hồ sơ thủ tục" -> "hồ sơ thủ tục"; "UBND tỉnh" and "CNLS" stay."""
    text = str(text)
    if len(text) > 1 and text[1].isupper():
        return text
    return text[:1].lower() + text[1:]


def upper_first(text: str) -> str:
    text = str(text)
    return text[:1].upper() + text[1:]


def bare(text: str) -> str:
    """User text without a leading dash or bullet and without closing punctuation, so a
    template can place it in its own list or sentence."""
    return str(text).strip().lstrip("-–•+ ").rstrip(".;,: ")


def round_nicely(value: int) -> int:
    """The nearest round figure to write with "trên"/"gần": steps of 10^(k-1) when the
    leading digit is below 5, of 5·10^(k-1) otherwise (612.500 -> 600.000; 1.460.000 ->
    1.500.000; 250.000 stays). The template says "trên" when it is below the value, "gần"
    when above."""
    value = int(value)
    if value < 10:
        return value
    digits = len(str(abs(value)))
    leading = abs(value) // 10 ** (digits - 1)
    step = 10 ** (digits - 2) * (1 if leading < 5 else 5)
    return int((Decimal(value) / step).quantize(Decimal(1), rounding=ROUND_HALF_UP) * step)


def choice_label(kind: str, key: str, value: str) -> str:
    """The label of a choice as activities.toml names it."""
    return dict(load_forms()[kind].field(key).choices).get(value, value)


def load_partnerships(path: Path | None) -> list[SimpleNamespace]:
    """The partnerships table (a CSV in the province's configuration); [] without one."""
    if path is None or not Path(path).is_file():
        return []
    with Path(path).open(encoding="utf-8-sig", newline="") as handle:
        return [
            SimpleNamespace(**{k.strip(): clean_text(v or "") for k, v in row.items() if k})
            for row in csv.DictReader(handle)
        ]


def cite(record: ReportRecord) -> str:
    """A document as official texts cite it: "Kế hoạch số 53/KH-UBND ngày 26/02/2021 về
    hoạt động đối ngoại và hội nhập quốc tế năm 2021" (a subject starting with the kind's
    name or with "về" is not repeated)."""
    key = record.get("loai_van_ban", "khac")
    kind = (
        t("report.cite_other_kind")
        if key == "khac"
        else choice_label("van_ban", "loai_van_ban", key)
    )
    subject = bare(record.get("trich_yeu", ""))
    if fold(subject).startswith(fold(kind) + " "):
        subject = subject[len(kind) :].strip()
    if fold(subject).startswith("ve "):
        subject = subject[3:].strip()
    return t(
        "report.cite",
        kind=kind,
        number=record.get("so_ky_hieu", ""),
        day=record.get("ngay_ban_hanh"),
        subject=lower_first(subject),
    )


def figure_at(figures: Any, dotted: str) -> Any:
    """ "outgoing.count" of a Figures."""
    value = figures
    for name in dotted.split("."):
        value = getattr(value, name)
    return value


def partner_name(record: ReportRecord) -> str:
    """Who an event was with: the partner, else the event's name."""
    return bare(record.get("doi_tac") or record.get("ten", ""))


def planned_item(record: ReportRecord, title_key: str) -> str:
    """ "Hội thảo X (dự kiến tháng 11/2023)"."""
    return t(
        "report.planned_item",
        name=bare(record.get(title_key, "")),
        month=month_phrase(record.event_date),
    )


def month_phrase(day: date | None) -> str:
    """ "tháng 11/2023"."""
    return t("report.month", day=day) if day else ""


def _lines(text: str) -> list[str]:
    return [line.strip() for line in str(text).splitlines() if line.strip()]


def _one_line(text: str) -> str:
    return " ".join(text.split())
