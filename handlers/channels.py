"""The channels a person is reached on: linking an official e-mail address with a code
mailed to it (/email), and choosing which channels get reminders (/kenh)."""

from __future__ import annotations

import hmac
import secrets
from datetime import datetime, timedelta

from email_validator import EmailNotValidError, validate_email

from domain.catalog import channel_name, t
from domain.messages import SENT, Outgoing
from domain.parsing import fold
from handlers.turn import Turn
from storage import identities, repo
from storage.keys import keyed_digest

CODE_DIGITS = 6
MAX_TRIES = 5
ON_WORDS = frozenset({"bat", "mo", "on"})
OFF_WORDS = frozenset({"tat", "tam dung", "off"})
# What people type for a channel ("thư", "mail") -> its key.
CHANNEL_WORDS = {"zalo": "zalo", "telegram": "telegram", "tele": "telegram", "email": "email",
                 "e-mail": "email", "mail": "email", "thu": "email"}  # fmt: skip


async def email_command(turn: Turn, argument: str) -> None:
    """/email ADDRESS: mail a code to it; /email alone: the linked address and how to."""
    if turn.mailer is None:
        turn.say("email_link.not_configured")
        return
    if not argument:
        current = await identities.email_of(turn.db, turn.person.member_id)
        turn.say("email_link.usage", current=current)
        return
    try:
        address = validate_email(argument, check_deliverability=False).normalized
    except EmailNotValidError:
        turn.say("email_link.invalid", address=argument)
        return
    owner = await identities.email_owner(turn.db, address)
    if owner == turn.person.member_id:
        turn.say("email_link.already", address=address)
        return
    if owner is not None:
        turn.say("email_link.taken", address=address)
        return
    code = "".join(secrets.choice("0123456789") for _ in range(CODE_DIGITS))
    expires = turn.now + timedelta(minutes=turn.settings.email_code_minutes)
    turn.go("email_code", address=address, code=keyed_digest(turn.db, code),
            expires=expires.isoformat(), tries=0)  # fmt: skip
    mailer = turn.mailer

    async def mail_code() -> list[Outgoing]:
        outcome = await mailer.send_code(address, code)
        key = "email_link.code_sent" if outcome == SENT else "email_link.code_failed"
        return [Outgoing(text=t(key, address=address, minutes=turn.settings.email_code_minutes))]

    turn.after_commit.append(mail_code)


async def on_email_code(turn: Turn) -> None:
    """The code typed back: the address is linked; a wrong one may be tried again."""
    address = turn.state["address"]
    if turn.now > datetime.fromisoformat(turn.state["expires"]):
        turn.go("menu")
        turn.say("email_link.expired", address=address)
        return
    typed = "".join(ch for ch in turn.text if ch.isdigit())
    if not hmac.compare_digest(keyed_digest(turn.db, typed), turn.state["code"]):
        tries = turn.state["tries"] + 1
        if tries >= MAX_TRIES:
            turn.go("menu")
            turn.say("email_link.too_many", address=address)
        else:
            turn.state["tries"] = tries
            turn.say("email_link.wrong_code", left=MAX_TRIES - tries)
        return
    if await identities.email_owner(turn.db, address) is not None:
        turn.go("menu")
        turn.say("email_link.taken", address=address)
        return
    await identities.link_email(turn.db, turn.person.member_id, address)
    await repo.audit(
        turn.db, member_id=turn.person.member_id, action="link", entity="identity", entity_id=None,
        details={"channel": identities.EMAIL, "address": address},
    )  # fmt: skip
    turn.go("menu")
    turn.say("email_link.linked", address=address)


async def kenh(turn: Turn, argument: str) -> None:
    """/kenh: the linked channels and whether each gets reminders, with a choice to turn
    each off or on (buttons on Telegram, numbers on Zalo); /kenh tat|bat KENH as text."""
    words = fold(argument).split()
    if words:
        await _switch(turn, words[-1], " ".join(words[:-1]))
    await _show(turn)


async def on_channels(turn: Turn) -> None:
    """A choice on the /kenh screen: "kenh:tat:zalo" or "kenh:bat:email"."""
    key = turn.picked() or ""
    if not key.startswith("kenh:"):
        turn.say("errors.not_understood", choices=turn.state.get("choices", []))
        return
    _, action, channel = key.split(":", 2)
    await _switch(turn, channel, action)
    await _show(turn)


async def _show(turn: Turn) -> None:
    rows = [
        row
        for row in await identities.member_identities(turn.db, turn.person.member_id)
        if row.channel != "console"
    ]
    listed = [
        {"name": channel_name(row.channel), "on": row.reminders,
         "address": row.chat_id if row.channel == identities.EMAIL else "",
         "blocked": row.blocked_at is not None}
        for row in rows
    ]  # fmt: skip
    choices = [
        (f"kenh:{'tat' if row.reminders else 'bat'}:{row.channel}",
         t("channels.switch_button", on=not row.reminders, channel=channel_name(row.channel)))
        for row in rows
    ]  # fmt: skip
    turn.go("channels")
    turn.say(
        "channels.list",
        choices=[*choices, ("menu", t("menu.title"))],
        channels=listed,
        email_ready=turn.mailer is not None,
    )


async def _switch(turn: Turn, word: str, action: str) -> None:
    channel = CHANNEL_WORDS.get(word, word)
    if not channel or action not in ON_WORDS | OFF_WORDS:
        turn.say("channels.usage")
        return
    on = action in ON_WORDS
    rows = await identities.member_identities(turn.db, turn.person.member_id)
    if not any(row.channel == channel for row in rows):
        turn.say("channels.not_linked", channel=channel_name(channel))
        return
    others_on = [r for r in rows if r.channel not in (channel, "console") and r.reminders]
    if not on and not others_on:
        turn.say("channels.last_one", channel=channel_name(channel))
        return
    await identities.set_reminders(turn.db, turn.person.member_id, channel, on)
    turn.say("channels.switched", channel=channel_name(channel), on=on)
