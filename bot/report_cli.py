"""`doingoai report`: write a draft report for a round or a date range, and manage the
standing texts of a round's report.

    doingoai report --round 2023-Y --format docx --out bao-cao-2023.docx
    doingoai report --from 01/01/2023 --to 31/05/2023 --as-of 20/5/2023 --out bc.md
    doingoai report --round 2021-H1 --template kh_dt --addressee "Sở Kế hoạch và Đầu tư" \\
        --request-number 3194/UBND-TH --request-date 25/5/2021 --request-issuer "UBND tỉnh" \\
        --signer-title "KT. GIÁM ĐỐC" --signer-title "PHÓ GIÁM ĐỐC" --signer-name "Nguyễn Văn A" \\
        --save-header --out bc.docx
    doingoai report text set --round 2023-Y --section hop_tac --file hop-tac.txt
    doingoai report text list --round 2023-Y
    doingoai report text import --round 2022-Y bao-cao-nam-2022.docx

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
from domain.rounds import parse_round_id, round_label
from storage import report_texts
from templates.report.build import FORMATS, build_report, default_template
from templates.report.header import Header
from templates.report.previous import LEFT_OUT, place, read_paragraphs, store_placement
from templates.report.render import TEMPLATES
from templates.report.standing import UNPLACED, load_sections

USAGE_ERROR = 2
MAX_TEXT_CHARS = 20000


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
    header = parser.add_argument_group(t("report.cli.header_group"))
    header.add_argument("--addressee", default="", help=t("report.cli.addressee"))
    header.add_argument("--request-number", default="", help=t("report.cli.request_number"))
    header.add_argument("--request-date", default="", help=t("report.cli.request_date"))
    header.add_argument("--request-issuer", default="", help=t("report.cli.request_issuer"))
    header.add_argument("--request-subject", default="", help=t("report.cli.request_subject"))
    header.add_argument("--recipient", action="append", default=[], help=t("report.cli.recipient"))
    header.add_argument(
        "--signer-title", action="append", default=[], help=t("report.cli.signer_title")
    )
    header.add_argument("--signer-name", default="", help=t("report.cli.signer_name"))
    header.add_argument("--sign-date", default="", help=t("report.cli.sign_date"))
    header.add_argument("--save-header", action="store_true", help=t("report.cli.save_header"))
    texts = parser.add_subparsers(dest="texts_command")
    text = texts.add_parser("text", help=t("report.cli.text_help"))
    actions = text.add_subparsers(dest="action", required=True)
    for action in ("set", "list", "import"):
        command = actions.add_parser(action, help=t(f"report.cli.text_{action}"))
        command.add_argument(
            "--round", dest="text_round", required=True, help=t("report.cli.round")
        )
        if action == "set":
            command.add_argument("--section", default="", help=t("report.cli.section"))
            command.add_argument("--file", default="", help=t("report.cli.text_file"))
        if action == "import":
            command.add_argument("path", help=t("report.cli.import_file"))
            command.add_argument("--replace", action="store_true", help=t("report.cli.replace"))
    return parser


async def run_report(app: App, args: argparse.Namespace) -> int:
    try:
        if getattr(args, "texts_command", None) == "text":
            return await _run_text(app, args)
        return await _write_report(app, args)
    except ReportArgumentError as error:
        print(error.message, file=sys.stderr)
        return USAGE_ERROR


async def _write_report(app: App, args: argparse.Namespace) -> int:
    today = datetime.now(app.settings.tz).date()
    period = period_from_args(args, today, RoundBoundaries.from_settings(app.settings))
    template = _template(args.template) or default_template(period)
    out, fmt = _output(args.out, args.fmt)
    header = header_from_args(args, today)
    if args.save_header:
        if not period.label:
            raise ReportArgumentError(t("report.errors.header_needs_round"))
        async with app.sessions() as db, db.begin():
            saved = Header.from_values(await report_texts.header(db, period.label, template))
            merged = saved.overridden_by(header)
            await report_texts.set_header(db, period.label, template, merged.to_values())
    report = await build_report(app.sessions, app.settings, period, template, header=header)
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


def header_from_args(args: argparse.Namespace, today: date) -> Header:
    """The header values given on the command line (the others stay empty)."""
    return Header(
        addressee=args.addressee.strip(),
        request_number=args.request_number.strip(),
        request_date=_date(args.request_date, "--request-date", today)
        if args.request_date
        else None,
        request_issuer=args.request_issuer.strip(),
        request_subject=args.request_subject.strip(),
        recipients=tuple(line.strip() for line in args.recipient if line.strip()),
        signer_titles=tuple(line.strip() for line in args.signer_title if line.strip()),
        signer_name=args.signer_name.strip(),
        sign_date=_date(args.sign_date, "--sign-date", today) if args.sign_date else None,
    )


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


# --- standing texts ---------------------------------------------------------------------


async def _run_text(app: App, args: argparse.Namespace) -> int:
    round_id = _round_id(args.text_round)
    if args.action == "list":
        return await _list_texts(app, round_id)
    if args.action == "import":
        return await _import_report(app, round_id, args.path, args.replace)
    section = _section(args.section)
    text = _read_text(args.file)
    async with app.sessions() as db, db.begin():
        await report_texts.set_text(db, round_id, section, text, source="cli")
    print(
        t(
            "report.cli.text_saved",
            section=load_sections()[section].title,
            round=round_label(round_id),
        )
    )
    return 0


async def _list_texts(app: App, round_id: str) -> int:
    async with app.sessions() as db:
        own = await report_texts.texts_of_round(db, round_id)
        previous = await report_texts.previous_round_with_texts(db, round_id)
        carried = await report_texts.texts_of_round(db, previous) if previous else {}
    for key, section in load_sections().items():
        if key in own:
            text = own[key]
            state = t("report.cli.text_own", who=text.changed_by or text.source, at=text.changed_at)
        elif key in carried:
            state = t("report.cli.text_carried", round=round_label(carried[key].round_id))
            text = carried[key]
        else:
            print(t("report.cli.text_none", key=key, title=section.title))
            continue
        print(
            t(
                "report.cli.text_line",
                key=key,
                title=section.title,
                state=state,
                chars=len(text.text),
            )
        )
    return 0


async def _import_report(app: App, round_id: str, path: str, replace: bool) -> int:
    """Split a signed report into the round's standing texts; say where each went."""
    placement = place(read_paragraphs(_report_file(path)))
    sections = load_sections()
    async with app.sessions() as db, db.begin():
        source = f"import:{Path(path).name}"
        taken = await store_placement(db, round_id, placement, source=source, replace=replace)
    if taken:
        titles = ", ".join(sections[key].title for key in taken)
        raise ReportArgumentError(t("report.errors.texts_exist", sections=titles))
    print(t("report.cli.imported_into", round=round_label(round_id), path=path))
    for key, found in placement.sections.items():
        if key != UNPLACED:
            print(
                t(
                    "report.cli.imported_section",
                    key=key,
                    title=sections[key].title,
                    count=len(found),
                )
            )
    for paragraph in placement.unplaced:
        print(t("report.cli.unplaced", text=paragraph[:120]))
    print(t("report.cli.left_out", **{k: placement.left_out[k] for k in LEFT_OUT}))
    return 0


