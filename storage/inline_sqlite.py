"""SQLite for the conversation engine without a thread hop per call.

aiosqlite runs every call (cursor, execute, fetch, close, commit) in its own thread and
awaits the result: about twenty thread round trips for one message, which cost more than
the SQLite work itself (about 0.1 ms a message). This module gives SQLAlchemy's aiosqlite
dialect (through `async_creator`) a connection with the same awaitable interface that runs
each call directly on the event loop's thread.

That is safe only with a zero busy timeout: a call that finds the database locked by
another connection fails at once with SQLITE_BUSY instead of blocking the event loop (and
the other connection, whose coroutine needs the loop to finish). The engine's turns and the
outbox senders' marks use these connections, one writer at a time (storage.db.writer_lock),
and run a busy transaction again after yielding to the loop (storage.db.retry_when_busy);
everything else (web, reports, scheduler, CLI) keeps aiosqlite.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Sequence
from typing import Any


class InlineCursor:
    """An sqlite3 cursor behind aiosqlite's awaitable cursor interface."""

    def __init__(self, cursor: sqlite3.Cursor) -> None:
        self._cursor = cursor

    async def __aenter__(self) -> InlineCursor:
        return self

    async def __aexit__(self, *_exc: object) -> None:
        self._cursor.close()

    @property
    def description(self):
        return self._cursor.description

    @property
    def rowcount(self) -> int:
        return self._cursor.rowcount

    @property
    def lastrowid(self) -> int | None:
        return self._cursor.lastrowid

    @property
    def arraysize(self) -> int:
        return self._cursor.arraysize

    @arraysize.setter
    def arraysize(self, value: int) -> None:
        self._cursor.arraysize = value

    async def execute(self, sql: str, parameters: Sequence[Any] = ()) -> InlineCursor:
        self._cursor.execute(sql, parameters)
        return self

    async def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> InlineCursor:
        self._cursor.executemany(sql, rows)
        return self

    async def fetchone(self):
        return self._cursor.fetchone()

    async def fetchmany(self, size: int | None = None):
        return self._cursor.fetchmany(size if size is not None else self._cursor.arraysize)

    async def fetchall(self):
        return self._cursor.fetchall()

    async def close(self) -> None:
        self._cursor.close()


class InlineConnection:
    """An sqlite3 connection behind the part of aiosqlite's interface SQLAlchemy uses."""

    def __init__(self, connection: sqlite3.Connection) -> None:
        self._conn = connection

    @property
    def _connection(self) -> sqlite3.Connection:  # SQLAlchemy checks it is still open
        return self._conn

    @property
    def sqlite(self) -> sqlite3.Connection:
        """The sqlite3 connection itself (storage.direct runs the hot statements on it)."""
        return self._conn

    @property
    def isolation_level(self) -> str | None:
        return self._conn.isolation_level

    def cursor(self) -> InlineCursor:
        return InlineCursor(self._conn.cursor())

    async def execute(self, sql: str, parameters: Sequence[Any] = ()) -> InlineCursor:
        return await self.cursor().execute(sql, parameters)

    async def commit(self) -> None:
        self._conn.commit()

    async def rollback(self) -> None:
        self._conn.rollback()

    async def close(self) -> None:
        self._conn.close()

    def stop(self) -> None:
        self._conn.close()

    async def create_function(self, *args: Any, **kwargs: Any) -> None:
        self._conn.create_function(*args, **kwargs)


def creator(path: str):
    """The `async_creator` for create_async_engine: a connection to the file at `path`
    that gives up at once when the database is locked (see the module's docstring)."""

    async def connect() -> InlineConnection:
        connection = sqlite3.connect(path, timeout=0, check_same_thread=False)
        return InlineConnection(connection)

    return connect
