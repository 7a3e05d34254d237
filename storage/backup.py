"""Backup and restore of the embedded SQLite database.

A backup uses SQLite's online backup API in one step: it reads one consistent snapshot
(every transaction committed before it began, none after) while the bot keeps writing,
since in WAL mode readers and the writer do not block each other. The copy is written
beside the target and renamed into place, then checked with `PRAGMA integrity_check`.

A restore replaces the database file (and drops its write-ahead log, which belongs to the
file being replaced); it refuses a database holding any row unless forced. PostgreSQL is
backed up with its own tools (pg_dump, pg_restore).
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
from dataclasses import dataclass
from pathlib import Path

from storage.health import StorageProblem
from storage.models import Base, Record


@dataclass(frozen=True)
class Copy:
    path: Path
    records: int
    size: int


def _connect(path: Path, read_only: bool = False) -> sqlite3.Connection:
    mode = "ro" if read_only else "rwc"
    return sqlite3.connect(f"file:{path}?mode={mode}", uri=True, timeout=30)


def _integrity(connection: sqlite3.Connection) -> bool:
    return connection.execute("PRAGMA integrity_check").fetchall() == [("ok",)]


def _copy(source: Path, target: Path) -> None:
    """Source's committed state into a new file beside `target`, renamed into place."""
    partial = target.with_name(f".{target.name}.partial")
    partial.unlink(missing_ok=True)
    reader = _connect(source, read_only=True)
    try:
        writer = _connect(partial)
        try:
            reader.backup(writer)  # one step: one snapshot, however busy the writer is
            writer.execute("PRAGMA journal_mode=DELETE")  # one self-contained file
            if not _integrity(writer):
                raise StorageProblem("backup.copy_damaged", path=target)
        finally:
            writer.close()
    except sqlite3.DatabaseError as error:
        partial.unlink(missing_ok=True)
        raise StorageProblem("backup.unreadable", path=source) from error
    finally:
        reader.close()
    os.replace(partial, target)


def _records(path: Path) -> int:
    connection = _connect(path, read_only=True)
    try:
        return connection.execute(f"SELECT count(*) FROM {Record.__tablename__}").fetchone()[0]
    except sqlite3.DatabaseError:
        return 0
    finally:
        connection.close()


def backup(database: Path, out: Path) -> Copy:
    """A consistent copy of the live database at `out` (replaced if it exists)."""
    if not database.is_file():
        raise StorageProblem("backup.no_database", path=database)
    out.parent.mkdir(parents=True, exist_ok=True)
    _copy(database, out)
    return Copy(out, _records(out), out.stat().st_size)


def holds_data(path: Path) -> bool:
    """True when the file has a row in any table of ours (or cannot even be read)."""
    if not path.is_file() or path.stat().st_size == 0:
        return False
    try:
        connection = _connect(path, read_only=True)
        try:
            tables = {row[0] for row in connection.execute("SELECT name FROM sqlite_master")}
            return any(
                connection.execute(f'SELECT 1 FROM "{table.name}" LIMIT 1').fetchone()
                for table in Base.metadata.sorted_tables
                if table.name in tables
            )
        finally:
            connection.close()
    except sqlite3.DatabaseError:
        return True  # a damaged file is not overwritten by accident either


def restore(source: Path, database: Path, force: bool = False) -> Copy:
    """Replace the database with a backup; the process using it must be stopped."""
    if not source.is_file():
        raise StorageProblem("backup.no_file", path=source)
    try:
        connection = _connect(source, read_only=True)
        try:
            sound = _integrity(connection)
        finally:
            connection.close()
    except sqlite3.DatabaseError:
        sound = False
    if not sound:
        raise StorageProblem("backup.not_a_backup", path=source)
    if not force and holds_data(database):
        raise StorageProblem("backup.target_not_empty", path=database)
    database.parent.mkdir(parents=True, exist_ok=True)
    _copy(source, database)
    for suffix in ("-wal", "-shm"):  # the old file's log must not be replayed on the new one
        with contextlib.suppress(FileNotFoundError):
            os.remove(f"{database}{suffix}")
    return Copy(database, _records(database), database.stat().st_size)
