"""The Zalo Bot API client against the fake Zalo server, over real HTTP."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from aiohttp import web

from bot.render import split_text
from bot.zalo_client import (
    EVENT_IMAGE,
    EVENT_STICKER,
    EVENT_TEXT,
    EVENT_UNSUPPORTED,
    EVENT_VOICE,
    MAX_TEXT,
    SECRET_HEADER,
    SPLIT_AT,
    ZaloClient,
    ZaloError,
    ZaloNetworkError,
    ZaloQuotaExceeded,
    ZaloUnauthorized,
    ZaloUncertain,
    parse_event,
    stable_update_id,
)
from tests.fakes.zalo_api import FakeZaloAPI


def split_text_2000(text: str) -> list[str]:
    return split_text(text, MAX_TEXT)


TOKEN = "1459232241454765289:zalo-token"


@pytest.fixture
async def fake() -> AsyncIterator[FakeZaloAPI]:
    async with FakeZaloAPI(token=TOKEN) as server:
        yield server


@pytest.fixture
async def zalo(fake: FakeZaloAPI) -> AsyncIterator[ZaloClient]:
    async with ZaloClient(TOKEN, base_url=fake.base_url) as client:
        yield client


# --- getMe and the token ---------------------------------------------------------------------


async def test_get_me(zalo: ZaloClient, fake: FakeZaloAPI) -> None:
    me = await zalo.get_me()
    assert me["id"] == fake.bot_info["id"]
    assert me["account_name"] == fake.bot_info["account_name"]
    assert fake.calls_to("getMe") == [{}]


async def test_wrong_token_is_unauthorized_at_once(fake: FakeZaloAPI) -> None:
    async with ZaloClient("123:wrong", base_url=fake.base_url, backoff=5) as client:
        with pytest.raises(ZaloUnauthorized) as caught:
            await client.get_me()
    assert caught.value.error_code == 401
    assert "\n" not in str(caught.value) and "wrong" not in str(caught.value)
    assert fake.unauthorized_count == 1  # not retried


async def test_client_must_be_started(fake: FakeZaloAPI) -> None:
    with pytest.raises(RuntimeError):
        await ZaloClient(TOKEN, base_url=fake.base_url).get_me()


# --- receiving -------------------------------------------------------------------------------


async def test_long_poll_returns_an_injected_text_promptly(
    zalo: ZaloClient, fake: FakeZaloAPI
) -> None:
    # A 60 s long poll answered within 10 s: it returned on the message, not at its end.
    poll = asyncio.create_task(zalo.get_updates(timeout=60))
    await fake.wait_until(lambda: bool(fake.calls_to("getUpdates")), what="the poll")
    message_id = await fake.send_text("u-lan", "Xin chào, tôi là Lan", display_name="Lan")
    updates = await asyncio.wait_for(poll, 10)
    assert fake.calls_to("getUpdates") == [{"timeout": "60"}]  # a string, as documented

    [update] = updates
    event = parse_event(update)
    assert event is not None
    assert event.event_name == EVENT_TEXT
    assert event.is_text
    assert event.text == "Xin chào, tôi là Lan"
    assert (event.user_id, event.chat_id, event.display_name) == ("u-lan", "u-lan", "Lan")
    assert event.message_id == message_id
    assert event.chat_type == "PRIVATE" and not event.is_bot
    assert isinstance(event.date, int)


async def test_long_poll_timeout_gives_no_updates(zalo: ZaloClient, fake: FakeZaloAPI) -> None:
    assert await zalo.get_updates(timeout=1) == []
    assert fake.calls_to("getUpdates") == [{"timeout": "1"}]
    assert fake.errors[-1][2] == 408


async def test_queued_events_come_one_per_poll_or_as_a_list(fake: FakeZaloAPI) -> None:
    async with ZaloClient(TOKEN, base_url=fake.base_url) as client:
        first = await fake.send_text("u1", "một")
        second = await fake.send_text("u1", "hai")
        assert [parse_event(u).message_id for u in await client.get_updates(0)] == [first]
        assert [parse_event(u).message_id for u in await client.get_updates(0)] == [second]
        fake.batch_updates = True
        await fake.send_text("u1", "ba")
        await fake.send_text("u2", "bốn")
        assert [parse_event(u).text for u in await client.get_updates(0)] == ["ba", "bốn"]


async def test_non_text_events_are_not_text(zalo: ZaloClient, fake: FakeZaloAPI) -> None:
    await fake.send_event("u-lan", "image", caption="ảnh hội nghị")
    await fake.send_event("u-lan", EVENT_STICKER)
    await fake.send_event("u-lan", "voice")
    await fake.send_event("u-lan", "unsupported")
    events = [parse_event(u) for _ in range(4) for u in await zalo.get_updates(1)]
    assert [e.event_name for e in events] == [
        EVENT_IMAGE,
        EVENT_STICKER,
        EVENT_VOICE,
        EVENT_UNSUPPORTED,
    ]
    assert events[0].caption == "ảnh hội nghị" and events[0].photo.endswith("photo.jpg")
    for event in events:
        assert not event.is_text and event.text is None
        assert event.user_id == "u-lan" and event.display_name == "Lan"


def test_parse_event_is_tolerant() -> None:
    assert parse_event({}) is None
    assert parse_event({"event_name": EVENT_TEXT}) is None
    assert parse_event("nonsense") is None  # type: ignore[arg-type]
    # Wrapped as in the docs, no chat (chat id falls back to the sender), no display name.
    event = parse_event(
        {"ok": True, "result": {"event_name": EVENT_TEXT, "message": {"from": {"id": 7}}}}
    )
    assert event is not None
    assert (event.user_id, event.chat_id, event.display_name) == ("7", "7", "")
    assert event.is_text is False and event.text is None and event.message_id == ""
    # The docs' getUpdates sample: no event_name, first_name instead of display_name.
    event = parse_event(
        {"message": {"chat": {"id": "c1"}, "text": "Hi", "from": {"first_name": "Nguyen Van A"}}}
    )
    assert event is not None and event.is_text and event.text == "Hi"
    assert event.display_name == "Nguyen Van A"


# --- sending ---------------------------------------------------------------------------------


async def test_send_message_limits(zalo: ZaloClient, fake: FakeZaloAPI) -> None:
    text = "ệ" * 2000
    result = await zalo.send_message("u-lan", text)
    assert result["message_id"] and isinstance(result["date"], int)
    with pytest.raises(ValueError):
        await zalo.send_message("u-lan", text + "x")
    with pytest.raises(ValueError):
        await zalo.send_message("u-lan", "")
    assert fake.sent("u-lan") == [text]
    assert len(fake.calls_to("sendMessage")) == 1  # the refused ones never left the client


async def test_fake_refuses_overlong_text(zalo: ZaloClient, fake: FakeZaloAPI) -> None:
    with pytest.raises(ZaloError) as caught:
        await zalo.call("sendMessage", {"chat_id": "u1", "text": "x" * 2001})
    assert caught.value.error_code == 400
    assert fake.sent("u1") == []


async def test_send_chat_action(zalo: ZaloClient, fake: FakeZaloAPI) -> None:
    assert await zalo.send_chat_action("u-lan") is True
    assert fake.chat_actions("u-lan") == ["typing"]
    with pytest.raises(ZaloError) as caught:
        await zalo.send_chat_action("u-lan", "dancing")
    assert caught.value.error_code == 400


# --- retries ---------------------------------------------------------------------------------


class Waits:
    """The client's sleep between retries, recorded instead of waited."""

    def __init__(self) -> None:
        self.delays: list[float] = []

    async def __call__(self, delay: float) -> None:
        self.delays.append(delay)


