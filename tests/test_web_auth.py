"""Signing in to the web workspace: one-time links from the chat, sessions, cookies,
CSRF, coordinators' passwords and the throttle."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy import select, update

from bot.app import open_app
from storage.models import AuditEntry, LoginToken, WebSession
from tests.conftest import TZ_NOW, ChatUser, make_settings, registered
from tests.web_support import csrf_of, login_path, sign_in, web_client


@pytest.fixture
async def client(app) -> AsyncIterator[TestClient]:
    client = await web_client(app)
    yield client
    await client.close()


async def test_the_chat_link_signs_in_once_and_only_on_the_button(app, client):
    lan = await registered(app, "lan", role="coordinator")
    await lan.send("/web")
    assert "dùng một lần, trong 10 phút" in lan.text
    path = login_path(lan.text)
    assert lan.text.count("http://127.0.0.1:8080/web/login/") == 1
    first = await client.get(path)  # a link preview fetching the URL uses nothing up
    again = await client.get(path)
    assert first.status == again.status == 200
    assert "Bấm nút dưới đây để đăng nhập" in await again.text()
    token = csrf_of(await again.text())
    signed = await client.post(path, data={"csrf": token})
    assert str(signed.url).endswith("/web/") and "Xin chào, Người dùng lan" in await signed.text()

    fresh = await web_client(app)  # another browser with the same link
    try:
        page = await fresh.get(path)
        refused = await fresh.post(path, data={"csrf": csrf_of(await page.text())})
        assert refused.status == 400
        assert "đã được dùng hoặc đã hết hạn" in await refused.text()
        home = await fresh.get("/web/", allow_redirects=False)
        assert home.status == 303 and home.headers["Location"] == "/web/login"
    finally:
        await fresh.close()


async def test_login_tokens_are_stored_hashed_and_expire(app, client):
    hoa = await registered(app, "hoa")
    await hoa.send("/web")
    path = login_path(hoa.text)
    token = path.rsplit("/", 1)[1]
    async with app.sessions() as db:
        stored = (await db.scalars(select(LoginToken.token_hash))).all()
    assert len(stored) == 1 and token not in stored[0] and len(stored[0]) == 64
    async with app.sessions() as db, db.begin():
        row = await db.scalar(select(LoginToken))
        row.expires_at = row.created_at - timedelta(seconds=1)
    page = await client.get(path)
    refused = await client.post(path, data={"csrf": csrf_of(await page.text())})
    assert refused.status == 400


async def test_session_cookie_is_httponly_lax_and_secure_behind_https(tmp_path):
    settings = make_settings(tmp_path / "data", public_base_url="https://doingoai.example.vn")
    app = await open_app(settings, clock=lambda: TZ_NOW)
    client = await web_client(app)
    try:
        lan = await registered(app, "lan", role="coordinator")
        await lan.send("/web")
        path = login_path(lan.text)
        assert "https://doingoai.example.vn/web/login/" in lan.text
        page = await client.get(path)
        anonymous = page.cookies["doingoai_csrf"]
        assert anonymous["secure"] and anonymous["httponly"] and anonymous["samesite"] == "Lax"
        response = await client.post(  # the test client sends no Secure cookie over http
            path,
            data={"csrf": csrf_of(await page.text())},
            headers={"Cookie": f"doingoai_csrf={anonymous.value}"},
            allow_redirects=False,
        )
        cookie = response.headers["Set-Cookie"]
        assert "doingoai_session=" in cookie and "HttpOnly" in cookie and "Secure" in cookie
        assert "SameSite=Lax" in cookie and "Path=/web" in cookie
        async with app.sessions() as db:
            session = await db.scalar(select(WebSession))
        assert session is not None and response.cookies["doingoai_session"].value not in (
            session.token_hash
        )
    finally:
        await client.close()
        await app.close()


async def test_a_post_without_the_csrf_token_is_refused(app, client):
    lan = await registered(app, "lan", role="coordinator")
    await sign_in(client, lan)
    for data in ({}, {"csrf": "forged"}):
        response = await client.post("/web/logout", data=data)
        assert response.status == 403
        assert "Biểu mẫu đã hết hạn hoặc không được gửi từ trang làm việc" in await response.text()
    assert (await client.get("/web/")).status == 200  # still signed in


async def test_signing_out_ends_the_session(app, client):
    lan = await registered(app, "lan", role="coordinator")
    csrf = await sign_in(client, lan)
    response = await client.post("/web/logout", data={"csrf": csrf})
    assert str(response.url).endswith("/web/login")
    assert (await client.get("/web/", allow_redirects=False)).status == 303
    async with app.sessions() as db:
        assert (await db.scalars(select(WebSession))).all() == []


async def test_an_idle_session_ends(app, client):
    lan = await registered(app, "lan", role="coordinator")
    await sign_in(client, lan)
    async with app.sessions() as db, db.begin():
        session = await db.scalar(select(WebSession))
        session.last_seen_at -= timedelta(hours=3)
    assert (await client.get("/web/", allow_redirects=False)).status == 303


async def set_password(client, csrf: str, username: str, password: str, again: str | None = None):
    return await client.post(
        "/web/password",
        data={"csrf": csrf, "username": username, "password": password,
              "again": password if again is None else again},
    )  # fmt: skip


async def password_sign_in(client, username: str, password: str):
    page = await client.get("/web/login")
    return await client.post(
        "/web/login",
        data={"csrf": csrf_of(await page.text()), "username": username, "password": password},
    )


async def test_a_coordinator_sets_a_password_and_signs_in_with_it(app, client):
    lan = await registered(app, "lan", role="coordinator")
    csrf = await sign_in(client, lan)
    short = await set_password(client, csrf, "lan.snv", "ngan")
    assert short.status == 400 and "Mật khẩu cần từ 10 đến 200 ký tự" in await short.text()
    mismatch = await set_password(client, csrf, "lan.snv", "mat-khau-dai-1", "mat-khau-dai-2")
    assert "Hai lần nhập mật khẩu không giống nhau" in await mismatch.text()
    saved = await set_password(client, csrf, "Lan.SNV", "mat-khau-dai-1")
    assert "Đã lưu mật khẩu" in await saved.text()

    desk = await web_client(app)
    try:
        wrong = await password_sign_in(desk, "lan.snv", "sai-mat-khau")
        assert wrong.status == 401 and "không đúng" in await wrong.text()
        right = await password_sign_in(desk, "LAN.snv", "mat-khau-dai-1")
        assert str(right.url).endswith("/web/") and "Xin chào" in await right.text()
    finally:
        await desk.close()
    async with app.sessions() as db:
        entries = (await db.scalars(select(AuditEntry).where(AuditEntry.source == "web"))).all()
    assert {e.action for e in entries} >= {"sign_in", "set_password"}


async def test_password_sign_in_is_throttled(app, client):
    lan = await registered(app, "lan", role="coordinator")
    csrf = await sign_in(client, lan)
    await set_password(client, csrf, "lan", "mat-khau-dai-1")
    desk = await web_client(app)
    try:
        for _ in range(5):
            assert (await password_sign_in(desk, "lan", "doan-sai-1234")).status == 401
        blocked = await password_sign_in(desk, "lan", "mat-khau-dai-1")
        assert blocked.status == 429
        assert "Đăng nhập sai quá nhiều lần" in await blocked.text()
    finally:
        await desk.close()


async def test_focal_points_have_no_password_sign_in(app, client):
    hoa = await registered(app, "hoa")
    csrf = await sign_in(client, hoa)
    assert (await client.get("/web/password")).status == 403
    refused = await set_password(client, csrf, "hoa", "mat-khau-dai-1")
    assert refused.status == 403


async def test_an_inactive_member_loses_the_session(app, client):
    from storage.models import Member

    hoa: ChatUser = await registered(app, "hoa")
    await sign_in(client, hoa)
    async with app.sessions() as db, db.begin():
        await db.execute(update(Member).values(active=False))
    assert (await client.get("/web/", allow_redirects=False)).status == 303


async def test_zalo_users_type_web_without_the_slash(app):
    hoa = await registered(app, "hoa")
    await hoa.send("web")
    assert "/web/login/" in hoa.text


async def test_the_terminal_demo_serves_the_workspace_and_prints_a_link(tmp_path, capsys):
    import socket

    from aiohttp import ClientSession, CookieJar

    from bot.runtime import start_demo_web

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    app = await open_app(make_settings(tmp_path / "data", listen_port=port))
    runner = await start_demo_web(app)
    try:
        printed = capsys.readouterr().out
        assert f"http://127.0.0.1:{port}/web/login/" in printed
        link = printed.split(f"http://127.0.0.1:{port}", 1)[1].split()[0]
        jar = CookieJar(unsafe=True)  # a browser keeps cookies of an address like this one
        async with ClientSession(f"http://127.0.0.1:{port}", cookie_jar=jar) as browser:
            page = await browser.get(link)
            signed = await browser.post(link, data={"csrf": csrf_of(await page.text())})
            assert "Xin chào, Điều phối viên (demo)" in await signed.text()
    finally:
        await runner.cleanup()
        await app.close()
