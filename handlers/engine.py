"""The conversation engine: one Incoming in, replies out, everything in one transaction.

The engine knows no messenger. For each message it records the update id (a redelivered
update is ignored), finds the person, runs the handler for their command or screen, and
stores the new conversation state, all in a single database transaction.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from collections.abc import Awaitable, Callable, Sequence
from contextlib import AbstractAsyncContextManager
from datetime import datetime

import orjson
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import async_sessionmaker

from domain import invite_codes, metrics
from domain.catalog import t
from domain.entry import starts_with_template
from domain.messages import Incoming, Outgoing
from domain.parsing import fold, nfc
from domain.settings import Settings
from handlers import binding, channels, menu, quick, records, reports, rounds, signin, units
from handlers.flood import ADMIT, WARN, FloodGate
from handlers.invite_gate import InviteGate
from handlers.turn import Mailer, Turn, whole_number
from storage import identities, outbox, repo
from storage.clock import utcnow
from storage.db import retry_when_busy
from storage.models import Invite, OutboxMessage, Unit

log = logging.getLogger(__name__)

Handler = Callable[[Turn], Awaitable[None]]
Wake = Callable[[Sequence[OutboxMessage]], None]  # a sender's wake-up, with rows claimed for it


async def _new(turn: Turn) -> None:
    await _with_unit(turn, "new", records.start_new)


async def _quick(turn: Turn) -> None:
    await _with_unit(turn, "quick", lambda tr: quick.start(tr, _argument(tr.text)))


async def _filled_template(turn: Turn) -> None:
    await _with_unit(turn, "menu", quick.receive)


async def _mine(turn: Turn) -> None:
    await _with_unit(turn, "mine", records.show_list)


async def _with_unit(turn: Turn, purpose: str, then: Handler) -> None:
    """Coordinators choose a unit before working on records; focal points have theirs."""
    if turn.state.get("acting_unit") is None:
        await units.ask_unit(turn, purpose)
    else:
        await then(turn)


async def _resume(turn: Turn) -> None:
    if turn.state.get("draft"):
        await records.resume_draft(turn)
    else:
        await menu.show(turn)


async def _view(turn: Turn) -> None:
    number = whole_number(_argument(turn.text))
    if number is None:
        turn.say("records.view_usage")
        return
    await _with_unit(turn, "mine", lambda tr: records.show_record(tr, number))


def _coordinator_only(handler: Handler) -> Handler:
    async def guarded(turn: Turn) -> None:
        if turn.is_coordinator:
            await handler(turn)
        else:
            turn.say("errors.coordinator_only")

    return guarded


async def _pick_unit(turn: Turn) -> None:
    await units.ask_unit(turn, "menu")


async def _add_unit(turn: Turn) -> None:
    await units.add_unit(turn, _argument(turn.text))


async def _email(turn: Turn) -> None:
    await channels.email_command(turn, _argument(turn.text))


async def _channels(turn: Turn) -> None:
    await channels.kenh(turn, _argument(turn.text))


# Commands work with or without the slash (Zalo users rarely type one).
COMMANDS: dict[str, Handler] = {
    "menu": menu.show,
    "start": menu.show,
    "moi": _new,
    "nhanh": _quick,
    "cuatoi": _mine,
    "xem": _view,
    "huy": records.ask_cancel,
    "trogiup": menu.show_help,
    "xong": rounds.start_confirm,
    "baocao": reports.start,
    "lienket": units.link_messenger,
    "web": signin.web_link,
    "email": _email,
    "kenh": _channels,
    "donvi": _coordinator_only(_pick_unit),
    "taoma": _coordinator_only(units.start_invite),
    "themdonvi": _coordinator_only(_add_unit),
    "tiendo": _coordinator_only(rounds.start_progress),
    "yeucau": _coordinator_only(rounds.start_adhoc),
}

# Choices that mean the same on every screen: the menu's, and the round buttons that
# reminders carry ("xongok:2023-H1"), which may be pressed long after they were sent.
GLOBAL_CHOICES: dict[str, Handler] = {
    "menu": menu.show,
    "new": _new,
    "quick": _quick,
    "mine": _mine,
    "resume": _resume,
    "help": menu.show_help,
    "unit": _coordinator_only(_pick_unit),
    "invite": _coordinator_only(units.start_invite),
    "progress": _coordinator_only(rounds.start_progress),
    "adhoc": _coordinator_only(rounds.start_adhoc),
    "report": reports.start,
    "confirm": rounds.start_confirm,
}


async def _global_choice(turn: Turn, key: str) -> bool:
    """Run a choice that works on any screen; False when `key` is a screen's own."""
    if key in GLOBAL_CHOICES:
        await GLOBAL_CHOICES[key](turn)
        return True
    action, _, round_id = key.partition(":")
    if action in rounds.ROUND_ACTIONS and round_id:
        await rounds.ROUND_ACTIONS[action](turn, round_id)
        return True
    return False


