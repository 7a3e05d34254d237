"""Reporting rounds in chat: a unit confirms its report (/xong), coordinators follow
progress (/tiendo) and create ad hoc rounds (/yeucau)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time

from domain.catalog import t
from domain.forms import count_lines, describe
from domain.parsing import ParseError, parse_date, parse_text
from domain.rounds import round_label
from handlers import menu
from handlers.turn import Turn
from scheduler.plan import days_left, is_open, recurring_rounds
from storage import deliveries, repo
from storage import rounds as store
from storage.models import Round

ADHOC_STEPS = ("start", "end", "deadline", "message")


def _is_open(turn: Turn, round_: Round) -> bool:
    return is_open(
        round_.deadline, datetime.combine(turn.today, time(), turn.settings.tz), turn.settings
    )


async def open_rounds(turn: Turn) -> list[Round]:
    """Rounds open today (created if they are this year's recurring ones)."""
    await store.ensure_rounds(turn.db, recurring_rounds(turn.today.year, turn.settings))
    return [r for r in await store.all_rounds(turn.db) if _is_open(turn, r)]


async def _unit_round(turn: Turn, round_id: str, must_be_open: bool = True) -> Round | None:
    """The round, if the person acts for a unit and (when asked) the round is open;
    otherwise says why and returns None."""
    await store.ensure_rounds(turn.db, recurring_rounds(turn.today.year, turn.settings))
    round_ = await turn.db.get(Round, round_id)
    if turn.state.get("acting_unit") is None:
        turn.say("rounds.coordinator_pick_unit")
    elif round_ is None:
        turn.say("rounds.unknown", round_id=round_id)
    elif must_be_open and not _is_open(turn, round_):
        turn.say("rounds.closed", label=label_of(round_), deadline=round_.deadline)
    else:
        return round_
    return None


def label_of(round_: Round) -> str:
    """A round's name for people: never its id (an ad hoc one is named by its purpose)."""
    return round_label(round_.id, round_.message)


def round_choices(
    rounds: list[Round], prefix: str, label_key: str = "rounds.choice"
) -> list[tuple[str, str]]:
    return [
        (f"{prefix}:{r.id}", t(label_key, label=label_of(r), deadline=r.deadline)) for r in rounds
    ]


async def followed_rounds(turn: Turn) -> list[Round]:
    """What coordinators follow: open rounds and those whose deadline passed recently."""
    await store.ensure_rounds(turn.db, recurring_rounds(turn.today.year, turn.settings))
    return await store.followed_rounds(
        turn.db, turn.today, turn.settings.progress_days_after_deadline
    )


async def _pick_round(turn: Turn, prefix: str, then, rounds: list[Round]) -> None:
    if not rounds:
        turn.say("rounds.none_open")
        await menu.show(turn)
    elif len(rounds) == 1:
        await then(turn, rounds[0].id)
    else:
        turn.go("pick_round")
        turn.say("rounds.pick", choices=round_choices(rounds, prefix))


# --- confirmations ----------------------------------------------------------------------


async def start_confirm(turn: Turn) -> None:
    """/xong"""
    if turn.is_coordinator and turn.state.get("acting_unit") is None:
        turn.say("rounds.coordinator_pick_unit")
        return
    await _pick_round(turn, "xong", show_confirm, await open_rounds(turn))


async def show_confirm(turn: Turn, round_id: str) -> None:
    round_ = await _unit_round(turn, round_id)
    if round_ is None:
        await menu.show(turn)
        return
    unit_id = turn.state["acting_unit"]
    counts = await store.unit_counts(turn.db, round_, unit_id)
    done = await store.confirmation(turn.db, round_id, unit_id)
    params = dict(
        label=label_of(round_),
        deadline=round_.deadline,
        days=days_left(round_.deadline, turn.today),
        lines=count_lines(counts),
        total=sum(counts.values()),
        unit=turn.state.get("acting_unit_name", ""),
    )
    turn.go("confirm_round", round_id=round_id)
    if done is not None:
        options = [("menu", t("menu.title"))]
        if turn.today <= round_.deadline:
            options.insert(0, (f"rutlai:{round_id}", t("rounds.withdraw_button")))
        turn.say(
            "rounds.already",
            choices=options,
            at=done.confirmed_at,
            nothing=done.nothing_to_report,
            **params,
        )
        return
    turn.say(
        "rounds.confirm_prompt",
        choices=[
            (f"xongok:{round_id}", t("rounds.confirm_button")),
            (f"xongkhong:{round_id}", t("rounds.nothing_button")),
            ("new", t("menu.new")),
            ("menu", t("menu.title")),
        ],
        **params,
    )


async def confirm_done(turn: Turn, round_id: str) -> None:
    await _confirm(turn, round_id, nothing_to_report=False)


async def confirm_nothing(turn: Turn, round_id: str) -> None:
    await _confirm(turn, round_id, nothing_to_report=True)


async def confirm_unit(
    db, round_: Round, unit_id: int, member_id: int, nothing_to_report: bool, source: str
) -> tuple[str, int]:
    """Confirm a unit's report for an open round (chat and web): the outcome ("already",
    "nothing_but_records", "nothing_recorded" or "confirmed") and the unit's record count."""
    counts = await store.unit_counts(db, round_, unit_id)
    if await store.confirmation(db, round_.id, unit_id) is not None:
        return "already", sum(counts.values())  # an old button never rewrites one
    if nothing_to_report and counts:
        return "nothing_but_records", sum(counts.values())
    if not nothing_to_report and not counts:  # "reported everything" with nothing recorded
        return "nothing_recorded", 0
    await store.confirm(db, round_.id, unit_id, member_id, nothing_to_report)
    await audit_round(
        db, member_id, "confirm", round_.id, unit_id, {"nothing_to_report": nothing_to_report},
        source,
    )  # fmt: skip
    return "confirmed", sum(counts.values())


async def withdraw_unit(db, round_id: str, unit_id: int, member_id: int, source: str) -> None:
    await store.withdraw(db, round_id, unit_id)
    await audit_round(db, member_id, "withdraw", round_id, unit_id, {}, source)


async def audit_round(
    db, member_id: int | None, action: str, round_id: str, unit_id: int | None, details: dict,
    source: str,
) -> None:  # fmt: skip
    await repo.audit(
        db, member_id=member_id, action=action, entity="round", entity_id=None,
        details={"round": round_id, "unit": unit_id, **details}, source=source,
    )  # fmt: skip


async def _confirm(turn: Turn, round_id: str, nothing_to_report: bool) -> None:
    round_ = await _unit_round(turn, round_id)
    if round_ is None:
        await menu.show(turn)
        return
    outcome, total = await confirm_unit(
        turn.db, round_, turn.state["acting_unit"], turn.person.member_id, nothing_to_report,
        "chat",
    )  # fmt: skip
    if outcome == "already":
        await show_confirm(turn, round_id)
        return
    if outcome == "nothing_but_records":
        turn.say("rounds.nothing_but_records", total=total)
        await show_confirm(turn, round_id)
        return
    if outcome == "nothing_recorded":
        turn.go("confirm_round", round_id=round_id)
        turn.say(
            "rounds.zero_records",
            choices=[
                (f"xongkhong:{round_id}", t("rounds.nothing_button")),
                ("new", t("menu.new")),
                ("menu", t("menu.title")),
            ],
            label=label_of(round_),
            unit=turn.state.get("acting_unit_name", ""),
        )
        return
    turn.say(
        "rounds.confirmed",
        label=label_of(round_),
        nothing=nothing_to_report,
        unit=turn.state.get("acting_unit_name", ""),
    )
    await menu.show(turn)


async def withdraw(turn: Turn, round_id: str) -> None:
    round_ = await _unit_round(turn, round_id, must_be_open=False)
    if round_ is None:
        pass
    elif turn.today > round_.deadline:
        turn.say("rounds.too_late", deadline=round_.deadline)
    else:
        await withdraw_unit(
            turn.db, round_id, turn.state["acting_unit"], turn.person.member_id, "chat"
        )
        turn.say("rounds.withdrawn", label=label_of(round_))
    await menu.show(turn)


# --- progress ---------------------------------------------------------------------------


async def start_progress(turn: Turn) -> None:
    """/tiendo"""
    await _pick_round(turn, "tiendo", show_progress, await followed_rounds(turn))


async def show_progress(turn: Turn, round_id: str) -> None:
    """Coordinators only: the key can arrive as a pressed button, not just via /tiendo."""
    if not turn.is_coordinator:
        turn.say("errors.coordinator_only")
        return
    round_ = await turn.db.get(Round, round_id)
    if round_ is None:
        turn.say("rounds.unknown", round_id=round_id)
        return
    rows = await store.progress(turn.db, round_)
    turn.say(
        "rounds.progress",
        label=label_of(round_),
        deadline=round_.deadline,
        days=days_left(round_.deadline, turn.today),
        rows=rows,
        confirmed=sum(1 for r in rows if r.confirmed_at),
        total=len(rows),
    )
    if people := await deliveries.unreached(turn.db, round_.id):
        turn.say("rounds.unreached", people=people)
    await menu.show(turn)


# --- ad hoc rounds ----------------------------------------------------------------------


async def start_adhoc(turn: Turn) -> None:
    """/yeucau: from, to, deadline, purpose, then a confirmation."""
    turn.go("adhoc", step=0, answers={})
    turn.say("rounds.adhoc_question", step=1, key=ADHOC_STEPS[0])


async def on_adhoc(turn: Turn) -> None:
    step, answers = turn.state["step"], turn.state["answers"]
    if turn.wants_back and step > 0:
        turn.state["step"] = step - 1
        turn.say("rounds.adhoc_question", step=step, key=ADHOC_STEPS[step - 1])
        return
    key = ADHOC_STEPS[step]
    try:
        answers[key] = _adhoc_value(turn, key, answers)
    except ParseError as error:
        turn.say("rounds.adhoc_error", detail=describe(error), step=step + 1, key=key)
        return
    if step + 1 < len(ADHOC_STEPS):
        turn.state["step"] = step + 1
        turn.say("rounds.adhoc_question", step=step + 2, key=ADHOC_STEPS[step + 1])
        return
    await _confirm_adhoc(turn, answers)


async def _confirm_adhoc(turn: Turn, answers: dict[str, str]) -> None:
    """Before a round goes to every unit: what it asks, and who will hear of it."""
    units = {unit.id for unit in await repo.list_units(turn.db)}
    reached = {r.unit_id for r in await store.recipients(turn.db, "focal_point")} & units
    turn.go("adhoc_confirm", answers=answers)
    turn.say(
        "rounds.adhoc_confirm",
        choices=[
            ("adhoc_ok", t("rounds.adhoc_ok")),
            ("adhoc_again", t("rounds.adhoc_again")),
            ("adhoc_cancel", t("rounds.adhoc_cancel")),
        ],
        purpose=answers["message"],
        start=date.fromisoformat(answers["start"]),
        end=date.fromisoformat(answers["end"]),
        deadline=date.fromisoformat(answers["deadline"]),
        reached=len(reached),
        unreached=len(units - reached),
    )


async def on_adhoc_confirm(turn: Turn) -> None:
    choice, answers = turn.picked(), turn.state["answers"]
    if choice == "adhoc_again":
        await start_adhoc(turn)
    elif choice == "adhoc_cancel":
        turn.say("rounds.adhoc_cancelled")
        await menu.show(turn)
    elif choice == "adhoc_ok":
        round_ = await store.add_adhoc_round(
            turn.db,
            start=date.fromisoformat(answers["start"]),
            end=date.fromisoformat(answers["end"]),
            deadline=date.fromisoformat(answers["deadline"]),
            message=answers["message"],
            created_by=turn.person.member_id,
            created_at=turn.now.astimezone(UTC).replace(tzinfo=None),
        )
        await audit_round(
            turn.db, turn.person.member_id, "create", round_.id, None,
            {"deadline": answers["deadline"]}, "chat",
        )  # fmt: skip
        quiet_from, quiet_to = turn.settings.quiet_hours
        turn.say(
            "rounds.adhoc_created",
            label=label_of(round_),
            round=round_,
            quiet_from=quiet_from,
            quiet_to=quiet_to,
        )
        await menu.show(turn)
    else:
        turn.say("errors.not_understood", choices=turn.state["choices"])


def _adhoc_value(turn: Turn, key: str, answers: dict[str, str]) -> str:
    if key == "message":
        return parse_text(turn.text, 1000)
    value = parse_date(turn.text, turn.today)
    if key == "end" and value < date.fromisoformat(answers["start"]):
        raise ParseError("end_before_start")
    if key == "deadline" and value < turn.today:
        raise ParseError("deadline_past")
    if key == "deadline" and value < date.fromisoformat(answers["start"]):
        raise ParseError("deadline_before_start")
    return value.isoformat()


# Button keys "action:round_id" that work whatever screen the person is on (reminders
# carry them).
ROUND_ACTIONS = {
    "xong": show_confirm,
    "xongok": confirm_done,
    "xongkhong": confirm_nothing,
    "rutlai": withdraw,
    "tiendo": show_progress,
}
