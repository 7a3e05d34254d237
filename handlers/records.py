"""Recording activities: choose a type, answer each field, review, save; list, view,
edit and delete a unit's records. Works on the acting unit only (see handlers.units)."""

from __future__ import annotations

import textwrap
import zlib
from typing import Any

from domain.catalog import t
from domain.entry import Entry, kind_named, read_entries
from domain.forms import Doubt, Field, Form, describe, load_forms
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
    asking = draft.get("editing") or draft.get("todo")
    if draft.get("pos", 0) >= len(_form(draft).fields) and not asking:
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
    await _cancelled(turn)


async def on_confirm_cancel(turn: Turn) -> None:
    if turn.picked() == "yes":
        await _cancelled(turn)
        return
    turn.say("cancel.kept")
    await resume_draft(turn)


async def _cancelled(turn: Turn) -> None:
    turn.state.pop("draft", None)
    turn.say("cancel.done")
    if not await next_queued(turn):
        await menu.show(turn)


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
    key = turn.picked() or kind_named(turn.text)
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


def _new_draft(turn: Turn, kind: str) -> dict[str, Any]:
    turn.state["draft"] = {
        "kind": kind,
        "values": {},
        "pos": 0,
        "unit_id": turn.state["acting_unit"],
    }
    return turn.state["draft"]


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


# --- asking fields ----------------------------------------------------------------------

KEEP = "keep"
KEEP_LABEL = 40  # characters of the current value shown on the "Giữ nguyên" button
KEEP_WORDS = frozenset({"giu nguyen", "giu", "nhu cu", "khong doi", "giu nguyen gia tri"})


def _draft(turn: Turn) -> dict[str, Any]:
    return turn.state["draft"]


def _form(draft: dict[str, Any]) -> Form:
    return load_forms()[draft["kind"]]


def _current_field(draft: dict[str, Any]) -> Field:
    """The field being asked: the one picked on the summary, the next one a filled
    template left to complete, or the next one in order."""
    form = _form(draft)
    key = draft.get("editing") or next(iter(draft.get("todo", ())), None)
    return form.field(key) if key else form.fields[draft["pos"]]


def question_tag(state: dict[str, Any]) -> str:
    """What the person is being asked ("ask:<kind>:<field>", "doubt:…"); "" on screens
    that ask no field."""
    draft = state.get("draft")
    if state.get("screen") not in ("ask", "doubt") or not draft:
        return ""
    return f"{state['screen']}:{draft['kind']}:{_current_field(draft).key}"


def tagged_field(state: dict[str, Any], tag: str) -> Field | None:
    """The field of the current draft that question `tag` asked; None for another draft's
    or a question that is no field."""
    screen, _, rest = tag.partition(":")
    kind, _, key = rest.partition(":")
    draft = state.get("draft")
    if screen not in ("ask", "doubt") or not draft or draft["kind"] != kind:
        return None
    return next((field for field in _form(draft).fields if field.key == key), None)


async def answer_for(turn: Turn, field: Field) -> None:
    """A typed answer to an earlier question (a reply to its message): stored in that
    field, and said so; the current question stays where it is on the screen."""
    draft = _draft(turn)
    form = _form(draft)
    values = form.values_from_json(draft["values"])
    try:
        answer = form.interpret(field.key, turn.text, values, turn.today)
    except ParseError as error:
        turn.say("binding.not_applied", label=field.label, error=describe(error))
        return
    if answer.doubt is not None:
        turn.say("binding.not_applied", label=field.label, error=answer.doubt.question)
        return
    found = form.values_to_json(answer.values)
    draft["values"].update(found)
    shown = form.values_from_json(found)
    turn.say(
        "binding.applied",
        label=field.label,
        value=", ".join(form.field(key).display(value) for key, value in shown.items()),
    )


