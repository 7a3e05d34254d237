"""Reminder waves: who is reminded of which round, when, exactly once.

Each tick looks at every round's current slot (scheduler.plan) and reminds the focal
points of units that have not confirmed. A log entry keyed (round, member, slot) is
claimed, and the reminder queued in the outbox in the same transaction (the outbox's
sender records the outcome in the entry), so a restart neither repeats a reminder nor
skips anyone; a "failed" entry is queued again with backoff, a bounded number of times.
(Tests and the terminal demo may deliver directly instead: claim, send, record.)

The coordinators' summary of a slot is sent once the slot has nothing left in the
outbox, counting the whole slot from the log, whichever process sent which reminder.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

from sqlalchemy.ext.asyncio import async_sessionmaker

from domain.catalog import t
from domain.forms import count_lines
from domain.messages import BLOCKED, FAILED, QUEUED, SENT, Choice, Outgoing
from domain.rounds import PURPOSE_IN_LABEL, round_label
from scheduler.plan import ANNOUNCE, Slot, announced_at, current_slot, days_left, recurring_rounds
from storage import outbox
from storage import rounds as store
from storage.models import ReminderLog, Round

log = logging.getLogger(__name__)

Deliver = Callable[[str, Outgoing], Awaitable[str]]  # (channel, outgoing) -> outcome
SUMMARY_PREFIX = "sum-"


@dataclass(frozen=True)
class Planned:
    """One reminder a tick would send (what `doingoai remind --dry-run` prints)."""

    round_id: str
    slot: str
    unit: str
    member: str
    member_id: int
    reason: str


def _naive_utc(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(tzinfo=None)


class Reminders:
    def __init__(
        self,
        sessions: async_sessionmaker,
        settings,
        deliver: Deliver | None,
        clock: Callable[[], datetime] | None = None,
        queue_to: set[str] | frozenset[str] = frozenset(),
    ) -> None:
        """`deliver` None: reminders go through the outbox (the running bot), to the
        identities on the channels of `queue_to` (those running)."""
        self.sessions = sessions
        self.settings = settings
        self.deliver = deliver
        self.clock = clock or (lambda: datetime.now(settings.tz))
        self.queue_to = frozenset(queue_to)

    # --- planning ---------------------------------------------------------------------

    async def _rounds(self, now: datetime, create: bool) -> list[Round]:
        async with self.sessions() as db, db.begin():
            specs = recurring_rounds(now.year, self.settings)
            if create:
                await store.ensure_rounds(db, specs)
            rounds = {r.id: r for r in await store.all_rounds(db)}
        for spec in specs:  # dry runs see this year's rounds before they exist
            rounds.setdefault(spec.id, spec)
        return list(rounds.values())

    async def _targets(
        self, round_, slot: Slot, now: datetime
    ) -> tuple[dict[int, str], list, set[int]]:
        """Units without a confirmation (id -> name), their reachable focal points whose
        reminder for this slot is due (not sent yet, or failed and past its backoff), and the
        units that have a reachable focal point at all."""
        async with self.sessions() as db:
            rows = await store.progress(db, round_)
            pending = {row.unit_id: row.unit for row in rows if row.confirmed_at is None}
            members = await store.recipients(db, "focal_point")
            entries = await store.slot_entries(db, round_.id, slot.name)
        due = [
            m for m in members if m.unit_id in pending and self._due(entries.get(m.member_id), now)
        ]
        return pending, due, {m.unit_id for m in members}

    def _slot(self, round_, now: datetime) -> Slot | None:
        announce = announced_at(round_, now.tzinfo)
        return current_slot(round_.deadline, now, self.settings, announce)

    def _due(self, entry: ReminderLog | None, now: datetime) -> bool:
        """New, or failed (or cut off mid-send) and past its backoff, and not given up."""
        if entry is None or entry.attempts == 0:
            return True
        if entry.status in (SENT, BLOCKED, QUEUED):
            return False
        if entry.attempts >= self.settings.reminder_max_attempts:
            return False
        wait = timedelta(minutes=2**entry.attempts)
        return entry.updated_at + wait <= _naive_utc(now)

    async def plan(self, now: datetime) -> list[Planned]:
        """Who a tick at `now` would remind, and why; writes nothing."""
        planned = []
        for round_ in await self._rounds(now, create=False):
            slot = self._slot(round_, now)
            if slot is None:
                continue
            pending, members, _ = await self._targets(round_, slot, now)
            reason = t("reminder.reason", slot=slot.name, days=slot.days_before)
            planned += [
                Planned(round_.id, slot.name, pending[m.unit_id], m.name, m.member_id, reason)
                for m in members
            ]
        return planned

    # --- sending ----------------------------------------------------------------------

    async def tick(self, now: datetime | None = None) -> int:
        """Send every reminder due at `now`; returns how many were delivered."""
        now = now or self.clock()
        delivered = 0
        for round_ in await self._rounds(now, create=True):
            slot = self._slot(round_, now)
            if slot is not None:
                delivered += await self._wave(round_, slot, now)
        return delivered

    async def _wave(self, round_: Round, slot: Slot, now: datetime) -> int:
        """Remind (or queue) those due; the summary once the slot is settled. Returns how
        many reminders were delivered or queued."""
        pending, members, reachable = await self._targets(round_, slot, now)
        outcomes = await self._remind(round_, pending, members, slot.name, now)
        async with self.sessions() as db:
            entries = (await store.slot_entries(db, round_.id, slot.name)).values()
        reminded = sum(entry.status == SENT for entry in entries)
        if reminded and not any(entry.status in (QUEUED, "sending") for entry in entries):
            names = {
                reached: [name for unit_id, name in pending.items()
                          if (unit_id in reachable) == reached]
                for reached in (True, False)
            }  # fmt: skip
            await self._summarise(round_, slot, reminded, names[True], names[False], now)
        return outcomes.count(SENT) + outcomes.count(QUEUED)

    async def remind_now(
        self, round_: Round, slot: str, unit_ids: set[int] | None = None
    ) -> list[str | None]:
        """A coordinator's "remind now" (all pending units, or those in `unit_ids`): logged
        under its own `slot`, one per click, so a resent click reminds nobody twice.
        Returns each focal point's outcome (None: already reminded under this slot)."""
        now = self.clock()
        pending, members, _ = await self._targets(round_, Slot(now, slot), now)
        chosen = [m for m in members if unit_ids is None or m.unit_id in unit_ids]
        return await self._remind(round_, pending, chosen, slot, now)

    async def _remind(
        self, round_: Round, pending: dict[int, str], members: list, slot: str, now: datetime
    ) -> list[str | None]:
        gate = asyncio.Semaphore(self.settings.reminder_concurrency)

        async def remind(member) -> str | None:
            async with gate:
                unit = pending[member.unit_id]
                message = await self._reminder(round_, member.unit_id, unit, slot, now)
                return await self._send_once(round_.id, member, slot, message, now)

        return list(await asyncio.gather(*(remind(member) for member in members)))

    async def _reminder(
        self, round_: Round, unit_id: int, unit: str, slot: str, now: datetime
    ) -> Outgoing:
        async with self.sessions() as db:
            counts = await store.unit_counts(db, round_, unit_id)
        text = t(
            "reminder.text",
            announce=slot == ANNOUNCE,
            label=round_label(round_.id, round_.message),
            # The whole request when the round's name had to shorten it.
            message=round_.message if len(round_.message) > PURPOSE_IN_LABEL else "",
            deadline=round_.deadline,
            days=days_left(round_.deadline, now.date()),
            unit=unit,
            total=sum(counts.values()),
            lines=count_lines(counts),
        )
        choices = [
            Choice("new", t("reminder.add_button")),
            Choice(f"xongok:{round_.id}", t("reminder.done_button")),
            Choice(f"xongkhong:{round_.id}", t("reminder.nothing_button")),
        ]
        return Outgoing(text=text, choices=choices, numbered=False)

    async def _summarise(
        self,
        round_: Round,
        slot: Slot,
        reminded: int,
        pending: list[str],
        unreached: list[str],
        now: datetime,
    ) -> None:
        """To coordinators: how many were reminded, and the units still to confirm, those
        nobody could be reminded in apart."""
        text = t(
            "reminder.summary",
            label=round_label(round_.id, round_.message),
            deadline=round_.deadline,
            reminded=reminded,
            pending=pending,
            unreached=unreached,
        )
        async with self.sessions() as db:
            coordinators = await store.recipients(db, "coordinator")
        for coordinator in coordinators:
            await self._send_once(
                round_.id, coordinator, SUMMARY_PREFIX + slot.name, Outgoing(text=text), now,
                priority=outbox.SUMMARY,
            )  # fmt: skip

    async def _send_once(
        self, round_id: str, member, slot: str, message: Outgoing, now, priority=outbox.REMINDER
    ) -> str | None:
        """Claim the log entry, then queue the message with it (QUEUED), or send it and
        record the outcome; None when not due (sent or queued before, given up, or waiting
        for its backoff). Never raises."""
        stamp = _naive_utc(now)
        async with self.sessions() as db, db.begin():
            entry = await store.claim_reminder(db, round_id, member.member_id, slot)
            if not self._due(entry, now):
                return None
            entry.status, entry.attempts, entry.updated_at = "sending", entry.attempts + 1, stamp
            entry_id = entry.id
            if self.deliver is None:
                reachable = [(c, chat) for c, chat in member.identities if c in self.queue_to]
                for channel, chat_id in reachable:
                    message_to = replace(message, chat_id=chat_id)
                    await outbox.enqueue(db, channel, [message_to], priority, reminder_id=entry_id)
                entry.status = QUEUED if reachable else FAILED
                return entry.status
        outcome, error = await self._deliver_all(member, message)
        # Recorded even if the wave is being cancelled (shutdown): a delivered reminder whose
        # outcome is lost would be sent again after the restart.
        await asyncio.shield(self._record(entry_id, outcome, error, stamp))
        return outcome

    async def _record(self, entry_id: int, outcome: str, error: str, stamp: datetime) -> None:
        async with self.sessions() as db, db.begin():
            entry = await db.get(ReminderLog, entry_id)
            entry.status, entry.error, entry.updated_at = outcome, error[:500], stamp

    async def _deliver_all(self, member, message: Outgoing) -> tuple[str, str]:
        """Send to each of the member's reachable identities; SENT if any got it."""
        outcomes = []
        for channel, chat_id in member.identities:
            try:
                outcomes.append(await self.deliver(channel, replace(message, chat_id=chat_id)))
            except Exception as error:  # one failure never stops the wave
                log.exception("reminder to %s:%s failed", channel, chat_id)
                outcomes.append(f"{FAILED}: {error}")
        if SENT in outcomes:
            return SENT, ""
        if outcomes and all(o == BLOCKED for o in outcomes):
            return BLOCKED, ""
        return FAILED, "; ".join(outcomes) or "no reachable identity"
