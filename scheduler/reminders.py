"""Reminder waves: who is reminded of which round, when, exactly once.

Each tick looks at every round's current slot (scheduler.plan) and reminds the focal
points of units that have not confirmed. A log entry keyed (round, member, slot) is
claimed, and the reminder queued in the outbox in the same transaction, one row per channel
the member takes reminders on (the outbox's sender records each channel's outcome in the
delivery log, storage.deliveries, and the entry's outcome in the log), so a restart neither
repeats a reminder nor skips anyone; a "failed" entry is queued again with backoff, a
bounded number of times. (Tests and the terminal demo may deliver directly instead: claim,
send to each channel not reached yet, record.)

A messenger over its quota pauses for minutes; its reminders stay pending ("deferred") and
go out after the pause, and coordinators are told. The coordinators' summary of a slot is
sent once the slot has nothing left in the outbox, counting the whole slot from the log,
whichever process sent which reminder, with how many each channel reached.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import TypeVar

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from domain.catalog import t
from domain.forms import count_lines
from domain.messages import (
    BLOCKED,
    DEFERRED,
    FAILED,
    QUEUED,
    SENT,
    UNREACHABLE,
    Choice,
    Outgoing,
)
from domain.rounds import PURPOSE_IN_LABEL, round_label
from scheduler.plan import (
    ANNOUNCE,
    Slot,
    announced_at,
    clock_time,
    current_slot,
    days_left,
    recurring_rounds,
)
from storage import deliveries, outbox
from storage import rounds as store
from storage.db import is_busy
from storage.models import ReminderLog, Round

log = logging.getLogger(__name__)

Deliver = Callable[[str, Outgoing], Awaitable[str]]  # (channel, outgoing) -> outcome
T = TypeVar("T")
SUMMARY_PREFIX = "sum-"
QUOTA_PREFIX = "q-"  # coordinators told that a messenger's quota paused the wave
UNREACHED_PREFIX = "u-"  # coordinators told who no reminder reached that morning
WRITE_ATTEMPTS = 5  # a log write meeting a busy SQLite is tried again, with backoff


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
        # Delivering directly: channel -> end of its quota pause (the outbox's sender keeps
        # its own when queueing).
        self._paused_until: dict[str, datetime] = {}

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
        if entry is not None and entry.status == DEFERRED:  # waits for the quota pause only
            return entry.updated_at + self._pause <= _naive_utc(now)
        if entry is None or entry.attempts == 0:
            return True
        if entry.status in (SENT, BLOCKED, QUEUED):
            return False
        if entry.attempts >= self.settings.reminder_max_attempts:
            return False
        wait = timedelta(minutes=2**entry.attempts)
        return entry.updated_at + wait <= _naive_utc(now)

    @property
    def _pause(self) -> timedelta:
        return timedelta(minutes=self.settings.zalo_quota_pause_minutes)

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
                await self._flag_unreached(round_, slot, now)
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
        await self._tell_quota(round_, slot, now)
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
        subject = t(
            "email.reminder_subject",
            label=round_label(round_.id, round_.message),
            deadline=round_.deadline,
        )
        return Outgoing(text=text, choices=choices, numbered=False, subject=subject)

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
        async with self.sessions() as db:
            per_channel = await deliveries.reached_per_channel(db, round_.id, slot.name)
        label = round_label(round_.id, round_.message)
        text = t(
            "reminder.summary",
            label=label,
            deadline=round_.deadline,
            reminded=reminded,
            per_channel=sorted(per_channel.items()),
            pending=pending,
            unreached=unreached,
        )
        subject = t("email.summary_subject", label=label)
        await self._to_coordinators(round_.id, SUMMARY_PREFIX + slot.name, text, subject, now)

    async def _to_coordinators(
        self, round_id: str, slot: str, text: str, subject: str, now: datetime
    ) -> None:
        """One message to every coordinator, once per (round, slot) like a reminder."""
        async with self.sessions() as db:
            coordinators = await store.recipients(db, "coordinator")
        message = Outgoing(text=text, subject=subject)
        for coordinator in coordinators:
            await self._send_once(round_id, coordinator, slot, message, now, outbox.SUMMARY)

    async def _tell_quota(self, round_: Round, slot: Slot, now: datetime) -> None:
        """A messenger over its quota (a reminder of the slot deferred, in the delivery
        log): coordinators hear once how many wait, and until when."""
        async with self.sessions() as db:
            deferred = await deliveries.deferred(db, round_.id, slot.name)
        if deferred is None:
            return
        label = round_label(round_.id, round_.message)
        # Delivering directly, the pause is this object's; queued, it began at the deferral.
        paused = [self._paused_until[c] for c in deferred.channels if c in self._paused_until]
        resume = max(paused, default=deferred.since.replace(tzinfo=UTC) + self._pause)
        text = t(
            "reminder.quota_paused",
            label=label,
            channels=deferred.channels,
            deferred=deferred.members,
            resume=resume.astimezone(now.tzinfo),
        )
        subject = t("email.quota_subject", label=label)
        await self._to_coordinators(round_.id, QUOTA_PREFIX + slot.name, text, subject, now)

    async def _flag_unreached(self, round_: Round, slot: Slot, now: datetime) -> None:
        """From the morning check time of a slot's day, coordinators get the focal points
        this slot's reminder reached on no channel (once; nothing when everyone got it)."""
        check = datetime.combine(slot.due.date(), clock_time(self.settings.unreached_check_time))
        if now.date() != slot.due.date() or now.replace(tzinfo=None) < check:
            return
        async with self.sessions() as db:
            people = await deliveries.unreached(db, round_.id, slot.name)
        if not people:
            return
        label = round_label(round_.id, round_.message)
        text = t("reminder.unreached", label=label, people=people)
        subject = t("email.unreached_subject", label=label)
        await self._to_coordinators(round_.id, UNREACHED_PREFIX + slot.name, text, subject, now)

    async def _send_once(
        self, round_id: str, member, slot: str, message: Outgoing, now, priority=outbox.REMINDER
    ) -> str | None:
        """Claim the log entry, then queue the message with it (QUEUED), or send it and
        record the outcome; None when not due (sent or queued before, given up, or waiting
        for its backoff). Never raises."""
        stamp = _naive_utc(now)

        async def claim(db) -> tuple[int, str] | None:
            entry = await store.claim_reminder(db, round_id, member.member_id, slot)
            if not self._due(entry, now):
                return None
            entry.status, entry.attempts = "sending", entry.attempts + 1
            entry.updated_at = stamp
            if self.deliver is None:
                entry.status = await self._queue(db, entry.id, member, message, priority)
            return entry.id, entry.status

        # Not claimed (not due, or the database refused): nothing is sent this time.
        claimed = await self._write(f"the claim of member {member.member_id}", claim)
        if claimed is None:
            return None
        entry_id, status = claimed
        if status != "sending":  # queued in the outbox (or nowhere to queue it)
            return status
        outcome, error = await self._deliver_all(entry_id, member, message, now)
        # Recorded even if the wave is being cancelled (shutdown): a delivered reminder whose
        # outcome is lost would be sent again after the restart.
        await asyncio.shield(self._record(entry_id, outcome, error, stamp))
        return outcome

    async def _record(self, entry_id: int, outcome: str, error: str, stamp: datetime) -> None:
        async def write(db) -> None:
            entry = await db.get(ReminderLog, entry_id)
            entry.status, entry.error, entry.updated_at = outcome, error[:500], stamp
            if outcome == DEFERRED:  # waiting out a quota is not a failed attempt
                entry.attempts -= 1

        await self._write(f"reminder {entry_id}", write)

    async def _write(self, what: str, work: Callable[[AsyncSession], Awaitable[T]]) -> T | None:
        """One write transaction and its result, tried again while SQLite is busy; None,
        logged and never raised, when it cannot be written: the wave goes on (the channels
        already reached are in the delivery log, so a retry does not send them twice)."""
        for attempt in range(WRITE_ATTEMPTS):
            try:
                async with self.sessions() as db, db.begin():
                    return await work(db)
            except SQLAlchemyError as error:
                if not is_busy(error) or attempt == WRITE_ATTEMPTS - 1:
                    log.error("could not write %s: %s", what, error)
                    return None
            await asyncio.sleep(0.05 * 2**attempt)
        return None

    async def _queue(self, db, entry_id: int, member, message: Outgoing, priority: int) -> str:
        """One outbox row per channel the member takes reminders on that is running:
        QUEUED, or FAILED when there is none."""
        reachable = [(c, chat) for c, chat in member.identities if c in self.queue_to]
        for channel, chat_id in reachable:
            message_to = replace(message, chat_id=chat_id)
            await outbox.enqueue(db, channel, [message_to], priority, reminder_id=entry_id)
        return QUEUED if reachable else FAILED

    # --- per-channel delivery, directly (tests, the terminal demo) ------------------------

    async def _deliver_all(
        self, entry_id: int, member, message: Outgoing, now: datetime
    ) -> tuple[str, str]:
        """Send to each of the member's channels not reached yet for this entry, recording
        each outcome. DEFERRED while one waits for its quota; else SENT if any got it."""
        async with self.sessions() as db:
            done = await deliveries.sent_addresses(db, entry_id)
        outcomes = []
        for channel, chat_id in member.identities:
            if (channel, chat_id) in done:
                outcomes.append(SENT)
                continue
            outcome = await self._deliver_one(channel, replace(message, chat_id=chat_id), now)
            await self._note_delivery(entry_id, member.member_id, channel, chat_id, outcome)
            outcomes.append(outcome)
        if DEFERRED in outcomes:
            return DEFERRED, ""
        if SENT in outcomes:
            return SENT, ""
        if outcomes and all(o == BLOCKED for o in outcomes):
            return BLOCKED, ""
        return FAILED, "; ".join(outcomes) or "no reachable identity"

    async def _deliver_one(self, channel: str, message: Outgoing, now: datetime) -> str:
        """One channel's send; a channel in its quota pause is not called (DEFERRED)."""
        if self._paused_until.get(channel, now) > now:
            return DEFERRED
        try:
            outcome = await self.deliver(channel, message)
        except Exception as error:  # one failure never stops the wave
            log.exception("reminder to %s:%s failed", channel, message.chat_id)
            return f"{FAILED}: {error}"
        if outcome == DEFERRED:
            self._paused_until[channel] = now + self._pause
        return outcome

    async def _note_delivery(
        self, entry_id: int, member_id: int, channel: str, address: str, outcome: str
    ) -> None:
        """The delivery log's row for one channel: sent, failed (with the reason),
        deferred, or unreachable (the person blocked the bot there)."""
        status, _, reason = outcome.partition(":")
        status = UNREACHABLE if status == BLOCKED else status

        async def write(db) -> None:
            await deliveries.record(
                db, entry_id, member_id, channel, address, status, reason.strip()
            )

        await self._write(f"the {channel} delivery of reminder {entry_id}", write)
