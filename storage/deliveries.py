"""The delivery log: what became of each reminder on each of a member's channels, and who
no reminder reached (for the coordinators' list of people to phone)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from domain import delivery
from domain.messages import DEFERRED, SENT
from storage.clock import utcnow
from storage.models import Delivery, Member, ReminderLog, Unit
from storage.repo import upsert


async def record(
    db: AsyncSession,
    entry_id: int,
    member_id: int,
    channel: str,
    address: str,
    outcome: str,
    error: str = "",
    message_id: str = "",
) -> None:
    """Store (or update, on a retry) one channel's outcome of a reminder-log entry."""
    statement = upsert(db, Delivery).values(
        reminder_log_id=entry_id, member_id=member_id, channel=channel, address=address,
        outcome=outcome, error=error[:500], message_id=message_id[:200], at=utcnow(),
    )  # fmt: skip
    excluded = statement.excluded
    await db.execute(
        statement.on_conflict_do_update(
            index_elements=["reminder_log_id", "channel", "address"],
            set_={
                "outcome": excluded.outcome,
                "error": excluded.error,
                "message_id": excluded.message_id,
                "at": excluded.at,
            },
        )
    )


async def sent_addresses(db: AsyncSession, entry_id: int) -> set[tuple[str, str]]:
    """(channel, address) pairs this entry already reached: a retry skips them."""
    rows = await db.execute(
        select(Delivery.channel, Delivery.address).where(
            Delivery.reminder_log_id == entry_id, Delivery.outcome == SENT
        )
    )
    return {(channel, address) for channel, address in rows.all()}


async def reached_per_channel(db: AsyncSession, round_id: str, slot: str) -> dict[str, int]:
    """How many members one slot's reminders reached on each channel."""
    rows = await db.execute(
        select(Delivery.channel, func.count(func.distinct(Delivery.member_id)))
        .join(ReminderLog, ReminderLog.id == Delivery.reminder_log_id)
        .where(ReminderLog.round_id == round_id, ReminderLog.slot == slot, Delivery.outcome == SENT)
        .group_by(Delivery.channel)
    )
    return dict(rows.all())


@dataclass(frozen=True)
class Deferred:
    """A slot's reminders waiting out a messenger's quota."""

    channels: list[str]
    members: int
    since: datetime  # the latest deferral (naive UTC)


async def deferred(db: AsyncSession, round_id: str, slot: str) -> Deferred | None:
    """The slot's reminders deferred by a quota now; None when there are none."""
    rows = (
        await db.execute(
            select(Delivery.channel, Delivery.member_id, Delivery.at)
            .join(ReminderLog, ReminderLog.id == Delivery.reminder_log_id)
            .where(
                ReminderLog.round_id == round_id,
                ReminderLog.slot == slot,
                Delivery.outcome == DEFERRED,
            )
        )
    ).all()
    if not rows:
        return None
    return Deferred(
        sorted({channel for channel, _, _ in rows}),
        len({member for _, member, _ in rows}),
        max(at for _, _, at in rows),
    )


@dataclass(frozen=True)
class ChannelOutcome:
    channel: str
    outcome: str
    error: str

    @property
    def reason(self) -> str:
        """The outcome in Vietnamese, for coordinators."""
        return delivery.reason(self.outcome, self.error)


@dataclass(frozen=True)
class PersonDelivery:
    """A focal point's latest reminder of a round and what each channel did with it."""

    member_id: int
    name: str
    unit: str
    slot: str
    at: datetime
    channels: tuple[ChannelOutcome, ...]

    @property
    def reached(self) -> bool:
        return any(c.outcome == SENT for c in self.channels)


async def latest(db: AsyncSession, round_id: str, slot: str | None = None) -> list[PersonDelivery]:
    """Every focal point reminded in the round: their reminder of `slot` (or their latest)
    and its outcome per channel; in unit order."""
    query = (
        select(ReminderLog, Member.name, Unit.name)
        .join(Member, Member.id == ReminderLog.member_id)
        .join(Unit, Unit.id == Member.unit_id)
        .where(
            ReminderLog.round_id == round_id,
            Member.role == "focal_point",
            ReminderLog.status != "pending",  # claimed at least once
        )
        .order_by(Unit.id, Member.id, ReminderLog.updated_at, ReminderLog.id)
    )
    if slot is not None:
        query = query.where(ReminderLog.slot == slot)
    chosen: dict[int, tuple[ReminderLog, str, str]] = {}
    for entry, member, unit in (await db.execute(query)).all():
        chosen[entry.member_id] = (entry, member, unit)
    if not chosen:
        return []
    outcomes: dict[int, list[ChannelOutcome]] = {}
    entry_ids = [entry.id for entry, _, _ in chosen.values()]
    for row in await db.scalars(
        select(Delivery)
        .where(Delivery.reminder_log_id.in_(entry_ids))
        .order_by(Delivery.channel, Delivery.id)
    ):
        outcomes.setdefault(row.reminder_log_id, []).append(
            ChannelOutcome(row.channel, row.outcome, row.error)
        )
    return [
        PersonDelivery(entry.member_id, member, unit, entry.slot, entry.updated_at,
                       tuple(outcomes.get(entry.id, ())))
        for entry, member, unit in chosen.values()
    ]  # fmt: skip


async def unreached(
    db: AsyncSession, round_id: str, slot: str | None = None
) -> list[PersonDelivery]:
    """Focal points whose reminder (of `slot`, or their latest) reached no channel."""
    return [person for person in await latest(db, round_id, slot) if not person.reached]
