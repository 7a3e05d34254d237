"""Report generation cost: Markdown, .docx, the annexes and the data file for one annual
round.

Generates N records (default 1,000 and 20,000) spread over the round's year and the year
before (for the comparisons); among every 20,000, 2,000 are notable events (su_kien) and
500 documents (van_ban), cited in the narrative. They are inserted with bulk Core inserts
into a temporary SQLite file. Then a fresh process (so the seeding's memory is not
counted) builds the report and writes each file, timing each step and printing its own
peak RSS; a second fresh process measures each step's peak Python memory (tracemalloc),
so the timings are not slowed by tracing.

Usage: .venv/bin/python benchmarks/report.py [--records 1000 20000 150000]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import resource
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import insert  # noqa: E402

from bot.app import App, open_app  # noqa: E402
from domain.forms import Form, load_forms  # noqa: E402
from domain.periods import round_period  # noqa: E402
from domain.settings import Settings  # noqa: E402
from storage import repo  # noqa: E402
from storage.models import Record  # noqa: E402
from templates.report.build import Report, build_report  # noqa: E402

ROUND = "2023-Y"
AS_OF = date(2023, 10, 10)
TEXT = (
    "hợp tác phát triển giáo dục y tế Lào Bolykhămxay Khăm Muộn hội thảo dự án đoàn công tác "
    "làm việc trao đổi kinh nghiệm quản lý biên giới lãnh sự bảo hộ công dân"
)
WORDS = TEXT.split(" ")
# Countries as a province meets them: a few dozen, not a new one per record.
COUNTRIES = (
    "Lào", "Thái Lan", "Nhật Bản", "Hàn Quốc", "Trung Quốc", "Hoa Kỳ", "Pháp", "Đức",
    "Australia", "Singapore", "Campuchia", "Ấn Độ", "Liên bang Nga", "Canada", "Bỉ",
    "Vương quốc Anh", "Malaysia", "Indonesia", "Philippines", "Đài Loan (Trung Quốc)",
)  # fmt: skip
COUNTRY_FIELDS = frozenset({"nuoc", "nuoc_den", "quoc_gia", "nuoc_to_chuc"})


def fake_value(form: Form, key: str, day: date, rng: random.Random) -> Any:
    spec = form.field(key)
    if key in COUNTRY_FIELDS:
        return rng.choice(COUNTRIES)
    match spec.type:
        case "int":
            return rng.randint(max(spec.minimum or 0, 1), 40)
        case "money":
            return rng.randrange(1_000, 500_000, 500)
        case "date":
            return (day + timedelta(days=2 if key == "den_ngay" else 0)).isoformat()
        case "yesno":
            return rng.random() < 0.2
        case "choice":
            return rng.choice(spec.choices)[0]
        case "round":
            return ROUND
    length = rng.randint(4, 40 if spec.max_len > 300 else 10)
    return " ".join(rng.choice(WORDS) for _ in range(length)).capitalize()


# Records of these types per 20,000 (the narrative's documents and events).
FIXED_SHARE = {"su_kien": 2_000, "van_ban": 500}


def fake_rows(count: int, unit_ids: list[int], seed: int = 7) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    forms = load_forms()
    fixed = [forms[kind] for kind, n in FIXED_SHARE.items() for _ in range(n * count // 20_000)]
    others = [form for form in forms.values() if form.key not in FIXED_SHARE]
    weights = [6 if form.date_field else 1 for form in others]
    chosen = fixed + rng.choices(others, weights, k=count - len(fixed))
    rows = []
    for form in chosen:
        day = date(2022, 1, 1) + timedelta(days=rng.randrange(730))
        values = {
            spec.key: fake_value(form, spec.key, day, rng)
            for spec in form.fields
            if not spec.optional or rng.random() < 0.7
        }
        rows.append(
            {
                "kind": form.key,
                "unit_id": rng.choice(unit_ids),
                "values": values,
                "event_date": day if form.date_field else None,
                "round_id": ROUND if form.round_field else None,
            }
        )
    return rows


def settings(folder: Path) -> Settings:
    return Settings(data_dir=folder, database_url="")


async def seeded_app(folder: Path, count: int) -> App:
    app = await open_app(settings(folder))
    async with app.sessions() as db, db.begin():
        unit_ids = [unit.id for unit in await repo.list_units(db)]
        rows = fake_rows(count, unit_ids)
        for start in range(0, len(rows), 5_000):
            await db.execute(insert(Record), rows[start : start + 5_000])
    return app


def measured(step: Callable[[], Any], trace: bool) -> tuple[float, Any]:
    """(seconds, result) or, when tracing, (peak MiB, result)."""
    if trace:
        tracemalloc.start()
    started = time.perf_counter()
    result = step()
    seconds = time.perf_counter() - started
    if not trace:
        return seconds, result
    peak = tracemalloc.get_traced_memory()[1] / 2**20
    tracemalloc.stop()
    return peak, result


async def one_pass(app: App, folder: Path, trace: bool) -> tuple[dict[str, float], Report]:
    """Build the report and write its four files; seconds or peak MiB per step."""
    period = round_period(ROUND, AS_OF)
    figures: dict[str, float] = {}
    if trace:
        tracemalloc.start()
    started = time.perf_counter()
    report = await build_report(app.sessions, app.settings, period, "nam")
    if trace:
        figures["load + aggregate + render"] = tracemalloc.get_traced_memory()[1] / 2**20
        tracemalloc.stop()
    else:
        figures["load + aggregate + render"] = time.perf_counter() - started
    for name, write in (
        ("write .md", lambda: report.write_markdown(folder / "r.md")),
        ("write .docx", lambda: report.write_docx(folder / "r.docx")),
        ("write annexes .xlsx", lambda: report.write_xlsx(folder / "r.xlsx")),
        ("write data .xlsx", lambda: report.write_data_xlsx(folder / "d.xlsx")),
    ):
        figures[name], _ = measured(write, trace)
    return figures, report


async def measure(folder: Path, trace: bool) -> dict[str, Any]:
    """In this (fresh) process: the report of the database in `folder`."""
    app = await open_app(settings(folder / "data"))
    try:
        figures, report = await one_pass(app, folder, trace)
    finally:
        await app.close()
    return {
        "steps": figures,
        "records": len(report.figures.records),
        "sizes": {
            n: (folder / n).stat().st_size / 1024 for n in ("r.md", "r.docx", "r.xlsx", "d.xlsx")
        },
        "peak_rss": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def in_fresh_process(folder: Path, trace: bool) -> dict[str, Any]:
    command = [sys.executable, __file__, "--measure", str(folder)] + (["--trace"] if trace else [])
    return json.loads(subprocess.run(command, check=True, capture_output=True, text=True).stdout)


async def seed(folder: Path, count: int) -> None:
    started = time.perf_counter()
    app = await seeded_app(folder / "data", count)
    await app.close()
    print(f"\n{count:,} records inserted in {time.perf_counter() - started:.2f} s")


def run(count: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        asyncio.run(seed(folder, count))
        timed = in_fresh_process(folder, trace=False)
        traced = in_fresh_process(folder, trace=True)
    print(f"round {ROUND} as of {AS_OF:%d/%m/%Y}: {timed['records']:,} records in the period")
    print(f"{'step':28} {'seconds':>8} {'peak MiB':>9}")
    for name, value in timed["steps"].items():
        print(f"{name:28} {value:8.2f} {traced['steps'][name]:9.1f}")
    print(f"{'all':28} {sum(timed['steps'].values()):8.2f}")
    print("file sizes (KiB): " + ", ".join(f"{k} {v:,.0f}" for k, v in timed["sizes"].items()))
    print(f"peak RSS of the reporting process: {timed['peak_rss']:.0f} MiB")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, nargs="+", default=[1_000, 20_000])
    parser.add_argument("--measure", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--trace", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        print(json.dumps(asyncio.run(measure(args.measure, args.trace))))
        return
    for count in args.records:
        run(count)


if __name__ == "__main__":
    main()
