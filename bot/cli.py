"""The `doingoai` command: run the bot, chat in the terminal, manage data."""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Awaitable, Callable
from datetime import date, datetime, timedelta
from pathlib import Path

from pydantic import ValidationError
from sqlalchemy.exc import SQLAlchemyError

from bot import cli_rounds, logs
from bot.app import App, demo_invites, open_app
from bot.console import chat
from bot.doctor import run_doctor
from bot.report_cli import add_report_parser, run_report
from domain.catalog import t
from domain.parsing import ParseError, parse_date
from domain.settings import Settings, settings_problems
from storage import backup, repo
from storage import db as database
from storage.copy import TargetNotEmpty, copy_database
from storage.health import StorageProblem, classify
from storage.transfer import export_records, import_records
from storage.units_file import import_units


def _date_arg(text: str) -> date:
    try:
        return parse_date(text, date.today())
    except ParseError as error:
        raise argparse.ArgumentTypeError(t("cli.bad_date", value=text)) from error


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="doingoai", description=t("cli.description"))
    commands = parser.add_subparsers(dest="command", required=True)

    commands.add_parser("run", help=t("cli.run"))
    commands.add_parser("doctor", help=t("cli.doctor"))
    chat_cmd = commands.add_parser("chat", help=t("cli.chat"))
    chat_cmd.add_argument("--as", dest="user", default="demo", help=t("cli.chat_as"))

    db_cmd = commands.add_parser("db", help=t("cli.db"))
    db_cmd.add_argument("action", choices=["upgrade", "copy"])
    db_cmd.add_argument("--to", dest="target", default="", help=t("cli.db_copy_to"))

    invite = commands.add_parser("invite", help=t("cli.invite"))
    invite.add_argument("--unit", default="", help=t("cli.invite_unit"))
    invite.add_argument("--role", choices=["focal_point", "coordinator"], required=True)

    units = commands.add_parser("units", help=t("cli.units"))
    units.add_argument("action", choices=["list", "import"])
    units.add_argument("file", nargs="?", type=Path)

    export = commands.add_parser("export", help=t("cli.export"))
    export.add_argument("--format", choices=["csv", "xlsx"], default="xlsx")
    export.add_argument("--from", dest="start", type=_date_arg)
    export.add_argument("--to", dest="end", type=_date_arg)
    export.add_argument("--out", type=Path, required=True)

    backup_cmd = commands.add_parser("backup", help=t("cli.backup"))
    backup_cmd.add_argument("--out", type=Path, required=True)
    restore_cmd = commands.add_parser("restore", help=t("cli.restore"))
    restore_cmd.add_argument("file", type=Path)
    restore_cmd.add_argument("--force", action="store_true", help=t("cli.restore_force"))

    importer = commands.add_parser("import", help=t("cli.import"))
    importer.add_argument("path", type=Path)
    importer.add_argument("--create-units", action="store_true")
    cli_rounds.add_parsers(commands, _date_arg)
    add_report_parser(commands)
    return parser


async def _run(app: App, args: argparse.Namespace) -> int:
    """The bot on its messengers; with no token, the terminal chat with demo units and the
    web workspace beside it."""
    from bot.runtime import serve, start_demo_web

    if app.settings.telegram_bot_token or app.settings.zalo_bot_token:
        return await serve(app)
    web_runner = await start_demo_web(app)
    try:
        return await _chat(app, argparse.Namespace(user="demo"))
    finally:
        if web_runner is not None:
            await web_runner.cleanup()


async def _chat(app: App, args: argparse.Namespace) -> int:
    async with app.sessions() as db:
        registered = await repo.person_by_identity(db, "console", args.user)
    if registered is not None:
        print(t("cli.welcome_back", name=registered.name), flush=True)
    else:
        codes = await demo_invites(app)
        if codes is None:
            print(t("cli.not_registered_hint"), flush=True)
        else:
            banner = t("cli.demo_banner", unit=app.settings.demo_focal_unit, codes=codes)
            print(banner, flush=True)
    await chat(app.engine, args.user, resume=registered is not None)
    return 0


async def _db(app: App, args: argparse.Namespace) -> int:
    if args.action == "upgrade":
        print(t("cli.db_done"))  # open_app has already applied the migrations
        return 0
    if not args.target:
        print(t("cli.db_copy_need_target"), file=sys.stderr)
        return 2
    target = database.create_engine(args.target)
    try:
        await database.upgrade(target)
        counts = await copy_database(app.db_engine, target)
    except TargetNotEmpty as error:
        print(t("cli.db_copy_not_empty", tables=", ".join(error.tables)), file=sys.stderr)
        return 2
    finally:
        await target.dispose()
    for count in counts:
        print(t("cli.db_copy_line", table=count.table, source=count.source, target=count.target,
                ok=count.matches))  # fmt: skip
    if not all(count.matches for count in counts):
        print(t("cli.db_copy_mismatch"), file=sys.stderr)
        return 1
    print(t("cli.db_copy_done", rows=sum(c.target for c in counts)))
    return 0


