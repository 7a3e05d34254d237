"""Signing in to the web workspace: one-time links, sessions, coordinators' passwords and
the throttle on failed password attempts. Secrets are stored only as hashes."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.clock import utcnow
from storage.models import (
    LoginToken,
    Member,
    SignInAttempt,
    Unit,
    WebCredential,
    WebSession,
)
from storage.repo import digest

HASHER = PasswordHasher()
# A session's last-seen time is written at most this often (not on every page).
TOUCH_EVERY = timedelta(minutes=5)


async def create_login_token(db: AsyncSession, member_id: int, ttl: timedelta) -> str:
    token = secrets.token_urlsafe(32)
    db.add(LoginToken(token_hash=digest(token), member_id=member_id, expires_at=utcnow() + ttl))
    await db.flush()
    return token


async def redeem_login_token(db: AsyncSession, token: str) -> int | None:
    """The member a fresh, unused token belongs to, marking it used; None otherwise."""
    row = await db.scalar(select(LoginToken).where(LoginToken.token_hash == digest(token)))
    if row is None or row.used_at is not None or row.expires_at < utcnow():
        return None
    row.used_at = utcnow()
    return row.member_id


@dataclass(frozen=True)
class Viewer:
    """The signed-in person, as every page sees them."""

    session_id: int
    member_id: int
    name: str
    role: str
    unit_id: int | None
    unit_name: str
    csrf: str

    @property
    def is_coordinator(self) -> bool:
        return self.role == "coordinator"


async def open_session(db: AsyncSession, member_id: int, ttl: timedelta) -> str:
    """A new session; returns the cookie's token."""
    token = secrets.token_urlsafe(32)
    now = utcnow()
    db.add(
        WebSession(
            token_hash=digest(token),
            member_id=member_id,
            csrf_token=secrets.token_urlsafe(32),
            created_at=now,
            last_seen_at=now,
            expires_at=now + ttl,
        )
    )
    await db.flush()
    return token


async def viewer(db: AsyncSession, token: str, idle: timedelta) -> Viewer | None:
    """The active member behind a session cookie, unless the session expired or sat idle."""
    row = (
        await db.execute(
            select(WebSession, Member, Unit.name)
            .join(Member, Member.id == WebSession.member_id)
            .outerjoin(Unit, Unit.id == Member.unit_id)
            .where(WebSession.token_hash == digest(token))
        )
    ).first()
    if row is None:
        return None
    session, member, unit_name = row
    now = utcnow()
    if not member.active or session.expires_at < now or session.last_seen_at + idle < now:
        return None
    if session.last_seen_at + TOUCH_EVERY < now:
        session.last_seen_at = now
    return Viewer(
        session.id, member.id, member.name, member.role, member.unit_id, unit_name or "",
        session.csrf_token,
    )  # fmt: skip


async def close_session(db: AsyncSession, session_id: int) -> None:
    await db.execute(delete(WebSession).where(WebSession.id == session_id))


# --- passwords --------------------------------------------------------------------------


def hash_password(password: str) -> str:
    return HASHER.hash(password)


def password_matches(stored_hash: str, password: str) -> bool:
    try:
        return HASHER.verify(stored_hash, password)
    except (VerificationError, InvalidHashError):
        return False


async def credential(db: AsyncSession, username: str) -> WebCredential | None:
    return await db.scalar(select(WebCredential).where(WebCredential.username == username))


async def credential_of(db: AsyncSession, member_id: int) -> WebCredential | None:
    return await db.get(WebCredential, member_id)


async def set_password(db: AsyncSession, member_id: int, username: str, password_hash: str) -> None:
    row = await db.get(WebCredential, member_id)
    if row is None:
        row = WebCredential(member_id=member_id)
        db.add(row)
    row.username, row.password_hash, row.updated_at = username, password_hash, utcnow()
    await db.flush()


async def member_role(db: AsyncSession, member_id: int) -> tuple[str, bool] | None:
    row = (
        await db.execute(select(Member.role, Member.active).where(Member.id == member_id))
    ).first()
    return None if row is None else (row[0], row[1])


# --- throttling -------------------------------------------------------------------------


async def failures_since(db: AsyncSession, keys: list[str], since: datetime) -> int:
    """The most failed attempts any of `keys` (a login name, an address) had since then."""
    rows = await db.execute(
        select(SignInAttempt.key, func.count(SignInAttempt.id))
        .where(SignInAttempt.key.in_(keys), SignInAttempt.at >= since)
        .group_by(SignInAttempt.key)
    )
    return max((count for _, count in rows.all()), default=0)


async def record_failure(db: AsyncSession, keys: list[str]) -> None:
    now = utcnow()
    db.add_all(SignInAttempt(key=key, at=now) for key in keys)
    await db.execute(delete(SignInAttempt).where(SignInAttempt.at < now - timedelta(days=1)))
