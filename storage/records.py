"""Saving, deleting and finding records: the steps the chat and the web share, each
written to the audit log with where it was made."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import Select, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from domain.forms import Form, Value
from domain.parsing import fold
from storage import repo
from storage.clock import utcnow
from storage.models import AuditEntry, Member, Record, Unit

# Planned activities (the rest, and types without a status, are done ones).
PLANNED = ("ke_hoach", "du_kien")
STATUSES = ("done", "planned")
SORTS = {
    "date": Record.event_date,
    "id": Record.id,
    "kind": Record.kind,
    "unit": Unit.name,
    "updated": Record.updated_at,
}


class StaleRecord(Exception):
    """The record was changed or deleted since it was opened."""


async def create(
    db: AsyncSession,
    form: Form,
    values: dict[str, Value],
    *,
    unit_id: int,
    member_id: int | None,
    source: str,
) -> Record:
    record = await repo.create_record(
        db,
        kind=form.key,
        unit_id=unit_id,
        submitted_by=member_id,
        values=form.values_to_json(values),
        event_date=form.event_date(values),
        round_id=form.round_id(values),
    )
    await repo.audit(
        db, member_id=member_id, action="create", entity="record", entity_id=record.id,
        details={"kind": form.key}, source=source,
    )  # fmt: skip
    return record


async def update(
    db: AsyncSession,
    form: Form,
    values: dict[str, Value],
    *,
    record_id: int,
    version: int,
    member_id: int | None,
    source: str,
) -> Record:
    """Store new values if nobody changed the record since `version`; StaleRecord if so."""
    record = await repo.live_record(db, record_id)
    if record is None or record.version != version:
        raise StaleRecord(record_id)
    stored = form.values_to_json(values)
    before = record.values
    record.values = stored
    record.event_date = form.event_date(values)
    record.round_id = form.round_id(values)
    record.version += 1
    record.updated_at = utcnow()
    keys = set(before) | set(stored)
    changes = {k: [before.get(k), stored.get(k)] for k in keys if before.get(k) != stored.get(k)}
    await repo.audit(
        db, member_id=member_id, action="update", entity="record", entity_id=record.id,
        details={"changes": changes}, source=source,
    )  # fmt: skip
    return record


async def delete(db: AsyncSession, record: Record, *, member_id: int | None, source: str) -> None:
    record.deleted_at = record.updated_at = utcnow()
    record.version += 1
    await repo.audit(
        db, member_id=member_id, action="delete", entity="record", entity_id=record.id,
        details={"kind": record.kind}, source=source,
    )  # fmt: skip


# --- the records table ------------------------------------------------------------------


@dataclass(frozen=True)
class Filters:
    """What the records table shows; unit_id is forced for a focal point."""

    kind: str = ""
    unit_id: int | None = None
    start: date | None = None
    end: date | None = None
    status: str = ""
    text: str = ""
    sort: str = "date"
    descending: bool = True


def _filtered(query: Select, filters: Filters) -> Select:
    query = query.where(Record.deleted_at.is_(None))
    if filters.kind:
        query = query.where(Record.kind == filters.kind)
    if filters.unit_id is not None:
        query = query.where(Record.unit_id == filters.unit_id)
    if filters.start is not None:
        query = query.where(Record.event_date >= filters.start)
    if filters.end is not None:
        query = query.where(Record.event_date <= filters.end)
    if filters.status:
        status = Record.values["trang_thai"].as_string()
        planned = status.in_(PLANNED)
        done = or_(~planned, status.is_(None))
        query = query.where(planned if filters.status == "planned" else done)
    for word in fold(filters.text).split():
        query = query.where(Record.search_text.contains(word, autoescape=True))
    return query


async def page(
    db: AsyncSession, filters: Filters, *, offset: int, limit: int
) -> tuple[Sequence[tuple[Record, Unit]], int]:
    """One page of the filtered records with their units, and how many match."""
    total = await db.scalar(_filtered(select(func.count(Record.id)), filters))
    column = SORTS.get(filters.sort, Record.event_date)
    order = column.desc() if filters.descending else column.asc()
    tie = Record.id.desc() if filters.descending else Record.id.asc()
    query = _filtered(select(Record, Unit).join(Unit, Unit.id == Record.unit_id), filters)
    rows = await db.execute(query.order_by(order.nulls_last(), tie).offset(offset).limit(limit))
    return rows.all(), total or 0


async def matching(db: AsyncSession, filters: Filters) -> Sequence[tuple[Record, Unit]]:
    """Every filtered record with its unit (exports)."""
    query = _filtered(select(Record, Unit).join(Unit, Unit.id == Record.unit_id), filters)
    return (await db.execute(query.order_by(Record.kind, Record.event_date, Record.id))).all()


async def by_ids(db: AsyncSession, ids: list[int]) -> Sequence[tuple[Record, Unit]]:
    """These live records with their units, by date (the records behind a figure)."""
    query = (
        select(Record, Unit)
        .join(Unit, Unit.id == Record.unit_id)
        .where(Record.id.in_(ids), Record.deleted_at.is_(None))
        .order_by(Record.event_date, Record.id)
    )
    return (await db.execute(query)).all()


@dataclass(frozen=True)
class Change:
    at: Any
    action: str
    source: str
    member: str
    details: dict[str, Any]


async def history(db: AsyncSession, record_id: int) -> list[Change]:
    """The record's audit entries, oldest first, with who made each."""
    rows = await db.execute(
        select(AuditEntry, Member.name)
        .outerjoin(Member, Member.id == AuditEntry.member_id)
        .where(AuditEntry.entity == "record", AuditEntry.entity_id == record_id)
        .order_by(AuditEntry.at, AuditEntry.id)
    )
    return [
        Change(entry.at, entry.action, entry.source, name or "", entry.details or {})
        for entry, name in rows.all()
    ]
