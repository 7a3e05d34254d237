"""Helpers for the web workspace tests: a signed-in HTTP client per person."""

from __future__ import annotations

import re
from datetime import date

from aiohttp.test_utils import TestClient, TestServer

from bot.app import App
from bot.web import build_web_app
from bot.webui.core import Workspace
from domain.forms import load_forms
from storage import records as records_store
from storage import repo
from tests.conftest import TZ_NOW, ChatUser

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


async def no_messenger(_channel, _outgoing) -> str:
    return "failed: no messenger in this test"


async def web_client(app: App, deliver=no_messenger, **links) -> TestClient:
    workspace = Workspace(app, deliver, clock=lambda: TZ_NOW)
    client = TestClient(TestServer(build_web_app(app, workspace=workspace)))
    await client.start_server()
    return client


async def unit_id(app: App, name: str) -> int:
    async with app.sessions() as db:
        return (await repo.unit_by_name(db, name)).id


async def add_record(app: App, unit: str, kind: str = "doan_vao", **overrides) -> int:
    """A record stored as the chat would, through the shared save step."""
    form = load_forms()[kind]
    values = {**SAMPLES[kind], **overrides}
    async with app.sessions() as db, db.begin():
        owner = await repo.unit_by_name(db, unit)
        record = await records_store.create(
            db, form, values, unit_id=owner.id, member_id=None, source="chat"
        )
        return record.id


SAMPLES = {
    "doan_vao": {
        "ten_doan": "Đoàn Đại sứ quán Lào", "truong_doan": "Ông Sengphet, Đại sứ",
        "nuoc": "Lào", "loai_khach": "co_quan_dai_dien", "lanh_dao_tinh_tiep": True,
        "noi_dung": "Chào xã giao", "so_nguoi": 8, "tu_ngay": date(2023, 3, 12),
        "den_ngay": date(2023, 3, 13), "trang_thai": "da_thuc_hien",
    },
    "doan_ra": {
        "ten_doan": "Đoàn công tác thăm Bolykhămxay", "truong_doan": "Nguyễn Văn A",
        "lanh_dao_tinh": True, "nuoc_den": "Lào, Thái Lan", "noi_dung": "Hội nghị thường niên",
        "so_nguoi": 12, "tu_ngay": date(2023, 4, 2), "den_ngay": date(2023, 4, 5),
        "trang_thai": "ke_hoach",
    },
}  # fmt: skip
