"""Telegram channel: python-telegram-bot's Bot translating updates to Incoming and
rendering Outgoing (choices as inline buttons, long texts split, files as documents).

Polling is our own getUpdates loop: a batch is acknowledged (the next call's offset) only
once every update in it is committed, so a crash re-fetches what was not; the processed
updates make the retry harmless. Replies go through the outbox (bot/outbox.py), which calls
`send`. Texts are sent without a parse mode, so whatever a user typed comes back exactly.
"""

from __future__ import annotations

import asyncio
import logging

import httpx
from telegram import (
    BotCommand,
    CallbackQuery,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Update,
)
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TelegramError
from telegram.ext import AIORateLimiter, ExtBot
from telegram.request import HTTPXRequest

from bot.app import App
from bot.render import split_text
from domain.catalog import t
from domain.messages import BLOCKED, FAILED, SENT, UNCERTAIN, Delivery, Incoming, Outgoing
from handlers.engine import COMMANDS
from storage import repo

log = logging.getLogger(__name__)

CHANNEL = "telegram"
MAX_TEXT = 4096
MAX_CAPTION = 1024
MAX_CALLBACK_BYTES = 64
POLL_TIMEOUT = 10
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


def certainly_failed(error: TelegramError) -> bool:
    """True when Telegram cannot have taken the message: it answered with an error (5xx,
    429), or the request never got through (connection refused, connect or pool timeout).
    A read timeout after the request was written may hide an accepted message."""
    cause = error.__cause__
    if not isinstance(cause, httpx.HTTPError):  # an answer came: an error status, a page
        return True
    return isinstance(cause, httpx.ConnectError | httpx.ConnectTimeout | httpx.PoolTimeout)


