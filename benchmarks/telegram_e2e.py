"""End-to-end Telegram throughput and latency: a bare python-telegram-bot echo bot against
doingoai, both driven through the fake Bot API server of the tests (`FakeTelegramAPI`, on
127.0.0.1), in polling and in webhook mode.

Four runs, each against a fresh instance of the fake (so none inherits the recorded calls
and deliveries of another), each sending CHATS x MESSAGES text messages (default 50 x 40):

- echo, polling: an `Application` with one `MessageHandler` answering every text with
  `bot.send_message(chat_id, text)` (with `--echo-reply question`, with a question of
  doingoai's usual length and its two buttons instead, so that both bots send the same
  bytes), long polling the fake with PTB's `Updater` (`poll_interval=0, timeout=10`, as
  `TelegramChannel` does);
- doingoai, polling: `bot.app.open_app(Settings(...))` on a temporary SQLite data dir and
  `bot.telegram.TelegramChannel`, polling likewise;
- echo, webhook: `updater(None)` and a plain aiohttp handler on 127.0.0.1 (ephemeral port)
  checking the secret header; by default it awaits `application.process_update(Update)`
  and answers 200 afterwards, like doingoai's handler (`--echo-webhook queue` puts the
  update on `application.update_queue` instead and answers 200 at once);
- doingoai, webhook: the project's backend, `bot.web.build_web_app`, served on 127.0.0.1
  (ephemeral port), the webhook set by `TelegramChannel.start`.

Both bots use the same number of concurrent updates (`--concurrency`, default the
project's `telegram_concurrency` setting); doingoai keeps its `AIORateLimiter` (requests
with a chat_id evenly spaced at `telegram_messages_per_second`) unless `--no-rate-limiter`
removes it for diagnosis. The echo bot has no rate limiter, and the fake enforces none.

Every doingoai user is registered first ("/start CODE" sent through the fake, invite codes
from `storage.repo.create_invite`); then user i is put i % 14 steps into a `doan_vao` form
through the fake as well, each step answered before the next (unmeasured: a person answers
the question they were shown, and the bot refuses an answer sent before its question was
delivered). The measured messages continue that
cycle: "/moi", "2" (Đoàn vào), the eleven answers, "Lưu", "/moi", ... so every measured
message is form work. How many sendMessage calls each step produces, and the first line
of each, are calibrated through the engine on a separate user; each measured reply is
checked against them and the saved records are counted at the end. The echo bot gets one
unmeasured message per chat first and the same texts afterwards.

Latency of a message: from just before the update is injected into the fake
(`send_text`) to the fake recording the bot's last expected reply to that chat (a
`FakeTelegramAPI` subclass sets an asyncio.Event per chat when that chat's sent count
reaches the target). Each user sends its next message only after that reply; all users
run concurrently. Messages/second = measured messages / time from the first injection to
the last reply.

How the fake delivers webhooks: `inject_raw` POSTs the update to the webhook itself and
awaits the response, and every delivery holds one `_delivery_lock`, so the fake delivers
ONE update at a time for the whole bot (real Telegram opens up to `max_connections`, 40 by
default, in parallel). With a handler that answers 200 only after processing (doingoai,
echo in "process" variant), webhook mode is therefore fully serial, whatever the bot's
concurrency; latency includes the wait for the fake's lock.

Everything (fake, bots, clients) shares one event loop, so one core; the fake's own cost is
in every figure, for both bots alike. On a shared machine the echo figures vary by a third
from run to run; doingoai's, with its rate limiter, hardly at all.

Usage: .venv/bin/python benchmarks/telegram_e2e.py [--chats 50] [--messages 40]
       [--concurrency N] [--echo-webhook process|queue] [--echo-reply text|question]
       [--no-rate-limiter]
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import hmac
import math
import re
import socket
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import telegram  # noqa: E402
from aiohttp import web  # noqa: E402
from sqlalchemy import func, select  # noqa: E402
from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update  # noqa: E402
from telegram.ext import Application, ApplicationBuilder, ContextTypes, MessageHandler  # noqa: E402
from telegram.ext import filters as ptb_filters  # noqa: E402

from bot.app import App, open_app  # noqa: E402
from bot.telegram import MAX_TEXT, TelegramChannel, split_text  # noqa: E402
from bot.web import build_web_app  # noqa: E402
from domain.messages import Incoming, Outgoing  # noqa: E402
from domain.settings import Settings  # noqa: E402
from storage import repo  # noqa: E402
from storage.models import Record  # noqa: E402
from tests.fakes.telegram_api import FakeTelegramAPI  # noqa: E402

TOKEN = "123456:BENCH-token"
SECRET = "bench-Secret_1"
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
WEBHOOK_PATH = "/telegram/webhook"
FIRST_CHAT_ID = 700_001
ALLOWED_UPDATES = ["message", "callback_query"]

# One `doan_vao` form (domain/activities.toml), then "Lưu"; repeated.
CYCLE = [
    "/moi",
    "2",  # Đoàn vào (khách nước ngoài đến tỉnh)
    "Đoàn Đại sứ quán Lào tại Việt Nam",
    "Ông Khamphao Ernthavanh, Đại sứ",
    "Lào",
    "1",  # Cơ quan đại diện
    "có",
    "Chào xã giao, trao đổi hợp tác giáo dục",
    "8",
    "12/3/2023",
    "13/3/2023",
    "bỏ qua",
    "1",  # Đã thực hiện
    "Lưu",
]
SAVE_STEP = CYCLE.index("Lưu")


# --- the fake, recording when each chat got its awaited reply ---------------------------


@dataclass
class Waiter:
    target: int = 0
    event: asyncio.Event = field(default_factory=asyncio.Event)
    at: float = 0.0


class TimedFake(FakeTelegramAPI):
    """The fake, plus: per chat, an Event set (and the time taken) as soon as the number of
    messages sent to the chat reaches the awaited count. O(1) per message, unlike
    `wait_until`, whose Condition wakes every waiter on every API call."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.counts: dict[int | str, int] = {}
        self.waiters: dict[int | str, Waiter] = {}

    def expect(self, chat_id: int, replies: int) -> Waiter:
        waiter = Waiter(target=self.counts.get(chat_id, 0) + replies)
        self.waiters[chat_id] = waiter
        return waiter

    async def _add_message(self, chat: int | str, record: dict[str, Any]) -> dict[str, Any]:
        result = await super()._add_message(chat, record)
        count = self.counts[chat] = self.counts.get(chat, 0) + 1
        waiter = self.waiters.get(chat)
        if waiter is not None and not waiter.event.is_set() and count >= waiter.target:
            waiter.at = time.perf_counter()
            waiter.event.set()
        return result

    def diagnostics(self) -> str:
        return (
            f"errors: {[(e[0], e[2], e[3]) for e in self.errors[-5:]]}; "
            f"last webhook error: {self._webhook_last_error}; "
            f"last calls: {[c[0] for c in self.calls[-8:]]}"
        )


