"""Engine capacity and latency: focal points each completing a `doan_vao` form (14
messages) through the real engine, on an SQLite file or a PostgreSQL database.

Two load models, each on its own registered users:
- capacity (closed loop): every user sends the next message as soon as the reply to the
  previous one arrives; messages/second at saturation. Latency here is mostly queueing
  (Little's law: mean latency = users / throughput), so it is printed but is not the aim;
- latency (open loop): messages arrive at a fixed offered rate (Poisson arrivals, each
  from a user picked at random; users start part-way through a form, so at any moment
  they are at different steps, as people are); a user whose previous reply has not
  arrived yet sends as soon as it does (a person answers the question they see). Latency
  counts from the scheduled arrival, so time spent waiting behind a slow message is
  included.

CPU milliseconds per message (the process's CPU time over the capacity run, all threads)
is the figure least disturbed by other load on the machine. A baseline is
measured first in the same run (one bare sqlite3 INSERT and COMMIT a message), to read the
figures against this machine's speed of the moment.

With `--processes N` (PostgreSQL only: SQLite has one writer), N processes run the
capacity run side by side on one database, each with its own users; the figure is the sum.

Usage:
  .venv/bin/python benchmarks/engine.py [--users 200] [--rate 500]
  .venv/bin/python benchmarks/engine.py --database-url postgresql+asyncpg://… [--processes 2]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import sqlite3
import subprocess
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.app import App, freeze_startup_objects, open_app  # noqa: E402
from domain.messages import Incoming  # noqa: E402
from domain.settings import Settings  # noqa: E402
from storage import repo  # noqa: E402

ANSWERS = [
    "/moi",
    "2",  # Đoàn vào
    "Đoàn Đại sứ quán Lào tại Việt Nam",
    "Ông Khamphao Ernthavanh, Đại sứ",
    "Lào",
    "1",
    "có",
    "Chào xã giao, trao đổi hợp tác giáo dục",
    "8",
    "12/3/2023",
    "13/3/2023",
    "bỏ qua",
    "1",
    "Lưu",
]


async def register_users(app: App, count: int, prefix: str) -> list[str]:
    async with app.sessions() as db, db.begin():
        units = await repo.list_units(db)
        codes = [
            await repo.create_invite(
                db, role="focal_point", unit_id=units[i % len(units)].id, ttl=timedelta(days=1)
            )
            for i in range(count)
        ]
    users = [f"{prefix}{i}" for i in range(count)]
    for user, code in zip(users, codes, strict=True):
        replies = await app.engine.handle(Incoming("bench", user, user, f"/start {code}"))
        if "Chào mừng" not in replies[0].text:
            raise SystemExit(f"{user}: not registered: {replies[0].text}")
    return users


async def send(app: App, user: str, number: int) -> None:
    """The user's message `number` (counted from 0): the forms' answers, one after the
    other, starting a new form after each saved one."""
    text = ANSWERS[number % len(ANSWERS)]
    replies = await app.engine.handle(
        Incoming("bench", user, user, text, update_id=f"{user}-{number}")
    )
    if text == "Lưu" and "Đã lưu" not in replies[0].text:
        raise SystemExit(f"{user}: form not saved: {replies[0].text}")


async def closed_loop(app: App, users: list[str]) -> tuple[float, list[float], float]:
    """Seconds, latencies and CPU seconds of every user completing the form flat out."""
    latencies: list[float] = []

    async def converse(user: str) -> None:
        for number in range(len(ANSWERS)):
            started = time.perf_counter()
            await send(app, user, number)
            latencies.append(time.perf_counter() - started)

    cpu, started = time.process_time(), time.perf_counter()
    await asyncio.gather(*(converse(user) for user in users))
    return time.perf_counter() - started, latencies, time.process_time() - cpu


async def part_way(app: App, users: list[str]) -> dict[str, int]:
    """Bring each user to a random step of a form (not measured); their next message's
    number. So the open loop starts as a working day does: people at every step."""
    reached = {user: random.randrange(len(ANSWERS)) for user in users}
    for user, count in reached.items():
        for number in range(count):
            await send(app, user, number)
    return reached


async def open_loop(app: App, users: list[str], rate: float) -> tuple[float, list[float]]:
    """Seconds and latencies with messages arriving at `rate` per second in all: a Poisson
    stream of 14 messages a user on average, each message from a user picked at random."""
    arrivals: dict[str, list[float]] = {user: [] for user in users}
    moment = 0.0
    for _ in range(len(users) * len(ANSWERS)):
        moment += random.expovariate(rate)
        arrivals[random.choice(users)].append(moment)
    next_number = await part_way(app, users)
    latencies: list[float] = []
    start = time.perf_counter()

    async def converse(user: str) -> None:
        for number, due in enumerate(arrivals[user], start=next_number[user]):
            delay = start + due - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            await send(app, user, number)
            latencies.append(time.perf_counter() - (start + due))

    await asyncio.gather(*(converse(user) for user in users))
    return time.perf_counter() - start, latencies


def figures(elapsed: float, latencies: list[float]) -> dict[str, float]:
    ordered = sorted(latencies)
    return {
        "messages": len(ordered),
        "per_second": len(ordered) / elapsed,
        "p50_ms": ordered[len(ordered) // 2] * 1000,
        "p99_ms": ordered[int(len(ordered) * 0.99)] * 1000,
    }


def line(name: str, result: dict[str, float]) -> str:
    text = (
        f"{name:<24} messages={result['messages']:5.0f}  {result['per_second']:7.0f} msg/s  "
        f"p50={result['p50_ms']:7.2f} ms  p99={result['p99_ms']:7.2f} ms"
    )
    if "cpu_ms" in result:
        text += f"  CPU {result['cpu_ms']:.2f} ms/msg"
    return text


RUN = f"{random.getrandbits(32):08x}"  # user ids of this run: a database can be reused


async def capacity(settings: Settings, users: int, prefix: str) -> dict[str, float]:
    app = await open_app(settings)
    try:
        people = await register_users(app, users, f"{RUN}-{prefix}")
        freeze_startup_objects()
        elapsed, latencies, cpu = await closed_loop(app, people)
    finally:
        await app.close()
    return {**figures(elapsed, latencies), "cpu_ms": cpu / len(latencies) * 1000}


def machine_baseline(folder: Path, messages: int = 20_000) -> str:
    """This machine's speed now (it drifts by a third): the floor of any engine, one sqlite3
    INSERT and COMMIT per message and nothing else, to read the figures against."""
    connection = sqlite3.connect(folder / "baseline.db", isolation_level=None)
    connection.executescript(
        "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"
        "CREATE TABLE updates (id INTEGER PRIMARY KEY, update_id TEXT UNIQUE);"
    )
    cpu, started = time.process_time(), time.perf_counter()
    for number in range(messages):
        connection.execute("BEGIN")
        connection.execute("INSERT INTO updates (update_id) VALUES (?)", (str(number),))
        connection.execute("COMMIT")
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
    connection.close()
    return (
        f"{'baseline: bare sqlite3':<24} messages={messages:5d}  {messages / elapsed:7.0f} msg/s"
        f"  (one INSERT + COMMIT a message)  CPU {cpu / messages * 1000:.3f} ms/msg"
    )


async def single(settings: Settings, args: argparse.Namespace) -> None:
    print(machine_baseline(settings.data_dir))
    print(line("capacity, closed loop", await capacity(settings, args.users, "cap")))
    app = await open_app(settings)
    try:
        people = await register_users(app, args.users, f"{RUN}-open")
        freeze_startup_objects()  # as `doingoai run` does once started
        result = figures(*await open_loop(app, people, args.rate))
    finally:
        await app.close()
    print(line(f"open loop at {args.rate:.0f} msg/s", result))


def side_by_side(args: argparse.Namespace) -> None:
    """N child processes, each running the capacity run at once on the same database."""
    children = [
        subprocess.Popen(
            [
                sys.executable,
                __file__,
                "--child",
                f"p{number}-",
                "--users",
                str(args.users),
                "--database-url",
                args.database_url,
            ],
            stdout=subprocess.PIPE,
            text=True,
        )  # fmt: skip
        for number in range(args.processes)
    ]
    results = [json.loads(child.communicate()[0].strip().splitlines()[-1]) for child in children]
    for number, result in enumerate(results):
        print(line(f"process {number + 1} of {args.processes}", result))
    print(f"{args.processes} processes side by side: "
          f"{sum(r['per_second'] for r in results):.0f} msg/s in all")  # fmt: skip


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--users", type=int, default=200)
    parser.add_argument("--rate", type=float, default=500.0, help="open loop: messages/s")
    parser.add_argument("--database-url", default="", help="default: a new SQLite file")
    parser.add_argument("--processes", type=int, default=1)
    parser.add_argument("--child", default="", help=argparse.SUPPRESS)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        settings = Settings(  # scripted users: no flood damping, everyone registers at once
            data_dir=Path(folder),
            database_url=args.database_url,
            flood_burst=100_000,
            invite_attempts_per_minute=100_000,
        )
        if args.child:
            print(json.dumps(await capacity(settings, args.users, args.child)))
            return
        print(f"database: {settings.resolved_database_url.split('@')[-1]}, {args.users} users")
        if args.processes > 1:
            await (await open_app(settings)).close()  # migrated once, before the children
            side_by_side(args)
        else:
            await single(settings, args)


if __name__ == "__main__":
    asyncio.run(main())