class TelegramChannel:
    """One bot on Telegram, serving the engine of `app`."""

    def __init__(self, app: App, webhook: bool = False) -> None:
        settings = app.settings
        self.app = app
        self.webhook = webhook
        self.bot = ExtBot(
            settings.telegram_bot_token,
            base_url=settings.telegram_api_base_url,
            base_file_url=settings.telegram_file_base_url,
            request=HTTPXRequest(
                connection_pool_size=settings.telegram_concurrency * 4,
                read_timeout=settings.send_timeout,
                write_timeout=settings.send_timeout,
                connect_timeout=5,
                pool_timeout=5,
            ),
            get_updates_request=HTTPXRequest(connection_pool_size=2, read_timeout=5),
            # One message every 1/rate seconds, no bursts: a burst of 30 followed by 30 a
            # second is what gets 429 answers.
            rate_limiter=AIORateLimiter(
                overall_max_rate=1,
                overall_time_period=1 / settings.telegram_messages_per_second,
                max_retries=settings.send_retries,
            ),
        )
        # Per chat: a lock and how many updates hold or wait for it.
        self._chat_locks: dict[int, tuple[asyncio.Lock, int]] = {}
        self.sender = app.sender(CHANNEL, self.send)
        self._poller: asyncio.Task | None = None
        self._stopping = False
        self._fetching = False

    # --- lifecycle ----------------------------------------------------------------------

    async def start(self) -> None:
        """Check the token (getMe), register commands, start polling or the webhook."""
        await self.bot.initialize()
        self.app.engine.queue_replies(CHANNEL, self.sender.wake)
        self.sender.start()  # with what an earlier run left unsent
        await self.bot.set_my_commands(
            [BotCommand(name, t(f"commands.{name}")) for name in MENU_COMMANDS if name in COMMANDS]
        )
        settings = self.app.settings
        if self.webhook:
            await self.bot.set_webhook(
                url=f"{settings.public_base_url.rstrip('/')}/telegram/webhook",
                secret_token=settings.telegram_webhook_secret or None,
                allowed_updates=ALLOWED_UPDATES,
            )
        else:
            await self.bot.delete_webhook()
            self._poller = asyncio.create_task(self._poll())

    async def stop(self) -> None:
        """Stop taking updates, let the batch in flight finish, then shut down."""
        self._stopping = True
        if self._poller is not None:
            if self._fetching:
                self._poller.cancel()
            await asyncio.gather(self._poller, return_exceptions=True)
        await self.sender.stop()
        await self.bot.shutdown()

    async def _poll(self) -> None:
        """Fetch, process, and only then acknowledge: the offset moves past a batch once
        all of it is committed. Without an offset Telegram starts at the oldest update not
        acknowledged, so a restart needs no stored offset."""
        offset = None
        while not self._stopping:
            self._fetching = True
            try:
                updates = await self.bot.get_updates(
                    offset=offset, timeout=POLL_TIMEOUT, allowed_updates=ALLOWED_UPDATES
                )
            except TelegramError as error:
                log.warning("Telegram getUpdates failed: %s", error)
                await asyncio.sleep(1)
                continue
            finally:
                self._fetching = False
            outcomes = await asyncio.gather(
                *(self._on_update(update) for update in updates), return_exceptions=True
            )
            if failed := [o for o in outcomes if isinstance(o, BaseException)]:
                log.error("updates not committed, fetched again: %r", failed[0])
                await asyncio.sleep(1)
                continue
            if updates:
                offset = updates[-1].update_id + 1

    def parse_update(self, data: dict) -> Update:
        """A webhook body as an update; ValueError when it is not one (a malformed body
        with the right secret is refused, not a crash)."""
        try:
            update = Update.de_json(data, self.bot)
        except (ArithmeticError, AttributeError, KeyError, TypeError, ValueError) as error:
            raise ValueError("not an update") from error
        if update is None or not isinstance(update.update_id, int):
            raise ValueError("not an update")
        return update

    async def process_update(self, update: Update) -> None:
        """Webhook: process one update and return when its effects are committed."""
        await self._on_update(update)

    @property
    def username(self) -> str:
        return self.bot.username

    # --- incoming -----------------------------------------------------------------------

    async def _on_update(self, update: Update) -> None:
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
        await self.sender.settled(str(chat.id))
        query = update.callback_query
        if query is not None:
            await self._acknowledge(query)
        message = update.message
        replied = message.reply_to_message if message is not None else None
        incoming = Incoming(
            channel=CHANNEL,
            user_id=str(user.id),
            chat_id=str(chat.id),
            text=(message.text or "") if message else "",
            choice=query.data if query else None,
            update_id=str(update.update_id),
            display_name=user.full_name,
            message_id=str(message.message_id) if message else None,
            reply_to=str((query.message if query else replied).message_id)
            if (query and query.message) or replied
            else None,
        )
        if update.edited_message is not None:  # an earlier answer is not changed by an edit
            await self.app.engine.notice(incoming, "telegram.edit_not_applied")
        elif query is None and (message is None or message.text is None):
            await self.app.engine.notice(incoming, "errors.text_only")
        else:
            await self.app.engine.handle(incoming)

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

    async def send(self, outgoing: Outgoing, done: int = 0) -> Delivery:
        """Deliver one message, skipping its first `done` pieces (sent by an earlier
        attempt). SENT, BLOCKED, FAILED (retry=True: certainly not delivered) or
        UNCERTAIN, with the ids of the pieces delivered."""
        chat_id = outgoing.chat_id
        caption = outgoing.text if outgoing.file_path and len(outgoing.text) <= MAX_CAPTION else ""
        pieces = [] if caption else split_text(outgoing.text, MAX_TEXT)
        ids: list[str] = []
        try:
            for index, piece in enumerate(pieces):
                if index >= done:
                    last = index == len(pieces) - 1
                    sent = await self.bot.send_message(
                        chat_id=chat_id,
                        text=piece,
                        reply_markup=keyboard(outgoing) if last else None,
                    )
                    ids.append(str(sent.message_id))
            if outgoing.file_path is not None and done <= len(pieces):
                with outgoing.file_path.open("rb") as handle:
                    sent = await self.bot.send_document(
                        chat_id=chat_id,
                        document=handle,
                        filename=outgoing.file_path.name,
                        caption=caption or None,
                    )
                ids.append(str(sent.message_id))
        except Forbidden:
            await self._mark_blocked(chat_id)
            return Delivery(BLOCKED, tuple(ids))
        except BadRequest as error:  # sending it again would fail the same way
            log.error("Telegram refused a message to %s: %s", chat_id, error)
            return Delivery(FAILED, tuple(ids), str(error))
        except (RetryAfter, NetworkError) as error:
            if certainly_failed(error):
                return Delivery(FAILED, tuple(ids), str(error), retry=True)
            log.warning("Telegram may have taken a message to %s: %s", chat_id, error)
            return Delivery(UNCERTAIN, tuple(ids), str(error))
        except TelegramError as error:
            log.error("could not send to %s: %s", chat_id, error)
            return Delivery(FAILED, tuple(ids), str(error), retry=True)
        return Delivery(SENT, tuple(ids))

    async def _mark_blocked(self, chat_id: str) -> None:
        log.info("telegram chat %s blocked the bot", chat_id)
        async with self.app.sessions() as db, db.begin():
            await repo.mark_blocked(db, CHANNEL, chat_id)