async def _invite(app: App, args: argparse.Namespace) -> int:
    async with app.sessions() as db, db.begin():
        unit = await repo.unit_by_name(db, args.unit) if args.unit else None
        if args.role == "focal_point" and unit is None:
            print(t("cli.unknown_unit", unit=args.unit), file=sys.stderr)
            return 2
        ttl = timedelta(days=app.settings.invite_ttl_days)
        code = await repo.create_invite(
            db, role=args.role, unit_id=unit.id if unit else None, ttl=ttl
        )
    print(code)
    return 0


async def _units(app: App, args: argparse.Namespace) -> int:
    async with app.sessions() as db, db.begin():
        if args.action == "import":
            if args.file is None or not args.file.exists():
                print(t("cli.units_file_missing"), file=sys.stderr)
                return 2
            added, present = await import_units(db, args.file)
            print(t("cli.units_imported", added=added, present=present))
            return 0
        for unit in await repo.list_units(db):
            print(f"{unit.code}\t{unit.name}\t{unit.group}")
    return 0


async def _export(app: App, args: argparse.Namespace) -> int:
    async with app.sessions() as db:
        count = await export_records(db, args.out, args.format, args.start, args.end)
    print(t("cli.exported", count=count, path=args.out))
    return 0


async def _import(app: App, args: argparse.Namespace) -> int:
    if not args.path.exists():
        print(t("cli.no_file", path=args.path), file=sys.stderr)
        return 2
    today = datetime.now(app.settings.tz).date()
    async with app.sessions() as db, db.begin():
        result = await import_records(db, args.path, today, args.create_units)
        if result.errors:
            await db.rollback()
    if result.errors:
        print(t("cli.import_failed", count=len(result.errors)), file=sys.stderr)
        for line in result.errors:
            print(f"  {line}", file=sys.stderr)
        return 1
    for line in result.skipped:
        print(f"  {line}")
    print(
        t(
            "cli.imported",
            count=result.imported,
            units=result.created_units,
            skipped=len(result.skipped),
        )
    )
    return 0


def _sqlite_file(settings: Settings) -> Path | None:
    """The SQLite file to back up or restore; None (after saying why) for PostgreSQL."""
    path = database.sqlite_file(settings.resolved_database_url)
    if path is None:
        print(t("backup.postgresql"), file=sys.stderr)
    return path


async def _backup(settings: Settings, args: argparse.Namespace) -> int:
    if (path := _sqlite_file(settings)) is None:
        return 2
    copy = await asyncio.to_thread(backup.backup, path, args.out)
    print(t("backup.done", copy=copy))
    return 0


async def _restore(settings: Settings, args: argparse.Namespace) -> int:
    if (path := _sqlite_file(settings)) is None:
        return 2
    copy = await asyncio.to_thread(backup.restore, args.file, path, args.force)
    print(t("backup.restored", copy=copy, source=args.file))
    return 0


# Commands that work on the store as it is: no migration, no start-up checks (a restore
# is what replaces a database that fails them).
OFFLINE: dict[str, Callable[[Settings, argparse.Namespace], Awaitable[int]]] = {
    "backup": _backup,
    "restore": _restore,
}

COMMANDS: dict[str, Callable[[App, argparse.Namespace], Awaitable[int]]] = {
    "run": _run,
    "chat": _chat,
    "db": _db,
    "invite": _invite,
    "units": _units,
    "export": _export,
    "import": _import,
    "round": cli_rounds.run_round,
    "status": cli_rounds.run_status,
    "remind": cli_rounds.run_remind,
    "report": run_report,
}


async def _main(args: argparse.Namespace) -> int:
    try:
        settings = Settings()
    except ValidationError as error:  # e.g. DOINGOAI_INVITE_TTL_DAYS=-1
        print(t("cli.bad_settings"), file=sys.stderr)
        for line in settings_problems(error):
            print(f"  {line}", file=sys.stderr)
        return 2
    logs.configure(settings)
    if args.command == "doctor":  # checks the database as it is: no migration, no units
        return await run_doctor(settings)
    try:
        if args.command in OFFLINE:
            return await OFFLINE[args.command](settings, args)
        app = await open_app(settings)
        try:
            return await COMMANDS[args.command](app, args)
        finally:
            await app.close()
    except SQLAlchemyError as error:  # a storage error: one line, never a traceback
        problem = classify(error)
        print(t(problem.key, **problem.params), file=sys.stderr)
        return 1
    except StorageProblem as problem:
        print(t(problem.key, **problem.params), file=sys.stderr)
        return 1


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return asyncio.run(_main(args))
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
