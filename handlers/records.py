"""Recording activities: choose a type, answer each field, review, save; list, view,
edit and delete a unit's records. Works on the acting unit only (see handlers.units)."""

from __future__ import annotations

from typing import Any

from domain.catalog import t
from domain.forms import Field, Form, load_forms
from domain.parsing import ParseError, fold
from handlers import menu
from handlers.rounds import open_rounds, round_choices
from handlers.turn import Turn, whole_number
from storage import records as records_store
from storage import repo
from storage.models import Record


async def resume_draft(turn: Turn) -> None:
    """Back to where the draft was: its current question, or its summary."""
    draft = _draft(turn)
    if draft.get("pos", 0) >= len(_form(draft).fields) and not draft.get("editing"):
        await show_summary(turn)
    else:
        await ask_current(turn)


async def ask_cancel(turn: Turn) -> None:
    """/huy: drop the draft, asking first when it holds answers."""
    draft = turn.state.get("draft")
    if draft and draft.get("values"):
        turn.go("confirm_cancel")
        turn.say(
            "cancel.confirm",
            choices=[("yes", t("cancel.yes")), ("no", t("cancel.no"))],
            count=len(draft["values"]),
            record_id=draft.get("record_id"),
        )
        return
    turn.state.pop("draft", None)
    turn.say("cancel.done")
    await menu.show(turn)


async def on_confirm_cancel(turn: Turn) -> None:
    if turn.picked() == "yes":
        turn.state.pop("draft", None)
        turn.say("cancel.done")
        await menu.show(turn)
        return
    turn.say("cancel.kept")
    await resume_draft(turn)


# --- choosing a type --------------------------------------------------------------------


async def start_new(turn: Turn) -> None:
    """Offer the activity types, and (last, so numbers stay put) the draft in progress."""
    turn.go("pick_type")
    options = [(key, form.label) for key, form in load_forms().items()]
    draft = turn.state.get("draft")
    if draft:
        options.append(("resume", t("menu.resume", form=load_forms()[draft["kind"]].label)))
    turn.say("record.pick_type", choices=options, has_draft=bool(draft))


async def on_pick_type(turn: Turn) -> None:
    key = turn.picked() or _type_by_words(turn.text)
    if key is None:
        turn.say("record.pick_type_again", choices=turn.state["choices"], count=len(load_forms()))
        return
    draft = turn.state.get("draft")
    if draft and draft["kind"] == key and not draft.get("record_id"):
        await resume_draft(turn)
    elif draft and draft.get("values"):
        await _ask_replace(turn, {"kind": key})
    else:
        _new_draft(turn, key)
        await ask_current(turn)


def _new_draft(turn: Turn, kind: str) -> None:
    turn.state["draft"] = {
        "kind": kind,
        "values": {},
        "pos": 0,
        "unit_id": turn.state["acting_unit"],
    }


async def _ask_replace(turn: Turn, instead: dict[str, Any]) -> None:
    """A draft with answers is never replaced without asking."""
    draft = _draft(turn)
    turn.go("confirm_replace", instead=instead)
    turn.say(
        "record.confirm_replace",
        choices=[("replace", t("record.replace_button")), ("resume", t("record.keep_button"))],
        form=load_forms()[draft["kind"]].label,
        count=len(draft["values"]),
        record_id=draft.get("record_id"),
    )


async def on_confirm_replace(turn: Turn) -> None:
    if turn.picked() != "replace":
        turn.say("record.keep_or_replace", choices=turn.state["choices"])
        return
    instead = turn.state["instead"]
    turn.state.pop("draft")
    if "record_id" in instead:
        await start_edit(turn, instead["record_id"])
    else:
        _new_draft(turn, instead["kind"])
        await ask_current(turn)


def _type_by_words(text: str) -> str | None:
    wanted = fold(text)
    matches = [k for k, f in load_forms().items() if wanted and wanted in fold(f.label)]
    return matches[0] if len(matches) == 1 else None


# --- asking fields ----------------------------------------------------------------------


def _draft(turn: Turn) -> dict[str, Any]:
    return turn.state["draft"]


def _form(draft: dict[str, Any]) -> Form:
    return load_forms()[draft["kind"]]


def _current_field(draft: dict[str, Any]) -> Field:
    form = _form(draft)
    return form.field(draft["editing"]) if draft.get("editing") else form.fields[draft["pos"]]


