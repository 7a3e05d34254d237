"""Coordinators' administration of units and invites: rename, merge, deactivate (nothing
that records point to is ever deleted), list and revoke invites."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.clock import utcnow
from storage.models import Invite, Member, Record, Unit


@dataclass(frozen=True)
class UnitLine:
    unit: Unit
    records: int
    focal_points: int


async def all_units(db: AsyncSession) -> list[UnitLine]:
    """Every unit, active or not, with its live records and active focal points."""
    records = dict(
        (
            await db.execute(
                select(Record.unit_id, func.count(Record.id))
                .where(Record.deleted_at.is_(None))
                .group_by(Record.unit_id)
            )
        ).all()
    )
    members = dict(
        (
            await db.execute(
                select(Member.unit_id, func.count(Member.id))
                .where(Member.active, Member.role == "focal_point")
                .group_by(Member.unit_id)
            )
        ).all()
    )
    units = await db.scalars(select(Unit).order_by(Unit.active.desc(), Unit.name))
    return [UnitLine(u, records.get(u.id, 0), members.get(u.id, 0)) for u in units]


async def merge_units(db: AsyncSession, source: Unit, target: Unit) -> int:
    """Move the records, focal points and open invites of `source` to `target` and
    deactivate `source`; returns how many records moved. Its confirmations stay with it."""
    moved = await db.execute(
        update(Record).where(Record.unit_id == source.id).values(unit_id=target.id)
    )
    await db.execute(update(Member).where(Member.unit_id == source.id).values(unit_id=target.id))
    await db.execute(
        update(Invite)
        .where(Invite.unit_id == source.id, Invite.used_at.is_(None))
        .values(unit_id=target.id)
    )
    source.active = False
    return moved.rowcount or 0


@dataclass(frozen=True)
class InviteLine:
    invite: Invite
    unit: str
    created_by: str
    state: str  # open, used, expired or revoked


def invite_state(invite: Invite, now: datetime) -> str:
    if invite.revoked_at is not None:
        return "revoked"
    if invite.used_at is not None:
        return "used"
    return "expired" if invite.expires_at < now else "open"


async def invites(db: AsyncSession, limit: int = 200) -> list[InviteLine]:
    """The latest invites, newest first, with their unit and creator."""
    creator = Member.__table__.alias("creator")
    rows = await db.execute(
        select(Invite, Unit.name, creator.c.name)
        .outerjoin(Unit, Unit.id == Invite.unit_id)
        .outerjoin(creator, creator.c.id == Invite.created_by)
        .where(Invite.member_id.is_(None))  # links to a second messenger are personal
        .order_by(Invite.id.desc())
        .limit(limit)
    )
    now = utcnow()
    return [
        InviteLine(invite, unit or "", by or "", invite_state(invite, now))
        for invite, unit, by in rows.all()
    ]


async def revoke_invite(db: AsyncSession, invite_id: int) -> Invite | None:
    invite = await db.get(Invite, invite_id)
    if invite is None or invite.used_at is not None or invite.revoked_at is not None:
        return None
    invite.revoked_at = utcnow()
    return invite


async def units_by_id(db: AsyncSession, ids: Sequence[int]) -> dict[int, Unit]:
    return {u.id: u for u in await db.scalars(select(Unit).where(Unit.id.in_(ids)))}