async def _choose_again(turn: Turn) -> None:
    """A screen offering only global choices got something else."""
    turn.say("errors.not_understood", choices=turn.state.get("choices", []))


SCREENS: dict[str, Handler] = {
    "menu": _choose_again,
    "choose": _choose_again,
    "pick_round": _choose_again,
    "confirm_round": _choose_again,
    "adhoc": rounds.on_adhoc,
    "adhoc_confirm": rounds.on_adhoc_confirm,
    "report_pick": reports.on_pick,
    "report_range": reports.on_range,
    "pick_type": records.on_pick_type,
    "ask": records.on_answer,
    "doubt": records.on_doubt,
    "quick_pick": quick.on_pick,
    "quick": quick.on_template,
    "summary": records.on_summary,
    "records": records.on_records,
    "record": records.on_record,
    "confirm_delete": records.on_confirm_delete,
    "confirm_cancel": records.on_confirm_cancel,
    "confirm_replace": records.on_confirm_replace,
    "pick_unit": units.on_pick_unit,
    "invite_role": units.on_invite_role,
    "email_code": channels.on_email_code,
    "channels": channels.on_channels,
}


# Screens that ask for free text: there "xong" or "menu" typed alone is an answer, and only
# the slash makes a command (except "huy", which always cancels).
INPUT_SCREENS = frozenset(
    {"ask", "doubt", "quick", "adhoc", "report_range", "pick_unit", "email_code"}
)
ALWAYS_COMMANDS = frozenset({"huy"})
# Commands that take words after them, typed without the slash too ("nhanh đoàn vào").
ARGUMENT_COMMANDS = frozenset({"nhanh", "xem", "start", "email", "kenh"})


def _command(text: str, screen: str = "") -> str | None:
    """The command word of "/moi", "moi", "/xem 12", "/start@bot CODE"; None for answers."""
    words = fold(text).split(maxsplit=1)
    if not words:
        return None
    word = words[0].split("@")[0]
    if word.startswith("/"):
        return word[1:]
    if word not in COMMANDS or (len(words) > 1 and word not in ARGUMENT_COMMANDS):
        return None
    return word if screen not in INPUT_SCREENS or word in ALWAYS_COMMANDS else None


_CODE_TOKEN = re.compile(r"[A-Za-z0-9]{6,16}")
_CODE_WORDS = frozenset({"ma", "code"})


def _code_in(text: str) -> str | None:
    """The invite code a stranger sent: "/start CODE", the bare code, or one inside a
    sentence ("mã của tôi là K7QM2PXA"); None when nothing in the message looks like one."""
    if _command(text) == "start":
        return _argument(text) or None
    if (code := invite_codes.find(text)) is not None:
        return code
    tokens = _CODE_TOKEN.findall(text)
    mixed = [tok for tok in tokens if not tok.isdigit() and not tok.isalpha()]
    if mixed:
        return mixed[-1]
    return tokens[-1] if tokens and _CODE_WORDS & set(fold(text).split()) else None


def _argument(text: str) -> str:
    parts = text.strip().split(maxsplit=1)
    return parts[1] if len(parts) > 1 else ""