async def test_server_error_is_retried_after_a_backoff(fake: FakeZaloAPI) -> None:
    waits = Waits()
    async with ZaloClient(TOKEN, base_url=fake.base_url, sleep=waits) as client:
        fake.fail_next("sendMessage", status=500)
        await client.send_message("u1", "Đã lưu")
        assert waits.delays == [0.5]  # one backoff of 0.5 s
        fake.fail_next("sendMessage", times=3, status=500)
        await client.send_message("u1", "Lần hai")
    assert waits.delays == [0.5, 0.5, 1.0, 2.0]  # doubling each time
    assert fake.sent("u1") == ["Đã lưu", "Lần hai"]
    assert len(fake.calls_to("sendMessage")) == 6


async def test_backoff_is_capped_at_max_delay(fake: FakeZaloAPI) -> None:
    waits = Waits()
    async with ZaloClient(
        TOKEN, base_url=fake.base_url, retries=5, backoff=1, max_delay=3, sleep=waits
    ) as client:
        fake.fail_next("sendMessage", times=5, status=502)
        await client.send_message("u1", "một")
    assert waits.delays == [1, 2, 3, 3, 3]


async def test_quota_exceeded_is_raised_at_once(fake: FakeZaloAPI) -> None:
    """429 is documented as "Quota exceeded" with no retry time: retrying within seconds
    would only spend more of the quota, so the caller decides (it pauses for minutes)."""
    async with ZaloClient(TOKEN, base_url=fake.base_url, backoff=0.01) as client:
        fake.fail_next("sendMessage", status=429)
        with pytest.raises(ZaloQuotaExceeded) as caught:
            await client.send_message("u1", "một")
    assert caught.value.error_code == 429 and caught.value.description == "Quota exceeded"
    assert len(fake.calls_to("sendMessage")) == 1 and fake.sent("u1") == []


