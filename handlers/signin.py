"""/web (Zalo: web): a one-time link that opens a session in the web workspace."""

from __future__ import annotations

from datetime import timedelta

from handlers.turn import Turn
from storage import web_auth

LOGIN_PATH = "/web/login/"


async def web_link(turn: Turn) -> None:
    minutes = turn.settings.web_login_minutes
    token = await web_auth.create_login_token(
        turn.db, turn.person.member_id, timedelta(minutes=minutes)
    )
    turn.say(
        "web.link",
        link=f"{turn.settings.web_base_url}{LOGIN_PATH}{token}",
        minutes=minutes,
    )
