"""Zalo channel: the Zalo Bot Platform over the engine. Text only: choices come as a
numbered list answered by number or words, long texts arrive as several messages, files
as a download link served by the backend.

Zalo's getUpdates has no offset: what it returns is not returned again. Polling therefore
stores each update in the inbox before processing it, and processes from the inbox, so a
crash after the fetch loses nothing (the webhook, preferred in production, answers Zalo
only once the update is committed). Replies go through the outbox, which calls `send`."""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta

from bot.app import App
from bot.render import plain_text, split_text
from bot.zalo_client import (
    EVENT_UNSUPPORTED,
    EVENT_VOICE,
    SPLIT_AT,
    ZaloClient,
    ZaloError,
    ZaloNetworkError,
    ZaloQuotaExceeded,
    ZaloUncertain,
    parse_event,
    stable_update_id,
)
from domain.catalog import t
from domain.messages import (
    DEFERRED,
    FAILED,
    SENT,
    UNCERTAIN,
    Delivery,
    Incoming,
    Outgoing,
)
from storage import outbox, repo

log = logging.getLogger(__name__)

CHANNEL = "zalo"
POLL_TIMEOUT = 30
# getUpdates refused while a webhook is set: 400 observed, 409 on Telegram-like servers.
WEBHOOK_ACTIVE_CODES = frozenset({400, 409})


class ZaloChannel:
    def __init__(self, app: App, webhook: bool = False) -> None:
        settings = app.settings
        self.app = app
        self.webhook = webhook
        self.client = ZaloClient(
            settings.zalo_bot_token,
            base_url=settings.zalo_api_base_url,
            retries=settings.send_retries,
            request_timeout=settings.send_timeout,
        )
        self.sender = app.sender(CHANNEL, self.send)
        self.name = ""
        self._poller: asyncio.Task | None = None
        self._in_flight: set[asyncio.Task] = set()

    async def start(self) -> None:
        """Check the token (getMe; ZaloUnauthorized when wrong), then webhook or polling."""
        await self.client.start()
        me = await self.client.get_me()
        self.app.engine.queue_replies(CHANNEL, self.sender.wake)
        self.sender.start()  # with what an earlier run left unsent
        self.name = str(me.get("account_name") or me.get("display_name") or "")
        settings = self.app.settings
        if self.webhook:
            url = f"{settings.public_base_url.rstrip('/')}/zalo/webhook"
            await self.client.set_webhook(url, settings.zalo_webhook_secret)
        else:
            await self.client.delete_webhook()
            self._poller = asyncio.create_task(self._poll())

    async def stop(self) -> None:
        """Stop polling, let the updates in flight finish, close the client."""
        if self._poller is not None:
            self._poller.cancel()
            await asyncio.gather(self._poller, return_exceptions=True)
        if self._in_flight:
            await asyncio.gather(*self._in_flight, return_exceptions=True)
        await self.sender.stop()
        await self.client.close()

    async def _poll(self) -> None:
        """Long-poll until stopped. A refusal that means a webhook is set deletes it once;
        a second one stops polling with one message instead of failing every second."""
        webhook_deleted = False
        while True:
            try:
                await self._process_inbox()  # with what an earlier run fetched, unprocessed
                updates = await self.client.get_updates(timeout=POLL_TIMEOUT)
                async with self.app.sessions() as db, db.begin():
                    for update in updates:
                        event = parse_event(update)
                        if event is not None:
                            await outbox.receive(db, CHANNEL, stable_update_id(event), update)
            except ZaloError as error:
                refused = error.error_code in WEBHOOK_ACTIVE_CODES
                if refused and not isinstance(error, ZaloNetworkError):
                    if webhook_deleted:
                        log.error(t("cli.zalo_polling_stopped", error=str(error)))
                        return
                    webhook_deleted = True
                    await self.client.delete_webhook()
                    continue
                log.warning("Zalo getUpdates failed: %s", error)
                await asyncio.sleep(1)
            except Exception:  # the database away for a moment: try again
                log.exception("Zalo polling failed")
                await asyncio.sleep(1)

    async def _process_inbox(self) -> None:
        async with self.app.sessions() as db:
            stored = await outbox.unprocessed(db, CHANNEL)
        for row in stored:
            task = asyncio.create_task(self.process(row.payload))
            self._in_flight.add(task)
            task.add_done_callback(self._in_flight.discard)
            await task  # one at a time keeps each chat's messages in order
            async with self.app.sessions() as db, db.begin():
                await outbox.processed(db, row.id)

    async def process(self, update: dict) -> None:
        """One event: returns when its effects and replies are committed."""
        event = parse_event(update)
        if event is None or event.is_bot:
            return
        if event.event_name == EVENT_UNSUPPORTED:
            # Zalo withheld a protected user's content: nothing to answer to.
            log.info("Zalo withheld the content of a message in chat %s", event.chat_id)
            return
        incoming = Incoming(
            channel=CHANNEL,
            user_id=event.user_id,
            chat_id=event.chat_id,
            text=event.text or "",
            update_id=stable_update_id(event),
            display_name=event.display_name,
        )
        if event.is_text:
            await self.sender.settled(event.chat_id)  # the question being sent is marked
            await self.app.engine.handle(incoming)
        else:
            voice = event.event_name == EVENT_VOICE
            key = "errors.voice_zalo" if voice else "errors.text_only_zalo"
            await self.app.engine.notice(incoming, key)

    async def _file_link(self, outgoing: Outgoing) -> str:
        if outgoing.file_path is None:
            return ""
        hours = self.app.settings.file_link_hours
        async with self.app.sessions() as db, db.begin():
            token = await repo.create_file_link(
                db, str(outgoing.file_path), outgoing.file_path.name, timedelta(hours=hours)
            )
        return f"{self.app.settings.public_base_url.rstrip('/')}/files/{token}"

    async def send(self, outgoing: Outgoing, done: int = 0) -> Delivery:
        """Deliver one message as texts below Zalo's 2,000-character limit, in order,
        skipping the first `done` (sent by an earlier attempt). A quota exceeded is DEFERRED
        (the sender pauses the channel); nobody is marked blocked: Zalo documents no error
        code meaning that (403 is its "internal error", retried by the client)."""
        text = plain_text(outgoing, await self._file_link(outgoing))
        ids: list[str] = []
        try:
            for piece in split_text(text, SPLIT_AT)[done:]:
                sent = await self.client.send_message(outgoing.chat_id, piece)
                ids.append(str(sent.get("message_id") or ""))
        except ZaloUncertain as error:
            log.warning("Zalo may have taken a message to %s: %s", outgoing.chat_id, error)
            return Delivery(UNCERTAIN, tuple(ids), str(error))
        except ZaloQuotaExceeded as error:
            log.warning("Zalo quota exceeded sending to chat %s: %s", outgoing.chat_id, error)
            return Delivery(DEFERRED, tuple(ids), f"zalo {error.error_code} {error.description}")
        except ZaloError as error:
            log.error("could not send to Zalo chat %s: %s", outgoing.chat_id, error)
            retry = isinstance(error, ZaloNetworkError) or 500 <= error.error_code <= 599
            reason = f"zalo {error.error_code} {error.description}"
            return Delivery(FAILED, tuple(ids), reason, retry=retry)
        return Delivery(SENT, tuple(ids))
