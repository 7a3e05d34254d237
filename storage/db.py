"""Database engine, sessions and migrations.

SQLite is the embedded default (WAL mode, foreign keys on); any SQLAlchemy async URL works.
JSON columns (conversation states, record values) are encoded with orjson.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from contextlib import AbstractAsyncContextManager, nullcontext
from pathlib import Path
from typing import TypeVar

import orjson
from alembic import command
from alembic.config import Config
from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine

from storage import inline_sqlite
from storage.keys import SESSION_INFO

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"


SQLITE_BUSY = 5  # the primary result code; extended ones (BUSY_SNAPSHOT…) share its low byte
JSON_CODEC = {
    "json_serializer": lambda value: orjson.dumps(value).decode(),
    "json_deserializer": orjson.loads,
}


def _sqlite_pragmas(busy_timeout_ms: int):
    def enable(dbapi_connection, _record) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute(f"PRAGMA busy_timeout={busy_timeout_ms}")
        cursor.close()

    return enable


def sqlite_file(url: str) -> Path | None:
    """The database file of an SQLite URL (plain or `file:` URI form); None otherwise."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or not parsed.database:
        return None
    name = parsed.database.removeprefix("file:")
    return None if name in ("", ":memory:") else Path(name)


def create_engine(url: str) -> AsyncEngine:
    """An async engine; for SQLite, creates the file's folder and sets the pragmas.
    Statement parameters (what people typed) stay out of error messages and logs."""
    if make_url(url).get_backend_name() == "sqlite":
        if (path := sqlite_file(url)) is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
        engine = create_async_engine(url, hide_parameters=True, **JSON_CODEC)
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas(5000))
        return engine
    return create_async_engine(url, pool_pre_ping=True, hide_parameters=True, **JSON_CODEC)


def create_turn_engine(url: str) -> AsyncEngine | None:
    """For an SQLite file, the engine the conversation's turns and the outbox senders run
    on: no thread hop per call, and a locked database answered at once (see
    storage.inline_sqlite); the caller retries a busy transaction (`retry_when_busy`). None
    for other databases: the main engine serves them there."""
    path = sqlite_file(url)
    if path is None or make_url(url).query:  # URI options (read-only…) stay on aiosqlite
        return None
    path.parent.mkdir(parents=True, exist_ok=True)
    engine = create_async_engine(
        url, hide_parameters=True, async_creator=inline_sqlite.creator(str(path)), **JSON_CODEC
    )
    event.listen(engine.sync_engine, "connect", _sqlite_pragmas(0))
    return engine


def writer_lock(url: str) -> AbstractAsyncContextManager:
    """What a process's writing transactions on the inline connections take in turn.
    SQLite has one writer at a time, whatever the connections: the conversation's turns and
    the outbox senders' marks then wait for each other here instead of meeting SQLITE_BUSY.
    PostgreSQL needs nothing (a person's messages wait on the row lock of their identity)."""
    return asyncio.Lock() if make_url(url).get_backend_name() == "sqlite" else nullcontext()


def is_busy(error: BaseException) -> bool:
    """True when SQLite refused a statement because another connection holds the lock."""
    code = getattr(getattr(error, "orig", None), "sqlite_errorcode", None)
    return isinstance(error, OperationalError) and code is not None and code & 0xFF == SQLITE_BUSY


T = TypeVar("T")

# Waits between the tries of a transaction that found SQLite locked: short at first (a turn
# commits in about a millisecond), up to about 10 s in all (a long import or a backup).
BUSY_PAUSES = [0.001 * 2**attempt for attempt in range(8)] + [0.25] * 40


async def retry_when_busy(transaction: Callable[[], Awaitable[T]]) -> T:
    """Run `transaction` again after a pause while SQLite refuses it as busy (another
    process, the web, the scheduler writing). Nothing of a refused transaction was kept, so
    running it again is safe; the inline connections never wait inside SQLite, which would
    block the event loop."""
    for pause in BUSY_PAUSES:
        try:
            return await transaction()
        except Exception as error:
            if not is_busy(error):
                raise
            busy = error
        await asyncio.sleep(pause)
    raise busy


def session_factory(engine: AsyncEngine, secret_key: bytes = b"") -> async_sessionmaker:
    """Sessions carrying the key invite codes and file tokens are hashed with."""
    return async_sessionmaker(
        engine, expire_on_commit=False, info={SESSION_INFO: secret_key} if secret_key else {}
    )


def alembic_config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


async def upgrade(engine: AsyncEngine) -> None:
    """Apply every pending migration (run at start and by `doingoai db upgrade`)."""

    def run(connection) -> None:
        config = alembic_config(str(engine.url))
        config.attributes["connection"] = connection
        command.upgrade(config, "head")

    async with engine.begin() as connection:
        await connection.run_sync(run)
