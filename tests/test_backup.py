"""`doingoai backup` while a writer is busy gives a copy that restores to a sound
database holding every record committed before the backup began; `doingoai restore`
never overwrites data unless forced; PostgreSQL is sent to pg_dump."""

from __future__ import annotations

import asyncio
import os
import sqlite3
import sys
from pathlib import Path

import pytest
from sqlalchemy import func, select

from bot.app import open_app
from bot.cli import main
from domain.settings import Settings
from domain.vnformat import thousands
from storage import repo
from storage.models import Record

RECORD = {"ngay": "2023-05-01", "linh_vuc": "Hợp tác quốc tế", "noi_dung": "Kết quả số {n}"}


def sqlite_settings(data_dir: Path) -> Settings:
    return Settings(data_dir=data_dir, database_url="")


async def cli(data_dir: Path, *args: str, **env: str) -> tuple[int, str, str]:
    """`doingoai ARGS` in a process of its own, as an operator runs it beside the bot."""
    environment = {**os.environ, "DOINGOAI_DATA_DIR": str(data_dir), "DOINGOAI_DATABASE_URL": ""}
    environment.update(env)
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot.cli", *args, env=environment,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = await process.communicate()
    return process.returncode, out.decode(), err.decode()


@pytest.fixture
def run(monkeypatch, capsys):
    """`doingoai ARGS` in this process (quicker): exit code, standard output and error."""

    async def command(data_dir: Path, *args: str, **env: str) -> tuple[int, str, str]:
        for name, value in {"DOINGOAI_DATA_DIR": str(data_dir), "DOINGOAI_DATABASE_URL": "",
                            **env}.items():  # fmt: skip
            monkeypatch.setenv(name, value)
        capsys.readouterr()
        code = await asyncio.to_thread(main, list(args))
        printed = capsys.readouterr()
        return code, printed.out, printed.err

    return command


async def add_record(app, n: int) -> None:
    async with app.sessions() as db, db.begin():
        unit = await repo.unit_by_name(db, "Sở Ngoại vụ")
        values = {**RECORD, "noi_dung": RECORD["noi_dung"].format(n=n)}
        await repo.create_record(
            db, kind="ket_qua_khac", unit_id=unit.id, submitted_by=None, values=values,
            event_date=None, round_id=None,
        )  # fmt: skip


def integrity(path: Path) -> list[tuple]:
    connection = sqlite3.connect(path)
    try:
        return connection.execute("PRAGMA integrity_check").fetchall()
    finally:
        connection.close()


def stored_numbers(path: Path) -> list[int]:
    connection = sqlite3.connect(path)
    try:
        rows = connection.execute("""SELECT json_extract("values", '$.noi_dung') FROM records""")
        return sorted(int(text.rsplit(" ", 1)[1]) for (text,) in rows)
    finally:
        connection.close()


async def test_a_backup_during_writes_restores_every_committed_record(tmp_path, run):
    live = tmp_path / "live"
    app = await open_app(sqlite_settings(live))
    committed: list[int] = []
    stop = asyncio.Event()

    async def writer() -> None:
        n = 0
        while not stop.is_set():
            n += 1
            await add_record(app, n)
            committed.append(n)
            await asyncio.sleep(0)

    task = asyncio.create_task(writer())
    while len(committed) < 200:
        await asyncio.sleep(0.01)
    before = len(committed)
    out = tmp_path / "backups" / "doingoai-2023-06-15.db"
    code, printed, errors = await cli(live, "backup", "--out", str(out))
    during = len(committed)
    stop.set()
    await task
    await app.close()
    assert code == 0, errors
    assert "Đã sao lưu" in printed and "integrity_check" in printed
    assert during > before, "the writer kept committing while the backup ran"

    assert integrity(out) == [("ok",)]
    numbers = stored_numbers(out)
    assert numbers == list(range(1, len(numbers) + 1))  # a snapshot: no gap, no half write
    assert before <= len(numbers) <= len(committed)

    fresh = tmp_path / "fresh"
    code, printed, errors = await run(fresh, "restore", str(out))
    assert code == 0, errors
    assert f"{thousands(len(numbers))} bản ghi" in printed
    restored = fresh / "doingoai.db"
    assert integrity(restored) == [("ok",)] and stored_numbers(restored) == numbers
    app = await open_app(sqlite_settings(fresh))
    async with app.sessions() as db:
        assert await db.scalar(select(func.count(Record.id))) == len(numbers)
    await add_record(app, 10**6)  # the restored database takes new records
    await app.close()


async def test_restore_never_overwrites_data_unless_forced(tmp_path, run):
    first, second = tmp_path / "a", tmp_path / "b"
    for folder, count in ((first, 3), (second, 5)):
        app = await open_app(sqlite_settings(folder))
        for n in range(1, count + 1):
            await add_record(app, n)
        await app.close()
    copy = tmp_path / "a.db"
    assert (await run(first, "backup", "--out", str(copy)))[0] == 0

    code, _, errors = await run(second, "restore", str(copy))
    assert code == 1 and "Traceback" not in errors
    assert "đã có dữ liệu" in errors and "--force" in errors
    assert stored_numbers(second / "doingoai.db") == [1, 2, 3, 4, 5]

    junk = tmp_path / "junk.db"
    junk.write_bytes(b"not a database" * 500)
    code, _, errors = await run(second, "restore", str(junk), "--force")
    assert code == 1 and "không phải bản sao lưu SQLite còn nguyên vẹn" in errors
    assert stored_numbers(second / "doingoai.db") == [1, 2, 3, 4, 5]

    code, printed, errors = await run(second, "restore", str(copy), "--force")
    assert code == 0, errors
    assert stored_numbers(second / "doingoai.db") == [1, 2, 3]
    assert not Path(f"{second / 'doingoai.db'}-wal").exists()


async def test_a_corrupt_database_can_be_restored(tmp_path, run):
    app = await open_app(sqlite_settings(tmp_path))
    await add_record(app, 1)
    await app.close()
    copy = tmp_path / "copy.db"
    assert (await run(tmp_path, "backup", "--out", str(copy)))[0] == 0
    (tmp_path / "doingoai.db").write_bytes(b"\xff" * 8192)
    code, _, errors = await run(tmp_path, "units", "list")
    assert code == 1 and "bị hỏng" in errors
    code, _, errors = await run(tmp_path, "restore", str(copy), "--force")
    assert code == 0, errors
    code, printed, _ = await run(tmp_path, "units", "list")
    assert code == 0 and "Sở Ngoại vụ" in printed


async def test_postgresql_is_sent_to_pg_dump(tmp_path, run):
    url = "postgresql+asyncpg://doingoai:secret@127.0.0.1:1/doingoai"
    for args in (("backup", "--out", str(tmp_path / "x.db")), ("restore", str(tmp_path / "x"))):
        code, _, errors = await run(tmp_path, *args, DOINGOAI_DATABASE_URL=url)
        assert code == 2 and "pg_dump" in errors and "Traceback" not in errors
