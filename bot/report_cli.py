"""`doingoai report`: write a draft report for a round or a date range.

    doingoai report --round 2023-Y --format docx --out bao-cao-2023.docx
    doingoai report --from 01/01/2023 --to 31/05/2023 --as-of 20/5/2023 --out bc.md
    doingoai report --round 2021-H1 --as-of 25/5/2021 --template 6thang --out bc.xlsx

Wiring (bot/cli.py): `add_report_parser(commands)` and COMMANDS["report"] = run_report.
Arguments are read as plain strings and checked here, so every mistake gets a Vietnamese
message on stderr and exit code 2.
"""

from __future__ import annotations

import argparse
import sys
from datetime import date, datetime
from pathlib import Path

from bot.app import App
from domain.catalog import t
from domain.parsing import ParseError, parse_date
from domain.periods import Period, PeriodError, RoundBoundaries, range_period, round_period
from templates.report.build import FORMATS, build_report
from templates.report.render import TEMPLATES

USAGE_ERROR = 2


class ReportArgumentError(ValueError):
    """A bad argument; `message` is the Vietnamese explanation."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def add_report_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    parser = subparsers.add_parser("report", help=t("report.cli.help"))
    parser.add_argument("--round", dest="round_id", default="", help=t("report.cli.round"))
    parser.add_argument("--from", dest="start", default="", help=t("report.cli.start"))
    parser.add_argument("--to", dest="end", default="", help=t("report.cli.end"))
    parser.add_argument("--as-of", dest="as_of", default="", help=t("report.cli.as_of"))
    parser.add_argument("--template", default="", help=t("report.cli.template"))
    parser.add_argument("--format", dest="fmt", default="", help=t("report.cli.format"))
    parser.add_argument("--out", default="", help=t("report.cli.out"))
    return parser


async def run_report(app: App, args: argparse.Namespace) -> int:
    today = datetime.now(app.settings.tz).date()
    try:
        period = period_from_args(args, today, RoundBoundaries.from_settings(app.settings))
        template = _template(args.template)
        out, fmt = _output(args.out, args.fmt)
    except ReportArgumentError as error:
        print(error.message, file=sys.stderr)
        return USAGE_ERROR
    report = await build_report(app.sessions, app.settings, period, template or None)
    report.write(out, fmt)
    print(
        t(
            "report.cli.written",
            path=out,
            period=period.phrase(),
            count=len(report.figures.records),
            units=len(report.figures.units),
        )
    )
    return 0


def period_from_args(args: argparse.Namespace, today: date, boundaries: RoundBoundaries) -> Period:
    """The period the arguments name; ReportArgumentError with the reason otherwise."""
    as_of = _date(args.as_of, "--as-of", today) if args.as_of else None
    has_range = bool(args.start or args.end)
    if args.round_id and has_range:
        raise ReportArgumentError(t("report.errors.both_periods"))
    try:
        if args.round_id:
            return round_period(args.round_id, as_of or today, boundaries)
        if not has_range:
            raise ReportArgumentError(t("report.errors.need_period"))
        if not (args.start and args.end):
            raise ReportArgumentError(t("report.errors.need_both_dates"))
        start = _date(args.start, "--from", today)
        end = _date(args.end, "--to", today)
        return range_period(start, end, as_of or min(end, today), boundaries)
    except PeriodError as error:
        raise ReportArgumentError(t(f"report.errors.{error.code}", **error.params)) from error


def _date(text: str, option: str, today: date) -> date:
    try:
        return parse_date(text, today)
    except ParseError as error:
        raise ReportArgumentError(t("report.errors.bad_date", value=text, option=option)) from error


def _template(name: str) -> str:
    if name and name not in TEMPLATES:
        raise ReportArgumentError(
            t("report.errors.bad_template", value=name, choices=", ".join(TEMPLATES))
        )
    return name


def _output(out: str, fmt: str) -> tuple[Path, str]:
    if not out:
        raise ReportArgumentError(t("report.errors.need_out"))
    path = Path(out)
    chosen = (fmt or path.suffix.lstrip(".")).lower()
    if chosen not in FORMATS:
        raise ReportArgumentError(t("report.errors.bad_format", value=fmt or path.suffix))
    return path, chosen
