"""The per-message statements run straight on sqlite3 (storage.direct): the values they
store and read back are those SQLAlchemy would, and a parameter left out is an error, never
a NULL written silently."""

from __future__ import annotations

import sqlite3
from datetime import datetime

import pytest
from sqlalchemy import JSON, Column, DateTime, Integer, MetaData, Table, bindparam, select
from sqlalchemy.dialects import sqlite

from storage.direct import Direct

ROWS = Table(
    "rows",
    MetaData(),
    Column("id", Integer, primary_key=True),
    Column("payload", JSON),
    Column("at", DateTime),
    Column("claimed", DateTime),
)


@pytest.fixture
def connection() -> sqlite3.Connection:
    connection = sqlite3.connect(":memory:")
    connection.execute(
        "CREATE TABLE rows (id INTEGER PRIMARY KEY, payload JSON, at DATETIME, claimed DATETIME)"
    )
    return connection


def direct(statement, *names: str) -> Direct:
    return Direct(statement, sqlite.dialect(), names)


def test_values_go_in_and_come_back_as_sqlalchemy_would_give_them(connection):
    insert = direct(ROWS.insert().returning(ROWS.c.id), "payload", "at", "claimed")
    at = datetime(2023, 10, 3, 8, 0, 0, 123456)
    outcome = insert.run(connection, {"payload": {"văn bản": [1, 2]}, "at": at, "claimed": None})
    (row_id,) = outcome.rows[0]

    read = direct(select(ROWS.c.payload, ROWS.c.at).where(ROWS.c.id == bindparam("row_id")))
    assert read.run(connection, {"row_id": row_id}).rows == [({"văn bản": [1, 2]}, at)]


def test_a_missing_parameter_is_an_error_and_a_literal_of_the_statement_is_bound(connection):
    insert = direct(ROWS.insert(), "payload", "at", "claimed")
    insert.run(connection, {"payload": {}, "at": datetime(2023, 1, 1), "claimed": datetime.now()})
    release = direct(
        ROWS.update().where(ROWS.c.id == bindparam("row_id")).values(claimed=None), "row_id"
    )
    with pytest.raises(KeyError, match="row_id"):
        release.run(connection, {})  # would have been "WHERE id = NULL": nothing, silently
    assert release.run(connection, {"row_id": 1}).rowcount == 1
    assert connection.execute("SELECT claimed FROM rows").fetchall() == [(None,)]
