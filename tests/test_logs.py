"""Operator logs: one JSON object a line on request, and never a token or a secret."""

from __future__ import annotations

import json
import logging

import pytest

from bot import logs
from tests.conftest import make_settings

TOKEN = "123456789:AAFakeTokenForTestsOnly_abcdefghijklmno"


@pytest.fixture
def configured(tmp_path, capsys):
    def setup(**overrides):
        logs.configure(make_settings(tmp_path, log_level="INFO", **overrides))
        return capsys

    yield setup
    logging.getLogger().handlers.clear()


def test_json_lines_without_secrets(configured):
    capsys = configured(
        log_format="json", telegram_bot_token=TOKEN, zalo_webhook_secret="s3cr3t-zalo"
    )
    log = logging.getLogger("httpx")
    log.info("HTTP Request: POST https://api.telegram.org/bot%s/getUpdates", TOKEN)
    log.warning("webhook secret %s refused", "s3cr3t-zalo")
    try:
        raise ValueError(f"failed with {TOKEN}")
    except ValueError:
        logging.getLogger("bot").exception("sending failed")
    lines = capsys.readouterr().err.strip().splitlines()
    entries = [json.loads(line) for line in lines]
    assert [e["level"] for e in entries] == ["INFO", "WARNING", "ERROR"]
    assert entries[0]["message"] == "HTTP Request: POST https://api.telegram.org/bot***/getUpdates"
    assert entries[1]["message"] == "webhook secret *** refused"
    assert "ValueError: failed with ***" in entries[2]["traceback"]
    assert TOKEN not in "\n".join(lines) and "s3cr3t-zalo" not in "\n".join(lines)


def test_text_lines_mask_a_token_shaped_value_even_if_not_configured(configured):
    capsys = configured()
    logging.getLogger("telegram").info("calling bot%s/getMe", TOKEN)
    err = capsys.readouterr().err
    assert "INFO telegram: calling bot***/getMe" in err and TOKEN not in err
