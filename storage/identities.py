"""A member's channels: listing them, reminders on or off per channel (/kenh), and the
e-mail address linked once its code was typed back (or given by the units file)."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Identity, Member, Unit

EMAIL = "email"


async def member_identities(db: AsyncSession, member_id: int) -> Sequence[Identity]:
    return (
        await db.scalars(
            select(Identity).where(Identity.member_id == member_id).order_by(Identity.id)
        )
    ).all()


async def set_reminders(db: AsyncSession, member_id: int, channel: str, on: bool) -> int:
    """Turn reminders on one channel on or off; how many identities changed."""
    result = await db.execute(
        update(Identity)
        .where(Identity.member_id == member_id, Identity.channel == channel)
        .values(reminders=on)
    )
    return result.rowcount


async def email_owner(db: AsyncSession, address: str) -> int | None:
    """The member an address is linked to, if any."""
    return await db.scalar(
        select(Identity.member_id).where(Identity.channel == EMAIL, Identity.user_id == address)
    )


async def link_email(db: AsyncSession, member_id: int, address: str) -> None:
    """Link `address` to the member, replacing the address they had (one per person)."""
    for identity in await member_identities(db, member_id):
        if identity.channel == EMAIL:
            await db.delete(identity)
    await db.flush()
    db.add(Identity(member_id=member_id, channel=EMAIL, user_id=address, chat_id=address))
    await db.flush()


async def email_of(db: AsyncSession, member_id: int, reminders_only: bool = False) -> str:
    """The member's linked address ("" when none, or turned off with `reminders_only`)."""
    query = select(Identity.chat_id).where(
        Identity.member_id == member_id, Identity.channel == EMAIL
    )
    if reminders_only:
        query = query.where(Identity.reminders)
    return await db.scalar(query) or ""


async def adopt_unit_email(db: AsyncSession, member_id: int) -> str:
    """A new focal point gets the unit's address from the units file, when nobody has
    it yet; the address linked ("" when none)."""
    member = await db.get(Member, member_id)
    unit = await db.get(Unit, member.unit_id) if member and member.unit_id else None
    if unit is None or not unit.email or await email_of(db, member_id):
        return ""
    if await email_owner(db, unit.email) is not None:
        return ""
    await link_email(db, member_id, unit.email)
    return unit.email
