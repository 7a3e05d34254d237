"""Database engine, sessions and migrations.

SQLite is the embedded default (WAL mode, foreign keys on); any SQLAlchemy async URL works.
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine

from storage.keys import SESSION_INFO

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"


def _enable_sqlite_pragmas(dbapi_connection, _record) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=5000")
    cursor.close()


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
        engine = create_async_engine(url, hide_parameters=True)
        event.listen(engine.sync_engine, "connect", _enable_sqlite_pragmas)
        return engine
    return create_async_engine(url, pool_pre_ping=True, hide_parameters=True)


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
