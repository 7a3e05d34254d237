"""Wiring: open the database (migrated, units loaded), build the engine."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker

from domain import catalog
from domain.settings import Settings
from handlers.engine import Engine
from storage import db as database
from storage import repo
from storage.models import Invite, Member, Unit
from storage.units_file import import_units


@dataclass
class App:
    settings: Settings
    db_engine: AsyncEngine
    sessions: async_sessionmaker
    engine: Engine

    async def close(self) -> None:
        await self.db_engine.dispose()


async def open_app(settings: Settings, clock=None) -> App:
    """Migrate the database, load the province's units on first start, build the engine."""
    catalog.configure(department=settings.department_name, province=settings.province_name)
    db_engine = database.create_engine(settings.resolved_database_url)
    await database.upgrade(db_engine)
    sessions = database.session_factory(db_engine)
    async with sessions() as db, db.begin():
        if not await db.scalar(select(func.count(Unit.id))):
            await import_units(db, settings.units_file)
    return App(settings, db_engine, sessions, Engine(sessions, settings, clock))


async def demo_invites(app: App) -> dict[str, str] | None:
    """On an empty database (nobody registered, no invite ever made), invite codes for
    trying the bot: a coordinator and the demo unit's focal point. None on any other
    database, so pointing the terminal chat at a real one never mints codes."""
    ttl = timedelta(days=app.settings.invite_ttl_days)
    async with app.sessions() as db, db.begin():
        used = await db.scalar(select(func.count(Member.id)))
        if used or await db.scalar(select(func.count(Invite.id))):
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
