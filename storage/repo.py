"""Small query functions over an AsyncSession. No messenger, no conversation logic."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import and_, bindparam, delete, func, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from domain import invite_codes
from domain.parsing import fold, loose
from storage.clock import utcnow
from storage.direct import HotStatements
from storage.keys import keyed_digest
from storage.models import (
    AuditEntry,
    ConversationSession,
    FileLink,
    Identity,
    Invite,
    Member,
    ProcessedUpdate,
    Record,
    Unit,
)

# --- updates and sessions ---------------------------------------------------------------


INSERTS = {"sqlite": sqlite.insert, "postgresql": postgresql.insert}  # with ON CONFLICT


def upsert(db: AsyncSession, table: type):
    """The dialect's INSERT with ON CONFLICT clauses (SQLite and PostgreSQL)."""
    return INSERTS[db.bind.dialect.name](table)


async def claim_update(db: AsyncSession, channel: str, update_id: str) -> bool:
    """Record an update id; False when it was processed before (also across processes)."""
    values = {"channel": channel, "update_id": update_id, "processed_at": utcnow()}
    return (await HOT.run(db, "claim_update", values)).rowcount == 1


async def prune_updates(db: AsyncSession, before: datetime) -> int:
    """Forget update ids processed before `before` (naive UTC); returns how many."""
    result = await db.execute(delete(ProcessedUpdate).where(ProcessedUpdate.processed_at < before))
    return result.rowcount


@dataclass
class SavedState:
    """A conversation state as loaded, so that saving can skip an unchanged one."""

    channel: str
    user_id: str
    state: dict[str, Any]
    row_id: int | None = None


async def save_state(db: AsyncSession, saved: SavedState, state: dict[str, Any]) -> None:
    """Store the conversation state if it changed."""
    if saved.row_id is not None and state == saved.state:
        return
    values = {"channel": saved.channel, "user_id": saved.user_id, "state": state}
    await HOT.run(db, "save_state", {**values, "updated_at": utcnow()})


# --- units ------------------------------------------------------------------------------


async def list_units(db: AsyncSession) -> Sequence[Unit]:
    return (await db.scalars(select(Unit).where(Unit.active).order_by(Unit.id))).all()


async def find_units(db: AsyncSession, query: str) -> list[Unit]:
    """Units whose accent-insensitive name contains every word of the query."""
    words = fold(query).split()
    return [unit for unit in await list_units(db) if all(w in fold(unit.name) for w in words)]


async def unit_by_name(db: AsyncSession, name: str) -> Unit | None:
    wanted = fold(name)
    for unit in await list_units(db):
        if fold(unit.name) == wanted or unit.code == name.strip():
            return unit
    return None


async def add_unit(db: AsyncSession, name: str, code: str = "", group: str = "khac") -> Unit:
    unit = Unit(name=name, code=code or slug(name), group=group)
    db.add(unit)
    await db.flush()
    return unit


def slug(name: str) -> str:
    return "-".join(loose(name).split())[:64]


# --- members ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Person:
    """A member as seen on one channel (read-only values, loaded once per message)."""

    member_id: int
    name: str
    role: str
    unit_id: int | None
    active: bool
    channel: str
    chat_id: str
    blocked: bool = False  # they had blocked the bot on this channel


def _hot_statements(dialect: str) -> dict[str, Any]:
    """The statements of every message, built once per dialect on the tables (no ORM
    plugin, no statement building per message: most of a message's CPU time was there)."""
    updates, sessions = ProcessedUpdate.__table__, ConversationSession.__table__
    identities, members = Identity.__table__, Member.__table__
    insert = INSERTS[dialect]
    by_identity = and_(
        identities.c.channel == bindparam("channel"), identities.c.user_id == bindparam("user_id")
    )
    save_state = insert(sessions)
    return {
        "claim_update": insert(updates).on_conflict_do_nothing(),
        "lock_identity": select(identities.c.id).where(by_identity).with_for_update(),
        "person_and_state": select(
            members.c.id, members.c.name, members.c.role, members.c.unit_id, members.c.active,
            identities.c.channel, identities.c.chat_id, identities.c.blocked_at.is_not(None),
            sessions.c.id, sessions.c.state,
        )
        .select_from(identities)
        .join(members, members.c.id == identities.c.member_id)
        .outerjoin(
            sessions,
            and_(
                sessions.c.channel == identities.c.channel,
                sessions.c.user_id == identities.c.user_id,
            ),
        )
        .where(by_identity),
        "save_state": save_state.on_conflict_do_update(
            index_elements=["channel", "user_id"],
            set_={"state": save_state.excluded.state, "updated_at": save_state.excluded.updated_at},
        ),
    }  # fmt: skip


