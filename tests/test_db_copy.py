"""`doingoai db copy`: a SQLite database moved to PostgreSQL (or, without a server, to
another SQLite file) and back, every row kept, counts checked; never into a database
that already holds data."""

from __future__ import annotations

import argparse

from sqlalchemy import select

from bot.app import open_app
from bot.cli import COMMANDS
from storage import report_texts
from storage.models import Record, Unit
from tests.conftest import FIXTURES, TZ_NOW, make_settings, registered
from tests.test_transfer import import_into, record_set


async def test_copy_round_trip_keeps_every_row(app, tmp_path, capsys):
    await import_into(app, FIXTURES / "bao_cao_6_thang_2021.csv")
    await registered(app, "lan", role="coordinator")
    async with app.sessions() as db, db.begin():
        await report_texts.set_text(db, "2021-Y", "bien_gioi", "Ổn định.", source="cli")
    middle = make_settings(tmp_path / "middle")  # PostgreSQL when the suite runs on it
    target = middle.database_url or f"sqlite+aiosqlite:///{tmp_path / 'middle.db'}"
    copy = argparse.Namespace(action="copy", target=target)
    assert await COMMANDS["db"](app, copy) == 0
    out = capsys.readouterr().out
    assert "records: 53 → 53 dòng" in out and "số dòng mọi bảng đều khớp" in out

    # A second copy into the same database is refused: it would mix two databases.
    assert await COMMANDS["db"](app, copy) == 2
    assert "đã có dữ liệu" in capsys.readouterr().err

    moved = await open_app(make_settings(tmp_path / "m", database_url=target), clock=lambda: TZ_NOW)
    back = f"sqlite+aiosqlite:///{tmp_path / 'back.db'}"
    try:
        assert await record_set(moved) == await record_set(app)
        assert await COMMANDS["db"](moved, argparse.Namespace(action="copy", target=back)) == 0
        # New rows after the copy get fresh ids (the sequences moved on).
        await import_into(moved, FIXTURES / "khen_thuong_2021.csv")
        async with moved.sessions() as db:
            ids = (await db.scalars(select(Record.id).order_by(Record.id))).all()
        assert len(ids) == len(set(ids)) == 53 + 25
    finally:
        await moved.close()
    returned = await open_app(
        make_settings(tmp_path / "b", database_url=back), clock=lambda: TZ_NOW
    )
    try:
        assert await record_set(returned) == await record_set(app)
        async with returned.sessions() as db:
            assert len((await db.scalars(select(Unit))).all()) == 50
            texts = await report_texts.texts_of_round(db, "2021-Y")
        assert texts["bien_gioi"].text == "Ổn định."
    finally:
        await returned.close()


async def test_copy_needs_a_target(app, capsys):
    assert await COMMANDS["db"](app, argparse.Namespace(action="copy", target="")) == 2
    assert "Cần địa chỉ cơ sở dữ liệu đích" in capsys.readouterr().err
