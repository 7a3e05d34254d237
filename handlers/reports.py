"""/baocao: a coordinator picks a round (or a date range) and gets a preview in the chat
plus the draft as .docx and the annexes as .xlsx.

Building the documents can take seconds, so it runs after the message's transaction,
outside the engine's lock (Turn.after_commit), and other people are not kept waiting.
"""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import date, datetime

from domain import delivery
from domain.catalog import t
from domain.forms import describe
from domain.messages import SENT, Outgoing
from domain.parsing import ParseError, parse_date
from domain.periods import Period, RoundBoundaries, range_period, round_period
from handlers import menu
from handlers.rounds import round_choices
from handlers.turn import Turn
from scheduler.plan import recurring_rounds
from storage import identities
from storage import rounds as store
from storage.models import Round
from templates.report.build import build_report

PREVIEW_CHARS = 1500
# Rounds offered for a report: open ones and those whose deadline passed within a year.
REPORT_DAYS_AFTER_DEADLINE = 400


async def start(turn: Turn) -> None:
    """/baocao"""
    if not turn.is_coordinator:
        turn.say("baocao.refused")
        return
    for year in (turn.today.year - 1, turn.today.year):
        await store.ensure_rounds(turn.db, recurring_rounds(year, turn.settings))
    rounds = await store.followed_rounds(turn.db, turn.today, REPORT_DAYS_AFTER_DEADLINE)
    turn.go("report_pick")
    turn.say("baocao.pick", choices=_report_choices(rounds, turn.today.year))


def _report_choices(rounds: list[Round], year: int) -> list[tuple[str, str]]:
    """Numbers that do not move when ad hoc rounds are added: this year's and last year's
    recurring rounds first, then "another range", then ad hoc rounds, oldest first."""
    order = [f"{y}-{kind}" for y in (year, year - 1) for kind in ("H1", "Y")]
    recurring = sorted((r for r in rounds if r.id in order), key=lambda r: order.index(r.id))
    adhoc = sorted((r for r in rounds if r.id not in order), key=lambda r: r.created_at)
    return [
        *round_choices(recurring, "bc"),
        ("bc_range", t("baocao.range_button")),
        *round_choices(adhoc, "bc"),
    ]


async def on_pick(turn: Turn) -> None:
    key = turn.picked() or ""
    if key == "bc_range":
        turn.go("report_range", step="start")
        turn.say("baocao.ask_start")
        return
    round_ = await turn.db.get(Round, key.removeprefix("bc:")) if key.startswith("bc:") else None
    if round_ is None:
        turn.say("baocao.pick_again", choices=turn.state["choices"])
        return
    await _compile(turn, round_report_period(round_, turn.today, turn.settings), round_.id)


async def on_range(turn: Turn) -> None:
    if turn.wants_back:
        if turn.state["step"] == "end":
            turn.state["step"] = "start"
            turn.say("baocao.ask_start")
        else:
            await start(turn)
        return
    try:
        day = parse_date(turn.text, turn.today)
    except ParseError as error:
        turn.say("baocao.date_error", detail=describe(error))
        return
    if turn.state["step"] == "start":
        if day > turn.today:
            turn.say("baocao.date_error", detail=t("baocao.start_in_future"))
        else:
            turn.state.update(step="end", start=day.isoformat())
            turn.say("baocao.ask_end")
        return
    first = date.fromisoformat(turn.state["start"])
    if day < first:
        turn.say("baocao.date_error", detail=t("errors.end_before_start"))
        return
    boundaries = RoundBoundaries.from_settings(turn.settings)
    await _compile(turn, range_period(first, day, min(day, turn.today), boundaries))


def round_report_period(round_: Round, today: date, settings) -> Period:
    """What a round's report covers, counted up to today (or the round's end)."""
    as_of = max(min(today, round_.end), round_.start)
    boundaries = RoundBoundaries.from_settings(settings)
    if round_.kind in ("H1", "Y"):
        return round_period(round_.id, as_of, boundaries)
    period = range_period(round_.start, round_.end, as_of, boundaries)
    return replace(period, round_ids=(*period.round_ids, round_.id))


async def _compile(turn: Turn, period: Period, round_id: str | None = None) -> None:
    turn.say("baocao.working", period=period.phrase())
    settings, sessions = turn.settings, turn.sessions
    chat_id = turn.incoming.chat_id
    await menu.show(turn)
    menu_after = turn.replies.pop()  # sent after the files, not before them
    mailer = turn.mailer
    address = await identities.email_of(turn.db, turn.person.member_id) if mailer else ""

    async def build() -> list[Outgoing]:
        report = await build_report(sessions, settings, period, round_id=round_id)
        folder = settings.data_dir / "reports"
        stem = f"bao-cao-{period.label or period.start.isoformat()}-{datetime.now():%Y%m%d-%H%M%S}"
        docx = await asyncio.to_thread(report.write_docx, folder / f"{stem}.docx")
        xlsx = await asyncio.to_thread(report.write_xlsx, folder / f"{stem}-phu-luc.xlsx")
        data = await asyncio.to_thread(report.write_data_xlsx, folder / f"{stem}-du-lieu.xlsx")
        preview = report.text
        if len(preview) > PREVIEW_CHARS:
            preview = preview[:PREVIEW_CHARS].rsplit("\n", 1)[0] + "\n…"
        replies = [
            Outgoing(text=t("baocao.preview", preview=preview), chat_id=chat_id),
            Outgoing(text=t("baocao.docx"), file_path=docx, chat_id=chat_id),
            Outgoing(text=t("baocao.xlsx"), file_path=xlsx, chat_id=chat_id),
            Outgoing(text=t("baocao.data"), file_path=data, chat_id=chat_id),
        ]
        if address:
            replies.append(await _mail_draft(mailer, address, period, docx, preview, chat_id))
        return [*replies, menu_after]

    turn.after_commit.append(build)


async def _mail_draft(mailer, address: str, period: Period, docx, preview: str, chat_id: str):
    """The draft .docx to the coordinator's linked address; the reply saying so."""
    mail = Outgoing(
        text=t("baocao.preview", preview=preview),
        file_path=docx,
        chat_id=address,
        subject=t("email.report_subject", name=period.phrase()),
    )
    outcome = await mailer.send(mail)
    if outcome == SENT:
        return Outgoing(text=t("email_link.report_sent", address=address), chat_id=chat_id)
    reason = delivery.reason(*outcome.split(": ", 1)) if ": " in outcome else outcome
    return Outgoing(
        text=t("email_link.report_failed", address=address, reason=reason), chat_id=chat_id
    )
