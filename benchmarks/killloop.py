"""Nothing lost, nothing doubled, and what it costs.

1. Kill loop (tests/kill_loop.py): 24 people fill forms over the fake Telegram while a
   real `doingoai run` on an SQLite file is SIGKILLed 40 times, in polling and in webhook
   mode; then a reminder wave to 300 focal points killed 3 times. Prints updates lost,
   records unconfirmed, duplicates, fields shifted (all must be 0), and confirmations
   received twice (the documented window: a kill between Telegram taking a message and
   its row being marked).
2. The outbox's cost: the engine benchmark's conversations (benchmarks/engine.py, 200
   focal points completing a `doan_vao` form concurrently, closed loop) with replies
   returned to the caller (no outbox) and with replies written to the outbox in the
   message's transaction and drained by a sender whose messenger answers at once; there,
   a person answers once the reply reached them (its time counts in the latency).

Usage: .venv/bin/python benchmarks/killloop.py [--users 24] [--kills 40] [--records 3]
       [--bench-users 200] [--skip-kills]
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from collections import Counter, defaultdict
from collections.abc import Awaitable, Callable
from itertools import accumulate
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.engine import ANSWERS, figures, line, register_users  # noqa: E402
from bot.app import App, open_app  # noqa: E402
from domain.messages import SENT, Delivery, Incoming, Outgoing  # noqa: E402
from domain.settings import Settings  # noqa: E402
from storage import outbox  # noqa: E402
from storage.models import Record  # noqa: E402
from tests.kill_loop import run, wave  # noqa: E402

Read = Callable[[str, int], Awaitable[None]]  # (user, step): the step's replies delivered


async def converse(app: App, user: str, latencies: list[float], read: Read | None) -> None:
    """One person's form; with `read`, each reply is delivered before they answer it."""
    for step, text in enumerate(ANSWERS):
        started = time.perf_counter()
        await app.engine.handle(Incoming("bench", user, user, text, update_id=f"{user}-{step}"))
        if read is not None:
            await read(user, step)
        latencies.append(time.perf_counter() - started)


async def conversations(
    app: App, users: list[str], read: Read | None = None
) -> tuple[float, list[float]]:
    latencies: list[float] = []
    started = time.perf_counter()
    await asyncio.gather(*(converse(app, user, latencies, read) for user in users))
    return time.perf_counter() - started, latencies


async def replies_per_step(app: App) -> list[int]:
    """How many messages each step of the form answers with (the same for everyone)."""
    user = (await register_users(app, 1, "calibrate"))[0]
    return [
        len(await app.engine.handle(Incoming("bench", user, user, text, update_id=f"c-{step}")))
        for step, text in enumerate(ANSWERS)
    ]


async def saved(app: App) -> int:
    from sqlalchemy import func, select

    async with app.sessions() as db:
        return await db.scalar(select(func.count(Record.id)))


async def outbox_cost(users: int) -> None:
    sent = 0
    received: Counter[str] = Counter()  # messages each person got
    arrived = defaultdict(asyncio.Event)  # a person's phone buzzed

    async def instant(outgoing: Outgoing, done: int = 0) -> Delivery:
        nonlocal sent
        sent += 1
        received[outgoing.chat_id] += 1
        arrived[outgoing.chat_id].set()
        return Delivery(SENT, (str(sent),))

    with tempfile.TemporaryDirectory() as folder:
        settings = Settings(  # scripted users: no flood damping, everyone registers at once
            data_dir=Path(folder),
            database_url="",
            flood_burst=100_000,
            invite_attempts_per_minute=100_000,
        )
        app = await open_app(settings)
        direct = await register_users(app, users, "direct")
        queued = await register_users(app, users, "queued")
        expected = list(accumulate(await replies_per_step(app)))

        async def read(user: str, step: int) -> None:
            """A person answers once the step's replies reached them (and were marked sent:
            the bot refuses an answer to a question it has not delivered yet)."""
            while received[user] < expected[step]:
                arrived[user].clear()
                await arrived[user].wait()
            await sender.settled(user)

        elapsed, latencies = await conversations(app, direct)
        print(line("no outbox", figures(elapsed, latencies)))
        baseline = len(latencies) / elapsed

        sender = app.sender("bench", instant)
        app.engine.queue_replies("bench", sender.wake)
        sender.start()
        before = await saved(app)
        started = time.perf_counter()
        elapsed, latencies = await conversations(app, queued, read)
        print(line("outbox", figures(elapsed, latencies)))
        while True:  # every reply handed to the messenger
            async with app.sessions() as db:
                if not (await outbox.counts(db)).get(outbox.PENDING):
                    break
            await asyncio.sleep(0.01)
        drained = time.perf_counter() - started
        await sender.stop()
        if await saved(app) - before != users:
            raise SystemExit("not every form was saved through the outbox")
        rate = len(latencies) / elapsed
        print(
            f"outbox cost: {rate / baseline:.0%} of the throughput without it "
            f"({rate:.0f} vs {baseline:.0f} msg/s); every reply sent {drained:.1f} s after "
            f"the first message ({sent} sends)"
        )
        await app.close()


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--users", type=int, default=24)
    parser.add_argument("--kills", type=int, default=40)
    parser.add_argument("--records", type=int, default=3)
    parser.add_argument("--bench-users", type=int, default=200)
    parser.add_argument("--skip-kills", action="store_true")
    args = parser.parse_args()
    if not args.skip_kills:
        print(f"kill loop: {args.users} people, {args.records} records each, {args.kills} kills")
        for mode in ("polling", "webhook"):
            with tempfile.TemporaryDirectory() as folder:
                outcome = await run(Path(folder), mode, args.users, args.records, args.kills)
                print(outcome.line(mode), flush=True)
                for values in outcome.shifted_values:
                    print(f"  shifted: {values}")
        with tempfile.TemporaryDirectory() as folder:
            print((await wave(Path(folder), members=300, kills=3)).line(), flush=True)
    print(f"engine conversations: {args.bench_users} focal points, closed loop, SQLite file")
    await outbox_cost(args.bench_users)


if __name__ == "__main__":
    asyncio.run(main())
