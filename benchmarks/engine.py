"""Engine throughput and latency: 200 focal points each completing a `doan_vao` form
concurrently, through the real engine on an SQLite file.

Two runs:
- saturation: all 200 send their next message as soon as the previous reply arrives
  (closed loop); gives the maximum messages/second, latency includes queueing;
- paced: the same conversations, each person pausing between messages so the offered load
  is a fixed rate (like people typing); gives latency under that load.

Usage: .venv/bin/python benchmarks/engine.py [--users 200] [--rate 500]
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.app import App, open_app  # noqa: E402
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
    from datetime import timedelta

    users = []
    async with app.sessions() as db, db.begin():
        units = await repo.list_units(db)
        codes = [
            await repo.create_invite(
                db, role="focal_point", unit_id=units[i % len(units)].id, ttl=timedelta(days=1)
            )
            for i in range(count)
        ]
    for i, code in enumerate(codes):
        user = f"{prefix}{i}"
        await app.engine.handle(Incoming("bench", user, user, f"/start {code}"))
        users.append(user)
    return users


async def converse(app: App, user: str, latencies: list[float], pause: float) -> None:
    for step, text in enumerate(ANSWERS):
        if pause:
            await asyncio.sleep(random.expovariate(1 / pause))
        started = time.perf_counter()
        replies = await app.engine.handle(
            Incoming("bench", user, user, text, update_id=f"{user}-{step}")
        )
        latencies.append(time.perf_counter() - started)
        if text == "Lưu" and "Đã lưu" not in replies[0].text:
            raise SystemExit(f"{user}: form not saved: {replies[0].text}")


async def run(app: App, users: list[str], pause: float) -> tuple[float, list[float]]:
    latencies: list[float] = []
    started = time.perf_counter()
    await asyncio.gather(*(converse(app, user, latencies, pause) for user in users))
    return time.perf_counter() - started, latencies


def report(name: str, elapsed: float, latencies: list[float]) -> None:
    ordered = sorted(latencies)
    p50 = ordered[len(ordered) // 2] * 1000
    p99 = ordered[int(len(ordered) * 0.99)] * 1000
    print(
        f"{name:<11} messages={len(ordered):5d}  {len(ordered) / elapsed:7.0f} msg/s  "
        f"p50={p50:6.2f} ms  p99={p99:6.2f} ms  mean={statistics.mean(ordered) * 1000:6.2f} ms"
    )


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--users", type=int, default=200)
    parser.add_argument("--rate", type=float, default=150.0, help="paced run: messages/s")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        app = await open_app(Settings(data_dir=Path(folder), database_url=""))
        print(f"SQLite file: {app.settings.resolved_database_url}")
        saturated = await register_users(app, args.users, "sat")
        paced = await register_users(app, args.users, "pace")
        report("saturation", *await run(app, saturated, pause=0.0))
        report("paced", *await run(app, paced, pause=args.users / args.rate))
        print(f"(paced: {args.users} users, offered load ~{args.rate:.0f} msg/s)")
        await app.close()


if __name__ == "__main__":
    asyncio.run(main())
