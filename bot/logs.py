"""Logging for operators: plain lines or one JSON object a line, never a secret.

`DOINGOAI_LOG_FORMAT=json` writes each record as a JSON object (time, level, logger,
message, and the traceback when there is one) for a log collector; `DOINGOAI_LOG_LEVEL`
sets the level. Whatever the format, every configured secret (bot tokens, webhook
secrets, the SMTP password) and anything shaped like a Telegram bot token is replaced by
"***" before a line is written: libraries log request URLs, and a Telegram URL carries the
token. Anything shaped like an invite code is masked too, wherever it came from.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterable
from datetime import UTC, datetime

from domain import invite_codes

MASK = "***"
# A Telegram bot token: the bot id, a colon, 35 characters (e.g. in .../bot<token>/getMe).
_BOT_TOKEN = re.compile(r"(?<!\d)\d{5,}:[A-Za-z0-9_-]{30,}")
SECRET_SETTINGS = (
    "telegram_bot_token",
    "telegram_webhook_secret",
    "zalo_bot_token",
    "zalo_webhook_secret",
    "smtp_password",
    "secret_key",
)


class Redactor(logging.Filter):
    """Replaces secrets in a record's final message (and its traceback text)."""

    def __init__(self, secrets: Iterable[str]) -> None:
        super().__init__()
        self.secrets = sorted({s for s in secrets if len(s) >= 6}, key=len, reverse=True)

    def redact(self, text: str) -> str:
        for secret in self.secrets:
            text = text.replace(secret, MASK)
        return invite_codes.PATTERN.sub(MASK, _BOT_TOKEN.sub(MASK, text))

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = self.redact(record.getMessage())
        record.args = None
        if record.exc_info:
            record.exc_text = self.redact(logging.Formatter().formatException(record.exc_info))
            record.exc_info = None
        return True


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_text:
            entry["traceback"] = record.exc_text
        return json.dumps(entry, ensure_ascii=False)


def configure(settings) -> None:
    """Set up the root logger from the settings (format, level, secrets to hide)."""
    handler = logging.StreamHandler()
    if settings.log_format == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    secrets = [str(getattr(settings, name, "") or "") for name in SECRET_SETTINGS]
    handler.addFilter(Redactor(secrets))
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(settings.log_level.upper())
