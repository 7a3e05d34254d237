"""Coordinators: choosing the unit they act for, creating invites, adding units."""

from __future__ import annotations

from datetime import timedelta

from domain.catalog import t
from domain.forms import describe
from domain.parsing import ParseError, parse_text
from handlers import menu, quick, records
from handlers.turn import Turn
from storage import repo
from storage.models import Unit

ROLES = ("focal_point", "coordinator")


def set_acting_unit(turn: Turn, unit_id: int, name: str) -> None:
    turn.state["acting_unit"] = unit_id
    turn.state["acting_unit_name"] = name


async def ask_unit(turn: Turn, purpose: str, page: int = 0, query: str = "") -> None:
    """A paged unit picker; typing part of a name narrows it. `purpose` says what follows."""
    units = await (repo.find_units(turn.db, query) if query else repo.list_units(turn.db))
    size = turn.settings.page_size
    shown = units[page * size : (page + 1) * size]
    options = [(f"unit:{u.id}", u.name) for u in shown]
    if (page + 1) * size < len(units):
        options.append(("next", t("records.next_page")))
    if page > 0:
        options.append(("prev", t("records.prev_page")))
    options.append(("menu", t("menu.title")))
    turn.go("pick_unit", purpose=purpose, page=page, query=query)
    turn.say("units.pick", choices=options, total=len(units), query=query)


async def on_pick_unit(turn: Turn) -> None:
    key = turn.picked()
    purpose, page, query = turn.state["purpose"], turn.state["page"], turn.state["query"]
    if key == "next":
        await ask_unit(turn, purpose, page + 1, query)
    elif key == "prev":
        await ask_unit(turn, purpose, max(page - 1, 0), query)
    elif key and key.startswith("unit:"):
        await _unit_chosen(turn, purpose, int(key.removeprefix("unit:")))
    else:
        found = await repo.find_units(turn.db, turn.text)
        if len(found) == 1:
            await _unit_chosen(turn, purpose, found[0].id)
        elif found:
            await ask_unit(turn, purpose, 0, turn.text)
        else:
            turn.say("units.not_found", query=turn.text)
            await ask_unit(turn, purpose, 0, "")


async def _unit_chosen(turn: Turn, purpose: str, unit_id: int) -> None:
    unit = await turn.db.get(Unit, unit_id)
    if unit is None or not unit.active:
        turn.say("units.not_found", query=str(unit_id))
        await ask_unit(turn, purpose)
        return
    if purpose == "invite":
        await _issue_invite(turn, "focal_point", unit.id, unit.name)
        return
    set_acting_unit(turn, unit.id, unit.name)
    turn.say("units.chosen", unit=unit.name)
    if purpose == "new":
        await records.start_new(turn)
    elif purpose == "quick":
        await quick.start(turn)
    elif purpose == "mine":
        await records.show_list(turn)
    else:
        await menu.show(turn)


async def start_invite(turn: Turn) -> None:
    turn.go("invite_role")
    turn.say(
        "invite.pick_role",
        choices=[(role, t(f"roles.{role}")) for role in ROLES],
    )


async def on_invite_role(turn: Turn) -> None:
    role = turn.picked()
    if role == "focal_point":
        await ask_unit(turn, "invite")
    elif role == "coordinator":
        await _issue_invite(turn, "coordinator", None, turn.settings.department_name)
    else:
        turn.say("invite.pick_role_again", choices=turn.state["choices"])


async def _issue_invite(turn: Turn, role: str, unit_id: int | None, unit_name: str) -> None:
    ttl = timedelta(days=turn.settings.invite_ttl_days)
    code = await repo.create_invite(
        turn.db, role=role, unit_id=unit_id, ttl=ttl, created_by=turn.person.member_id
    )
    await repo.audit(
        turn.db, member_id=turn.person.member_id, action="invite", entity="unit",
        entity_id=unit_id, details={"role": role},
    )  # fmt: skip
    turn.say(
        "invite.created",
        code=code,
        role=t(f"roles.{role}"),
        unit=unit_name,
        days=turn.settings.invite_ttl_days,
    )
    await menu.show(turn)


async def add_unit(turn: Turn, argument: str) -> None:
    """/themdonvi TÊN: a coordinator adds a unit."""
    try:
        name = parse_text(argument, 200)
    except ParseError as error:
        turn.say("units.add_usage" if error.code == "empty" else "units.add_error",
                 detail=describe(error))  # fmt: skip
        return
    if await repo.unit_by_name(turn.db, name) is not None:
        turn.say("units.exists", unit=name)
        return
    unit = await repo.add_unit(turn.db, name)
    await repo.audit(
        turn.db, member_id=turn.person.member_id, action="create", entity="unit",
        entity_id=unit.id, details={"name": name},
    )  # fmt: skip
    turn.say("units.added", unit=name)


async def link_messenger(turn: Turn) -> None:
    """/lienket: a code that registers this same person on another messenger."""
    ttl = timedelta(days=turn.settings.invite_ttl_days)
    code = await repo.create_invite(
        turn.db,
        role=turn.person.role,
        unit_id=turn.person.unit_id,
        ttl=ttl,
        created_by=turn.person.member_id,
        member_id=turn.person.member_id,
    )
    turn.say("invite.link_code", code=code, days=turn.settings.invite_ttl_days)
