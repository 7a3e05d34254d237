"""Shared fixtures: a real database per test (a SQLite file, or a PostgreSQL database when
DOINGOAI_TEST_POSTGRES_URL is set), the real engine, a fixed clock."""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator
from datetime import datetime
from pathlib import Path

import pytest

from bot.app import App, open_app
from domain.messages import Incoming, Outgoing
from domain.settings import Settings
from storage import repo
from tests import databases

TZ_NOW = datetime.fromisoformat("2023-06-15T09:00:00+07:00")
FIXTURES = Path(__file__).parent / "fixtures"


def make_settings(data_dir: Path, **overrides) -> Settings:
    """Settings on a fresh database (unless `database_url` is given). Scripted users type
    far faster than people, so flood damping is off unless a test sets it."""
    overrides.setdefault("database_url", databases.database_url())
    overrides.setdefault("flood_burst", 100_000)
    return Settings(data_dir=data_dir, **overrides)


def pytest_sessionfinish(session, exitstatus) -> None:
    databases.drop_all()


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return make_settings(tmp_path / "data")


@pytest.fixture
async def app(settings: Settings) -> AsyncIterator[App]:
    application = await open_app(settings, clock=lambda: TZ_NOW)
    yield application
    await application.close()


class ChatUser:
    """A person typing to the engine; each message gets a fresh update id."""

    _ids = itertools.count(1)

    def __init__(self, app: App, user_id: str, channel: str = "test") -> None:
        self.app, self.user_id, self.channel = app, user_id, channel
        self.replies: list[Outgoing] = []

    async def send(self, text: str = "", choice: str | None = None) -> list[Outgoing]:
        incoming = Incoming(
            channel=self.channel,
            user_id=self.user_id,
            chat_id=self.user_id,
            text=text,
            choice=choice,
            update_id=str(next(self._ids)),
            display_name=f"Người dùng {self.user_id}",
        )
        self.replies = await self.app.engine.handle(incoming)
        return self.replies

    @property
    def text(self) -> str:
        return "\n".join(reply.text for reply in self.replies)

    @property
    def last(self) -> Outgoing:
        return self.replies[-1]

    def key_of(self, label_part: str) -> str:
        """The key of the on-screen choice whose label contains `label_part`."""
        for reply in reversed(self.replies):
            for choice in reply.choices:
                if label_part in choice.label:
                    return choice.key
        raise AssertionError(f"no choice containing {label_part!r} in {self.replies}")

    async def press(self, label_part: str) -> list[Outgoing]:
        return await self.send(choice=self.key_of(label_part))


async def invite_code(app: App, role: str = "focal_point", unit: str = "Sở Ngoại vụ") -> str:
    from datetime import timedelta

    async with app.sessions() as db, db.begin():
        unit_row = await repo.unit_by_name(db, unit) if role == "focal_point" else None
        return await repo.create_invite(
            db, role=role, unit_id=unit_row.id if unit_row else None, ttl=timedelta(days=1)
        )


async def registered(app: App, user_id: str, unit: str = "Sở Ngoại vụ", role="focal_point"):
    user = ChatUser(app, user_id)
    await user.send(f"/start {await invite_code(app, role, unit)}")
    assert "Chào mừng" in user.text, user.text
    return user


async def confirm_all_units(app: App, round_id: str) -> None:
    """Every active unit confirms the round (its report is complete), as after a deadline."""
    from sqlalchemy import select

    from scheduler.plan import recurring_rounds
    from storage import rounds as store
    from storage.models import Unit

    year = int(round_id[:4])
    async with app.sessions() as db, db.begin():
        await store.ensure_rounds(db, recurring_rounds(year, app.settings))
        for unit in await db.scalars(select(Unit).where(Unit.active)):
            await store.confirm(db, round_id, unit.id, None, nothing_to_report=False)


async def outbox_drained(app: App, timeout: float = 10) -> None:
    """Wait until every queued message has left (the channel's sender works on its own)."""
    import asyncio

    from storage import outbox

    async with asyncio.timeout(timeout):
        while True:
            async with app.sessions() as db:
                if not (await outbox.counts(db)).get(outbox.PENDING):
                    return
            await asyncio.sleep(0.02)
