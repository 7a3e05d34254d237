"""How much of a real report a draft reproduces, with and without the previous report
imported as standing texts.

A paragraph of the real report (40 words or more) counts as reproduced when at least half
of its word trigrams occur in the draft; the script prints that share and the mean share
of trigrams found, per report and draft. Records come from the fixtures transcribed from
the same documents (the 2021 six-month reconstruction, the 2021 conferences and awards).

The reports at hand: the province's 2021 annual report to the Ministry and the
Department's 2021 six-month report. No report of an earlier year is at hand, so "previous
report" is the nearest earlier one we have (the six-month report, before the annual one),
imported as the previous round of the draft's kind; the annual report imported as its own
previous round shows what the carry-over keeps of a report of the same shape (an upper
bound: the rest is what it leaves out as last period's counts, or its headings).

Usage: .venv/bin/python benchmarks/report_coverage.py
"""

from __future__ import annotations

import asyncio
import re
import sys
import tempfile
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.app import App, open_app  # noqa: E402
from domain.parsing import fold  # noqa: E402
from domain.periods import round_period  # noqa: E402
from domain.settings import Settings  # noqa: E402
from storage import report_texts  # noqa: E402
from storage.transfer import import_records  # noqa: E402
from templates.report.build import build_report  # noqa: E402
from templates.report.previous import place, read_paragraphs  # noqa: E402

FIXTURES = ROOT / "tests" / "fixtures"
RECORDS = ["bao_cao_6_thang_2021.csv", "hoi_nghi_2021.csv", "khen_thuong_2021.csv"]
ANNUAL = FIXTURES / "bao_cao_nam_2021_bo_ngoai_giao.txt"
SIX_MONTHS = FIXTURES / "bao_cao_6_thang_2021.txt"
MIN_WORDS = 40
REPRODUCED = 0.5

# (label, real report, template, round, as-of, previous report imported as round, or None)
CASES = [
    ("annual 2021 to the Ministry, records only", ANNUAL, "bo_ngoai_giao", "2021-Y",
     date(2021, 11, 10), None, None),
    ("  + the 6-month 2021 report imported as the previous round", ANNUAL, "bo_ngoai_giao",
     "2021-Y", date(2021, 11, 10), SIX_MONTHS, "2020-Y"),
    ("  + itself imported as the previous round (upper bound)", ANNUAL, "bo_ngoai_giao",
     "2021-Y", date(2021, 11, 10), ANNUAL, "2020-Y"),
    ("6-month 2021 report, records only", SIX_MONTHS, "6thang", "2021-H1",
     date(2021, 5, 25), None, None),
    ("  + itself imported as the previous round (upper bound)", SIX_MONTHS, "6thang",
     "2021-H1", date(2021, 5, 25), SIX_MONTHS, "2020-H1"),
]  # fmt: skip


def words(text: str) -> list[str]:
    return re.findall(r"\w+", fold(text))


def trigrams(text: str) -> set[tuple[str, ...]]:
    tokens = words(text)
    return {tuple(tokens[i : i + 3]) for i in range(len(tokens) - 2)}


def coverage(real: Path, draft: str) -> tuple[int, int, float]:
    """(paragraphs reproduced, paragraphs of 40+ words, mean share of trigrams found)."""
    found = trigrams(draft)
    paragraphs = [
        text
        for section in place(read_paragraphs(real)).sections.values()
        for text in section
        if len(words(text)) >= MIN_WORDS
    ]
    shares = [len(trigrams(p) & found) / len(trigrams(p)) for p in paragraphs]
    reproduced = sum(share >= REPRODUCED for share in shares)
    return reproduced, len(paragraphs), sum(shares) / len(shares)


async def draft(case: tuple, folder: Path) -> str:
    _label, _real, template, round_id, as_of, previous, previous_round = case
    app: App = await open_app(Settings(data_dir=folder, database_url=""))
    try:
        async with app.sessions() as db, db.begin():
            for name in RECORDS:
                await import_records(db, FIXTURES / name, as_of)
            if previous is not None:
                placement = place(read_paragraphs(previous))
                for key, found in placement.sections.items():
                    text = "\n".join(found)
                    await report_texts.set_text(db, previous_round, key, text, source="bench")
        period = round_period(round_id, as_of)
        return (await build_report(app.sessions, app.settings, period, template)).markdown
    finally:
        await app.close()


async def main() -> None:
    print(f"{'draft':62} {'reproduced':>12} {'trigrams':>9}")
    for index, case in enumerate(CASES):
        with tempfile.TemporaryDirectory() as tmp:
            text = await draft(case, Path(tmp) / str(index))
        reproduced, total, mean = coverage(case[1], text)
        share = f"{reproduced}/{total} {reproduced / total:4.0%}"
        print(f"{case[0]:62} {share:>12} {mean:9.0%}")


if __name__ == "__main__":
    asyncio.run(main())
