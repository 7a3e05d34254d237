"""/nhanh, one-message entry: the bot sends the fill-in template of a type; the person
fills it and sends it back in one message. Every line is read like an answer typed
alone; what is missing or wrong is then asked one question at a time (handlers.records).
Several filled templates in one message become drafts reviewed in turn."""

from __future__ import annotations

from domain.entry import kind_named, read_entries, template
from domain.forms import load_forms
from handlers import records
from handlers.turn import Turn


async def start(turn: Turn, argument: str = "") -> None:
    """/nhanh [loại]: the template of the type named, or the types to choose from."""
    kind = kind_named(argument) if argument else None
    if kind is not None:
        await send_template(turn, kind)
        return
    turn.go("quick_pick")
    turn.say("entry.pick", choices=[(key, form.label) for key, form in load_forms().items()])


async def on_pick(turn: Turn) -> None:
    kind = turn.picked() or kind_named(turn.text)
    if kind is None:
        turn.say("record.pick_type_again", choices=turn.state["choices"], count=len(load_forms()))
        return
    await send_template(turn, kind)


async def send_template(turn: Turn, kind: str) -> None:
    """The instructions, then the template alone in its own message, easy to copy."""
    form = load_forms()[kind]
    turn.go("quick", kind=kind)
    turn.say("entry.how", form=form.label)
    turn.say("entry.template", template=template(form))


async def on_template(turn: Turn) -> None:
    """What came back after a template was sent: it is read as that type."""
    await receive(turn, turn.state.get("kind"))


async def receive(turn: Turn, default_kind: str | None = None) -> None:
    """Read every filled template of the message. The first is opened now, unless a draft
    with answers is open (then all wait for it); the others wait in the queue."""
    entries = [e for e in read_entries(turn.text, default_kind) if e.kind and e.raws]
    if not entries:
        turn.say("entry.not_read")
        return
    draft = turn.state.get("draft")
    waiting = [entry.to_json() for entry in entries]
    if draft and draft.get("values"):
        turn.state["queue"] = [*turn.state.get("queue", []), *waiting]
        turn.say("entry.queued", count=len(entries), form=load_forms()[draft["kind"]].label)
        await records.resume_draft(turn)
        return
    turn.state["queue"] = [*waiting[1:], *turn.state.get("queue", [])]
    if len(entries) > 1:
        turn.say("entry.many", count=len(entries))
    await records.fill_from_entry(turn, entries[0])
