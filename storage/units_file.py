"""The province's unit list: a CSV (ma,ten,nhom[,email_dau_moi]) another province
replaces. email_dau_moi is the official address reminders also go to (linked to the first
focal point who registers for the unit)."""

from __future__ import annotations

import csv
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncSession

from domain.parsing import nfc
from storage import repo


def read_units(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.DictReader(handle))
    missing = {"ma", "ten"} - set(rows[0].keys() if rows else ())
    if missing:
        raise ValueError(f"{path}: missing columns {', '.join(sorted(missing))}")
    return [{k: nfc((v or "").strip()) for k, v in row.items()} for row in rows]


async def import_units(db: AsyncSession, path: Path) -> tuple[int, int]:
    """Add the file's units that are not there yet; returns (added, already present).
    A present unit without an address takes the file's."""
    added = present = 0
    for row in read_units(path):
        email = (row.get("email_dau_moi") or "").lower()
        unit = await repo.unit_by_name(db, row["ten"])
        if unit is not None:
            present += 1
            unit.email = unit.email or email
            continue
        unit = await repo.add_unit(db, row["ten"], code=row["ma"], group=row.get("nhom") or "khac")
        unit.email = email
        added += 1
    return added, present