class Engine:
    """Turns Incoming messages into Outgoing replies, persisting every step."""

    def __init__(
        self,
        sessions: async_sessionmaker,
        settings: Settings,
        clock: Callable[[], datetime] | None = None,
        monotonic: Callable[[], float] = time.monotonic,
        turn_sessions: async_sessionmaker | None = None,
        writer: AbstractAsyncContextManager | None = None,
    ) -> None:
        self._sessions = sessions
        self._turn_sessions = turn_sessions or sessions
        self._settings = settings
        self._clock = clock or (lambda: datetime.now(settings.tz))
        self._flood = FloodGate(settings.flood_burst, settings.flood_per_minute, monotonic)
        self._invite_gate = InviteGate(
            settings.invite_attempts_per_person, settings.invite_attempts_per_minute, monotonic
        )
        # SQLite has one writer: turns taken one at a time avoid busy errors and retries
        # (storage.db.writer_lock, shared with the outbox senders). PostgreSQL takes turns
        # of different people at once; a person's own messages wait for each other on the
        # lock of their identity row (repo.person_and_state).
        self._lock = writer or asyncio.Lock()
        self.mailer: Mailer | None = None  # set when SMTP is configured
        # Channels whose replies go through the outbox (the messengers), each with what to
        # call when rows were queued (its sender's wake-up).
        self.queued_channels: dict[str, Wake] = {}

    def queue_replies(self, channel: str, wake: Wake) -> None:
        """From now on the replies on `channel` go to the outbox; `wake` is called after
        a commit, with the rows claimed for this process's sender (see outbox.enqueue)."""
        self.queued_channels[channel] = wake

    def _queued(self, channel: str, claimed: Sequence[OutboxMessage] = ()) -> None:
        wake = self.queued_channels.get(channel)
        if wake is not None:
            wake(claimed)

    async def handle(self, incoming: Incoming) -> list[Outgoing]:
        """The replies to `incoming`; for a queued channel they are in the outbox, written
        in the transaction of the message's effects, and nothing is returned."""
        metrics.UPDATES_RECEIVED.labels(incoming.channel).inc()
        started = time.perf_counter()
        replies, outcome = await self._handle_counted(incoming)
        metrics.UPDATES_HANDLED.labels(incoming.channel, outcome).inc()
        metrics.HANDLING_SECONDS.labels(incoming.channel).observe(time.perf_counter() - started)
        return replies

    async def _handle_counted(self, incoming: Incoming) -> tuple[list[Outgoing], str]:
        """The replies, and the outcome counted for monitoring (ok, flood, error)."""
        verdict = self._flood.admit((incoming.channel, incoming.user_id))
        if verdict != ADMIT:  # a flood: said once, then ignored until it slows down
            warning = [Outgoing(text=t("errors.flood"))][: verdict == WARN]
            return await self._queue_apart(incoming, warning), "flood"
        incoming = Incoming(**{**incoming.__dict__, "text": nfc(incoming.text or "").strip()})
        jobs, outcome = [], "ok"
        try:
            replies, jobs = await self._handle_committed(incoming)
        except Exception as error:
            log.exception("failed to handle %s", incoming)
            if isinstance(error, SQLAlchemyError):
                metrics.DATABASE_ERRORS.inc()
            internal = [Outgoing(text=t("errors.internal"))]
            replies, outcome = await self._queue_apart(incoming, internal), "error"
        for job in jobs:
            try:
                more = await job()
            except Exception:
                log.exception("follow-up work failed for %s", incoming)
                more = [Outgoing(text=t("errors.internal_job"))]
            replies += await self._queue_apart(incoming, more)
        return replies, outcome

    async def notice(self, incoming: Incoming, key: str) -> None:
        """Answer an update the engine does not read (a photo, an edit) with a catalogue
        message: queued with the update's claim, so a redelivery answers it once."""
        async with self._lock, self._sessions() as db, db.begin():
            if incoming.update_id is None or await repo.claim_update(
                db, incoming.channel, incoming.update_id
            ):
                await self._queue(db, incoming, [Outgoing(text=t(key))])
        self._queued(incoming.channel)

    async def _queue_apart(self, incoming: Incoming, replies: list[Outgoing]) -> list[Outgoing]:
        """Replies made outside the message's transaction (an error, a report built after
        it): queued on their own for a queued channel, returned otherwise."""
        for reply in replies:
            reply.chat_id = reply.chat_id or incoming.chat_id
        if incoming.channel not in self.queued_channels or not replies:
            return replies
        async with self._sessions() as db, db.begin():
            await self._queue(db, incoming, replies)
        self._queued(incoming.channel)
        return []

    async def _queue(
        self, db, incoming: Incoming, replies: list[Outgoing], question="", claim=False
    ) -> list[OutboxMessage]:
        """Write replies to the outbox (claimed for this process's sender with `claim`);
        the last one carries `question`."""
        for reply in replies:
            reply.chat_id = reply.chat_id or incoming.chat_id
        until = outbox.claim_end(utcnow(), self._settings.send_timeout) if claim else None
        return await outbox.enqueue(
            db, incoming.channel, replies, question=question, claimed_until=until
        )

    async def _handle_committed(self, incoming: Incoming) -> tuple[list[Outgoing], list]:
        """The turn, committed. When SQLite is locked by another connection (the web, the
        scheduler, another process), the turn is rolled back and run again a moment later."""

        async def turn() -> tuple[list[Outgoing], list]:
            async with self._lock:
                return await self._handle_in_transaction(incoming)

        return await retry_when_busy(turn)

    async def _handle_in_transaction(self, incoming: Incoming) -> tuple[list[Outgoing], list]:
        """The replies, and the work to run once the transaction is committed."""
        async with self._turn_sessions() as db, db.begin():
            if incoming.update_id is not None and not await repo.claim_update(
                db, incoming.channel, incoming.update_id
            ):
                return [], []
            person, saved = await repo.person_and_state(db, incoming.channel, incoming.user_id)
            turn = Turn(
                db=db,
                incoming=incoming,
                person=person,
                state=orjson.loads(orjson.dumps(saved.state)),  # a copy: it came as JSON
                now=(now := self._clock().astimezone(self._settings.tz)),
                today=now.date(),
                settings=self._settings,
                sessions=self._sessions,
                mailer=self.mailer,
            )
            if person is None:
                await self._unregistered(turn)
            elif not person.active:
                turn.say("errors.member_inactive")
            else:
                await self._registered(turn)
            replies, claimed = turn.replies, []
            if incoming.channel in self.queued_channels:
                claimed = await self._queue_bound(turn, saved.state.get(binding.SHOWN))
                replies = []
            if turn.person is not None:
                await repo.save_state(db, saved, turn.state)
        if incoming.channel in self.queued_channels:
            self._queued(incoming.channel, claimed)
        for reply in replies:
            reply.chat_id = reply.chat_id or incoming.chat_id
        return replies, turn.after_commit

    async def _queue_bound(self, turn: Turn, before: dict | None) -> list[OutboxMessage]:
        """Queue the turn's replies, remembering which question the person is shown now
        (kept from `before` while the question stays the same, so re-asking it does not
        make earlier answers to it look late). Returns the rows claimed for the sender."""
        question = binding.question_shown(turn.state)
        rows = await self._queue(turn.db, turn.incoming, turn.replies, question, claim=True)
        row_id = rows[-1].id if rows else 0
        claimed = [row for row in rows if row.claimed_until is not None]
        if not question:
            turn.state.pop(binding.SHOWN, None)
        elif await binding.first_showing_stands(turn, before, question):
            turn.state[binding.SHOWN] = before
        elif row_id:
            turn.state[binding.SHOWN] = {"question": question, "row": row_id}
        return claimed

    async def _unregistered(self, turn: Turn) -> None:
        """Only registration is possible: "/start CODE", the bare code, or a sentence with
        the code in it."""
        code = _code_in(turn.text)
        if code is None:
            turn.say("register.how", department=self._settings.department_name)
            return
        invite = await self._invite(turn, code)
        if invite is None:
            return
        name = turn.incoming.display_name or turn.incoming.user_id
        person = await repo.redeem_invite(
            turn.db,
            invite,
            channel=turn.incoming.channel,
            user_id=turn.incoming.user_id,
            chat_id=turn.incoming.chat_id,
            name=name,
        )
        turn.person = person
        await repo.audit(
            turn.db, member_id=person.member_id, action="register", entity="member",
            entity_id=person.member_id, details={"channel": turn.incoming.channel},
        )  # fmt: skip
        unit_name = await self._adopt_unit(turn)
        email = await identities.adopt_unit_email(turn.db, person.member_id)
        turn.say(
            "register.welcome",
            name=name,
            role=t(f"roles.{person.role}"),
            unit=unit_name,
            email=email,
            ask_email=self.mailer is not None and not email,
        )
        await menu.show(turn)

    async def _invite(self, turn: Turn, code: str) -> Invite | None:
        """The usable invite `code` names; None once the person has been told why not
        (a wrong, used or expired code, or too many attempts)."""
        refusal = self._invite_gate.refusal(turn.incoming.channel, turn.incoming.user_id)
        if refusal is not None:
            turn.say(refusal)
            return None
        invite = await repo.usable_invite(turn.db, code) if invite_codes.looks_like(code) else None
        if invite is None:
            turn.say("register.bad_code", code=code)
        return invite

    async def _adopt_unit(self, turn: Turn) -> str:
        """A focal point always acts for their own unit."""
        unit_id = turn.person.unit_id
        if unit_id is None:
            return self._settings.department_name
        unit = await turn.db.get(Unit, unit_id)
        units.set_acting_unit(turn, unit.id, unit.name)
        return unit.name

    async def _start_again(self, turn: Turn, code: str) -> None:
        """A registered person sends an invite: one for another role or unit makes it
        theirs (a focal point who becomes a coordinator, or the demo's two codes)."""
        person = turn.person
        invite = await self._invite(turn, code)
        if invite is None:
            pass  # already told why
        elif invite.member_id is not None or (invite.role, invite.unit_id) == (
            person.role,
            person.unit_id,
        ):
            turn.say("register.already", unit=turn.state.get("acting_unit_name", ""))
        else:
            turn.person = await repo.reassign(turn.db, person, invite)
            await repo.audit(
                turn.db, member_id=person.member_id, action="reassign", entity="member",
                entity_id=person.member_id, details={"role": invite.role, "unit": invite.unit_id},
            )  # fmt: skip
            unit_name = await self._adopt_unit(turn)
            turn.say("register.changed", role=t(f"roles.{invite.role}"), unit=unit_name)
        await menu.show(turn)

    async def _registered(self, turn: Turn) -> None:
        if turn.person.blocked:  # writing again means they unblocked the bot
            await repo.mark_blocked(
                turn.db, turn.incoming.channel, turn.person.chat_id, blocked=False
            )
        if not turn.is_coordinator and turn.state.get("acting_unit") != turn.person.unit_id:
            await self._adopt_unit(turn)
        screen = turn.state.get("screen", "")
        word = _command(turn.text, screen) if turn.incoming.choice is None else None
        if word == "start" and _argument(turn.text):
            await self._start_again(turn, _argument(turn.text))
        elif word is not None:
            handler = COMMANDS.get(word)
            if handler is None:
                turn.say("errors.unknown_command", command=turn.text.split()[0])
                if screen in ("ask", "doubt"):  # ask the pending question again
                    await records.ask_current(turn)
            else:
                await handler(turn)
        elif turn.incoming.choice is None and starts_with_template(turn.text):
            await _filled_template(turn)
        elif await binding.misbound(turn):
            return
        else:
            key = turn.incoming.choice if turn.incoming.choice is not None else turn.picked()
            if key is None or not await _global_choice(turn, key):
                await SCREENS.get(screen, _choose_again)(turn)