async def ask_current(turn: Turn, error: str = "") -> None:
    """Ask the draft's current question (after an optional error explanation)."""
    draft = _draft(turn)
    form, field = _form(draft), _current_field(draft)
    values = form.values_from_json(draft["values"])
    turn.go("ask")
    turn.say(
        "record.question",
        choices=field.offered_choices(turn.today),
        error=error,
        form=form.label,
        step=form.fields.index(field) + 1,
        steps=len(form.fields),
        question=field.question,
        example=field.example,
        optional=field.optional,
        current=field.display(values[field.key]) if field.key in values else "",
        can_go_back=not draft.get("editing"),
    )


async def on_answer(turn: Turn) -> None:
    draft = _draft(turn)
    form, field = _form(draft), _current_field(draft)
    if turn.wants_back:
        await _go_back(turn)
        return
    if turn.wants_skip:
        if not field.optional:
            await ask_current(turn, error=t("errors.required", label=field.label))
            return
        draft["values"].pop(field.key, None)
        await _advance(turn)
        return
    try:
        value = _value_from_input(turn, field)
        values = form.values_from_json(draft["values"]) | {field.key: value}
        form.check_rules(values, field.key)
    except ParseError as error:
        await ask_current(turn, error=field.explain(error))
        return
    draft["values"][field.key] = field.to_json(value)
    await _advance(turn)


def _value_from_input(turn: Turn, field: Field) -> Any:
    key = turn.picked()
    if key is not None and field.type == "yesno":
        return key == "co"
    if key is not None:
        return key
    if turn.incoming.choice is not None:  # a stale button from an earlier question
        raise ParseError("stale_choice")
    return field.parse(turn.text, turn.today)


async def _go_back(turn: Turn) -> None:
    draft = _draft(turn)
    if draft.get("editing"):
        await show_summary(turn)
    elif draft["pos"] == 0:  # back to the types; the draft stays, offered to resume
        await start_new(turn)
    else:
        draft["pos"] -= 1
        await ask_current(turn)


async def _advance(turn: Turn) -> None:
    draft = _draft(turn)
    if draft.get("editing") or draft["pos"] + 1 >= len(_form(draft).fields):
        draft.pop("editing", None)
        draft["pos"] = len(_form(draft).fields)
        await show_summary(turn)
    else:
        draft["pos"] += 1
        await ask_current(turn)


# --- summary, editing, saving -----------------------------------------------------------


def summary_lines(form: Form, values: dict[str, Any]) -> list[dict[str, str]]:
    return [{"label": f.label, "value": f.display(values.get(f.key))} for f in form.fields]


async def show_summary(turn: Turn) -> None:
    draft = _draft(turn)
    form = _form(draft)
    values = form.values_from_json(draft["values"])
    options = [("save", t("record.save_button"))]
    options += [
        (f"edit:{f.key}", t("record.edit_field_button", label=f.label)) for f in form.fields
    ]
    options.append(("cancel", t("record.cancel_button")))
    turn.go("summary")
    turn.say(
        "record.summary",
        choices=options,
        form=form.label,
        lines=summary_lines(form, values),
        record_id=draft.get("record_id"),
    )


async def on_summary(turn: Turn) -> None:
    key = turn.picked()
    draft = _draft(turn)
    if key == "save":
        await _save(turn)
    elif key == "cancel":
        await ask_cancel(turn)
    elif key and key.startswith("edit:"):
        draft["editing"] = key.removeprefix("edit:")
        await ask_current(turn)
    else:
        turn.say("record.summary_again", choices=turn.state["choices"])


async def _save(turn: Turn) -> None:
    draft = _draft(turn)
    form = _form(draft)
    values = form.values_from_json(draft["values"])
    missing = [f.label for f in form.fields if not f.optional and f.key not in values]
    if missing:
        turn.say("record.missing", choices=turn.state["choices"], labels=missing)
        return
    member_id = turn.person.member_id
    if draft.get("record_id"):
        try:
            record = await records_store.update(
                turn.db, form, values, record_id=draft["record_id"], version=draft["version"],
                member_id=member_id, source="chat",
            )  # fmt: skip
        except records_store.StaleRecord:
            turn.state.pop("draft")
            turn.say("record.changed_elsewhere", record_id=draft["record_id"])
            await menu.show(turn)
            return
        key = "record.updated"
    else:
        record = await records_store.create(
            turn.db, form, values, unit_id=draft["unit_id"], member_id=member_id, source="chat"
        )
        key = "record.saved"
    turn.state.pop("draft")
    options = [("new", t("menu.new_another"))]
    options += round_choices(await open_rounds(turn), "xong", "rounds.confirm_choice")
    options.append(("menu", t("menu.back_to_menu")))
    turn.go("choose")
    turn.say(key, choices=options, record_id=record.id, form=form.label)


# --- the unit's records -----------------------------------------------------------------


