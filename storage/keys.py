"""The key that invite codes and file tokens are hashed with (HMAC-SHA-256): a stolen
database alone does not let anyone test guesses. DOINGOAI_SECRET_KEY when set (several
processes or hosts must share it); otherwise one generated on first start and kept in the
data folder, readable by its owner only."""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncSession

KEY_FILE = "secret.key"
SESSION_INFO = "secret_key"  # where sessions carry the key (storage.db.session_factory)


def load_key(configured: str, data_dir: Path) -> bytes:
    """The configured key, else the data folder's (created on first use)."""
    if configured:
        return configured.encode()
    path = data_dir / KEY_FILE
    if not path.exists():
        data_dir.mkdir(parents=True, exist_ok=True)
        try:
            handle = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:  # another process created it first
            pass
        else:
            with os.fdopen(handle, "w") as file:
                file.write(secrets.token_urlsafe(32))
    return path.read_text().strip().encode()


def keyed_digest(db: AsyncSession, secret: str) -> str:
    """What is stored instead of an invite code or a file token."""
    key = db.info.get(SESSION_INFO)
    if not key:
        raise RuntimeError("this session carries no secret key")
    return hmac.new(key, secret.encode(), hashlib.sha256).hexdigest()