async def ask_current(turn: Turn, error: str = "") -> None:
    """Ask the draft's current question (after an optional error explanation), showing
    its current value, which an empty answer, "giữ nguyên" or the button keeps."""
    draft = _draft(turn)
    form, field = _form(draft), _current_field(draft)
    if doubt := draft.get("doubts", {}).pop(field.key, None):
        await _ask_doubt(turn, doubt)
        return
    error = error or draft.get("notes", {}).pop(field.key, "")
    values = form.values_from_json(draft["values"])
    choices, numbered = field.offered_choices(turn.today), True
    if field.key in values:
        shown = textwrap.shorten(field.display(values[field.key]), KEEP_LABEL, placeholder="…")
        keep = (KEEP, t("record.keep_value_button", value=shown))
        choices, numbered = (choices + [keep], True) if choices else ([keep], False)
    suggested = form.suggested_status(field.key, values, turn.today) if field.dated_by else None
    turn.go("ask")
    turn.say(
        "record.question",
        choices=choices,
        numbered=numbered,
        error=error,
        form=form.label,
        step=form.fields.index(field) + 1,
        steps=len(form.fields),
        remaining=len(draft.get("todo", ())),
        question=field.question,
        example=field.example_for(turn.today),
        optional=field.optional,
        current=field.display(values[field.key]) if field.key in values else "",
        suggested=field.choice_label(suggested) if suggested else "",
        can_go_back=not draft.get("editing") and not draft.get("todo"),
    )


async def on_answer(turn: Turn) -> None:
    draft = _draft(turn)
    form, field = _form(draft), _current_field(draft)
    values = form.values_from_json(draft["values"])
    if turn.wants_back:
        await _go_back(turn)
        return
    if field.key in values and _wants_keep(turn):
        await _advance(turn, set())
        return
    if draft.get("todo") and (entry := _continued_template(turn, draft)) is not None:
        await fill_from_entry(turn, entry, draft)
        return
    if turn.wants_skip:
        if not field.optional:
            await ask_current(turn, error=t("errors.required", label=field.label))
            return
        await _store(turn, {field.key: None})
        return
    try:
        answer = form.interpret(field.key, _raw_answer(turn), values, turn.today)
    except ParseError as error:
        await ask_current(turn, error=describe(error))
        return
    if answer.doubt is not None:
        await _ask_doubt(turn, _doubt_json(form, answer.doubt))
        return
    await _store(turn, form.values_to_json(answer.values))


def _wants_keep(turn: Turn) -> bool:
    """The button "Giữ nguyên" (pressed, or its number or label typed), "giữ nguyên" typed,
    or an empty answer."""
    if turn.picked() == KEEP:
        return True
    typed = turn.incoming.choice is None
    return typed and (not turn.text or fold(turn.text).strip(".!") in KEEP_WORDS)


def _raw_answer(turn: Turn) -> str:
    """The text to read: a pressed or typed choice's key, or what was typed."""
    key = turn.picked()
    if key is not None:
        return key
    if turn.incoming.choice is not None:  # a stale button from an earlier question
        raise ParseError("stale_choice")
    return turn.text


def _doubt_json(form: Form, doubt: Doubt) -> dict[str, Any]:
    options = [[label, form.values_to_json(values)] for label, values in doubt.options]
    return {"question": doubt.question, "options": options}


async def _ask_doubt(turn: Turn, doubt: dict[str, Any]) -> None:
    """Ask about a value before storing it; each option stores its values."""
    # Keys name this question, so a button of an older question is refused, not applied.
    tag = zlib.crc32(doubt["question"].encode()) & 0xFFFF
    options = [(f"opt:{tag}:{i}", label) for i, (label, _) in enumerate(doubt["options"])]
    turn.go("doubt", doubt=doubt)
    turn.say(
        "record.doubt",
        choices=[*options, ("retry", t("doubts.retry"))],
        question=doubt["question"],
    )


async def on_doubt(turn: Turn) -> None:
    key = turn.picked() or ""
    if key == "retry":
        await ask_current(turn)
    elif key.startswith("opt:"):
        _, values = turn.state["doubt"]["options"][int(key.rsplit(":", 1)[1])]
        await _store(turn, values)
    else:  # typed another answer to the same question
        await on_answer(turn)


async def _store(turn: Turn, found: dict[str, Any]) -> None:
    """Keep the values of an answer (JSON; None removes a value) and move on."""
    values = _draft(turn)["values"]
    for key, value in found.items():
        if value is None:
            values.pop(key, None)
        else:
            values[key] = value
    await _advance(turn, set(found))