async def test_internal_error_403_is_retried_and_bounded(fake: FakeZaloAPI) -> None:
    """403 is documented as "Internal server error", not as a user who blocked the bot."""
    async with ZaloClient(TOKEN, base_url=fake.base_url, retries=2, backoff=0.01) as client:
        fake.fail_next("sendMessage", times=2, status=403)
        await client.send_message("u1", "một")
        fake.fail_next("sendMessage", times=5, status=403)
        with pytest.raises(ZaloError) as caught:
            await client.send_message("u1", "hai")
    assert caught.value.error_code == 403 and not isinstance(caught.value, ZaloQuotaExceeded)
    assert fake.sent("u1") == ["một"] and len(fake.calls_to("sendMessage")) == 6


async def test_bad_gateway_and_dropped_connection_are_retried(fake: FakeZaloAPI) -> None:
    async with ZaloClient(TOKEN, base_url=fake.base_url, backoff=0.01) as client:
        fake.fail_next("sendMessage", status=502)  # an nginx HTML page
        fake.fail_next("getMe", status=0)  # the connection drops
        await client.send_message("u1", "một")
        assert (await client.get_me())["id"]
    assert fake.sent("u1") == ["một"]


async def test_retries_are_bounded(fake: FakeZaloAPI) -> None:
    async with ZaloClient(TOKEN, base_url=fake.base_url, retries=2, backoff=0.01) as client:
        fake.fail_next("sendMessage", times=5, status=503)
        with pytest.raises(ZaloError) as caught:
            await client.send_message("u1", "một")
    assert caught.value.error_code == 503
    assert len(fake.calls_to("sendMessage")) == 3


async def test_client_error_is_raised_at_once(fake: FakeZaloAPI) -> None:
    waits = Waits()
    fake.fail_next("sendMessage", status=400, description="Bad Request: chat not found")
    async with ZaloClient(TOKEN, base_url=fake.base_url, sleep=waits) as client:
        with pytest.raises(ZaloError) as caught:
            await client.send_message("u1", "một")
    assert waits.delays == []  # no retry, no wait
    assert (caught.value.error_code, caught.value.description) == (
        400,
        "Bad Request: chat not found",
    )
    assert not isinstance(caught.value, ZaloUnauthorized)
    assert len(fake.calls_to("sendMessage")) == 1


async def test_unreachable_server_is_a_network_error() -> None:
    async with ZaloClient(TOKEN, base_url="http://127.0.0.1:1/bot", retries=1, backoff=0.01) as z:
        with pytest.raises(ZaloNetworkError) as caught:
            await z.get_me()
    assert TOKEN not in str(caught.value)


# --- webhook ---------------------------------------------------------------------------------


