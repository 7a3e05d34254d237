"""The fake Telegram Bot API driven by the real python-telegram-bot over real HTTP."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from aiohttp import web
from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.error import (
    BadRequest,
    Conflict,
    EndPointNotFound,
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
)
from telegram.ext import (
    AIORateLimiter,
    Application,
    ApplicationBuilder,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    filters,
)

from tests.fakes.telegram_api import FakeTelegramAPI

pytestmark = [
    pytest.mark.asyncio,
    # PTB 22 itself reads RetryAfter.retry_after when building the exception message.
    pytest.mark.filterwarnings("ignore:.*retry_after.*:telegram.warnings.PTBDeprecationWarning"),
]

TOKEN = "123:ABC"
USER = 4242


def _keyboard() -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton("Yes", callback_data="yes"),
                InlineKeyboardButton("No", callback_data="no"),
            ]
        ]
    )


def _bot(fake: FakeTelegramAPI, token: str = TOKEN) -> Bot:
    return Bot(token, base_url=fake.base_url, base_file_url=fake.base_file_url)


def _app(fake: FakeTelegramAPI, **builder: Any) -> Application:
    b = ApplicationBuilder().token(TOKEN).base_url(fake.base_url).base_file_url(fake.base_file_url)
    if "rate_limiter" in builder:
        b = b.rate_limiter(builder["rate_limiter"])
    return b.build()


async def test_base_url_is_joined_with_token_and_method() -> None:
    async with FakeTelegramAPI(token=TOKEN) as fake:
        assert fake.base_url == f"http://127.0.0.1:{fake.port}/bot"
        bot = _bot(fake)
        # PTB: base_url + token, then f"{...}/{method}"
        assert bot.base_url == f"{fake.base_url}{TOKEN}"
        assert bot.base_file_url == f"{fake.base_file_url}{TOKEN}"


async def test_get_me_and_send_message_round_trip() -> None:
    async with FakeTelegramAPI(token=TOKEN) as fake, _bot(fake) as bot:
        me = await bot.get_me()
        assert me.username == "doingoai_test_bot"
        assert me.is_bot

        msg = await bot.send_message(
            USER, "Hello <b>world</b>", parse_mode="HTML", reply_markup=_keyboard()
        )
        assert msg.message_id == 1
        assert msg.chat.id == USER
        assert msg.text == "Hello world"
        assert msg.entities[0].type == "bold"
        assert msg.reply_markup == _keyboard()
        second = await bot.send_message(USER, "again")
        assert second.message_id == 2

        sent = fake.sent(USER)
        assert [m["text"] for m in sent] == ["Hello <b>world</b>", "again"]
        assert sent[0]["parse_mode"] == "HTML"
        assert sent[0]["reply_markup"]["inline_keyboard"][0][1]["callback_data"] == "no"
        assert [name for name, _ in fake.calls] == ["getMe", "getMe", "sendMessage", "sendMessage"]
        assert fake.calls[2][1]["chat_id"] == USER
        assert fake.delivered_count == 2

        edited = await bot.edit_message_text("Edited", chat_id=USER, message_id=1)
        assert edited.text == "Edited" and edited.reply_markup is None
        with pytest.raises(BadRequest, match="(?i)message is not modified"):
            await bot.edit_message_text("Edited", chat_id=USER, message_id=1)
        assert fake.sent(USER)[0]["text"] == "Edited"
        assert [e["method"] for e in fake.edits(USER)] == ["editMessageText"]


async def test_polling_application_echo_and_button() -> None:
    async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        await update.message.reply_text("Welcome", reply_markup=_keyboard())

    async def echo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        await update.message.reply_text(f"echo: {update.message.text}")

    async def button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        query = update.callback_query
        await query.answer()
        await query.edit_message_text(f"You chose {query.data}")

    async with FakeTelegramAPI(token=TOKEN) as fake:
        app = _app(fake)
        app.add_handler(CommandHandler("start", start))
        app.add_handler(MessageHandler(filters.TEXT & ~filters.COMMAND, echo))
        app.add_handler(CallbackQueryHandler(button))
        await app.initialize()
        await app.start()
        await app.updater.start_polling(poll_interval=0, timeout=1)
        try:
            await fake.send_text(USER, "/start", first_name="Lan")
            welcome = (await fake.wait_for_sent(USER, 1))[0]
            assert welcome["text"] == "Welcome"

            await fake.send_text(USER, "xin chào")
            sent = await fake.wait_for_sent(USER, 2)
            assert sent[1]["text"] == "echo: xin chào"

            await fake.press_button(USER, welcome["message_id"], "yes")
            edits = await fake.wait_for_edits(USER, 1)
            assert edits[0]["text"] == "You chose yes"
            assert fake.sent(USER)[0]["text"] == "You chose yes"
            assert len(fake.answered_callbacks) == 1
        finally:
            await app.updater.stop()
            await app.stop()
            await app.shutdown()
        # PTB's final getUpdates(offset=last+1) confirmed every processed update.
        assert fake.pending_updates == []
        assert fake.calls_to("deleteWebhook"), "start_polling deletes any webhook first"


async def test_long_polling_returns_as_soon_as_an_update_is_queued() -> None:
    async with FakeTelegramAPI(token=TOKEN) as fake, _bot(fake) as bot:
        # A 60 s long poll answered within 10 s: it returned on the update, not at its end.
        poll = asyncio.create_task(bot.get_updates(timeout=60, read_timeout=70))
        await fake.wait_for_call("getUpdates")
        update_id = await fake.send_text(USER, "/help@doingoai_test_bot now")
        updates = await asyncio.wait_for(poll, 10)
        assert [u.update_id for u in updates] == [update_id]
        entity = updates[0].message.entities[0]
        assert (entity.type, entity.offset, entity.length) == ("bot_command", 0, 23)
        # not confirmed yet -> delivered again; offset confirms it
        assert len(await bot.get_updates(timeout=0)) == 1
        assert await bot.get_updates(offset=update_id + 1, timeout=0) == ()
        assert fake.pending_updates == []


async def test_webhook_delivery_with_secret_and_redelivery() -> None:
    secret = "s3cr3t-token"
    received: list[dict[str, Any]] = []
    state = {"fail": False}

    async def handle(request: web.Request) -> web.Response:
        if request.headers.get("X-Telegram-Bot-Api-Secret-Token") != secret:
            return web.Response(status=403)
        if state["fail"]:
            return web.Response(status=500)
        received.append(await request.json())
        return web.Response(text="ok")

    hook_app = web.Application()
    hook_app.router.add_post("/hook", handle)
    runner = web.AppRunner(hook_app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    url = f"http://127.0.0.1:{runner.addresses[0][1]}/hook"
    try:
        async with FakeTelegramAPI(token=TOKEN) as fake, _bot(fake) as bot:
            assert await bot.set_webhook(url, secret_token=secret, allowed_updates=["message"])
            info = await bot.get_webhook_info()
            assert info.url == url
            assert fake.webhook["secret_token"] == secret
            with pytest.raises(Conflict):
                await bot.get_updates()

            first = await fake.send_text(USER, "/start")
            assert fake.webhook_deliveries[-1]["status"] == 200
            update = Update.de_json(received[0], bot)
            assert update.update_id == first and update.message.text == "/start"

            state["fail"] = True
            second = await fake.send_text(USER, "hello")
            assert fake.webhook_deliveries[-1] == {
                "update_id": second,
                "status": 500,
                "error": "Wrong response from the webhook: 500 Internal Server Error",
                "attempt": 1,
                "url": url,
            }
            info = await bot.get_webhook_info()
            assert info.pending_update_count == 1
            assert "500" in info.last_error_message

            state["fail"] = False
            assert await fake.redeliver(second) == 200
            assert [u["update_id"] for u in received] == [first, second]
            assert (await bot.get_webhook_info()).pending_update_count == 0

            assert await bot.delete_webhook()
            assert await bot.get_updates(timeout=0) == ()
    finally:
        await runner.cleanup()


async def test_rate_limiter_retries_429_until_delivered() -> None:
    async with FakeTelegramAPI(token=TOKEN) as fake:
        app = _app(fake, rate_limiter=AIORateLimiter(max_retries=2))
        async with app:
            fake.fail_next("sendMessage", chat_id=USER, times=2, status=429, retry_after=0.2)
            msg = await app.bot.send_message(USER, "eventually")
            assert msg.text == "eventually"
            statuses = [e[2] for e in fake.errors if e[0] == "sendMessage"]
            assert statuses == [429, 429]
            assert len(fake.calls_to("sendMessage")) == 3
            assert [m["text"] for m in fake.sent(USER)] == ["eventually"]

            fake.fail_next("sendMessage", times=3, status=429, retry_after=0.1)
            with pytest.raises(RetryAfter):
                await app.bot.send_message(USER, "gives up after max_retries")


async def test_error_mapping_forbidden_server_errors_and_parse_mode() -> None:
    async with FakeTelegramAPI(token=TOKEN) as fake, _bot(fake) as bot:
        fake.fail_next("sendMessage", status=429, retry_after=3)
        with pytest.raises(RetryAfter) as retry:
            await bot.send_message(USER, "x")
        assert retry.value.retry_after == 3

        fake.fail_next("sendMessage", chat_id=USER, status=500)
        with pytest.raises(NetworkError, match="Internal Server Error"):
            await bot.send_message(USER, "x")
        fake.fail_next("sendMessage", status=502)
        with pytest.raises(NetworkError, match="Bad Gateway"):
            await bot.send_message(USER, "x")

        fake.block_user(USER)
        with pytest.raises(Forbidden, match="bot was blocked by the user"):
            await bot.send_message(USER, "x")
        with pytest.raises(Forbidden):
            await bot.send_chat_action(USER, "typing")
        assert await bot.send_message(USER + 1, "other users still work")

        with pytest.raises(BadRequest, match="(?i)can't parse entities"):
            await bot.send_message(USER + 1, "1 < 2", parse_mode="HTML")
        with pytest.raises(BadRequest, match=r"(?i)character '\.' is reserved"):
            await bot.send_message(USER + 1, "Done.", parse_mode="MarkdownV2")
        ok = await bot.send_message(USER + 1, r"*Done*\.", parse_mode="MarkdownV2")
        assert ok.text == "Done." and ok.entities[0].type == "bold"

        # unknown method -> 404; do_api_request turns it into EndPointNotFound
        with pytest.raises(EndPointNotFound):
            await bot.do_api_request("noSuchMethod")
        assert fake.errors[-1][2:] == (404, "Not Found")


async def test_fake_rate_limit_counts_rejections() -> None:
    async with FakeTelegramAPI(token=TOKEN, rate_limit_per_second=5) as fake, _bot(fake) as bot:
        results = await asyncio.gather(
            *(bot.send_message(USER, f"m{i}") for i in range(12)), return_exceptions=True
        )
        rejected = [r for r in results if isinstance(r, RetryAfter)]
        assert len(rejected) == 7 and fake.rate_limited_count == 7
        assert fake.delivered_count == 5
        assert all(r.retry_after == 1 for r in rejected)


async def test_many_concurrent_requests_are_all_delivered_in_order_per_chat() -> None:
    async with FakeTelegramAPI(token=TOKEN) as fake, _bot(fake) as bot:
        await asyncio.gather(*(bot.send_message(1000 + i % 20, f"n{i}") for i in range(300)))
        assert fake.delivered_count == 300
        assert [m["message_id"] for m in fake.sent(1000)] == list(range(1, 16))


async def test_document_upload_and_download() -> None:
    async with FakeTelegramAPI(token=TOKEN) as fake, _bot(fake) as bot:
        payload = "Báo cáo tháng".encode() * 100
        msg = await bot.send_document(
            USER, document=payload, filename="bao_cao.docx", caption="Báo cáo"
        )
        assert msg.document.file_name == "bao_cao.docx"
        assert msg.caption == "Báo cáo"
        record = fake.sent(USER)[0]
        assert (record["filename"], record["content"], record["caption"]) == (
            "bao_cao.docx",
            payload,
            "Báo cáo",
        )
        tg_file = await bot.get_file(msg.document.file_id)
        assert bytes(await tg_file.download_as_bytearray()) == payload

        await fake.send_document(USER, "in.txt", b"from the user", mime_type="text/plain")
        (update,) = await bot.get_updates(timeout=0)
        user_file = await update.message.document.get_file()
        assert bytes(await user_file.download_as_bytearray()) == b"from the user"


async def test_commands_chat_action_delete_and_close() -> None:
    async with FakeTelegramAPI(token=TOKEN) as fake, _bot(fake) as bot:
        assert await bot.set_my_commands([("start", "Bắt đầu"), ("help", "Trợ giúp")])
        commands = await bot.get_my_commands()
        assert [c.command for c in commands] == ["start", "help"]
        with pytest.raises(BadRequest, match="(?i)bot_command_invalid"):
            await bot.set_my_commands([("Bad-Name", "x")])
        assert await bot.send_chat_action(USER, "typing")
        msg = await bot.send_message(USER, "temp")
        assert await bot.delete_message(USER, msg.message_id)
        assert fake.deleted(USER) == [msg.message_id]
        with pytest.raises(BadRequest, match="(?i)message to delete not found"):
            await bot.delete_message(USER, msg.message_id)
        assert await bot.log_out()
        assert await bot.close()


async def test_wrong_token_raises_invalid_token() -> None:
    async with FakeTelegramAPI(token=TOKEN) as fake:
        bot = _bot(fake, token="999:WRONG")
        try:
            with pytest.raises(InvalidToken):
                await bot.initialize()  # initialize() calls getMe
            with pytest.raises(InvalidToken):
                await bot.get_me()
        finally:
            await bot.shutdown()
        assert fake.unauthorized_count == 2
        assert fake.calls == []


async def test_wait_for_sent_reports_what_was_received() -> None:
    async with FakeTelegramAPI(token=TOKEN) as fake, _bot(fake) as bot:
        await bot.send_message(USER, "only one")
        with pytest.raises(AssertionError, match="only one"):
            await fake.wait_for_sent(USER, 2, timeout=0.1)
