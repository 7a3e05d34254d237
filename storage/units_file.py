"""The province's unit list: a CSV (ma,ten,nhom) another province replaces."""

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
    """Add the file's units that are not there yet; returns (added, already present)."""
    added = present = 0
    for row in read_units(path):
        if await repo.unit_by_name(db, row["ten"]) is not None:
            present += 1
            continue
        await repo.add_unit(db, row["ten"], code=row["ma"], group=row.get("nhom") or "khac")
        added += 1
    return added, present
