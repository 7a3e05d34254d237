"""Standing texts of report sections and per-report headers, stored per round.

A standing text is what a coordinator writes once for a section ("Thuận lợi", the usual
paragraph on cooperation with Laos…). A round without its own text for a section carries
the text of the last earlier round of the same kind (6-month, annual or ad hoc).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from storage import repo
from storage.clock import utcnow
from storage.models import Member, ReportHeader, ReportText

_ROUND = re.compile(r"^(\d{4})-(H1|Y|A(\d+))$")


@dataclass(frozen=True)
class StandingText:
    section: str
    text: str
    round_id: str  # the round the text was written for
    source: str
    changed_at: datetime
    changed_by: str  # the member's name; "" for the command line or an import


def round_order(round_id: str) -> tuple[str, int, int] | None:
    """(kind, year, number) for comparing rounds of one kind; None for an unknown id."""
    match = _ROUND.match(round_id)
    if match is None:
        return None
    kind = "A" if match[3] else match[2]
    return kind, int(match[1]), int(match[3] or 0)


async def texts_of_round(db: AsyncSession, round_id: str) -> dict[str, StandingText]:
    rows = await db.execute(
        select(ReportText, Member.name)
        .outerjoin(Member, Member.id == ReportText.changed_by)
        .where(ReportText.round_id == round_id)
    )
    return {
        text.section: StandingText(
            text.section, text.text, text.round_id, text.source, text.changed_at, name or ""
        )
        for text, name in rows.all()
    }


async def previous_round_with_texts(db: AsyncSession, round_id: str) -> str | None:
    """The latest earlier round of the same kind that has standing texts."""
    order = round_order(round_id)
    if order is None:
        return None
    candidates = []
    for (other,) in (await db.execute(select(ReportText.round_id).distinct())).all():
        other_order = round_order(other)
        if other_order and other_order[0] == order[0] and other_order < order:
            candidates.append((other_order, other))
    return max(candidates)[1] if candidates else None


async def set_text(
    db: AsyncSession,
    round_id: str,
    section: str,
    text: str,
    *,
    source: str,
    member_id: int | None = None,
    via: str = "cli",
) -> None:
    """Write a section's text for a round (an empty text stops carrying the old one);
    `via` is where the change was made (cli, web), for the audit log."""
    row = await _row(db, ReportText, round_id=round_id, section=section)
    before = row.text
    row.text, row.source = text, source
    row.changed_by, row.changed_at = member_id, utcnow()
    await db.flush()
    await repo.audit(
        db, member_id=member_id, action="report_text", entity="report_text", entity_id=row.id,
        details={"round": round_id, "section": section, "source": source, "before": before},
        source=via,
    )  # fmt: skip


async def _row(db: AsyncSession, model: type, **keys: str) -> Any:
    """The row with these key values, or a new one added to the session."""
    row = await db.scalar(select(model).filter_by(**keys))
    if row is None:
        row = model(**keys)
        db.add(row)
    return row


async def header(db: AsyncSession, round_id: str, template: str) -> dict[str, Any]:
    """The saved header values of one report; {} when none were saved."""
    row = await db.scalar(select(ReportHeader).filter_by(round_id=round_id, template=template))
    return dict(row.values) if row is not None else {}


async def set_header(
    db: AsyncSession,
    round_id: str,
    template: str,
    values: dict[str, Any],
    *,
    member_id: int | None = None,
    via: str = "cli",
) -> None:
    """Save (replace) the header values of one report."""
    row = await _row(db, ReportHeader, round_id=round_id, template=template)
    row.values, row.changed_by, row.changed_at = values, member_id, utcnow()
    await db.flush()
    await repo.audit(
        db, member_id=member_id, action="report_header", entity="report_header",
        entity_id=row.id, details={"round": round_id, "template": template}, source=via,
    )  # fmt: skip
