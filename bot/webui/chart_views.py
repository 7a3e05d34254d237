"""Charts where people would rather look than read: activities by month and type, and
delegations by country (a focal point sees their unit's)."""

from __future__ import annotations

import re
from collections import Counter
from datetime import date

from aiohttp import web

from bot.webui.charts import horizontal_bars, stacked_columns
from bot.webui.core import render, unit_scope, workspace
from domain.catalog import t
from domain.forms import load_forms
from domain.parsing import fold
from storage import repo

# Fields naming the countries of a delegation: outgoing (visited) and incoming (origin).
COUNTRY_FIELDS = {"doan_ra": "nuoc_den", "doan_vao": "nuoc"}
SEPARATORS = re.compile(r"\s*(?:[,;/]|\bvà\b|\n)\s*")
TOP_COUNTRIES = 15


def countries(text: str) -> list[str]:
    """ "Lào, Thái Lan và Campuchia" -> the three names."""
    return [name.strip(" .") for name in SEPARATORS.split(text or "") if name.strip(" .")]


def by_country(values_list: list[tuple[str, dict]]) -> list[tuple[str, int]]:
    """Delegations per country, the same country however it was typed counted once."""
    counts: Counter[str] = Counter()
    spelling: dict[str, str] = {}
    for kind, values in values_list:
        for name in set(countries(str(values.get(COUNTRY_FIELDS[kind], "")))):
            key = fold(name)
            spelling.setdefault(key, name)
            counts[key] += 1
    return [(spelling[key], n) for key, n in counts.most_common(TOP_COUNTRIES)]


async def charts(request: web.Request) -> web.Response:
    ws = workspace(request)
    today = ws.now().date()
    year_text = request.query.get("nam", "")
    year = int(year_text) if year_text.isdigit() and 1975 <= int(year_text) <= 2100 else today.year
    scope = unit_scope(request)
    async with ws.app.sessions() as db:
        rows = await repo.records_between(db, date(year, 1, 1), date(year, 12, 31))
    records = [r for r in rows if r.event_date and (scope is None or r.unit_id == scope)]
    forms = load_forms()
    months = [t("web.chart.month", month=m) for m in range(1, 13)]
    per_type = {kind: [0] * 12 for kind in forms}
    for record in records:
        per_type[record.kind][record.event_date.month - 1] += 1
    monthly = stacked_columns(
        "by-month",
        t("web.chart.by_month", year=year),
        months,
        [(forms[kind].label, counts) for kind, counts in per_type.items()],
    )
    delegations = [(r.kind, r.values) for r in records if r.kind in COUNTRY_FIELDS]
    outgoing = [(k, v) for k, v in delegations if k == "doan_ra"]
    incoming = [(k, v) for k, v in delegations if k == "doan_vao"]
    context = {
        "year": year,
        "years": list(range(today.year, today.year - 6, -1)),
        "charts": [
            monthly,
            horizontal_bars(
                "out",
                t("web.chart.outgoing", year=year),
                by_country(outgoing),
                t("web.chart.delegations"),
            ),
            horizontal_bars(
                "in",
                t("web.chart.incoming", year=year),
                by_country(incoming),
                t("web.chart.delegations"),
            ),
        ],
    }
    return render(request, "charts.html.j2", context)
