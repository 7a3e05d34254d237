"""The database each test runs on: a fresh SQLite file, or with
DOINGOAI_TEST_POSTGRES_URL set (a server's admin URL, e.g.
postgresql+asyncpg://postgres@127.0.0.1:54329/postgres, as .ci/run starts one) a fresh
PostgreSQL database per test, copied from a migrated template made once per run."""

from __future__ import annotations

import asyncio
import os
import uuid
from concurrent.futures import ThreadPoolExecutor

POSTGRES_ADMIN_URL = os.environ.get("DOINGOAI_TEST_POSTGRES_URL", "")
TEMPLATE = f"doingoai_template_{os.getpid()}"
_created: list[str] = []


def _dsn(url: str) -> str:
    """An asyncpg DSN from a SQLAlchemy URL."""
    return url.replace("postgresql+asyncpg://", "postgresql://", 1)


def _on(database: str) -> str:
    return POSTGRES_ADMIN_URL.rsplit("/", 1)[0] + "/" + database


def _run(coroutine) -> None:
    """Run a coroutine to completion from sync code, even inside a running event loop."""
    with ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, coroutine).result()


async def _admin(*statements: str) -> None:
    import asyncpg

    connection = await asyncpg.connect(_dsn(POSTGRES_ADMIN_URL))
    try:
        for statement in statements:
            await connection.execute(statement)
    finally:
        await connection.close()


async def _migrated_template() -> None:
    from storage import db as database

    await _admin(f'DROP DATABASE IF EXISTS "{TEMPLATE}"', f'CREATE DATABASE "{TEMPLATE}"')
    engine = database.create_engine(_on(TEMPLATE))
    await database.upgrade(engine)
    await engine.dispose()


def database_url() -> str:
    """ "" for SQLite in the data folder; else the URL of a fresh PostgreSQL database."""
    if not POSTGRES_ADMIN_URL:
        return ""
    if not _created:
        _run(_migrated_template())
        _created.append(TEMPLATE)
    name = f"t_{uuid.uuid4().hex[:16]}"
    _run(_admin(f'CREATE DATABASE "{name}" TEMPLATE "{TEMPLATE}"'))
    _created.append(name)
    return _on(name)


def drop_all() -> None:
    """Drop every database this run created (the server may live on)."""
    if _created:
        _run(
            _admin(
                *(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)' for name in reversed(_created))
            )
        )
        _created.clear()
