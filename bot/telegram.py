"""Telegram channel: python-telegram-bot translating updates to Incoming and rendering
Outgoing (choices as inline buttons, long texts split, files as documents).

Texts are sent without a parse mode, so whatever a user typed comes back exactly.
"""

from __future__ import annotations

import asyncio
import logging

from telegram import (
    BotCommand,
    CallbackQuery,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Update,
)
from telegram.error import BadRequest, Forbidden, NetworkError, TelegramError
from telegram.ext import (
    AIORateLimiter,
    Application,
    ApplicationBuilder,
    CallbackQueryHandler,
    ContextTypes,
    MessageHandler,
    filters,
)

from bot.app import App
from bot.render import split_text
from domain.catalog import t
from domain.messages import BLOCKED, FAILED, SENT, Incoming, Outgoing
from handlers.engine import COMMANDS
from storage import repo

log = logging.getLogger(__name__)

CHANNEL = "telegram"
MAX_TEXT = 4096
MAX_CAPTION = 1024
MAX_CALLBACK_BYTES = 64
# Edited messages are asked for only to say that an edit changes nothing.
ALLOWED_UPDATES = ["message", "edited_message", "callback_query"]
MENU_COMMANDS = (
    "moi", "nhanh", "cuatoi", "xong", "huy", "menu", "trogiup", "lienket", "web", "email",
    "kenh", "baocao", "tiendo", "donvi", "taoma",
)  # fmt: skip


def keyboard(outgoing: Outgoing) -> InlineKeyboardMarkup | None:
    if not outgoing.choices:
        return None
    rows = []
    for choice in outgoing.choices:
        if len(choice.key.encode()) > MAX_CALLBACK_BYTES:
            raise ValueError(f"callback data too long: {choice.key!r}")
        rows.append([InlineKeyboardButton(choice.label, callback_data=choice.key)])
    return InlineKeyboardMarkup(rows)


