"""Processed update ids older than 30 days are forgotten by the daily job; newer ones
still stop a redelivered update."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select, update

from domain.messages import Incoming
from scheduler.housekeeping import prune_updates
from storage import repo
from storage.models import ProcessedUpdate
from tests.conftest import registered

NOW = datetime(2023, 6, 15, 2, 0)


async def test_old_update_ids_are_pruned_and_new_ones_still_count(app):
    user = await registered(app, "h1")
    ages = {"old-1": 45, "old-2": 31, "recent-1": 29, "recent-2": 0}
    async with app.sessions() as db, db.begin():
        for update_id, days in ages.items():
            assert await repo.claim_update(db, "test", update_id)
            await db.execute(
                update(ProcessedUpdate)
                .where(ProcessedUpdate.update_id == update_id)
                .values(processed_at=NOW - timedelta(days=days))
            )
    assert await prune_updates(app.sessions, NOW) >= 2
    async with app.sessions() as db:
        left = set((await db.scalars(select(ProcessedUpdate.update_id))).all())
    assert {"recent-1", "recent-2"} <= left and not {"old-1", "old-2"} & left

    redelivered = Incoming(
        "test", user.user_id, user.user_id, text="/trogiup", update_id="recent-1"
    )
    assert await app.engine.handle(redelivered) == []  # still known: ignored
    forgotten = Incoming("test", user.user_id, user.user_id, text="/trogiup", update_id="old-1")
    assert await app.engine.handle(forgotten) != []