async def _go_back(turn: Turn) -> None:
    draft = _draft(turn)
    if draft.get("editing") or draft.get("todo"):
        await show_summary(turn)
    elif draft["pos"] == 0:  # back to the types; the draft stays, offered to resume
        await start_new(turn)
    else:
        draft["pos"] -= 1
        await ask_current(turn)


async def _advance(turn: Turn, changed: set[str]) -> None:
    """The next question after the current field's answer (which may have filled others:
    a date range fills both dates), or the summary."""
    draft = _draft(turn)
    fields = _form(draft).fields
    changed = changed | {_current_field(draft).key}
    if draft.pop("editing", None):
        await show_summary(turn)
        return
    if "todo" in draft:
        draft["todo"] = [key for key in draft["todo"] if key not in changed]
        await (ask_current(turn) if draft["todo"] else show_summary(turn))
        return
    pos = draft["pos"] + 1
    while pos < len(fields) and fields[pos].key in changed:
        pos += 1
    draft["pos"] = pos
    await (ask_current(turn) if pos < len(fields) else show_summary(turn))


# --- filled templates (one-message entry) -----------------------------------------------


def _continued_template(turn: Turn, draft: dict[str, Any]) -> Entry | None:
    """More lines of the template being completed (a long one comes in two messages)."""
    if turn.incoming.choice is not None or "\n" not in turn.text.strip():
        return None
    entries = read_entries(turn.text, draft["kind"])
    found = entries[0] if len(entries) == 1 and entries[0].kind == draft["kind"] else None
    return found if found is not None and found.raws else None


async def fill_from_entry(turn: Turn, entry: Entry, draft: dict[str, Any] | None = None) -> None:
    """Read a filled template into a draft (a new one, or `draft` when the template came
    in parts), then ask what is missing or wrong one question at a time, then the summary."""
    form = load_forms()[entry.kind]
    if draft is None:
        draft = _new_draft(turn, form.key)
        draft.update(pos=len(form.fields), todo=[], notes={}, doubts={})
    values = form.values_from_json(draft["values"])
    problems: set[str] = set(draft["todo"])
    for spec in form.fields:
        raw = entry.raws.get(spec.key, "").strip()
        if not raw:
            continue
        problems.discard(spec.key)
        draft["notes"].pop(spec.key, None)
        draft["doubts"].pop(spec.key, None)
        try:
            answer = form.interpret(spec.key, raw, values, turn.today)
        except ParseError as error:
            draft["notes"][spec.key] = describe(error)
            problems.add(spec.key)
            continue
        if answer.doubt is not None:
            draft["doubts"][spec.key] = _doubt_json(form, answer.doubt)
            problems.add(spec.key)
            continue
        values = {k: v for k, v in {**values, **answer.values}.items() if v is not None}
    draft["values"] = form.values_to_json(values)
    problems |= {f.key for f in form.fields if not f.optional and f.key not in values}
    draft["todo"] = [f.key for f in form.fields if f.key in problems]
    turn.say(
        "entry.read",
        form=form.label,
        found=len(values),
        steps=len(form.fields),
        todo=len(draft["todo"]),
        unknown=entry.unknown,
    )
    await (ask_current(turn) if draft["todo"] else show_summary(turn))


async def next_queued(turn: Turn) -> bool:
    """Start the next filled template waiting in the queue; False when there is none."""
    queue = turn.state.get("queue") or []
    if not queue:
        turn.state.pop("queue", None)
        return False
    entry = Entry.from_json(queue.pop(0))
    turn.say("entry.next", form=load_forms()[entry.kind].label, left=len(queue))
    await fill_from_entry(turn, entry)
    return True


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
    if turn.state.get("queue"):
        turn.say(key, record_id=record.id, form=form.label)
        await next_queued(turn)
        return
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
    """The record if it is live and belongs to the acting unit; else None, after the same
    answer whether the number is another unit's or nobody's (which records exist elsewhere
    is not for a focal point to learn)."""
    record = await repo.live_record(turn.db, record_id)
    if record is None or record.unit_id != turn.state.get("acting_unit"):
        turn.say(
            "records.not_found",
            record_id=record_id,
            unit=turn.state.get("acting_unit_name", ""),
            coordinator=turn.is_coordinator,
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
