"""Webhook bodies with the right secret but no valid update are refused with 400, and
nothing reaches the engine."""

from __future__ import annotations

import pytest
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import func, select

from bot.telegram import TelegramChannel
from bot.web import build_web_app
from bot.zalo import ZaloChannel
from storage.models import ProcessedUpdate
from tests.conftest import make_settings

SECRET = "s3cret-Token_1"

MALFORMED_TELEGRAM = [
    b"[1, 2]",
    b'{"update_id": "x"}',
    b'{"update_id": [1]}',
    b'{"update_id": 1, "message": 5}',
    b'{"update_id": 1, "message": {}}',
    b'{"update_id": 1, "message": {"chat": 5, "date": 1}}',
    b'{"update_id": 1, "callback_query": "z"}',
    b'{"update_id": 1, "message": {"message_id": 1, "date": Infinity, "chat": {"id": 1}}}',
    b'"text"',
    b"null",
]

MALFORMED_ZALO = [
    b"[1, 2]",
    b"{}",
    b'{"message": 5}',
    b'{"message": {"text": "hi"}}',
    b'{"message": {"chat": {"id": "z1"}, "text": "hi", "date": Infinity}}',
    b'{"message": {"chat": {"id": "z1"}, "text": "hi", "date": NaN}}',
    b'{"result": [1]}',
    b"null",
]


@pytest.fixture
async def backend(tmp_path):
    from bot.app import open_app

    settings = make_settings(
        tmp_path / "data",
        telegram_bot_token="123456:TEST-token",
        telegram_webhook_secret=SECRET,
        zalo_bot_token="zalo-test-token",
        zalo_webhook_secret=SECRET,
    )
    app = await open_app(settings)
    web_app = build_web_app(app, TelegramChannel(app, webhook=True), ZaloChannel(app, webhook=True))
    client = TestClient(TestServer(web_app, host="127.0.0.1"))
    await client.start_server()
    yield app, client
    await client.close()
    await app.close()


async def _processed(app) -> int:
    async with app.sessions() as db:
        return await db.scalar(
            select(func.count(ProcessedUpdate.id)).where(ProcessedUpdate.channel != "health")
        )


CASES = [("/telegram/webhook", "X-Telegram-Bot-Api-Secret-Token", b) for b in MALFORMED_TELEGRAM]
CASES += [("/zalo/webhook", "X-Bot-Api-Secret-Token", b) for b in MALFORMED_ZALO]


@pytest.mark.parametrize(("path", "header", "body"), CASES)
async def test_a_malformed_update_answers_400(backend, path, header, body):
    app, client = backend
    response = await client.post(
        path, data=body, headers={header: SECRET, "Content-Type": "application/json"}
    )
    assert response.status == 400
    assert (await response.json())["ok"] is False
    assert await _processed(app) == 0
