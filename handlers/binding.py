"""Answers bound to their question.

A typed answer applies to the question the person last saw: a field's question, or a
screen of choices (the menu, the list of activity types, a summary, a confirmation). The
engine remembers, in the conversation state, which question is shown and which outbox row
first showed it; the outbox knows that row's message ids on the messenger. A message
written before that question reached the person (its id is older, or the question is not
delivered yet) answered an earlier one: it is not applied, and a note names the question
waiting. Otherwise an answer sent again while the bot was away would pick an activity type
or confirm a deletion. A reply to a field question's message applies to that question; an
old field question's button is refused (buttons of choice screens carry their own checks).
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
CHOICE_TAG = "screen:"


def question_shown(state: dict) -> str:
    """What the person is being asked: a field ("ask:<kind>:<field>", "doubt:…"), or the
    screen whose choices they see ("screen:menu"); "" when nothing is asked."""
    question = records.question_tag(state)
    if not question and state.get("screen"):
        question = CHOICE_TAG + state["screen"]
    return question


def _same_field(one: str, other: str) -> bool:
    """ "ask:k:f" and "doubt:k:f" ask about the same field."""
    return one.partition(":")[2] == other.partition(":")[2]


async def still_showing(turn: Turn, shown: dict) -> bool:
    """The message that showed a question is sent or will be: a re-ask keeps it as the
    first showing. One whose fate is unknown (uncertain, failed) gives way to the re-ask."""
    where = await outbox.shown(turn.db, shown["row"])
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
    if question.startswith(CHOICE_TAG) and (incoming.choice is not None or incoming.reply_to):
        return False
    if incoming.reply_to:
        target = await outbox.question_of(
            turn.db, incoming.channel, incoming.chat_id, incoming.reply_to
        )
        if target is None or target.startswith(CHOICE_TAG) or _same_field(target, question):
            return False
        field = records.tagged_field(turn.state, target)
        if field is not None and incoming.choice is None:
            await records.answer_for(turn, field)
        else:
            turn.say("binding.old_question", label=_label(turn, question))
        return True
    where = await outbox.shown(turn.db, shown["row"])
    if where is None or not (incoming.message_id or "").isdigit():
        return _repeated(turn, question, where)
    if where.status != outbox.PENDING:  # sent, or its fate unknown (then nothing to compare)
        first = where.first_message_id
        if first is None or not first.isdigit() or int(incoming.message_id) > int(first):
            return _repeated(turn, question, where)
    answer = textwrap.shorten(turn.text, 60, placeholder="…")
    turn.say(_note("before", question), answer=answer, label=_label(turn, question))
    return True


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
    """The catalogue key of note `name` for a field question or a screen of choices."""
    return f"binding.{name}_{'choice' if question.startswith(CHOICE_TAG) else 'question'}"


def _label(turn: Turn, question: str) -> str:
    field = records.tagged_field(turn.state, question)
    return field.label if field is not None else ""