def _report_file(path: str) -> Path:
    if not path:
        raise ReportArgumentError(t("report.errors.need_report_file"))
    file = Path(path)
    if not file.is_file():
        raise ReportArgumentError(t("report.errors.no_text_file", path=path))
    if file.suffix.lower() not in (".docx", ".txt", ".md"):
        raise ReportArgumentError(t("report.errors.bad_report_file", path=path))
    return file


def _round_id(raw: str) -> str:
    try:
        return parse_round_id(raw)
    except ParseError as error:
        raise ReportArgumentError(t("report.errors.bad_round", value=raw)) from error


def _section(key: str) -> str:
    sections = load_sections()
    if key not in sections:
        raise ReportArgumentError(
            t("report.errors.bad_section", value=key, choices=", ".join(sections))
        )
    return key


def _read_text(file: str) -> str:
    """The text of a file ("-" for standard input): UTF-8, at most MAX_TEXT_CHARS."""
    if not file:
        raise ReportArgumentError(t("report.errors.need_text_file"))
    try:
        raw = sys.stdin.read() if file == "-" else Path(file).read_text(encoding="utf-8-sig")
    except FileNotFoundError as error:
        raise ReportArgumentError(t("report.errors.no_text_file", path=file)) from error
    except UnicodeDecodeError as error:
        raise ReportArgumentError(t("report.errors.text_not_utf8", path=file)) from error
    if len(raw) > MAX_TEXT_CHARS:
        raise ReportArgumentError(t("report.errors.text_too_long", maximum=MAX_TEXT_CHARS))
    return raw.strip()