HOT = HotStatements(
    _hot_statements,
    {
        "claim_update": ("channel", "update_id", "processed_at"),
        "lock_identity": ("channel", "user_id"),
        "person_and_state": ("channel", "user_id"),
        "save_state": ("channel", "user_id", "state", "updated_at"),
    },
)


async def person_by_identity(db: AsyncSession, channel: str, user_id: str) -> Person | None:
    person, _ = await person_and_state(db, channel, user_id)
    return person


async def person_and_state(
    db: AsyncSession, channel: str, user_id: str
) -> tuple[Person | None, SavedState]:
    """The registered person and their conversation state, in one query (the hot path).
    Strangers have no state: they can only register.

    On PostgreSQL the person's identity row is locked first, until the transaction ends,
    so that two processes serving one database handle one person's messages one after the
    other. The lock is its own statement: a statement that waited for a lock still reads
    the other tables as they were when it began, so the state is read after the wait, as
    the previous message committed it. (SQLite has a single writer: the update claim that
    opens every transaction already waits.)"""
    key = {"channel": channel, "user_id": user_id}
    if db.bind.dialect.name == "postgresql":
        await HOT.run(db, "lock_identity", key)
    rows = (await HOT.run(db, "person_and_state", key)).rows
    if not rows:
        return None, SavedState(channel, user_id, {})
    *person, row_id, state = rows[0]
    return Person(*person), SavedState(channel, user_id, state or {}, row_id)


async def add_identity(db: AsyncSession, member: Member, channel: str, user_id: str, chat_id: str):
    db.add(Identity(member_id=member.id, channel=channel, user_id=user_id, chat_id=chat_id))
    await db.flush()
    return Person(
        member.id, member.name, member.role, member.unit_id, member.active, channel, chat_id
    )


# --- invites ----------------------------------------------------------------------------


def digest(secret: str) -> str:
    """What is stored instead of a long random token (web sign-in links and sessions)."""
    return hashlib.sha256(secret.encode()).hexdigest()


def hash_code(db: AsyncSession, code: str) -> str:
    return keyed_digest(db, invite_codes.normalise(code))


async def create_invite(
    db: AsyncSession,
    *,
    role: str,
    unit_id: int | None,
    ttl: timedelta,
    created_by: int | None = None,
    member_id: int | None = None,
) -> str:
    """A fresh code; only its keyed hash is stored."""
    code = invite_codes.new_code()
    db.add(
        Invite(
            code_hash=hash_code(db, code),
            role=role,
            unit_id=unit_id,
            member_id=member_id,
            created_by=created_by,
            expires_at=utcnow() + ttl,
        )
    )
    await db.flush()
    return code


async def usable_invite(db: AsyncSession, code: str) -> Invite | None:
    invite = await db.scalar(select(Invite).where(Invite.code_hash == hash_code(db, code)))
    if invite is None or invite.used_at is not None or invite.revoked_at is not None:
        return None
    return invite if invite.expires_at >= utcnow() else None


async def redeem_invite(
    db: AsyncSession, invite: Invite, *, channel: str, user_id: str, chat_id: str, name: str
) -> Person:
    """Register a new member, or link a new channel to the invite's existing member."""
    if invite.member_id is not None:
        member = await db.get(Member, invite.member_id)
    else:
        member = Member(name=name, role=invite.role, unit_id=invite.unit_id)
        db.add(member)
        await db.flush()
    invite.used_at = utcnow()
    invite.used_by = member.id
    return await add_identity(db, member, channel, user_id, chat_id)


async def reassign(db: AsyncSession, person: Person, invite: Invite) -> Person:
    """A registered member redeems an invite for another role or unit: it becomes theirs."""
    member = await db.get(Member, person.member_id)
    member.role, member.unit_id = invite.role, invite.unit_id
    invite.used_at = utcnow()
    invite.used_by = member.id
    return replace(person, role=member.role, unit_id=member.unit_id)


# --- records ----------------------------------------------------------------------------


