"""The outbox (messages to send) and the inbox (fetched updates to process).

Rows are written in the transaction of the change that caused them; the sender reads the
due ones and marks each with its outcome. Statuses: pending (to send, maybe after
`not_before`), sent, blocked (the person blocked the bot), failed (given up after retries),
uncertain (the messenger may have taken it: not sent again, see docs/delivery.md).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import bindparam, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from domain.messages import SENT, Choice, Outgoing
from storage.clock import utcnow
from storage.direct import HotStatements
from storage.models import InboxUpdate, OutboxMessage

PENDING = "pending"
REPLY, SUMMARY, REMINDER = 0, 1, 2  # priorities: answers to people go first


def to_payload(outgoing: Outgoing) -> dict[str, Any]:
    return {
        "text": outgoing.text,
        "choices": [[c.key, c.label] for c in outgoing.choices],
        "file": str(outgoing.file_path) if outgoing.file_path else None,
        "numbered": outgoing.numbered,
        "subject": outgoing.subject,
    }


def from_payload(row: OutboxMessage) -> Outgoing:
    data = row.payload
    return Outgoing(
        text=data["text"],
        choices=[Choice(key, label) for key, label in data["choices"]],
        file_path=Path(data["file"]) if data.get("file") else None,
        chat_id=row.chat_id,
        numbered=data.get("numbered", True),
        subject=data.get("subject", ""),
    )


async def enqueue(
    db: AsyncSession,
    channel: str,
    messages: list[Outgoing],
    priority: int = REPLY,
    question: str = "",
    reminder_id: int | None = None,
    claimed_until: datetime | None = None,
) -> list[OutboxMessage]:
    """Queue messages in order (in the caller's transaction); the last one carries
    `question`. With `claimed_until` they are claimed for this process's sender, which
    is handed them after the commit instead of searching for them; a chat with an earlier
    message still pending gets no claim: its new ones wait their turn behind it. Returns
    the rows (not attached to the session)."""
    now = utcnow()
    waiting = {
        chat
        for chat in {outgoing.chat_id for outgoing in messages}
        if claimed_until is not None
        and (await HOT.run(db, "chat_pending", {"channel": channel, "chat_id": chat})).rows
    }
    rows = []
    for index, outgoing in enumerate(messages):
        values = {
            "channel": channel,
            "chat_id": outgoing.chat_id,
            "priority": priority,
            "payload": to_payload(outgoing),
            "question": question if index == len(messages) - 1 else "",
            "reminder_id": reminder_id,
            "status": PENDING,
            "attempts": 0,
            "claimed_until": None if outgoing.chat_id in waiting else claimed_until,
            "message_ids": "",
            "error": "",
            "created_at": now,
        }
        (row_id,) = (await HOT.run(db, "insert", values)).rows[0]
        rows.append(OutboxMessage(id=row_id, **values))
    return rows


def claim_end(now: datetime, send_timeout: float) -> datetime:
    """Until when a sender holds what it claims now: long enough to send a batch even
    through a slow API; a process that dies holding rows leaves them to the others when
    the claim runs out."""
    return now + timedelta(seconds=send_timeout * 3)


def _hot_statements(_dialect: str) -> dict[str, Any]:
    """The outbox's statements of every message (no ORM, no statement building)."""
    table = OutboxMessage.__table__
    by_id = table.update().where(table.c.id == bindparam("row_id")).values(claimed_until=None)
    return {
        "insert": table.insert().returning(table.c.id),
        "shown": select(
            table.c.status, table.c.message_ids, table.c.sent_at, table.c.created_at
        ).where(table.c.id == bindparam("row_id")),
        "mark_done": by_id,
        "mark_retry": by_id,
        "chat_pending": select(table.c.id)
        .where(
            table.c.channel == bindparam("channel"),
            table.c.chat_id == bindparam("chat_id"),
            table.c.status == PENDING,
        )
        .limit(1),
    }


HOT = HotStatements(
    _hot_statements,
    {
        "insert": (
            "channel", "chat_id", "priority", "payload", "question", "reminder_id", "status",
            "attempts", "claimed_until", "message_ids", "error", "created_at",
        ),
        "chat_pending": ("channel", "chat_id"),
        "shown": ("row_id",),
        "mark_done": ("attempts", "error", "message_ids", "status", "sent_at", "row_id"),
        "mark_retry": ("attempts", "error", "message_ids", "not_before", "row_id"),
    },
)  # fmt: skip


@dataclass(frozen=True)
class Shown:
    """Where a question's message stands: its status, its first message's id on the
    messenger once sent, and how long it waited in the outbox (a restart, an outage)."""

    status: str
    first_message_id: str | None
    waited_seconds: float = 0.0


async def shown(db: AsyncSession, row_id: int) -> Shown | None:
    rows = (await HOT.run(db, "shown", {"row_id": row_id})).rows
    if not rows:
        return None
    status, message_ids, sent_at, created_at = rows[0]
    ids = _pieces(message_ids)
    waited = (sent_at - created_at).total_seconds() if sent_at else 0.0
    return Shown(status, ids[0] if status == SENT and ids else None, waited)


async def question_of(db: AsyncSession, channel: str, chat_id: str, message_id: str) -> str | None:
    """The question a messenger message carried (a reply or a button refers to it); None
    when it was no question of ours."""
    rows = await db.scalars(
        select(OutboxMessage)
        .where(
            OutboxMessage.channel == channel,
            OutboxMessage.chat_id == chat_id,
            OutboxMessage.message_ids.contains(message_id),
        )
        .order_by(OutboxMessage.id.desc())
        .limit(20)
    )
    for row in rows:
        if message_id in sent_pieces(row):
            return row.question or None
    return None


async def due(db: AsyncSession, channel: str, now: datetime, limit: int) -> list[int]:
    """Ids of the next messages to send, answers before reminders, each chat's in order: a
    chat whose earlier message waits (for a retry, or in another process's hands) sends
    nothing after it meanwhile."""
    held = (OutboxMessage.not_before > now) | (OutboxMessage.claimed_until > now)
    waiting = dict(
        (
            await db.execute(
                select(OutboxMessage.chat_id, func.min(OutboxMessage.id))
                .where(OutboxMessage.channel == channel, OutboxMessage.status == PENDING, held)
                .group_by(OutboxMessage.chat_id)
            )
        ).all()
    )
    rows = await db.execute(
        select(OutboxMessage.id, OutboxMessage.chat_id)
        .where(
            OutboxMessage.channel == channel,
            OutboxMessage.status == PENDING,
            ~func.coalesce(held, False),
        )
        .order_by(OutboxMessage.priority, OutboxMessage.id)
        .limit(limit)
    )
    return [row_id for row_id, chat_id in rows if row_id < waiting.get(chat_id, row_id + 1)]


async def claim(
    db: AsyncSession, ids: list[int], now: datetime, until: datetime
) -> list[OutboxMessage]:
    """Take these rows for this process's sender until `until` (those no other sender
    took meanwhile), in order."""
    if not ids:
        return []
    taken = await db.scalars(
        update(OutboxMessage)
        .where(
            OutboxMessage.id.in_(ids),
            OutboxMessage.status == PENDING,
            (OutboxMessage.claimed_until.is_(None)) | (OutboxMessage.claimed_until <= now),
        )
        .values(claimed_until=until)
        .returning(OutboxMessage)
        .execution_options(populate_existing=True)
    )
    return sorted(taken, key=lambda row: (row.priority, row.id))


async def release(db: AsyncSession, channel: str) -> None:
    """At a start on SQLite (one process): what a killed run held is free at once. On
    PostgreSQL another process may hold it; its claim runs out instead."""
    if db.bind.dialect.name == "sqlite":
        await db.execute(
            update(OutboxMessage)
            .where(OutboxMessage.channel == channel, OutboxMessage.status == PENDING)
            .values(claimed_until=None)
        )


async def mark(
    db: AsyncSession,
    row: OutboxMessage,
    status: str,
    message_ids: Sequence[str] = (),
    error: str = "",
    retry_at: datetime | None = None,
    attempt: bool = True,
) -> None:
    """Record the outcome of sending `row`, claimed by this sender (which sends a row only
    with time left on its claim, so nobody else changes its attempts and ids meanwhile);
    with `retry_at` it stays pending until then (not counted as an
    attempt when `attempt` is False: waiting out a messenger's quota)."""
    values: dict[str, Any] = {
        "row_id": row.id,
        "attempts": row.attempts + attempt,
        "error": error[:500],
        "message_ids": ",".join([*sent_pieces(row), *message_ids])[:500],
    }
    if retry_at is not None:
        await HOT.run(db, "mark_retry", {**values, "not_before": retry_at})
    else:
        await HOT.run(db, "mark_done", {**values, "status": status, "sent_at": utcnow()})


async def hold_channel(db: AsyncSession, channel: str, until: datetime) -> list[OutboxMessage]:
    """The messenger's quota is exceeded: every pending row of the channel waits until
    `until` (a restart keeps the pause), its claim given up (nobody takes it before then,
    and a send in flight is marked long before). Returns the reminders' rows held."""
    pending = (OutboxMessage.channel == channel) & (OutboxMessage.status == PENDING)
    await db.execute(
        update(OutboxMessage)
        .where(pending, func.coalesce(OutboxMessage.not_before < until, True))
        .values(not_before=until, claimed_until=None)
    )
    rows = await db.scalars(
        select(OutboxMessage)
        .where(pending, OutboxMessage.reminder_id.is_not(None))
        .execution_options(populate_existing=True)
    )
    return list(rows)


def sent_pieces(row: OutboxMessage) -> list[str]:
    """Ids of the pieces an earlier attempt delivered (a retry skips them)."""
    return _pieces(row.message_ids)


def _pieces(message_ids: str | None) -> list[str]:
    return message_ids.split(",") if message_ids else []


async def pending_count(db: AsyncSession) -> int:
    """Messages waiting to be sent, every channel (the send queue's gauge)."""
    return await db.scalar(
        select(func.count()).select_from(OutboxMessage).where(OutboxMessage.status == PENDING)
    )


async def counts(db: AsyncSession) -> dict[str, int]:
    """Rows per status (the doctor and the benchmarks read this)."""
    rows = await db.execute(
        select(OutboxMessage.status, func.count()).group_by(OutboxMessage.status)
    )
    return dict(rows.all())


# --- inbox ------------------------------------------------------------------------------


async def receive(db: AsyncSession, channel: str, update_id: str, payload: dict) -> None:
    """Store a fetched update (once: fetching it again changes nothing)."""
    exists = await db.scalar(
        select(InboxUpdate.id).where(
            InboxUpdate.channel == channel, InboxUpdate.update_id == update_id
        )
    )
    if exists is None:
        db.add(InboxUpdate(channel=channel, update_id=update_id, payload=payload))


async def unprocessed(db: AsyncSession, channel: str) -> list[InboxUpdate]:
    """Stored updates not processed yet, oldest first (after a crash too)."""
    return list(
        await db.scalars(
            select(InboxUpdate)
            .where(InboxUpdate.channel == channel, InboxUpdate.processed_at.is_(None))
            .order_by(InboxUpdate.id)
        )
    )


async def processed(db: AsyncSession, row_id: int) -> None:
    await db.execute(
        update(InboxUpdate).where(InboxUpdate.id == row_id).values(processed_at=utcnow())
    )
