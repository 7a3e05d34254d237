"""Wiring: open the database (migrated, units loaded), build the engine."""

from __future__ import annotations

import gc
from contextlib import AbstractAsyncContextManager, nullcontext
from dataclasses import dataclass, field
from datetime import timedelta

from sqlalchemy import func, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker

from bot.mail import EmailChannel
from bot.outbox import OutboxSender, Send
from domain import catalog
from domain.catalog import t
from domain.settings import Settings
from handlers.engine import Engine
from handlers.signin import LOGIN_PATH
from storage import db as database
from storage import health, keys, repo, web_auth
from storage.health import StorageProblem
from storage.models import Identity, Invite, Member, Unit
from storage.units_file import import_units


@dataclass
class App:
    settings: Settings
    db_engine: AsyncEngine
    sessions: async_sessionmaker
    engine: Engine
    turn_db_engine: AsyncEngine | None = None  # SQLite: the conversation's own connections
    # The sessions of the hot path (the engine's turns, the senders' marks): on SQLite the
    # inline connections, taken in turn through `writer` (storage.db.writer_lock).
    turn_sessions: async_sessionmaker | None = None
    writer: AbstractAsyncContextManager = field(default_factory=nullcontext)

    def sender(self, channel: str, send: Send) -> OutboxSender:
        """The outbox sender of a channel, on the hot path's sessions."""
        return OutboxSender(
            self.turn_sessions or self.sessions, self.settings, channel, send, self.writer
        )

    async def close(self) -> None:
        if self.turn_db_engine is not None:
            await self.turn_db_engine.dispose()
        await self.db_engine.dispose()


async def open_app(settings: Settings, clock=None) -> App:
    """Check the store (StorageProblem when it is corrupt, read-only or full), migrate the
    database, load the province's units on first start, build the engine."""
    catalog.configure(department=settings.department_name, province=settings.province_name)
    url = settings.resolved_database_url
    if (path := database.sqlite_file(url)) is not None:
        health.check_space(path.parent, settings.min_free_mb)
        health.quick_check(path)
    try:
        key = keys.load_key(settings.secret_key, settings.data_dir)
    except OSError as error:
        raise StorageProblem("storage.no_key", path=settings.data_dir / keys.KEY_FILE) from error
    db_engine = database.create_engine(url)
    try:
        await database.upgrade(db_engine)
        await health.check_store(db_engine, settings.data_dir, settings.min_free_mb)
        sessions = database.session_factory(db_engine, key)
        async with sessions() as db, db.begin():
            if not await db.scalar(select(func.count(Unit.id))):
                await import_units(db, settings.units_file)
    except (SQLAlchemyError, OSError) as error:  # e.g. a server that refuses connections
        await db_engine.dispose()
        raise health.classify(error) from error
    except StorageProblem:
        await db_engine.dispose()
        raise
    turn_db_engine = database.create_turn_engine(url)
    turn_sessions = database.session_factory(turn_db_engine, key) if turn_db_engine else sessions
    writer = database.writer_lock(url)
    engine = Engine(sessions, settings, clock, turn_sessions=turn_sessions, writer=writer)
    if settings.email_enabled:
        engine.mailer = EmailChannel(settings)
    return App(settings, db_engine, sessions, engine, turn_db_engine, turn_sessions, writer)


def freeze_startup_objects() -> None:
    """Keep what start-up built (modules, SQLAlchemy's mappers and statement caches, the
    templates) out of the garbage collector's full passes: each pass otherwise walks them
    all, a pause of about 0.1 s in the middle of whatever messages are being handled."""
    gc.collect()
    gc.freeze()


async def demo_invites(app: App) -> dict[str, str] | None:
    """On an empty database (nobody registered, no invite ever made), invite codes for
    trying the bot: a coordinator and the demo unit's focal point. None on any other
    database, so pointing the terminal chat at a real one never mints codes."""
    ttl = timedelta(days=app.settings.invite_ttl_days)
    async with app.sessions() as db, db.begin():
        registered = await db.scalar(select(func.count(Identity.id)))
        if registered or await db.scalar(select(func.count(Invite.id))):
            return None
        unit = await repo.unit_by_name(db, app.settings.demo_focal_unit)
        codes = {
            "coordinator": await repo.create_invite(db, role="coordinator", unit_id=None, ttl=ttl)
        }
        if unit is not None:
            codes["focal_point"] = await repo.create_invite(
                db, role="focal_point", unit_id=unit.id, ttl=ttl
            )
        return codes


async def demo_login_link(app: App) -> str:
    """A one-time web sign-in link for the first coordinator (created on a fresh demo
    database), so a newcomer sees the web workspace at once."""
    settings = app.settings
    async with app.sessions() as db, db.begin():
        member = await db.scalar(
            select(Member)
            .where(Member.role == "coordinator", Member.active)
            .order_by(Member.id)
            .limit(1)
        )
        if member is None:
            member = Member(name=t("cli.demo_coordinator"), role="coordinator")
            db.add(member)
            await db.flush()
        ttl = timedelta(minutes=settings.web_login_minutes)
        token = await web_auth.create_login_token(db, member.id, ttl)
    return f"{settings.web_base_url}{LOGIN_PATH}{token}"