async def create_record(
    db: AsyncSession,
    *,
    kind: str,
    unit_id: int,
    submitted_by: int | None,
    values: dict[str, Any],
    event_date: date | None,
    round_id: str | None,
    created_at: datetime | None = None,
) -> Record:
    now = created_at or utcnow()
    record = Record(
        kind=kind,
        unit_id=unit_id,
        submitted_by=submitted_by,
        values=values,
        event_date=event_date,
        round_id=round_id,
        created_at=now,
        updated_at=now,
    )
    db.add(record)
    await db.flush()
    return record


async def live_record(db: AsyncSession, record_id: int) -> Record | None:
    record = await db.get(Record, record_id)
    return record if record is not None and record.deleted_at is None else None


async def unit_records(
    db: AsyncSession, unit_id: int, *, offset: int, limit: int
) -> tuple[Sequence[Record], int]:
    """One page of a unit's live records, newest first, and the total count."""
    live = (Record.unit_id == unit_id, Record.deleted_at.is_(None))
    total = await db.scalar(select(func.count(Record.id)).where(*live))
    page = await db.scalars(
        select(Record).where(*live).order_by(Record.id.desc()).offset(offset).limit(limit)
    )
    return page.all(), total or 0


def _records_query(start: date | None, end: date | None):
    """Live records as light rows (id, kind, unit, event_date, round_id, values): dated
    records filtered by event date, per-round records (no date) by the year of their round
    id ("2023-H1" counts in 2023)."""
    dated, by_round = [Record.event_date.is_not(None)], [Record.event_date.is_(None)]
    round_year = func.substr(Record.round_id, 1, 4)
    if start is not None:
        dated.append(Record.event_date >= start)
        by_round.append(or_(Record.round_id.is_(None), round_year >= f"{start.year:04d}"))
    if end is not None:
        dated.append(Record.event_date <= end)
        by_round.append(or_(Record.round_id.is_(None), round_year <= f"{end.year:04d}"))
    return (
        select(
            Record.id,
            Record.kind,
            Unit.name.label("unit"),
            Record.event_date,
            Record.round_id,
            Record.values,
        )
        .join(Unit, Unit.id == Record.unit_id)
        .where(Record.deleted_at.is_(None), or_(and_(*dated), and_(*by_round)))
        .order_by(Record.kind, Record.event_date, Record.id)
    )


async def records_between(
    db: AsyncSession, start: date | None = None, end: date | None = None
) -> Sequence[Any]:
    """Live records between two dates, as light rows (not ORM objects)."""
    return (await db.execute(_records_query(start, end))).all()


async def stream_records_between(
    db: AsyncSession, start: date | None, end: date | None, batch: int = 2_000
) -> AsyncIterator[Any]:
    """The same rows, a batch at a time: a national report reads 150,000 without holding
    them all twice."""
    result = await db.stream(_records_query(start, end))
    async for rows in result.partitions(batch):
        for row in rows:
            yield row


async def audit(
    db: AsyncSession,
    *,
    member_id: int | None,
    action: str,
    entity: str,
    entity_id: int | None,
    details: dict[str, Any] | None = None,
    source: str = "chat",
) -> None:
    """One audit log entry; `source` says where the change was made (chat, web, cli)."""
    db.add(
        AuditEntry(
            member_id=member_id,
            action=action,
            entity=entity,
            entity_id=entity_id,
            details=details or {},
            source=source,
        )
    )


async def mark_blocked(db: AsyncSession, channel: str, chat_id: str, blocked: bool = True) -> None:
    """The person blocked the bot on this channel: stop sending there, show it to
    coordinators. blocked=False when they write again."""
    await db.execute(
        update(Identity)
        .where(Identity.channel == channel, Identity.chat_id == chat_id)
        .values(blocked_at=utcnow() if blocked else None)
    )


async def create_file_link(db: AsyncSession, path: str, filename: str, ttl: timedelta) -> str:
    """A fresh random token for downloading one file until it expires."""
    token = secrets.token_urlsafe(24)
    db.add(
        FileLink(
            token_hash=keyed_digest(db, token),
            path=path,
            filename=filename,
            expires_at=utcnow() + ttl,
        )
    )
    await db.flush()
    return token


async def file_for_token(db: AsyncSession, token: str) -> FileLink | None:
    """The file behind a token, if the token exists and has not expired."""
    link = await db.scalar(select(FileLink).where(FileLink.token_hash == keyed_digest(db, token)))
    return link if link is not None and link.expires_at > utcnow() else None
