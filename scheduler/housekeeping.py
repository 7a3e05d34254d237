"""Daily housekeeping: update ids processed more than KEEP_UPDATES ago are forgotten. They
exist so that a redelivered update changes nothing, and messengers redeliver within hours
(Telegram keeps an update 24 hours), so a month is ample and the table stays small."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import async_sessionmaker

from storage import repo
from storage.clock import utcnow

log = logging.getLogger(__name__)

KEEP_UPDATES = timedelta(days=30)


async def prune_updates(sessions: async_sessionmaker, now: datetime | None = None) -> int:
    """Delete the processed update ids older than KEEP_UPDATES; returns how many."""
    async with sessions() as db, db.begin():
        removed = await repo.prune_updates(db, (now or utcnow()) - KEEP_UPDATES)
    log.info("forgot %d processed update ids", removed)
    return removed
