"""A store that cannot keep a record stops the start with one Vietnamese line (a corrupt
file, a read-only database, a full disk), and /healthz proves a write commits."""

from __future__ import annotations

import asyncio
import os
import sqlite3
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import select

from bot.app import open_app
from bot.web import build_web_app
from domain.settings import Settings
from storage import db as database
from storage.health import PROBE
from storage.models import ProcessedUpdate
from tests.conftest import make_settings


def sqlite_settings(data_dir: Path, **overrides) -> Settings:
    return Settings(data_dir=data_dir, database_url=overrides.pop("database_url", ""), **overrides)


def migrated(data_dir: Path) -> Path:
    """A real SQLite database with the schema and the units, closed again."""

    async def create() -> None:
        app = await open_app(sqlite_settings(data_dir))
        await app.close()

    asyncio.run(create())
    return data_dir / "doingoai.db"


def start(data_dir: Path, *args: str, **env: str) -> subprocess.CompletedProcess:
    environment = {**os.environ, "DOINGOAI_DATA_DIR": str(data_dir), "DOINGOAI_DATABASE_URL": ""}
    environment.update(env)
    return subprocess.run(
        [sys.executable, "-m", "bot.cli", *(args or ("units", "list"))],
        capture_output=True, text=True, env=environment, timeout=120, stdin=subprocess.DEVNULL,
    )  # fmt: skip


def refused(done: subprocess.CompletedProcess, words: str) -> None:
    assert done.returncode == 1, done.stdout + done.stderr
    assert "Traceback" not in done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and words in lines[0], done.stderr


def test_a_corrupt_file_stops_the_start(tmp_path):
    path = migrated(tmp_path)
    with path.open("r+b") as handle:  # a page in the middle overwritten, as by a bad disk
        handle.seek(4096 * 3)
        handle.write(b"\xff" * 4096)
    with pytest.raises(sqlite3.DatabaseError):
        sqlite3.connect(path).execute("PRAGMA quick_check").fetchall()
    done = start(tmp_path, "run")
    refused(done, f"Tệp cơ sở dữ liệu {path.resolve()} bị hỏng")
    assert "doingoai restore" in done.stderr


def test_a_file_that_is_no_database_stops_the_start(tmp_path):
    (tmp_path / "doingoai.db").write_bytes(b"these are not the pages of a database" * 100)
    refused(start(tmp_path), "bị hỏng")


def test_a_read_only_database_stops_the_start(tmp_path):
    path = migrated(tmp_path)
    url = f"sqlite+aiosqlite:///file:{path}?mode=ro&uri=true"
    refused(start(tmp_path, DOINGOAI_DATABASE_URL=url), "chỉ cho đọc, không ghi được")


def test_a_full_disk_stops_the_start(tmp_path):
    done = start(tmp_path, "run", DOINGOAI_MIN_FREE_MB=str(10**12))
    refused(done, "MB, cần ít nhất 1000000000000 MB (DOINGOAI_MIN_FREE_MB)")
    assert not (tmp_path / "doingoai.db").exists()


async def _probe_time(app):
    async with app.sessions() as db:
        return await db.scalar(
            select(ProcessedUpdate.processed_at).where(
                ProcessedUpdate.channel == PROBE[0], ProcessedUpdate.update_id == PROBE[1]
            )
        )


async def test_healthz_commits_a_write_and_fails_without_room(tmp_path):
    app = await open_app(make_settings(tmp_path / "data"))
    client = TestClient(TestServer(build_web_app(app), host="127.0.0.1"))
    await client.start_server()
    async with app.sessions() as db, db.begin():
        await db.execute(
            ProcessedUpdate.__table__.update()
            .where(ProcessedUpdate.channel == PROBE[0])
            .values(processed_at=datetime(2000, 1, 1))
        )
    response = await client.get("/healthz")
    assert response.status == 200 and (await response.json())["status"] == "ok"
    assert (await _probe_time(app)).year > 2000  # the probe's write was committed

    app.settings.min_free_mb = 10**12
    response = await client.get("/healthz")
    assert response.status == 503
    assert (await response.json()) == {"status": "error", "database": "storage.disk_full"}
    await client.close()
    await app.close()


async def test_healthz_fails_on_a_database_that_cannot_be_written(tmp_path):
    path = await asyncio.to_thread(migrated, tmp_path)
    app = await open_app(sqlite_settings(tmp_path))
    await app.db_engine.dispose()
    app.db_engine = database.create_engine(f"sqlite+aiosqlite:///file:{path}?mode=ro&uri=true")
    client = TestClient(TestServer(build_web_app(app), host="127.0.0.1"))
    await client.start_server()
    response = await client.get("/healthz")
    assert response.status == 503
    assert (await response.json())["database"] == "storage.read_only"
    await client.close()
    await app.close()


def test_an_unreachable_database_server_is_one_line(tmp_path):
    url = "postgresql+asyncpg://doingoai:secret@127.0.0.1:1/doingoai"
    refused(start(tmp_path, DOINGOAI_DATABASE_URL=url), "Không dùng được cơ sở dữ liệu")


async def test_a_key_that_cannot_be_read_stops_the_start(tmp_path):
    from storage.health import StorageProblem

    (tmp_path / "secret.key").mkdir(parents=True)
    with pytest.raises(StorageProblem) as raised:
        await open_app(make_settings(tmp_path))
    assert raised.value.key == "storage.no_key"