async def test_webhook_delivery_and_redelivery(zalo: ZaloClient, fake: FakeZaloAPI) -> None:
    received: list[tuple[str | None, dict]] = []

    async def hook(request: web.Request) -> web.Response:
        received.append((request.headers.get(SECRET_HEADER), await request.json()))
        return web.Response(text="ok")

    app = web.Application()
    app.router.add_post("/zalo/webhook", hook)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        url = f"http://127.0.0.1:{port}/zalo/webhook"
        with pytest.raises(ValueError):
            await zalo.set_webhook(url, "short")
        assert await zalo.get_webhook_info() is None
        result = await zalo.set_webhook(url, "s3cret-token")
        assert result["url"] == url
        assert (await zalo.get_webhook_info())["url"] == url
        with pytest.raises(ZaloError) as caught:
            await zalo.get_updates(timeout=0)
        assert caught.value.error_code == 400

        message_id = await fake.send_text("u-lan", "qua webhook")
        assert await fake.redeliver(message_id) == 200
        assert [secret for secret, _ in received] == ["s3cret-token", "s3cret-token"]
        first, again = (parse_event(body) for _, body in received)
        assert first.text == "qua webhook" and first.message_id == message_id
        assert stable_update_id(first) == stable_update_id(again)

        fake.wrap_webhook = True  # the shape the docs show: {"ok": true, "result": update}
        await fake.send_text("u-lan", "bọc trong result")
        assert received[-1][1]["ok"] is True
        assert parse_event(received[-1][1]).text == "bọc trong result"

        await zalo.delete_webhook()
        assert fake.webhook is None
        await fake.send_text("u-lan", "qua getUpdates")
        assert [parse_event(u).text for u in await zalo.get_updates(1)] == ["qua getUpdates"]

        # Events queued while polling go to the webhook once it is set.
        queued = await fake.send_text("u-lan", "chờ webhook")
        await zalo.set_webhook(url, "s3cret-token")
        await fake.wait_until(lambda: len(received) == 4, what="the queued event")
        assert parse_event(received[-1][1]).message_id == queued
        assert fake.pending_updates == []
    finally:
        await runner.cleanup()


# --- pure helpers ----------------------------------------------------------------------------


def test_split_text_cuts_at_lines_in_order() -> None:
    lines = [f"{i:02d}. Hoạt động đối ngoại số {i}".ljust(49, ".") for i in range(50)]
    text = "\n".join(lines) + "!"
    assert len(text) == 2500
    pieces = split_text_2000(text)
    assert [len(p) for p in pieces] == [1999, 500]  # 40 lines, then 10
    assert "\n".join(pieces) == text
    assert pieces[0].startswith("00.") and pieces[1].startswith("40.")


def test_split_text_hard_cuts_overlong_lines() -> None:
    assert split_text_2000("a" * 4500) == ["a" * 2000, "a" * 2000, "a" * 500]
    assert split_text_2000("ngắn") == ["ngắn"]
    assert split_text_2000("") == [] and split_text_2000(" \n ") == []
    assert split_text_2000("x" * 2000 + "\n\n" + "y" * 10) == ["x" * 2000, "\n" + "y" * 10]


def test_split_text_counts_emoji_twice() -> None:
    """2,000 emoji are 4,000 UTF-16 units: cut below the limit, never inside an emoji."""
    text = "🎉" * 2000
    pieces = split_text(text, SPLIT_AT)
    assert "".join(pieces) == text and len(pieces) == 3
    assert all(len(p.encode("utf-16-le")) // 2 <= SPLIT_AT < MAX_TEXT for p in pieces)


async def test_stable_update_id_for_a_redelivered_event(
    zalo: ZaloClient, fake: FakeZaloAPI
) -> None:
    message_id = await fake.send_text("u1", "một lần thôi")
    [first] = await zalo.get_updates(1)
    await fake.redeliver(message_id)
    [again] = await zalo.get_updates(1)
    assert first == again
    assert stable_update_id(parse_event(first)) == stable_update_id(parse_event(again))
    assert stable_update_id(parse_event(first)) == f"m:{message_id}"
    other = await fake.send_text("u1", "một lần thôi")
    [second] = await zalo.get_updates(1)
    assert parse_event(second).message_id == other
    assert stable_update_id(parse_event(second)) != stable_update_id(parse_event(first))

    # No message id: a hash of chat, date and text, equal for equal deliveries.
    bare = {"event_name": EVENT_TEXT, "message": {"chat": {"id": "c"}, "text": "t", "date": 5}}
    key = stable_update_id(parse_event(bare))
    assert key.startswith("h:") and len(key) <= 64
    assert key == stable_update_id(parse_event(dict(bare)))
    moved = {"event_name": EVENT_TEXT, "message": {"chat": {"id": "c"}, "text": "t", "date": 6}}
    assert stable_update_id(parse_event(moved)) != key


async def test_a_send_whose_connection_dropped_is_not_sent_again(fake: FakeZaloAPI) -> None:
    """It may have gone out: the outbox marks it uncertain instead of doubling it."""
    async with ZaloClient(TOKEN, base_url=fake.base_url, backoff=0.01) as client:
        fake.fail_next("sendMessage", status=0)  # the connection drops
        with pytest.raises(ZaloUncertain):
            await client.send_message("u1", "một")
    assert len(fake.calls_to("sendMessage")) == 1
