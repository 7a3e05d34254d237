"""The statements of every message, run straight on the turn's sqlite3 connection.

Through an AsyncSession one small statement costs about 0.15 ms of CPU (statement cache
lookup, greenlet switches, result wrapping) where SQLite itself needs a few microseconds;
three of them per message were about half of a message's time. On the engine's inline
SQLite connections (storage.inline_sqlite) a `Direct` statement is compiled once by
SQLAlchemy, with its types' own bind and result processors, and then run on the
connection the session holds, inside the session's transaction. Any other database runs
the same Core statement through the session (`HotStatements` chooses).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession

from storage.inline_sqlite import InlineConnection


@dataclass
class Outcome:
    """What a statement did: rows changed, and the rows it returned (Python values)."""

    rowcount: int
    rows: Sequence[tuple]


class Direct:
    """A Core statement compiled once for a dialect, with the given parameter names."""

    def __init__(self, statement, dialect, names: Sequence[str]) -> None:
        compiled = statement.compile(dialect=dialect, column_keys=list(names))
        self.sql = compiled.string
        self.binds = [  # a literal of the statement itself is bound when not given
            (
                name,
                bind.type.dialect_impl(dialect).bind_processor(dialect),
                bind.required,
                bind.effective_value,
            )
            for name in compiled.positiontup
            if (bind := compiled.binds[name]) is not None
        ]
        self.results = [  # the columns selected or returned
            column.type.dialect_impl(dialect).result_processor(dialect, None)
            for column in statement.exported_columns
        ]

    def run(self, connection: sqlite3.Connection, values: dict[str, Any]) -> Outcome:
        params = []
        for name, convert, required, literal in self.binds:
            value = values[name] if required else values.get(name, literal)  # KeyError: a bug
            params.append(convert(value) if convert else value)
        try:
            cursor = connection.execute(self.sql, params)
            rows = cursor.fetchall()
        except sqlite3.Error as error:  # the same error SQLAlchemy would raise (busy, …)
            raise DBAPIError.instance(
                self.sql, params, error, sqlite3.Error, hide_parameters=True
            ) from error
        return Outcome(cursor.rowcount, [self._row(row) for row in rows])

    def _row(self, row: tuple) -> tuple:
        return tuple(
            convert(value) if convert else value
            for convert, value in zip(self.results, row, strict=True)
        )


async def inline_connection(db: AsyncSession) -> sqlite3.Connection | None:
    """The sqlite3 connection under the session's transaction when it is an inline one
    (looked up once per transaction: a message runs three or four hot statements)."""
    if db.bind.dialect.name != "sqlite":
        return None
    known = db.info.get(_INLINE)
    if known is not None and known[0] is db.sync_session.get_transaction():
        return known[1]
    connection = await db.connection()
    driver = connection.sync_connection.connection.driver_connection
    found = driver.sqlite if isinstance(driver, InlineConnection) else None
    db.info[_INLINE] = (db.sync_session.get_transaction(), found)
    return found


_INLINE = "doingoai.inline_connection"


class HotStatements:
    """A module's statements of every message: built once per dialect on the Core tables
    by `build` (dialect name -> {name: statement}), each with the names of its parameters;
    run straight on an inline SQLite connection, through the session elsewhere."""

    def __init__(
        self, build: Callable[[str], dict[str, Any]], parameters: dict[str, Sequence[str]]
    ) -> None:
        self._build = build
        self._parameters = parameters
        self._built: dict[str, dict[str, Any]] = {}
        self._direct: dict[str, Direct] = {}

    def statement(self, db: AsyncSession, name: str):
        dialect = db.bind.dialect.name
        if dialect not in self._built:
            self._built[dialect] = self._build(dialect)
        return self._built[dialect][name]

    async def run(self, db: AsyncSession, name: str, values: dict[str, Any]) -> Outcome:
        connection = await inline_connection(db)
        if connection is None:
            result = await db.execute(self.statement(db, name), values)
            return Outcome(result.rowcount, result.all() if result.returns_rows else [])
        if name not in self._direct:  # compiled with the engine's dialect: its JSON codec
            statement = self.statement(db, name)
            self._direct[name] = Direct(statement, db.bind.dialect, self._parameters[name])
        return self._direct[name].run(connection, values)
