"""Build a report: load the records (read-only), aggregate, render, write.

report = await build_report(app.sessions, settings, period, "6thang", round_id="2021-H1")
report.write_docx(Path("bao-cao.docx"))

The round (by default the period's own) brings the report's standing texts (its own, or
carried from the last round of the same kind), its saved header and which units have
confirmed it.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from domain.periods import Period, previous_year
from storage import repo
from storage import report_texts as texts_store
from storage import rounds as rounds_store
from templates.report import writers
from templates.report.figures import (
    Coverage,
    Figures,
    aggregate,
    plan_horizon,
    report_records,
)
from templates.report.header import Header
from templates.report.render import RenderedReport, render, report_context, template_file
from templates.report.standing import Standing, resolve

FORMATS = ("md", "docx", "xlsx", "data")


def default_template(period: Period) -> str:
    """The 6-month report for a 6-month round, the annual report otherwise."""
    return "6thang" if period.kind == "H1" else "nam"


@dataclass
class Report:
    period: Period
    figures: Figures
    rendered: RenderedReport
    context: dict[str, Any] = field(repr=False)
    texts: dict[str, Standing] = field(default_factory=dict, repr=False)  # by section

    @property
    def markdown(self) -> str:
        return writers.to_markdown(self.rendered)

    @property
    def text(self) -> str:
        """The body as plain text (chat previews)."""
        return writers.to_plain_text(self.rendered)

    def write_markdown(self, path: Path) -> Path:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(self.markdown, encoding="utf-8")
        return path

    def write_docx(self, path: Path) -> Path:
        writers.to_docx(self.rendered, path)
        return path

    def write_xlsx(self, path: Path) -> Path:
        """The annexes sent with the report (Mẫu 04, 05, 06.1, conferences, awards)."""
        writers.to_xlsx(self.figures, self.context, path)
        return path

    def write_data_xlsx(self, path: Path) -> Path:
        """Every record the report counts, a sheet per type (for checking, not sending)."""
        writers.to_data_xlsx(self.figures, path)
        return path

    def write(self, path: Path, fmt: str) -> Path:
        writer = {
            "md": self.write_markdown,
            "docx": self.write_docx,
            "xlsx": self.write_xlsx,
            "data": self.write_data_xlsx,
        }
        return writer[fmt](path)


async def build_report(
    sessions: async_sessionmaker,
    settings: Any,
    period: Period,
    template_name: str | None = None,
    compiled_on: date | None = None,
    *,
    round_id: str | None = None,
    header: Header | None = None,
) -> Report:
    """The report of `period`: records from the same span a year earlier (for comparisons)
    to a year after the period (for the plan annexes), aggregated and rendered.

    `round_id` (default: the period's label) names the round whose texts, saved header and
    confirmations apply; `header` overrides the saved header value by value.
    `compiled_on` (the month and year in the heading) defaults to the period's as-of date.
    """
    name = template_name or default_template(period)
    template_file(name)  # KeyError early for an unknown template
    round_id = round_id or period.label or None
    async with sessions() as db:
        rows = await repo.records_between(db, previous_year(period).start, plan_horizon(period))
        records = report_records(rows)
        del rows
        coverage = await _coverage(db, round_id) if round_id else None
        texts = await _standing_texts(db, round_id) if round_id else {}
        saved = (
            Header.from_values(await texts_store.header(db, round_id, name))
            if round_id
            else Header()
        )
    report_header = saved.overridden_by(header) if header else saved

    def assemble() -> Report:
        figures = aggregate(records, period, coverage)
        context = report_context(
            figures, settings, compiled_on or period.as_of, report_header, texts
        )
        return Report(period, figures, render(name, context), context, texts)

    # Aggregating and rendering take seconds for big rounds: off the event loop.
    return await asyncio.to_thread(assemble)


async def _coverage(db: AsyncSession, round_id: str) -> Coverage:
    units = await rounds_store.coverage(db, round_id)
    return Coverage(
        round_id=round_id,
        units=len(units),
        pending=tuple(u.unit for u in units if u.confirmed_at is None),
        changed=tuple(u.unit for u in units if u.changed_since),
    )


async def _standing_texts(db: AsyncSession, round_id: str) -> dict[str, Standing]:
    own = await texts_store.texts_of_round(db, round_id)
    previous = await texts_store.previous_round_with_texts(db, round_id)
    carried = await texts_store.texts_of_round(db, previous) if previous else {}
    return resolve(own, carried, round_id)
