"""Every route's permission over HTTP: strangers are sent to sign in, focal points get 403
on coordinators' pages and 404 on another unit's records, whatever the URL."""

from __future__ import annotations

import re

import pytest

from bot.webui.core import PREFIX
from bot.webui.routes import ROUTES
from tests.conftest import registered
from tests.web_support import add_record, csrf_of, sign_in, unit_id, web_client

PARAMS = re.compile(r"\{(\w+)\}")


async def _paths(app, record_id: int) -> dict[str, str]:
    from datetime import timedelta

    from storage import repo

    async with app.sessions() as db, db.begin():
        await repo.create_invite(db, role="coordinator", unit_id=None, ttl=timedelta(days=1))
    return {
        "round_id": "2023-Y",
        "record_id": str(record_id),
        "invite_id": "1",
        "unit_id": str(await unit_id(app, "Sở Tài chính")),
        "token": "not-a-token",
        "fmt": "csv",
        "index": "0",
    }


def _url(path: str, values: dict[str, str]) -> str:
    return PREFIX + PARAMS.sub(lambda m: values[m.group(1)], path)


@pytest.fixture
async def setting(app):
    client = await web_client(app)
    other = await add_record(app, "Sở Tài chính")
    values = await _paths(app, other)
    yield client, values
    await client.close()


async def test_every_route_is_declared_with_an_access_rule(app):
    client = await web_client(app)
    try:
        declared = {(method, PREFIX + path) for method, path, _, _ in ROUTES}
        for route in client.server.app.router.routes():
            info = route.resource.get_info() if route.resource else {}
            path = info.get("path") or info.get("formatter") or info.get("prefix", "")
            ours = path.startswith(PREFIX + "/") and not path.startswith(PREFIX + "/static")
            if ours and route.method != "HEAD":
                assert (route.method, path) in declared, path
                assert getattr(route.handler, "access", None) in (
                    "public",
                    "member",
                    "coordinator",
                )
    finally:
        await client.close()


async def test_strangers_are_sent_to_sign_in_everywhere_but_the_sign_in_pages(setting):
    client, values = setting
    csrf = csrf_of(await (await client.get("/web/login")).text())
    for method, path, _, access in ROUTES:
        response = await client.request(
            method, _url(path, values), data={"csrf": csrf} if method == "POST" else None,
            allow_redirects=False,
        )  # fmt: skip
        if access == "public":
            assert response.status in (200, 400, 401), (method, path, response.status)
        else:
            assert response.status == 303, (method, path, response.status)
            assert response.headers["Location"] == "/web/login"


async def test_a_focal_point_gets_403_on_coordinator_pages(app, setting):
    client, values = setting
    csrf = await sign_in(client, await registered(app, "hoa", unit="Sở Ngoại vụ"))
    for method, path, _, access in ROUTES:
        if access != "coordinator":
            continue
        response = await client.request(
            method, _url(path, values), data={"csrf": csrf} if method == "POST" else None
        )
        assert response.status == 403, (method, path, response.status)
        assert "Không có quyền truy cập" in await response.text()


async def test_a_focal_point_gets_404_on_every_url_of_another_units_record(app, setting):
    client, values = setting
    own = await add_record(app, "Sở Ngoại vụ", ten_doan="Đoàn của Sở Ngoại vụ")
    csrf = await sign_in(client, await registered(app, "hoa", unit="Sở Ngoại vụ"))
    record_routes = [(m, p) for m, p, _, _ in ROUTES if "{record_id}" in p]
    assert len(record_routes) == 5
    for method, path in record_routes:
        data = {"csrf": csrf, "version": "1"} if method == "POST" else None
        response = await client.request(method, _url(path, values), data=data)
        assert response.status == 404, (method, path, response.status)
        mine = await client.request(method, _url(path, {**values, "record_id": str(own)}),
                                    data=data)  # fmt: skip
        assert mine.status in (200, 400), (method, path, mine.status)
    await add_record(app, "Sở Ngoại vụ", ten_doan="Đoàn thứ hai của Sở Ngoại vụ")
    table = await (await client.get("/web/records?unit=" + values["unit_id"])).text()
    assert "Đoàn thứ hai của Sở Ngoại vụ" in table and "Đoàn Đại sứ quán Lào" not in table
    export = await (await client.get("/web/records/export/csv?unit=" + values["unit_id"])).text()
    assert "Sở Tài chính" not in export
