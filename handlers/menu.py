"""The main menu and help."""

from __future__ import annotations

from domain.catalog import t
from domain.forms import load_forms
from handlers.turn import Turn


def menu_choices(turn: Turn) -> list[tuple[str, str]]:
    options = []
    if draft := turn.state.get("draft"):
        options.append(("resume", t("menu.resume", form=load_forms()[draft["kind"]].label)))
    options += [
        ("new", t("menu.new")),
        ("quick", t("menu.quick")),
        ("mine", t("menu.mine")),
        ("confirm", t("menu.confirm")),
    ]
    if turn.is_coordinator:
        options += [
            ("report", t("menu.report")),
            ("progress", t("menu.progress")),
            ("adhoc", t("menu.adhoc")),
            ("unit", t("menu.pick_unit")),
            ("invite", t("menu.invite")),
        ]
    options.append(("help", t("menu.help")))
    return options


async def show(turn: Turn) -> None:
    turn.go("menu")
    turn.say(
        "menu.prompt",
        choices=menu_choices(turn),
        name=turn.person.name,
        unit=turn.state.get("acting_unit_name", ""),
        coordinator=turn.is_coordinator,
    )


async def show_help(turn: Turn) -> None:
    turn.say("help.text", coordinator=turn.is_coordinator)
    await show(turn)
