"""Whether the store can be trusted with a record: checked at start (a corrupt, read-only
or full store stops the process with one line instead of failing on the first message)
and by every /healthz (a write that is committed, not a SELECT 1)."""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from storage import repo
from storage.clock import utcnow
from storage.models import ProcessedUpdate

# The row /healthz writes: a processed-update id no messenger ever sends.
PROBE = ("health", "write-probe")


class StorageProblem(Exception):
    """The store cannot be used; `key` names the catalogue line that says why."""

    def __init__(self, key: str, **params: object) -> None:
        super().__init__(key)
        self.key = key
        self.params = params


def free_megabytes(folder: Path) -> int:
    """Free space where `folder` is (or would be created)."""
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    return shutil.disk_usage(folder).free // 2**20


def check_space(folder: Path, minimum_mb: int) -> None:
    free = free_megabytes(folder)
    if free < minimum_mb:
        raise StorageProblem("storage.disk_full", folder=folder, free=free, minimum=minimum_mb)


def quick_check(path: Path) -> None:
    """`PRAGMA quick_check` on an existing SQLite file, read only."""
    if not path.is_file() or path.stat().st_size == 0:
        return
    try:
        connection = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            result = connection.execute("PRAGMA quick_check").fetchall()
        finally:
            connection.close()
    except sqlite3.DatabaseError as error:  # e.g. "file is not a database"
        raise StorageProblem("storage.corrupt", path=path) from error
    if result != [("ok",)]:
        raise StorageProblem("storage.corrupt", path=path)


def classify(error: BaseException) -> StorageProblem:
    """The catalogue line for a database error met while opening or writing."""
    text = str(getattr(error, "orig", None) or error).lower()
    if "readonly" in text or "read-only" in text or "read only" in text:
        return StorageProblem("storage.read_only")
    if "disk is full" in text or "no space" in text or "database or disk is full" in text:
        return StorageProblem("storage.disk_full_db")
    if "malformed" in text or "not a database" in text:
        return StorageProblem("storage.corrupt", path="")
    return StorageProblem("storage.unavailable", error=" ".join(text.split())[:200])


async def write_probe(engine: AsyncEngine) -> None:
    """Commit one small write (the probe row's time); StorageProblem when it fails."""
    try:
        async with AsyncSession(engine) as db, db.begin():
            await db.execute(
                repo.upsert(db, ProcessedUpdate)
                .values(channel=PROBE[0], update_id=PROBE[1], processed_at=utcnow())
                .on_conflict_do_update(
                    index_elements=["channel", "update_id"], set_={"processed_at": utcnow()}
                )
            )
    except Exception as error:  # whatever the driver raises, the store is not usable
        raise classify(error) from error


async def check_store(engine: AsyncEngine, data_dir: Path, minimum_mb: int) -> None:
    """Free space for the data folder and a committed write."""
    check_space(data_dir, minimum_mb)
    await write_probe(engine)
