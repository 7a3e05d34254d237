"""Queries for reporting rounds, unit confirmations and the reminder log."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import and_, case, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from domain.messages import SENT, UNCERTAIN
from storage.clock import utcnow
from storage.models import (
    Confirmation,
    Identity,
    Member,
    OutboxMessage,
    Record,
    ReminderLog,
    Round,
    Unit,
)
from storage.repo import upsert


async def ensure_rounds(db: AsyncSession, specs) -> None:
    """Create the given recurring rounds that do not exist yet (safe when the chat and
    the reminder scheduler do it at the same moment)."""
    wanted = {spec.id: spec for spec in specs}
    existing = set(await db.scalars(select(Round.id).where(Round.id.in_(wanted))))
    for spec in wanted.values():
        if spec.id not in existing:
            await db.execute(
                upsert(db, Round)
                .values(
                    id=spec.id, kind=spec.kind, start=spec.start, end=spec.end,
                    deadline=spec.deadline, message="", created_at=utcnow(),
                )
                .on_conflict_do_nothing()
            )  # fmt: skip


async def add_adhoc_round(
    db: AsyncSession,
    *,
    start: date,
    end: date,
    deadline: date,
    message: str,
    created_by: int | None,
    created_at: datetime | None = None,
) -> Round:
    """An ad hoc round, numbered within the deadline's year: 2023-A1, 2023-A2, …
    `created_at` (naive UTC, default now) is when its units are told of it."""
    prefix = f"{deadline.year}-A"
    existing = await db.scalar(select(func.count(Round.id)).where(Round.id.like(f"{prefix}%")))
    row = Round(
        id=f"{prefix}{(existing or 0) + 1}",
        kind="adhoc",
        start=start,
        end=end,
        deadline=deadline,
        message=message,
        created_by=created_by,
        created_at=created_at or utcnow(),
    )
    db.add(row)
    await db.flush()
    return row


async def all_rounds(db: AsyncSession) -> Sequence[Round]:
    return (await db.scalars(select(Round).order_by(Round.deadline, Round.id))).all()


async def followed_rounds(db: AsyncSession, today: date, days_after_deadline: int) -> list[Round]:
    """Rounds started by `today` whose deadline is at most `days_after_deadline` days ago."""
    since = today - timedelta(days=days_after_deadline)
    return [r for r in await all_rounds(db) if r.start <= today and r.deadline >= since]


def _round_records(round_: Round, with_deleted: bool = False):
    """Records belonging to a round: dated within its period, or tagged with its id;
    live ones unless `with_deleted` (a deletion is a change too)."""
    belongs = or_(
        Record.round_id == round_.id,
        and_(Record.event_date >= round_.start, Record.event_date <= round_.end),
    )
    return belongs if with_deleted else and_(Record.deleted_at.is_(None), belongs)


async def unit_counts(db: AsyncSession, round_: Round, unit_id: int) -> dict[str, int]:
    """How many records of each type the unit has for the round."""
    rows = await db.execute(
        select(Record.kind, func.count(Record.id))
        .where(_round_records(round_), Record.unit_id == unit_id)
        .group_by(Record.kind)
    )
    return dict(rows.all())


async def confirmation(db: AsyncSession, round_id: str, unit_id: int) -> Confirmation | None:
    row = await db.scalar(
        select(Confirmation).where(
            Confirmation.round_id == round_id, Confirmation.unit_id == unit_id
        )
    )
    return row if row is not None and row.confirmed_at is not None else None


async def confirm(
    db: AsyncSession, round_id: str, unit_id: int, member_id: int, nothing_to_report: bool
) -> None:
    row = await db.scalar(
        select(Confirmation).where(
            Confirmation.round_id == round_id, Confirmation.unit_id == unit_id
        )
    )
    if row is None:
        row = Confirmation(round_id=round_id, unit_id=unit_id)
        db.add(row)
    row.member_id = member_id
    row.nothing_to_report = nothing_to_report
    row.confirmed_at = utcnow()
    await db.flush()


async def withdraw(db: AsyncSession, round_id: str, unit_id: int) -> None:
    row = await confirmation(db, round_id, unit_id)
    if row is not None:
        row.confirmed_at = None


@dataclass(frozen=True)
class UnitProgress:
    unit_id: int
    unit: str
    records: int
    confirmed_at: datetime | None
    nothing_to_report: bool
    changed_since: bool  # records added or edited after the confirmation
    blocked: int  # focal points who blocked the bot
    last_activity: datetime | None = None  # the latest record change in the round


async def progress(db: AsyncSession, round_: Round) -> list[UnitProgress]:
    """Every active unit with its record count and confirmation for the round."""
    # One pass over the covering index ix_records_round_progress: live records and the
    # latest change (deletions count as changes) per unit.
    belongs = or_(
        func.coalesce(Record.round_id, "") == round_.id,  # not the round_id index: a scan
        and_(Record.event_date >= round_.start, Record.event_date <= round_.end),
    )
    live = func.sum(case((Record.deleted_at.is_(None), 1), else_=0))
    per_unit = await db.execute(
        select(Record.unit_id, live, func.max(Record.updated_at))
        .where(belongs)
        .group_by(Record.unit_id)
    )
    counts, latest = {}, {}
    for unit_id, records, changed in per_unit.all():
        counts[unit_id], latest[unit_id] = records or 0, changed
    confirmations = {
        c.unit_id: c
        for c in await db.scalars(
            select(Confirmation).where(
                Confirmation.round_id == round_.id, Confirmation.confirmed_at.is_not(None)
            )
        )
    }
    blocked = dict(
        (
            await db.execute(
                select(Member.unit_id, func.count(Identity.id))
                .join(Identity, Identity.member_id == Member.id)
                .where(Identity.blocked_at.is_not(None), Member.role == "focal_point")
                .group_by(Member.unit_id)
            )
        ).all()
    )
    result = []
    for unit in await db.scalars(select(Unit).where(Unit.active).order_by(Unit.id)):
        done = confirmations.get(unit.id)
        changed = bool(done and latest.get(unit.id) and latest[unit.id] > done.confirmed_at)
        result.append(
            UnitProgress(
                unit.id,
                unit.name,
                counts.get(unit.id, 0),
                done.confirmed_at if done else None,
                bool(done and done.nothing_to_report),
                changed,
                blocked.get(unit.id, 0),
                latest.get(unit.id),
            )
        )
    return result


async def focal_point_counts(db: AsyncSession) -> dict[int, int]:
    """Active focal points registered per unit."""
    rows = await db.execute(
        select(Member.unit_id, func.count(Member.id))
        .where(Member.active, Member.role == "focal_point", Member.unit_id.is_not(None))
        .group_by(Member.unit_id)
    )
    return dict(rows.all())


@dataclass(frozen=True)
class LastReminder:
    status: str  # pending, sending, sent, failed or blocked
    at: datetime
    error: str


async def last_reminders(db: AsyncSession, round_id: str) -> dict[int, LastReminder]:
    """Per unit, the outcome of the latest reminder to its focal points in the round."""
    rows = await db.execute(
        select(Member.unit_id, ReminderLog.status, ReminderLog.updated_at, ReminderLog.error)
        .join(Member, Member.id == ReminderLog.member_id)
        .where(ReminderLog.round_id == round_id, Member.role == "focal_point")
        .order_by(ReminderLog.updated_at, ReminderLog.id)
    )
    return {unit_id: LastReminder(status, at, error) for unit_id, status, at, error in rows.all()}


async def confirmation_times(db: AsyncSession, round_id: str) -> list[datetime]:
    """When each unit that stands confirmed for the round confirmed, oldest first."""
    rows = await db.scalars(
        select(Confirmation.confirmed_at)
        .join(Unit, Unit.id == Confirmation.unit_id)
        .where(
            Confirmation.round_id == round_id, Confirmation.confirmed_at.is_not(None), Unit.active
        )
        .order_by(Confirmation.confirmed_at)
    )
    return list(rows.all())


async def coverage(db: AsyncSession, round_id: str) -> list[UnitProgress]:
    """Every active unit's confirmation of a round; all pending when the round was never
    opened (nobody could confirm it)."""
    round_ = await db.get(Round, round_id)
    if round_ is not None:
        return await progress(db, round_)
    units = await db.scalars(select(Unit).where(Unit.active).order_by(Unit.id))
    return [UnitProgress(unit.id, unit.name, 0, None, False, False, 0) for unit in units]


@dataclass(frozen=True)
class Recipient:
    member_id: int
    unit_id: int | None
    name: str
    identities: tuple[tuple[str, str], ...]  # (channel, chat_id) not blocked, reminders on


async def recipients(db: AsyncSession, role: str) -> list[Recipient]:
    """Active members of a role with their reachable identities: not blocked, reminders
    not turned off (/kenh)."""
    rows = await db.execute(
        select(Member.id, Member.unit_id, Member.name, Identity.channel, Identity.chat_id)
        .join(Identity, Identity.member_id == Member.id)
        .where(
            Member.active,
            Member.role == role,
            Identity.blocked_at.is_(None),
            Identity.reminders,
        )
        .order_by(Member.id, Identity.id)
    )
    grouped: dict[int, Recipient] = {}
    for member_id, unit_id, name, channel, chat_id in rows.all():
        known = grouped.get(member_id)
        identities = (known.identities if known else ()) + ((channel, chat_id),)
        grouped[member_id] = Recipient(member_id, unit_id, name, identities)
    return list(grouped.values())


async def slot_entries(db: AsyncSession, round_id: str, slot: str) -> dict[int, ReminderLog]:
    """The log entries of one slot of a round, by member (one query for a whole wave)."""
    rows = await db.scalars(
        select(ReminderLog).where(ReminderLog.round_id == round_id, ReminderLog.slot == slot)
    )
    return {entry.member_id: entry for entry in rows}


async def claim_reminder(db: AsyncSession, round_id: str, member_id: int, slot: str) -> ReminderLog:
    """The log entry for this reminder, created as pending if new (the unique key makes
    a second process's insert fail instead of sending twice)."""
    entry = await db.scalar(
        select(ReminderLog).where(
            ReminderLog.round_id == round_id,
            ReminderLog.member_id == member_id,
            ReminderLog.slot == slot,
        )
    )
    if entry is None:
        entry = ReminderLog(round_id=round_id, member_id=member_id, slot=slot)
        db.add(entry)
        await db.flush()
    return entry


async def reminder_outcome(db: AsyncSession, entry_id: int, outcome: str, error: str) -> None:
    """A queued reminder's send on one channel ended: its log entry says so (sent wins: one
    of the member's channels got it; a failure waits for the member's other channels still
    queued). An uncertain send counts as sent: it is not repeated."""
    entry = await db.get(ReminderLog, entry_id)
    if entry is None or entry.status == SENT:
        return
    entry.error, entry.updated_at = error[:500], utcnow()
    if outcome in (SENT, UNCERTAIN):
        entry.status = SENT
    elif not await db.scalar(
        select(OutboxMessage.id)
        .where(OutboxMessage.reminder_id == entry_id, OutboxMessage.status == "pending")
        .limit(1)
    ):
        entry.status = outcome
