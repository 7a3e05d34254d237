"""`doingoai round add|list`, `doingoai status`, `doingoai remind --dry-run`."""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime

from bot.app import App
from domain.catalog import t
from domain.messages import FAILED
from domain.parsing import ParseError, parse_date, parse_text
from domain.rounds import round_label
from scheduler.plan import recurring_rounds
from scheduler.reminders import Reminders
from storage import deliveries
from storage import rounds as store
from storage.models import Round


def add_parsers(commands, date_arg) -> None:
    rounds = commands.add_parser("round", help=t("cli.round"))
    actions = rounds.add_subparsers(dest="action", required=True)
    add = actions.add_parser("add", help=t("cli.round_add"))
    add.add_argument("--from", dest="start", type=date_arg, required=True)
    add.add_argument("--to", dest="end", type=date_arg, required=True)
    add.add_argument("--deadline", type=date_arg, required=True)
    add.add_argument("--message", default="")
    actions.add_parser("list", help=t("cli.round_list"))

    status = commands.add_parser("status", help=t("cli.status"))
    status.add_argument("--round", dest="round_id", default="")
    status.add_argument("--delivery", action="store_true", help=t("cli.status_delivery"))

    remind = commands.add_parser("remind", help=t("cli.remind"))
    remind.add_argument("--dry-run", action="store_true")
    remind.add_argument("--at", dest="moment", default="")


async def run_round(app: App, args: argparse.Namespace) -> int:
    today = datetime.now(app.settings.tz).date()
    async with app.sessions() as db, db.begin():
        await store.ensure_rounds(db, recurring_rounds(today.year, app.settings))
        if args.action == "list":
            for round_ in await store.all_rounds(db):
                print(
                    t("cli.round_line", round=round_, label=round_label(round_.id, round_.message))
                )
            return 0
        if args.end < args.start:
            print(t("errors.end_before_start"), file=sys.stderr)
            return 2
        if args.deadline < today:
            print(t("errors.deadline_past"), file=sys.stderr)
            return 2
        try:
            message = parse_text(args.message, 1000) if args.message.strip() else ""
        except ParseError as error:
            print(t("errors.too_long", **error.params), file=sys.stderr)
            return 2
        round_ = await store.add_adhoc_round(
            db, start=args.start, end=args.end, deadline=args.deadline, message=message,
            created_by=None,
        )  # fmt: skip
    print(t("cli.round_added", round=round_))
    return 0


async def run_status(app: App, args: argparse.Namespace) -> int:
    now = datetime.now(app.settings.tz)
    async with app.sessions() as db, db.begin():
        await store.ensure_rounds(db, recurring_rounds(now.year, app.settings))
        if args.round_id:
            chosen = [await db.get(Round, args.round_id.upper())]
            if chosen[0] is None:
                print(t("rounds.unknown", round_id=args.round_id), file=sys.stderr)
                return 2
        else:
            chosen = await store.followed_rounds(
                db, now.date(), app.settings.progress_days_after_deadline
            )
        for round_ in chosen:
            rows = await store.progress(db, round_)
            print(
                t(
                    "rounds.progress",
                    label=round_label(round_.id, round_.message),
                    deadline=round_.deadline,
                    days=(round_.deadline - now.date()).days,
                    rows=rows,
                    confirmed=sum(1 for r in rows if r.confirmed_at),
                    total=len(rows),
                )
            )
            if args.delivery:
                people = await deliveries.latest(db, round_.id)
                print(t("rounds.delivery", people=people, tz=app.settings.tz, utc=UTC))
                print(t("rounds.unreached", people=[p for p in people if not p.reached]))
    return 0


async def run_remind(app: App, args: argparse.Namespace) -> int:
    if not args.dry_run:
        print(t("cli.remind_only_dry_run"), file=sys.stderr)
        return 2
    try:
        moment = _moment(args.moment, app) if args.moment else datetime.now(app.settings.tz)
    except ValueError:
        print(t("cli.bad_moment", value=args.moment), file=sys.stderr)
        return 2

    async def refuse(_channel, _outgoing) -> str:  # a dry run sends nothing
        return FAILED

    planned = await Reminders(app.sessions, app.settings, refuse).plan(moment)
    print(t("cli.remind_header", at=moment, count=len(planned)))
    for item in planned:
        print(t("cli.remind_line", item=item))
    return 0


def _moment(text: str, app: App) -> datetime:
    day, _, clock = text.strip().partition(" ")
    try:
        parsed = parse_date(day, datetime.now(app.settings.tz).date())
    except ParseError as error:
        raise ValueError(text) from error
    hours, _, minutes = (clock or "08:00").partition(":")
    return datetime(
        parsed.year, parsed.month, parsed.day, int(hours), int(minutes or 0),
        tzinfo=app.settings.tz,
    )  # fmt: skip
