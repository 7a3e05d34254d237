"""Invite codes: long enough that a stolen database does not give live ones away, typeable
on a phone, hashed with a key; guessing is throttled per person and overall."""

from __future__ import annotations

import hashlib
import hmac
import re
import stat
from datetime import timedelta

from sqlalchemy import select

from bot.app import open_app
from domain import invite_codes
from handlers.engine import Engine
from storage import repo
from storage.models import FileLink, Invite
from tests.conftest import TZ_NOW, ChatUser, invite_code, make_settings

CODE = re.compile(r"^[BCFGHJKLMNPQRSTVXZ]{4}-[BCFGHJKLMNPQRSTVXZ]{4}-[BCFGHJKLMNPQRSTVXZ]{4}$")


def wrong_code(code: str) -> str:
    """A well-formed code that differs from `code` in its last letter."""
    last = invite_codes.ALPHABET[(invite_codes.ALPHABET.index(code[-1]) + 1) % 18]
    return code[:-1] + last


async def test_codes_are_three_groups_of_consonants_typed_any_way(app):
    codes = [await invite_code(app) for _ in range(3)]
    assert all(CODE.match(code) for code in codes) and len(set(codes)) == 3
    lower = ChatUser(app, "a")
    await lower.send(codes[0].lower().replace("-", " "))  # as typed on a phone
    assert "Chào mừng" in lower.text
    sentence = ChatUser(app, "b")
    await sentence.send(f"Em chào anh, mã của em là {codes[1]} ạ")
    assert "Chào mừng" in sentence.text
    glued = ChatUser(app, "c")
    await glued.send(f"/start {codes[2].replace('-', '')}")
    assert "Chào mừng" in glued.text


async def test_codes_and_file_tokens_are_stored_as_keyed_hashes(tmp_path):
    app = await open_app(make_settings(tmp_path / "data"))
    key_file = tmp_path / "data" / "secret.key"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    key = key_file.read_text().strip().encode()
    code = await invite_code(app)
    async with app.sessions() as db, db.begin():
        token = await repo.create_file_link(db, str(key_file), "x.docx", timedelta(hours=1))
    async with app.sessions() as db:
        stored = (await db.scalars(select(Invite.code_hash))).all()
        token_hash = await db.scalar(select(FileLink.token_hash))
    letters = invite_codes.normalise(code)
    assert hashlib.sha256(letters.encode()).hexdigest() not in stored
    assert stored == [hmac.new(key, letters.encode(), hashlib.sha256).hexdigest()]
    assert token_hash == hmac.new(key, token.encode(), hashlib.sha256).hexdigest()
    await app.close()

    again = await open_app(make_settings(tmp_path / "data", database_url=app.settings.database_url))
    assert key_file.read_text().strip().encode() == key  # the same key at every start
    user = ChatUser(again, "later")
    await user.send(f"/start {code}")
    assert "Chào mừng" in user.text
    await again.close()


async def test_a_configured_key_is_used(tmp_path):
    app = await open_app(make_settings(tmp_path / "data", secret_key="k" * 40))
    code = await invite_code(app)
    async with app.sessions() as db:
        stored = await db.scalar(select(Invite.code_hash))
    letters = invite_codes.normalise(code).encode()
    assert stored == hmac.new(b"k" * 40, letters, hashlib.sha256).hexdigest()
    assert not (tmp_path / "data" / "secret.key").exists()
    await app.close()


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def throttled(app, clock: Clock) -> None:
    app.engine = Engine(app.sessions, app.settings, lambda: TZ_NOW, monotonic=clock)


async def test_one_person_guessing_codes_is_slowed_down(app):
    clock = Clock()
    throttled(app, clock)
    code = await invite_code(app)
    guesser = ChatUser(app, "guesser")
    for _ in range(app.settings.invite_attempts_per_person):
        await guesser.send(f"/start {wrong_code(code)}")
        assert "không đúng" in guesser.text
    await guesser.send(f"/start {code}")  # even the right code waits now
    assert "Bạn đã thử mã mời quá nhiều lần. Vui lòng đợi một phút" in guesser.text
    assert "Chào mừng" not in guesser.text
    other = ChatUser(app, "someone-else")
    await other.send(f"/start {wrong_code(code)}")  # others are not held up
    assert "không đúng" in other.text
    clock.now += 61
    await guesser.send(f"/start {code}")
    assert "Chào mừng" in guesser.text


async def test_attempts_of_everyone_are_limited_per_minute(tmp_path):
    app = await open_app(
        make_settings(tmp_path / "data", invite_attempts_per_minute=3), clock=lambda: TZ_NOW
    )
    clock = Clock()
    throttled(app, clock)
    code = await invite_code(app)
    for n in range(3):
        person = ChatUser(app, f"p{n}")
        await person.send(f"/start {wrong_code(code)}")
        assert "không đúng" in person.text
    late = ChatUser(app, "late")
    await late.send(f"/start {code}")
    assert "Hệ thống đang nhận quá nhiều lượt thử mã mời" in late.text
    clock.now += 20  # a third of a minute: one more attempt
    await late.send(f"/start {code}")
    assert "Chào mừng" in late.text
    await app.close()