# --- driving users -------------------------------------------------------------------------


@dataclass
class Step:
    text: str
    replies: int  # sendMessage calls expected
    check: Callable[[list[dict[str, Any]]], str | None]  # an error, or None


@dataclass
class Result:
    mode: str
    bot: str
    elapsed: float
    latencies: list[float]
    sends: int

    @property
    def rate(self) -> float:
        return len(self.latencies) / self.elapsed

    def percentile(self, fraction: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[max(0, math.ceil(fraction * len(ordered)) - 1)]


async def say(fake: TimedFake, chat_id: int, step: Step, timeout: float) -> float:
    """Send one message, wait for its last reply, check it; returns the latency."""
    waiter = fake.expect(chat_id, step.replies)
    started = time.perf_counter()
    await fake.send_text(chat_id, step.text, first_name=f"Người dùng {chat_id}")
    try:
        await asyncio.wait_for(waiter.event.wait(), timeout)
    except TimeoutError:
        raise SystemExit(
            f"chat {chat_id}: no reply #{waiter.target} to {step.text!r} within {timeout}s; "
            f"{fake.diagnostics()}"
        ) from None
    replies = fake.sent(chat_id)[waiter.target - step.replies : waiter.target]
    error = step.check(replies)
    if error:
        raise SystemExit(f"chat {chat_id}: after {step.text!r}: {error}")
    return waiter.at - started


async def drive(
    fake: TimedFake, scripts: dict[int, list[Step]], timeout: float
) -> tuple[float, list[float]]:
    """All chats concurrently, each one message at a time; returns (elapsed, latencies)."""
    latencies: list[float] = []

    async def user(chat_id: int, steps: list[Step]) -> None:
        for step in steps:
            latencies.append(await say(fake, chat_id, step, timeout))

    started = time.perf_counter()
    async with asyncio.TaskGroup() as group:  # a failure (SystemExit) cancels the others
        for chat_id, steps in scripts.items():
            group.create_task(user(chat_id, steps))
    return time.perf_counter() - started, latencies


def chat_ids(count: int) -> list[int]:
    return [FIRST_CHAT_ID + i for i in range(count)]


def sends_of(fake: TimedFake) -> int:
    return sum(fake.counts.values())


# --- the echo bot --------------------------------------------------------------------------


# `--echo-reply question`: the echo bot answers every message as doingoai's form does, with
# a question of the form's usual length and its two buttons (the same bytes to send, parse
# and record), so that the ratio compares the work around the send, not the payload.
QUESTION = (
    "Đoàn vào (khách nước ngoài đến tỉnh) — câu 3/11\nTrưởng đoàn là ai (họ tên, chức vụ)?\n"
    'Ví dụ: Ông Khamphao Ernthavanh, Đại sứ\n(Gõ "quay lại" để sửa câu trước, /huy để hủy.)'
)
QUESTION_BUTTONS = InlineKeyboardMarkup(
    [
        [InlineKeyboardButton("◀ Quay lại", callback_data="back")],
        [InlineKeyboardButton("Hủy", callback_data="cancel")],
    ]
)


async def echo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    await context.bot.send_message(chat_id=update.effective_chat.id, text=update.message.text)


async def echo_question(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    await context.bot.send_message(
        chat_id=update.effective_chat.id, text=QUESTION, reply_markup=QUESTION_BUTTONS
    )


def echo_application(
    fake: FakeTelegramAPI, concurrency: int, webhook: bool, reply: str
) -> Application:
    builder = (
        ApplicationBuilder()
        .token(TOKEN)
        .base_url(fake.base_url)
        .base_file_url(fake.base_file_url)
        .concurrent_updates(concurrency)
    )
    if webhook:
        builder = builder.updater(None)
    application = builder.build()
    answer = echo_question if reply == "question" else echo
    application.add_handler(MessageHandler(ptb_filters.TEXT, answer))
    return application


def echo_web_app(application: Application, variant: str) -> web.Application:
    """A plain aiohttp webhook for the echo bot: "process" awaits process_update (200 after
    the reply, like doingoai); "queue" puts the update on update_queue (200 at once)."""

    async def handle(request: web.Request) -> web.Response:
        given = request.headers.get(SECRET_HEADER, "")
        if not hmac.compare_digest(given.encode(), SECRET.encode()):
            return web.json_response({"ok": False}, status=403)
        update = Update.de_json(await request.json(), application.bot)
        if variant == "queue":
            await application.update_queue.put(update)
        else:
            await application.process_update(update)
        return web.json_response({"ok": True})

    web_app = web.Application()
    web_app.router.add_post(WEBHOOK_PATH, handle)
    return web_app


def echo_step(text: str, reply: str) -> Step:
    expected = QUESTION if reply == "question" else text

    def check(replies: list[dict[str, Any]]) -> str | None:
        got = replies[-1]["text"]
        return None if got == expected else f"echo answered {got!r}"

    return Step(text, 1, check)


async def run_echo(mode: str, args: argparse.Namespace, concurrency: int) -> Result:
    async with TimedFake(token=TOKEN) as fake:
        application = echo_application(
            fake, concurrency, webhook=mode == "webhook", reply=args.echo_reply
        )
        runner = None
        try:
            await application.initialize()
            await application.start()
            if mode == "webhook":
                sock = bound_socket()
                runner = web.AppRunner(echo_web_app(application, args.echo_webhook))
                await runner.setup()
                await web.SockSite(runner, sock).start()
                await application.bot.set_webhook(
                    url=f"http://127.0.0.1:{sock.getsockname()[1]}{WEBHOOK_PATH}",
                    secret_token=SECRET,
                    allowed_updates=ALLOWED_UPDATES,
                )
            else:
                await application.updater.start_polling(
                    poll_interval=0, timeout=10, allowed_updates=ALLOWED_UPDATES
                )
            ids = chat_ids(args.chats)
            await drive(
                fake, {c: [echo_step("/start", args.echo_reply)] for c in ids}, args.timeout
            )  # warm-up
            scripts = {
                chat_id: [
                    echo_step(CYCLE[(i + k) % len(CYCLE)], args.echo_reply)
                    for k in range(args.messages)
                ]
                for i, chat_id in enumerate(ids)
            }
            before = sends_of(fake)
            gc.collect()
            elapsed, latencies = await drive(fake, scripts, args.timeout)
            sends = sends_of(fake) - before
        finally:
            if runner is not None:
                await runner.shutdown()
            if application.updater and application.updater.running:
                await application.updater.stop()
            if application.running:
                await application.stop()
            await application.shutdown()
            if runner is not None:
                await runner.cleanup()
    return Result(mode, "echo", elapsed, latencies, sends)


# --- doingoai ------------------------------------------------------------------------------


def bound_socket() -> socket.socket:
    """A socket on 127.0.0.1 with an ephemeral port, known before the settings are made."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    return sock


def first_line_shape(text: str) -> str:
    """The first line with numbers masked ("câu 4/11", "hoạt động số 7" vary)."""
    return re.sub(r"\d+", "#", (text or "").split("\n", 1)[0])


def sends_for(replies: list[Outgoing]) -> int:
    return sum(len(split_text(r.text, MAX_TEXT)) + (r.file_path is not None) for r in replies)


def doingoai_step(text: str, replies: list[Outgoing]) -> Step:
    """A step expecting the calibrated replies: their count and each first line's shape."""
    shapes = [first_line_shape(p) for r in replies for p in split_text(r.text, MAX_TEXT)]

    def check(sent: list[dict[str, Any]]) -> str | None:
        got = [first_line_shape(m["text"]) for m in sent if m["method"] == "sendMessage"]
        return None if got == shapes else f"expected replies {shapes}, got {got}"

    return Step(text, sends_for(replies), check)


async def invite_codes(app: App, count: int) -> list[str]:
    async with app.sessions() as db, db.begin():
        units = await repo.list_units(db)
        return [
            await repo.create_invite(
                db, role="focal_point", unit_id=units[i % len(units)].id, ttl=timedelta(days=1)
            )
            for i in range(count)
        ]


async def calibrate(app: App) -> tuple[Step, list[Step]]:
    """Registration and one form cycle through the engine, on a user of its own."""
    (code,) = await invite_codes(app, 1)
    counter = iter(range(10**6))

    async def handle(text: str) -> list[Outgoing]:
        return await app.engine.handle(
            Incoming("calibration", "c", "c", text, update_id=f"c{next(counter)}")
        )

    registration = doingoai_step("/start", await handle(f"/start {code}"))
    cycle = []
    for text in CYCLE:
        replies = await handle(text)
        if text == "Lưu" and not any("Đã lưu" in r.text for r in replies):
            raise SystemExit(f"calibration: the form was not saved: {replies}")
        cycle.append(doingoai_step(text, replies))
    return registration, cycle


async def saved_records(app: App) -> int:
    async with app.sessions() as db:
        return await db.scalar(select(func.count(Record.id)))


async def prepare_doingoai(app: App, fake: TimedFake, args: argparse.Namespace):
    """Register every user through Telegram and put user i at step i % 14 of a form, both
    unmeasured; returns the measured scripts and the number of records they should save."""
    registration, cycle = await calibrate(app)
    ids = chat_ids(args.chats)
    codes = await invite_codes(app, len(ids))

    def welcomed(sent: list[dict[str, Any]]) -> str | None:  # names and units differ
        return None if "Chào mừng" in sent[0]["text"] else f"not registered: {sent}"

    register = {
        chat_id: [Step(f"/start {code}", registration.replies, welcomed)]
        for chat_id, code in zip(ids, codes, strict=True)
    }
    await drive(fake, register, args.timeout)
    warm_up = {chat_id: cycle[: i % len(CYCLE)] for i, chat_id in enumerate(ids)}
    await drive(fake, {chat_id: steps for chat_id, steps in warm_up.items() if steps}, args.timeout)
    scripts: dict[int, list[Step]] = {}
    saves = 0
    for i, chat_id in enumerate(ids):
        positions = [(i + k) % len(CYCLE) for k in range(args.messages)]
        scripts[chat_id] = [cycle[p] for p in positions]
        saves += sum(p == SAVE_STEP for p in positions)
    return scripts, saves


def doingoai_settings(data_dir: Path, fake: FakeTelegramAPI, mode: str, port: int, args):
    return Settings(
        data_dir=data_dir,
        database_url="",
        telegram_bot_token=TOKEN,
        telegram_api_base_url=fake.base_url,
        telegram_file_base_url=fake.base_file_url,
        telegram_mode=mode,
        telegram_webhook_secret=SECRET,
        public_base_url=f"http://127.0.0.1:{port}",
        listen_host="127.0.0.1",
        listen_port=port,
        telegram_concurrency=args.concurrency,
        flood_burst=10**6,  # scripted chats measure capacity; people are damped far sooner
        invite_attempts_per_minute=10**6,  # every chat registers at once
    )


async def run_doingoai(mode: str, args: argparse.Namespace, folder: Path) -> Result:
    async with TimedFake(token=TOKEN) as fake:
        sock = bound_socket() if mode == "webhook" else None
        port = sock.getsockname()[1] if sock else 0
        settings = doingoai_settings(folder / f"data-{mode}", fake, mode, port, args)
        app = await open_app(settings)
        channel = TelegramChannel(app, webhook=mode == "webhook")
        if args.no_rate_limiter:  # diagnosis only: what the bot does without PTB's limiter
            channel.bot._rate_limiter = None
        runner = None
        try:
            if sock is not None:
                runner = web.AppRunner(build_web_app(app, channel))
                await runner.setup()
                site = web.SockSite(runner, sock)
                await channel.start()  # sets the webhook (bot.runtime.serve's order)
                await site.start()
            else:
                await channel.start()
            scripts, saves = await prepare_doingoai(app, fake, args)
            records_before = await saved_records(app)
            before = sends_of(fake)
            gc.collect()
            elapsed, latencies = await drive(fake, scripts, args.timeout)
            sends = sends_of(fake) - before
            saved = await saved_records(app) - records_before
            if saved != saves:
                raise SystemExit(f"doingoai {mode}: {saved} records saved, expected {saves}")
        finally:
            if runner is not None:
                await runner.shutdown()
            await channel.stop()
            if runner is not None:
                await runner.cleanup()
            await app.close()
    return Result(mode, "doingoai", elapsed, latencies, sends)


# --- report --------------------------------------------------------------------------------


def print_result(result: Result) -> None:
    ms = 1000
    print(
        f"{result.mode:<8} {result.bot:<9} {len(result.latencies):6d} {result.elapsed:8.1f} s "
        f"{result.rate:8.1f} {result.percentile(0.5) * ms:9.1f} "
        f"{result.percentile(0.99) * ms:9.1f} {statistics.mean(result.latencies) * ms:9.1f} "
        f"{max(result.latencies) * ms:9.1f} {result.sends / result.elapsed:8.1f}",
        flush=True,
    )


def print_ratios(results: dict[tuple[str, str], Result]) -> None:
    print("\ndoingoai / echo")
    for mode in ("polling", "webhook"):
        ours, echo_ = results[mode, "doingoai"], results[mode, "echo"]
        print(
            f"{mode:<8} msg/s x{ours.rate / echo_.rate:.3f}   "
            f"p50 x{ours.percentile(0.5) / echo_.percentile(0.5):.1f}   "
            f"p99 x{ours.percentile(0.99) / echo_.percentile(0.99):.1f}"
        )


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--chats", type=int, default=50, help="concurrent users (default 50)")
    parser.add_argument("--messages", type=int, default=40, help="measured per chat (40)")
    parser.add_argument(
        "--concurrency", type=int, default=0,
        help="concurrent updates of both bots (default: the telegram_concurrency setting)",
    )  # fmt: skip
    parser.add_argument(
        "--echo-webhook", choices=("process", "queue"), default="process",
        help="echo webhook: await process_update (default) or put on update_queue",
    )  # fmt: skip
    parser.add_argument(
        "--echo-reply", choices=("text", "question"), default="text",
        help="echo answers with the text (default) or a doingoai-sized question and buttons",
    )  # fmt: skip
    parser.add_argument(
        "--no-rate-limiter", action="store_true",
        help="diagnosis: remove doingoai's AIORateLimiter",
    )  # fmt: skip
    parser.add_argument("--timeout", type=float, default=60.0, help="per reply, seconds")
    args = parser.parse_args()
    defaults = Settings()
    args.concurrency = concurrency = args.concurrency or defaults.telegram_concurrency
    rate = getattr(defaults, "telegram_messages_per_second", None)
    limiter = f"AIORateLimiter ({rate:g}/s)" if rate else "AIORateLimiter"

    print(
        f"python-telegram-bot {telegram.__version__}; {args.chats} chats x {args.messages} "
        f"messages = {args.chats * args.messages} per run; concurrent updates {concurrency}; "
        f"echo webhook: {args.echo_webhook}; echo reply: {args.echo_reply}; doingoai rate limiter: "
        f"{'off' if args.no_rate_limiter else limiter}\n"
    )
    print(
        f"{'mode':<8} {'bot':<9} {'msgs':>6} {'elapsed':>10} {'msg/s':>8} {'p50 ms':>9} "
        f"{'p99 ms':>9} {'mean ms':>9} {'max ms':>9} {'sends/s':>8}"
    )
    results: dict[tuple[str, str], Result] = {}
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="doingoai-e2e-") as folder:
        runs: list[tuple[str, str, Callable[[], Awaitable[Result]]]] = []
        for mode in ("polling", "webhook"):
            runs.append((mode, "echo", lambda m=mode: run_echo(m, args, concurrency)))
            runs.append((mode, "doingoai", lambda m=mode: run_doingoai(m, args, Path(folder))))
        for mode, bot_name, run in runs:
            results[mode, bot_name] = result = await run()
            print_result(result)
    print_ratios(results)
    print(f"\ntotal {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    asyncio.run(main())
