"""The outbox's sender: sends what the engine and the reminders queued, marks each message
with its outcome, and tries a message again only when it certainly did not arrive.

Answers to people go before reminder waves (by priority, a small batch at a time, so a
wave of thousands never makes anyone wait long for their next question); each chat's
messages go in order. The messenger's own limit (Telegram's 30 a second) is the
channel's rate limiter. A message is sent twice only when the process dies between the
messenger accepting it and its row being marked (docs/delivery.md).

A messenger over its quota (Zalo's 429: DEFERRED) pauses the whole channel for
DOINGOAI_ZALO_QUOTA_PAUSE_MINUTES: its pending rows wait (no attempt counted), their
reminders noted "deferred" in the delivery log, and go out after the pause. A
reminder's row also writes its channel's outcome in the delivery log (storage.deliveries),
which /tiendo, `doingoai status --delivery`, the web and the coordinators' lists read.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import defaultdict
from collections.abc import Awaitable, Callable, Sequence
from contextlib import AbstractAsyncContextManager
from datetime import datetime, timedelta
from typing import TypeVar

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from domain import metrics
from domain.messages import BLOCKED, DEFERRED, FAILED, UNREACHABLE, Delivery
from storage import deliveries, rounds
from storage import outbox as store
from storage.clock import utcnow
from storage.db import retry_when_busy
from storage.models import OutboxMessage, ReminderLog

log = logging.getLogger(__name__)

# How often the sender searches the outbox, however busy it is with the replies handed to
# it: reminders, retries now due, other processes' rows are found only by a search.
SEARCH_SECONDS = 1.0
GAUGE_SECONDS = 1.0  # how often the send queue's gauge is set while rows are handed over
MAX_BACKOFF = 60


Send = Callable[..., Awaitable[Delivery]]  # (outgoing, done=pieces already sent)
Write = Callable[[AsyncSession], Awaitable[None]]
T = TypeVar("T")


class OutboxSender:
    """Sends one channel's rows (each messenger has its own, with its own rate limit)."""

    def __init__(
        self,
        sessions: async_sessionmaker,
        settings,
        channel: str,
        send: Send,
        writer: AbstractAsyncContextManager | None = None,
    ) -> None:
        self.sessions = sessions
        self.writer = writer or contextlib.nullcontext()  # see storage.db.writer_lock
        self.settings = settings
        self.channel = channel
        self.send = send
        self._wake = asyncio.Event()
        self._claimed: list[OutboxMessage] = []  # handed over by the engine, to send first
        self._look = True  # whether to search the outbox for due rows on the next pass
        self._searched_at = 0.0  # when it last did (monotonic)
        self._counted_at = 0.0  # when the send queue's gauge was last set (monotonic)
        self._busy: dict[str, asyncio.Event] = {}  # chats with a send not yet marked
        self._marks: list[tuple[Write, asyncio.Future[bool]]] = []  # waiting to be written
        self._marking = asyncio.Lock()  # one transaction of marks at a time
        self._stopping = False
        self._gate = asyncio.Semaphore(settings.outbox_concurrency)
        self._paused_until: datetime | None = None  # the messenger's quota exceeded

    def wake(self, claimed: Sequence[OutboxMessage] = ()) -> None:
        """Something was queued: send now rather than at the next idle check. `claimed`
        rows were claimed for this sender in their transaction (a conversation's replies):
        sent without searching the outbox; anything else is searched for."""
        if claimed:
            self._claimed.extend(claimed)
        else:
            self._look = True
        self._wake.set()

    def start(self) -> None:
        self._task = asyncio.create_task(self.run())

    async def stop(self) -> None:
        """Stop sending: sends in flight finish and are marked (cut off, a delivered one
        would be sent again after the restart); what is unsent stays for the next start."""
        self._stopping = True
        self._wake.set()
        with contextlib.suppress(TimeoutError, asyncio.CancelledError):
            await asyncio.wait_for(self._task, self.settings.send_timeout)

    async def run(self) -> None:
        """Send until stopped (with what earlier runs left unsent)."""
        await self._transaction(lambda db: store.release(db, self.channel))
        while not self._stopping:
            self._wake.clear()
            if time.monotonic() - self._searched_at > SEARCH_SECONDS:
                self._look = True
            try:
                if await self._send_claimed() + await self._send_looked_up():
                    continue
            except Exception:  # the database away for a moment: try again shortly
                log.exception("outbox pass failed")
                self._look = True
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), SEARCH_SECONDS)

    async def _send_claimed(self) -> int:
        """Send a batch of the rows handed over with their claim."""
        rows, self._claimed = self._claimed[: self._batch], self._claimed[self._batch :]
        if not self._paused(utcnow()):
            await self._send_rows(rows)
        if rows and time.monotonic() - self._counted_at > GAUGE_SECONDS:
            await self._count_waiting()
        return len(rows)

    async def _send_looked_up(self) -> int:
        if not self._look:
            return 0
        self._look = False
        taken = await self.send_due()
        if taken:  # there may be more (and a wake meanwhile must not be forgotten)
            self._look = True
        return taken

    @property
    def _batch(self) -> int:
        """Rows sent in one pass: a wave of reminders never holds answers back for long,
        and every row of a pass is sent well within its claim."""
        return max(1, int(self.settings.telegram_messages_per_second))

    async def send_due(self) -> int:
        """One pass: a batch of due messages sent; how many were taken."""
        batch = self._batch
        now = utcnow()
        self._searched_at = time.monotonic()
        until = store.claim_end(now, self.settings.send_timeout)
        rows: list[OutboxMessage] = []
        if not self._paused(now):

            async def take(db: AsyncSession) -> list[OutboxMessage]:
                ids = await store.due(db, self.channel, now, batch)
                return await store.claim(db, ids, now, until)

            rows = await self._transaction(take)
        await self._send_rows(rows)
        await self._count_waiting()
        return len(rows)

    async def _count_waiting(self) -> None:
        """Set the send queue's gauge (every channel's rows waiting)."""
        metrics.SEND_QUEUE.set(await self._transaction(store.pending_count))
        self._counted_at = time.monotonic()

    async def _send_rows(self, rows: list[OutboxMessage]) -> None:
        """Each chat's rows in order, the chats at once."""
        chats: dict[tuple[str, str], list[OutboxMessage]] = defaultdict(list)
        for row in rows:
            chats[row.channel, row.chat_id].append(row)
        done = await asyncio.gather(
            *(self._send_chat(chat) for chat in chats.values()), return_exceptions=True
        )  # the pass ends once every send of it is marked, whatever failed
        failures = [outcome for outcome in done if isinstance(outcome, BaseException)]
        if failures:
            raise failures[0]

    async def _transaction(self, work: Callable[[AsyncSession], Awaitable[T]]) -> T:
        """`work` in a transaction of its own, in turn with the process's other writers,
        run again when SQLite was busy (a mark must not be lost: the message would go out
        twice)."""

        async def attempt() -> T:
            async with self.writer, self.sessions() as db, db.begin():
                return await work(db)

        return await retry_when_busy(attempt)

    async def settled(self, chat_id: str) -> None:
        """Wait until no message to this chat is between sending and its mark: an answer
        is then compared with what the person has really been shown."""
        busy = self._busy.get(chat_id)
        if busy is not None:
            await busy.wait()

    async def _send_chat(self, rows: list[OutboxMessage]) -> None:
        chat_id = rows[0].chat_id
        self._busy[chat_id] = busy = asyncio.Event()
        try:
            for row in rows:  # in order; one that must wait holds back the rest of its chat
                async with self._gate:
                    if self._paused(utcnow()) or not self._time_left(row):
                        return  # held in the outbox: until the pause ends, or the claim does
                    delivery = await self._transmit(row)
                    # Marked even if the sender is being cancelled: a delivered message whose
                    # mark is lost would be sent again after the restart.
                    waits = await asyncio.shield(self._mark(row, delivery))
                if waits or self._stopping:
                    return
        finally:
            del self._busy[chat_id]
            busy.set()

    async def _transmit(self, row: OutboxMessage) -> Delivery:
        try:
            return await self.send(store.from_payload(row), len(store.sent_pieces(row)))
        except Exception as error:  # a bug in a channel never stops the sender
            log.exception("sending outbox row %s failed", row.id)
            return Delivery(FAILED, error=repr(error), retry=True)

    def _time_left(self, row: OutboxMessage) -> bool:
        """Whether the row's claim outlasts a send and its mark with room to spare: a row
        whose claim ran short waiting for its turn is left to be claimed again (another
        process may take it once the claim is over, and must not find it being sent)."""
        spare = timedelta(seconds=self.settings.send_timeout * 2)
        return row.claimed_until is not None and row.claimed_until > utcnow() + spare

    def _paused(self, now: datetime) -> bool:
        return self._paused_until is not None and now < self._paused_until

    async def _mark(self, row: OutboxMessage, delivery: Delivery) -> bool:
        """Store the outcome; True when the row waits for another try."""
        deferred = delivery.outcome == DEFERRED
        retry_at = None
        if deferred:
            pause = timedelta(minutes=self.settings.zalo_quota_pause_minutes)
            retry_at = self._paused_until = utcnow() + pause
        elif delivery.retry and row.attempts + 1 < self.settings.outbox_max_attempts:
            wait = self.settings.outbox_first_wait_seconds * 2**row.attempts
            retry_at = utcnow() + timedelta(seconds=min(wait, MAX_BACKOFF))
        outcome = "retry" if retry_at and not deferred else delivery.outcome

        async def write(db: AsyncSession) -> None:
            await store.mark(
                db, row, delivery.outcome, delivery.message_ids, delivery.error, retry_at,
                attempt=not deferred,
            )  # fmt: skip
            if deferred:
                waiting = Delivery(DEFERRED, error=delivery.error)
                for held in await store.hold_channel(db, self.channel, retry_at):
                    await self._note(db, held, waiting)
            elif row.reminder_id is not None:
                await self._note(db, row, delivery)
                if retry_at is None:
                    await rounds.reminder_outcome(
                        db, row.reminder_id, delivery.outcome, delivery.error
                    )

        await self._written(write)
        kind = "reply" if row.priority == store.REPLY else "reminder"
        metrics.MESSAGES_SENT.labels(row.channel, kind, outcome).inc()
        if row.priority == store.REMINDER:
            metrics.REMINDERS.labels(row.channel, outcome).inc()
        return retry_at is not None

    async def _written(self, write: Write) -> None:
        """`write` committed, in one transaction with the other marks that came meanwhile
        (the sends that finished while the previous marks were written): a transaction a
        mark was most of the sender's database time. Should that transaction fail, each
        of its marks is written again on its own, so one bad mark cannot lose the others."""
        committed: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        self._marks.append((write, committed))
        async with self._marking:
            if not committed.done():
                batch, self._marks = self._marks, []
                together = False
                try:
                    await self._transaction(lambda db: _each(db, [work for work, _ in batch]))
                    together = True
                except Exception:
                    log.exception("writing %d outbox marks together failed", len(batch))
                finally:  # cancelled too: each mark is then written on its own
                    for _, waiting in batch:
                        waiting.set_result(together)
        if not committed.result():
            await self._transaction(write)

    async def _note(self, db, row: OutboxMessage, delivery: Delivery) -> None:
        """The delivery log's row for this channel of a reminder (a retry's failure is
        overwritten by the next try's outcome)."""
        entry = await db.get(ReminderLog, row.reminder_id)
        outcome = UNREACHABLE if delivery.outcome == BLOCKED else delivery.outcome
        ids = store.sent_pieces(row) or list(delivery.message_ids)
        await deliveries.record(
            db, entry.id, entry.member_id, row.channel, row.chat_id, outcome, delivery.error,
            message_id=ids[0] if ids else "",
        )  # fmt: skip


async def _each(db: AsyncSession, writes: list[Write]) -> None:
    for write in writes:
        await write(db)