class TelegramChannel:
    """One bot on Telegram, serving the engine of `app`."""

    def __init__(self, app: App, webhook: bool = False) -> None:
        settings = app.settings
        self.app = app
        self.webhook = webhook
        builder = (
            ApplicationBuilder()
            .token(settings.telegram_bot_token)
            .base_url(settings.telegram_api_base_url)
            .base_file_url(settings.telegram_file_base_url)
            .rate_limiter(
                # One message every 1/rate seconds, no bursts: a burst of 30 followed by
                # 30 a second is what gets 429 answers.
                AIORateLimiter(
                    overall_max_rate=1,
                    overall_time_period=1 / settings.telegram_messages_per_second,
                    max_retries=settings.send_retries,
                )
            )
            .concurrent_updates(settings.telegram_concurrency)
        )
        if webhook:
            builder = builder.updater(None)
        self.application: Application = builder.build()
        # Per chat: a lock and how many updates hold or wait for it.
        self._chat_locks: dict[int, tuple[asyncio.Lock, int]] = {}
        self.application.add_handler(CallbackQueryHandler(self._on_update))
        self.application.add_handler(MessageHandler(filters.ALL, self._on_update))

    # --- lifecycle ----------------------------------------------------------------------

    async def start(self) -> None:
        """Check the token (getMe), register commands, start polling or the webhook."""
        await self.application.initialize()
        await self.application.bot.set_my_commands(
            [BotCommand(name, t(f"commands.{name}")) for name in MENU_COMMANDS if name in COMMANDS]
        )
        await self.application.start()
        settings = self.app.settings
        if self.webhook:
            await self.application.bot.set_webhook(
                url=f"{settings.public_base_url.rstrip('/')}/telegram/webhook",
                secret_token=settings.telegram_webhook_secret or None,
                allowed_updates=ALLOWED_UPDATES,
            )
        else:
            await self.application.updater.start_polling(
                poll_interval=0, timeout=10, allowed_updates=ALLOWED_UPDATES
            )

    async def stop(self) -> None:
        """Stop taking updates, let those in flight finish, then shut down."""
        if self.application.updater and self.application.updater.running:
            await self.application.updater.stop()
        if self.application.running:
            await self.application.stop()
        await self.application.shutdown()

    def parse_update(self, data: dict) -> Update:
        """A webhook body as an update; ValueError when it is not one (a malformed body
        with the right secret is refused, not a crash)."""
        try:
            update = Update.de_json(data, self.application.bot)
        except (ArithmeticError, AttributeError, KeyError, TypeError, ValueError) as error:
            raise ValueError("not an update") from error
        if update is None or not isinstance(update.update_id, int):
            raise ValueError("not an update")
        return update

    async def process_update(self, update: Update) -> None:
        """Webhook: process one update and return when its effects are committed."""
        await self.application.process_update(update)

    @property
    def username(self) -> str:
        return self.application.bot.username

    # --- incoming -----------------------------------------------------------------------

    async def _on_update(self, update: Update, _context: ContextTypes.DEFAULT_TYPE) -> None:
        """Updates of different chats run concurrently; those of one chat in order."""
        chat = update.effective_chat
        if chat is None or update.effective_user is None:
            return
        lock, users = self._chat_locks.get(chat.id, (asyncio.Lock(), 0))
        self._chat_locks[chat.id] = (lock, users + 1)
        try:
            async with lock:
                await self._handle(update)
        finally:
            lock, users = self._chat_locks[chat.id]
            if users == 1:
                del self._chat_locks[chat.id]
            else:
                self._chat_locks[chat.id] = (lock, users - 1)

    async def _handle(self, update: Update) -> None:
        user, chat = update.effective_user, update.effective_chat
        query = update.callback_query
        if query is not None:
            await self._acknowledge(query)
        if update.edited_message is not None:  # an earlier answer is not changed by an edit
            await self.send(Outgoing(text=t("telegram.edit_not_applied"), chat_id=str(chat.id)))
            return
        message = update.message
        if query is None and (message is None or message.text is None):
            await self.send(Outgoing(text=t("errors.text_only"), chat_id=str(chat.id)))
            return
        incoming = Incoming(
            channel=CHANNEL,
            user_id=str(user.id),
            chat_id=str(chat.id),
            text=message.text if message else "",
            choice=query.data if query else None,
            update_id=str(update.update_id),
            display_name=user.full_name,
        )
        for reply in await self.app.engine.handle(incoming):
            await self.send(reply)

    async def _acknowledge(self, query: CallbackQuery) -> None:
        """Answer the button press and edit its prompt to show what was chosen."""
        try:
            await query.answer()
        except TelegramError as error:
            log.warning("answerCallbackQuery failed: %s", error)
        message = query.message
        markup = getattr(message, "reply_markup", None)
        if message is None or markup is None:
            return
        labels = {b.callback_data: b.text for row in markup.inline_keyboard for b in row}
        chosen = labels.get(query.data)
        text = message.text or ""
        if chosen is not None:
            text = f"{text}\n\n{t('telegram.chosen', label=chosen)}"
        try:
            await query.edit_message_text(text=text[:MAX_TEXT])
        except TelegramError as error:
            log.warning("could not edit the prompt: %s", error)

    # --- outgoing -----------------------------------------------------------------------

    async def send(self, outgoing: Outgoing) -> str:
        """Deliver one reply: SENT, BLOCKED (the user blocked the bot) or FAILED."""
        chat_id = outgoing.chat_id
        caption = outgoing.text if outgoing.file_path and len(outgoing.text) <= MAX_CAPTION else ""
        pieces = [] if caption else split_text(outgoing.text, MAX_TEXT)
        try:
            for index, piece in enumerate(pieces):
                last = index == len(pieces) - 1
                await self._with_retries(
                    self.application.bot.send_message,
                    chat_id=chat_id,
                    text=piece,
                    reply_markup=keyboard(outgoing) if last else None,
                )
            if outgoing.file_path is not None:
                with outgoing.file_path.open("rb") as handle:
                    await self._with_retries(
                        self.application.bot.send_document,
                        chat_id=chat_id,
                        document=handle,
                        filename=outgoing.file_path.name,
                        caption=caption or None,
                    )
        except Forbidden:
            await self._mark_blocked(chat_id)
            return BLOCKED
        except TelegramError as error:
            log.error("could not send to %s: %s", chat_id, error)
            return FAILED
        return SENT

    async def _with_retries(self, method, **kwargs):
        """Timeouts and server errors are retried with backoff; 429 is the rate limiter's."""
        attempts = self.app.settings.send_retries + 1
        for attempt in range(attempts):
            try:
                return await method(**kwargs)
            except BadRequest:
                raise
            except NetworkError:
                if attempt == attempts - 1:
                    raise
                await asyncio.sleep(0.5 * 2**attempt)
                document = kwargs.get("document")
                if document is not None:
                    document.seek(0)

    async def _mark_blocked(self, chat_id: str) -> None:
        log.info("telegram chat %s blocked the bot", chat_id)
        async with self.app.sessions() as db, db.begin():
            await repo.mark_blocked(db, CHANNEL, chat_id)