async def show_list(turn: Turn, page: int = 0) -> None:
    size = turn.settings.page_size
    records, total = await repo.unit_records(
        turn.db, turn.state["acting_unit"], offset=page * size, limit=size
    )
    if total == 0:
        turn.go("records", page=0)
        turn.say("records.empty", choices=[("new", t("menu.new")), ("menu", t("menu.title"))])
        return
    options = [(f"rec:{r.id}", _list_label(r)) for r in records]
    if (page + 1) * size < total:
        options.append(("next", t("records.next_page")))
    if page > 0:
        options.append(("prev", t("records.prev_page")))
    options.append(("menu", t("menu.title")))
    turn.go("records", page=page)
    turn.say(
        "records.page",
        choices=options,
        numbered=False,
        total=total,
        first=page * size + 1,
        last=page * size + len(records),
        items=[_list_item(r) for r in records],
    )


def _list_item(record: Record) -> dict[str, Any]:
    form = load_forms()[record.kind]
    values = form.values_from_json(record.values)
    when = form.event_date(values)
    return {
        "id": record.id,
        "type": form.label,
        "date": form.field(form.date_field).display(when) if when else "",
        "round": form.field(form.round_field).display(values.get(form.round_field))
        if form.round_field
        else "",
        "title": form.title(values),
    }


def _list_label(record: Record) -> str:
    item = _list_item(record)
    return t("records.button", **item)


async def on_records(turn: Turn) -> None:
    key = turn.picked()
    page = turn.state.get("page", 0)
    if key == "next":
        await show_list(turn, page + 1)
    elif key == "prev":
        await show_list(turn, max(page - 1, 0))
    elif key and key.startswith("rec:"):
        await show_record(turn, int(key.removeprefix("rec:")))
    elif (record_id := whole_number(turn.text)) is not None:
        await show_record(turn, record_id)
    else:
        turn.say("records.again", choices=turn.state["choices"])


async def own_record(turn: Turn, record_id: int) -> Record | None:
    """The record if it is live and belongs to the acting unit; else says why and None."""
    record = await repo.live_record(turn.db, record_id)
    if record is None:
        turn.say("records.not_found", record_id=record_id)
        return None
    if record.unit_id != turn.state.get("acting_unit"):
        turn.say(
            "records.not_yours", record_id=record_id, unit=turn.state.get("acting_unit_name", "")
        )
        return None
    return record


async def show_record(turn: Turn, record_id: int) -> None:
    record = await own_record(turn, record_id)
    if record is None:
        await menu.show(turn)
        return
    form = load_forms()[record.kind]
    options = [
        ("edit", t("records.edit_button")),
        ("delete", t("records.delete_button")),
        ("list", t("records.back_to_list")),
        ("menu", t("menu.title")),
    ]
    turn.go("record", record_id=record.id)
    turn.say(
        "records.detail",
        choices=options,
        record_id=record.id,
        form=form.label,
        lines=summary_lines(form, form.values_from_json(record.values)),
        version=record.version,
    )


async def on_record(turn: Turn) -> None:
    key = turn.picked()
    record_id = turn.state["record_id"]
    if key == "edit":
        await start_edit(turn, record_id)
    elif key == "delete":
        turn.go("confirm_delete", record_id=record_id)
        turn.say(
            "records.confirm_delete",
            choices=[("yes", t("records.delete_yes")), ("no", t("common.no"))],
            record_id=record_id,
        )
    elif key == "list":
        await show_list(turn)
    else:
        turn.say("records.again", choices=turn.state["choices"])


async def start_edit(turn: Turn, record_id: int) -> None:
    record = await own_record(turn, record_id)
    if record is None:
        await menu.show(turn)
        return
    draft = turn.state.get("draft")
    if draft and draft.get("values") and draft.get("record_id") != record_id:
        await _ask_replace(turn, {"record_id": record_id})
        return
    turn.state["draft"] = {
        "kind": record.kind,
        "values": dict(record.values),
        "pos": len(load_forms()[record.kind].fields),
        "record_id": record.id,
        "version": record.version,
        "unit_id": record.unit_id,
    }
    await show_summary(turn)


async def on_confirm_delete(turn: Turn) -> None:
    record_id = turn.state["record_id"]
    if turn.picked() != "yes":
        turn.say("records.delete_kept", record_id=record_id)
        await show_record(turn, record_id)
        return
    record = await own_record(turn, record_id)
    if record is not None:
        await records_store.delete(turn.db, record, member_id=turn.person.member_id, source="chat")
        turn.say("records.deleted", record_id=record_id)
    await show_list(turn)
