"""Answers bound to their question.

A typed answer applies to what the person last saw: a field's question, or another screen
(the menu, the list of activity types, a page of units, a summary, a confirmation). The
engine remembers, in the conversation state, which question is shown and which outbox row
first showed it; the outbox knows that row's message ids on the messenger. A message
written before that question reached the person (its id is older, or the question is not
delivered yet) answered an earlier one: it is not applied, and a note says so. Otherwise an
answer sent again while the bot was away would pick an activity type or confirm a
deletion. A reply to a field question's message applies to that question; an old field
question's button is refused (the buttons of other screens carry their own checks).
"""

from __future__ import annotations

import textwrap

from domain.messages import SENT
from handlers import records
from handlers.turn import LAST_ANSWER, REPEAT_ASKED, Turn
from storage import outbox

SHOWN = "shown"
# A question that waited longer than this in the outbox reached the person late: they may
# have sent their previous answer again meanwhile, not seeing it had been taken.
LATE_SECONDS = 5.0
SCREEN_TAG = "screen:"


def question_shown(state: dict) -> str:
    """What the person is being asked: a field ("ask:<kind>:<field>", "doubt:…"), or the
    screen they see ("screen:menu"); "" when nothing is asked."""
    question = records.question_tag(state)
    if not question and state.get("screen"):
        question = SCREEN_TAG + state["screen"]
    return question


def _same_field(one: str, other: str) -> bool:
    """ "ask:k:f" and "doubt:k:f" ask about the same field."""
    return one.partition(":")[2] == other.partition(":")[2]


async def first_showing_stands(turn: Turn, before: dict | None, question: str) -> bool:
    """Whether `question`, asked again in this turn, still counts from the message that
    first showed it (`before`): a field's question re-asked, or a screen answered with a
    note only, while that message is sent or will be (one whose fate is unknown gives way).
    A screen whose choices are shown again counts from the newest showing: they may have
    changed (the next page of units)."""
    if not before or before.get("question") != question:
        return False
    if question.startswith(SCREEN_TAG) and any(reply.choices for reply in turn.replies):
        return False
    where = await outbox.shown(turn.db, before["row"])
    return where is not None and where.status in (outbox.PENDING, SENT)


async def misbound(turn: Turn) -> bool:
    """True when the message answered another question than the one shown now, and was
    dealt with: applied to its own question, or refused with a note naming the current
    one. The current question is not shown again: such a message crossed another one of
    the person's, who may have answered it already, and a second copy of a question that
    has moved on invites the very answer in the wrong field this prevents."""
    shown, incoming = turn.state.get(SHOWN), turn.incoming
    question = question_shown(turn.state)
    if not shown or shown.get("question") != question:
        return False
    on_screen = question.startswith(SCREEN_TAG)
    if on_screen and incoming.choice is not None:
        return False  # a button: the screen's own check
    if incoming.reply_to and not on_screen:
        target = await outbox.question_of(
            turn.db, incoming.channel, incoming.chat_id, incoming.reply_to
        )
        if target is None or target.startswith(SCREEN_TAG) or _same_field(target, question):
            return False
        field = records.tagged_field(turn.state, target)
        if field is not None and incoming.choice is None:
            await records.answer_for(turn, field)
        else:
            turn.say("binding.old_question", label=_label(turn, question))
        return True
    where = await outbox.shown(turn.db, shown["row"])
    if where is None or not _written_before(incoming.message_id or "", where):
        return _repeated(turn, question, where)
    answer = textwrap.shorten(turn.text, 60, placeholder="…")
    turn.say(_note("before", question), answer=answer, label=_label(turn, question))
    return True


def _written_before(message_id: str, where: outbox.Shown) -> bool:
    """True when the message was written before the question reached the person: the
    question is not delivered yet, or the message's id is older than the question's
    (Telegram's ids grow in a chat; Zalo's carry no order, so there only delivery counts).
    A question whose fate is unknown gives nothing to compare."""
    if where.status == outbox.PENDING:
        return True
    first = where.first_message_id
    if first is None or not first.isdigit() or not message_id.isdigit():
        return False
    return int(message_id) <= int(first)


def _repeated(turn: Turn, question: str, where: outbox.Shown | None) -> bool:
    """True (and the person asked) when a typed message repeats the previous answer word
    for word just after the question reached them late: most likely the same answer sent
    again while the bot was away, not an answer to this question. Sent once more, it is
    taken. A question that arrived at once never asks: a one-day event's end date may well
    repeat its start date."""
    text, state = turn.text, turn.state
    if turn.incoming.choice is not None:
        return False
    late = where is not None and where.waited_seconds > LATE_SECONDS
    if late and text == state.get(LAST_ANSWER) and state.get(REPEAT_ASKED) != question:
        state[REPEAT_ASKED] = question
        answer = textwrap.shorten(text, 60, placeholder="…")
        turn.say(_note("repeated", question), answer=answer, label=_label(turn, question))
        return True
    state[LAST_ANSWER] = text
    state.pop(REPEAT_ASKED, None)
    return False


def _note(name: str, question: str) -> str:
    """The catalogue key of note `name` for a field's question or another screen."""
    return f"binding.{name}_{'screen' if question.startswith(SCREEN_TAG) else 'question'}"


def _label(turn: Turn, question: str) -> str:
    field = records.tagged_field(turn.state, question)
    return field.label if field is not None else ""
