"""The web workspace under load: a round's page and the filtered records table, with
20,000 records over 50 units, for 20 concurrent clients.

The server runs in a child process (the real backend on 127.0.0.1, SQLite file, one
signed-in coordinator); the load comes from this process. Two load models:

- closed loop: 20 clients, each sending its next request as soon as the previous one is
  answered, for a few seconds: the capacity (requests per second) and the latency then;
- open loop: requests started at a fixed offered rate (default 20 per second, as 20
  people clicking once a second), whatever the answers: the latency people see.

/healthz (one database round trip, no page) is measured the same way in the same run as
the baseline. Page weight is the HTML of each page plus the stylesheet and the script.

Usage: .venv/bin/python benchmarks/web.py [--records 20000] [--seconds 5] [--rate 20]
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import random
import statistics
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import aiohttp  # noqa: E402
from aiohttp import web  # noqa: E402
from sqlalchemy import insert, select  # noqa: E402

from bot.app import open_app  # noqa: E402
from bot.channels import Channels  # noqa: E402
from bot.web import build_web_app  # noqa: E402
from bot.webui.core import SESSION_COOKIE, Workspace  # noqa: E402
from domain.forms import load_forms  # noqa: E402
from domain.settings import Settings  # noqa: E402
from scheduler.plan import recurring_rounds  # noqa: E402
from storage import web_auth  # noqa: E402
from storage.clock import utcnow  # noqa: E402
from storage.models import Member, Record, Unit, search_text  # noqa: E402
from storage.rounds import confirm, ensure_rounds  # noqa: E402

CLIENTS = 20
COUNTRIES = ("Lào", "Thái Lan", "Nhật Bản", "Hàn Quốc", "Campuchia", "Trung Quốc", "Hoa Kỳ")
PAGES = {
    "round page": "/web/rounds/2023-Y",
    "records, filtered": (
        "/web/records?loai=doan_vao&trang_thai=done&tu=1/1/2023&den=31/12/2023&q=lao"
    ),
    "records, first page": "/web/records",
}
BASELINE = {"/healthz (baseline)": "/healthz"}


def sample_values(kind: str, day: date, rng: random.Random) -> dict:
    """Plausible stored values for every field of the type."""
    form = load_forms()[kind]
    values = {}
    for field in form.fields:
        if field.type == "text":
            values[field.key] = f"{field.label} {rng.choice(COUNTRIES)} {rng.randint(1, 999)}"
        elif field.type in ("int", "money"):
            values[field.key] = rng.randint(1, 50)
        elif field.type == "date":
            values[field.key] = day.isoformat()
        elif field.type == "yesno":
            values[field.key] = rng.random() < 0.3
        elif field.type == "choice":
            values[field.key] = rng.choice(field.choices)[0]
        elif field.type == "round":
            values[field.key] = "2023-Y"
    return values


async def prepare(data_dir: Path, records: int) -> str:
    """Units from the province's list, `records` records, a coordinator's session."""
    app = await open_app(Settings(data_dir=data_dir, database_url=""))
    rng = random.Random(7)
    kinds = list(load_forms())
    async with app.sessions() as db, db.begin():
        units = (await db.scalars(select(Unit.id).where(Unit.active))).all()[:50]
        await ensure_rounds(db, recurring_rounds(2023, app.settings))
        rows = []
        for _ in range(records):
            kind = rng.choice(kinds)
            form = load_forms()[kind]
            day = date(2023, 1, 1) + timedelta(days=rng.randint(0, 364))
            values = sample_values(kind, day, rng)
            now = utcnow()
            rows.append(
                dict(kind=kind, unit_id=rng.choice(units), values=values,
                     event_date=day if form.date_field else None,
                     round_id="2023-Y" if form.round_field else None, version=1,
                     created_at=now, updated_at=now, search_text=search_text(values))
            )  # fmt: skip
        await db.execute(insert(Record), rows)
        member = Member(name="Điều phối viên", role="coordinator")
        db.add(member)
        await db.flush()
        for unit in units[: len(units) // 2]:
            await confirm(db, "2023-Y", unit, member.id, False)
        token = await web_auth.open_session(db, member.id, timedelta(hours=12))
    await app.close()
    return token


def serve(data_dir: Path, port: int, ready) -> None:
    """The child process: the backend with the workspace, until killed."""

    async def main() -> None:
        settings = Settings(data_dir=data_dir, database_url="", web_idle_minutes=600)
        app = await open_app(settings)
        runner = web.AppRunner(
            build_web_app(app, workspace=Workspace(app, Channels().deliver)), access_log=None
        )
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", port).start()
        ready.set()
        await asyncio.Event().wait()

    asyncio.run(main())


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(int(len(ordered) * share), len(ordered) - 1)]


def line(name: str, model: str, latencies: list[float], elapsed: float, errors: int) -> str:
    ms = [v * 1000 for v in latencies]
    return (
        f"{name:22} {model:22} {len(ms) / elapsed:7.1f} req/s   "
        f"p50 {statistics.median(ms):6.1f} ms   p95 {percentile(ms, 0.95):6.1f} ms   "
        f"max {max(ms):6.1f} ms   errors {errors}"
    )


async def closed_loop(session, url: str, seconds: float) -> tuple[list[float], float, int]:
    latencies: list[float] = []
    errors = 0
    stop = time.perf_counter() + seconds

    async def client() -> None:
        nonlocal errors
        while time.perf_counter() < stop:
            began = time.perf_counter()
            async with session.get(url) as response:
                await response.read()
                errors += response.status != 200
            latencies.append(time.perf_counter() - began)

    began = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(CLIENTS)))
    return latencies, time.perf_counter() - began, errors


async def open_loop(session, url: str, seconds: float, rate: float):
    latencies: list[float] = []
    errors = 0

    async def one() -> None:
        nonlocal errors
        began = time.perf_counter()
        async with session.get(url) as response:
            await response.read()
            errors += response.status != 200
        latencies.append(time.perf_counter() - began)

    tasks = []
    began = time.perf_counter()
    for n in range(int(seconds * rate)):
        delay = began + n / rate - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(one()))
    await asyncio.gather(*tasks)
    return latencies, time.perf_counter() - began, errors


async def weigh(session, base: str) -> None:
    assets = 0
    for path in ("/web/static/web.css", "/web/static/web.js"):
        async with session.get(base + path) as response:
            assets += len(await response.read())
    for name, path in PAGES.items():
        async with session.get(base + path) as response:
            html = len(await response.read())
        print(f"page weight  {name:22} HTML {html / 1024:6.1f} KB + CSS/JS {assets / 1024:4.1f} KB"
              f" = {(html + assets) / 1024:6.1f} KB")  # fmt: skip


async def measure(base: str, token: str, seconds: float, rate: float) -> None:
    connector = aiohttp.TCPConnector(limit=CLIENTS * 4)
    cookies = {SESSION_COOKIE: token}
    async with aiohttp.ClientSession(connector=connector, cookies=cookies) as session:
        await weigh(session, base)
        for name, path in {**BASELINE, **PAGES}.items():
            await closed_loop(session, base + path, 0.5)  # warm up
            print(line(name, f"closed, {CLIENTS} clients", *await closed_loop(
                session, base + path, seconds)))  # fmt: skip
            print(line(name, f"open, {rate:g} req/s offered", *await open_loop(
                session, base + path, seconds, rate)))  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=20_000)
    parser.add_argument("--seconds", type=float, default=5)
    parser.add_argument("--rate", type=float, default=20)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        data_dir = Path(folder) / "data"
        started = time.perf_counter()
        token = asyncio.run(prepare(data_dir, args.records))
        print(f"{args.records} records over 50 units in {time.perf_counter() - started:.1f} s")
        port = random.randint(20000, 40000)
        ready = multiprocessing.Event()
        child = multiprocessing.Process(target=serve, args=(data_dir, port, ready), daemon=True)
        child.start()
        try:
            if not ready.wait(60):
                raise SystemExit("the server did not start")
            asyncio.run(measure(f"http://127.0.0.1:{port}", token, args.seconds, args.rate))
        finally:
            child.terminate()
            child.join(10)


if __name__ == "__main__":
    main()
