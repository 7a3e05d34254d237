"""Helpers for the web workspace tests: a signed-in HTTP client per person."""

from __future__ import annotations

import re

from aiohttp.test_utils import TestClient

from tests.conftest import ChatUser

LINK = re.compile(r"(/web/login/[A-Za-z0-9_\-]+)")
CSRF = re.compile(r'name="csrf" value="([^"]+)"')


def login_path(chat_text: str) -> str:
    match = LINK.search(chat_text)
    assert match, chat_text
    return match.group(1)


def csrf_of(html: str) -> str:
    match = CSRF.search(html)
    assert match, html[:500]
    return match.group(1)


async def sign_in(client: TestClient, user: ChatUser) -> str:
    """Ask the bot for a link, open it and press the button; returns the page's CSRF token."""
    await user.send("/web")
    path = login_path(user.text)
    page = await client.get(path)
    response = await client.post(path, data={"csrf": csrf_of(await page.text())})
    assert response.status == 200 and str(response.url).endswith("/web/"), response.url
    return csrf_of(await response.text())
