"""Build a report: load the records (read-only), aggregate, render, write.

report = await build_report(app.sessions, settings, period, "6thang")
report.write_docx(Path("bao-cao.docx"))
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from sqlalchemy.ext.asyncio import async_sessionmaker

from domain.periods import Period, previous_year
from storage import repo
from templates.report import writers
from templates.report.figures import Figures, aggregate, plan_horizon, report_records
from templates.report.render import RenderedReport, render, report_context, template_file

FORMATS = ("md", "docx", "xlsx")


def default_template(period: Period) -> str:
    """The 6-month report for a 6-month round, the annual report otherwise."""
    return "6thang" if period.kind == "H1" else "nam"


@dataclass
class Report:
    period: Period
    figures: Figures
    rendered: RenderedReport
    context: dict[str, Any] = field(repr=False)

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
        writers.to_xlsx(self.figures, self.context, path)
        return path

    def write(self, path: Path, fmt: str) -> Path:
        writer = {"md": self.write_markdown, "docx": self.write_docx, "xlsx": self.write_xlsx}
        return writer[fmt](path)


async def build_report(
    sessions: async_sessionmaker,
    settings: Any,
    period: Period,
    template_name: str | None = None,
    compiled_on: date | None = None,
) -> Report:
    """The report of `period`: records from the same span a year earlier (for comparisons)
    to a year after the period (for the plan annexes), aggregated and rendered.

    `compiled_on` (the date in the heading) defaults to the period's as-of date.
    """
    name = template_name or default_template(period)
    template_file(name)  # KeyError early for an unknown template
    async with sessions() as db:
        rows = await repo.records_between(db, previous_year(period).start, plan_horizon(period))
        records = report_records(rows)

    def assemble() -> Report:
        figures = aggregate(records, period)
        context = report_context(figures, settings, compiled_on or period.as_of)
        return Report(period, figures, render(name, context), context)

    # Aggregating and rendering take seconds for big rounds: off the event loop.
    return await asyncio.to_thread(assemble)
