"""Copy a whole database to another (SQLite to PostgreSQL when a province outgrows one
process), table by table in foreign-key order, then check that every table has as many
rows on both sides."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Integer, func, insert, select, text
from sqlalchemy.ext.asyncio import AsyncEngine

from storage.models import Base

BATCH = 2_000


class TargetNotEmpty(Exception):
    """The target already holds data; copying would mix two databases."""

    def __init__(self, tables: list[str]) -> None:
        super().__init__(", ".join(tables))
        self.tables = tables


@dataclass(frozen=True)
class TableCount:
    table: str
    source: int
    target: int

    @property
    def matches(self) -> bool:
        return self.source == self.target


async def copy_database(source: AsyncEngine, target: AsyncEngine) -> list[TableCount]:
    """Copy every table of the (migrated) source into the (migrated, empty) target."""
    tables = Base.metadata.sorted_tables
    async with target.connect() as connection:
        filled = [
            t.name for t in tables if await connection.scalar(select(func.count()).select_from(t))
        ]
    if filled:
        raise TargetNotEmpty(filled)
    async with source.connect() as reader, target.begin() as writer:
        for table in tables:
            result = await reader.stream(select(table))
            async for rows in result.partitions(BATCH):
                await writer.execute(insert(table), [dict(row._mapping) for row in rows])
        if target.dialect.name == "postgresql":
            await _reset_sequences(writer)
    return await count_rows(source, target)


async def _reset_sequences(connection) -> None:
    """After rows were inserted with their ids, new rows must get ids after them."""
    for table in Base.metadata.sorted_tables:
        if "id" not in table.c or not isinstance(table.c.id.type, Integer):
            continue  # no generated id (rounds are named "2023-Y")
        await connection.execute(
            text(
                f"SELECT setval(pg_get_serial_sequence('{table.name}', 'id'), "
                f"COALESCE((SELECT MAX(id) FROM {table.name}), 0) + 1, false)"
            )
        )


async def count_rows(source: AsyncEngine, target: AsyncEngine) -> list[TableCount]:
    counts = []
    async with source.connect() as left, target.connect() as right:
        for table in Base.metadata.sorted_tables:
            query = select(func.count()).select_from(table)
            counts.append(
                TableCount(table.name, await left.scalar(query), await right.scalar(query))
            )
    return counts
