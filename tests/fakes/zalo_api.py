"""A fake Zalo Bot Platform API server for tests.

It speaks the HTTP protocol of the Zalo Bot API (see the docstring of ``bot.zalo_client`` for
the facts and their sources) on ``127.0.0.1`` (random port)::

    async with FakeZaloAPI(token="zalo-token") as fake:
        async with ZaloClient("zalo-token", base_url=fake.base_url) as zalo:
            message_id = await fake.send_text("u1", "/start", display_name="Lan")
            [update] = await zalo.get_updates(timeout=5)
            await zalo.send_message("u1", "Xin chào")
        assert fake.sent("u1") == ["Xin chào"]

Requests go to ``{base_url}{token}/{method}`` with ``base_url`` ending in ``/bot``; parameters
are read from the JSON body (what clients send), a form body or the query string.

Behaviour, like the real API where it is known:

* answers ``{"ok": true, "result": ...}`` / ``{"ok": false, "error_code", "description"}``
  with the HTTP status equal to the error code; wrong token -> 401; the documented meanings
  of injected faults: 403 "Internal server error", 429 "Quota exceeded" (no retry_after);
* ``getUpdates`` long-polls up to ``timeout`` seconds and returns ONE update object (or, with
  ``batch_updates=True``, every queued update as a list); nothing -> 408 "Request timeout";
  an update is gone once returned (Zalo has no offset);
* while a webhook is set, injected events are POSTed to it (flat ``{event_name, message}``, or
  wrapped ``{"ok": true, "result": ...}`` with ``wrap_webhook=True``) with the header
  ``X-Bot-Api-Secret-Token``, and ``getUpdates`` answers 400 (as observed);
* events carry the documented fields: ``photo`` and ``caption`` for images, ``sticker`` and
  ``url`` for stickers, ``voice_url`` for voice, and no content for ``unsupported`` (Zalo
  withholds a protected user's message);
* ``sendMessage`` refuses texts outside 1..2000 UTF-16 units (400); ``sendChatAction`` accepts
  ``typing`` and ``upload_photo`` and answers ``{"ok": true}`` without ``result``;
  ``getWebhookInfo`` answers 404 when no webhook is set.

Webhooks are delivered to loopback addresses only.
"""

from __future__ import annotations

import asyncio
import json
import re
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any
from urllib.parse import urlsplit

import aiohttp
from aiohttp import web

__all__ = ["FakeZaloAPI", "ZaloApiError"]

MAX_TEXT_LENGTH = 2000
SECRET_HEADER = "X-Bot-Api-Secret-Token"
EVENT_TEXT = "message.text.received"
CHAT_ACTIONS = frozenset({"typing", "upload_photo"})
BOT_ID = "1459232241454765289"
BOT_ACCOUNT_NAME = "bot.doingoai"

_LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})
_API_PATH_RE = re.compile(r"^/bot([^/]+)/([^/]+)/?$")
_BAD_GATEWAY_HTML = (
    "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n"
    "<center><h1>502 Bad Gateway</h1></center>\r\n</body>\r\n</html>\r\n"
)
_WEBHOOK_CONFLICT = "Bad request: getUpdates is not available while a webhook is set"
# The documented meanings of the error codes ("Bảng mã lỗi").
_DOCUMENTED = {403: "Internal server error", 429: "Quota exceeded"}
# Defaults for the message fields of non-text events (overridable by send_event's fields).
_EVENT_DEFAULTS: dict[str, dict[str, Any]] = {
    "message.image.received": {"photo": "https://example.invalid/zalo/photo.jpg", "caption": ""},
    "message.sticker.received": {
        "sticker": "0e078a2fb66a5f34067b",
        "url": "https://example.invalid/zalo/sticker.png",
    },
    "message.voice.received": {"voice_url": "https://example.invalid/zalo/voice.aac"},
}


class ZaloApiError(Exception):
    """An error answer of the fake (raised inside method handlers)."""

    def __init__(
        self,
        status: int,
        description: str,
        *,
        retry_after: float | None = None,
        raw_body: str | None = None,
    ) -> None:
        super().__init__(description)
        self.status = status
        self.description = description
        self.retry_after = retry_after
        self.raw_body = raw_body

    def response(self) -> web.Response:
        if self.raw_body is not None:
            return web.Response(status=self.status, text=self.raw_body, content_type="text/html")
        body: dict[str, Any] = {
            "ok": False,
            "error_code": self.status,
            "description": self.description,
        }
        headers: dict[str, str] = {}
        if self.retry_after is not None:
            body["parameters"] = {"retry_after": self.retry_after}
            headers["Retry-After"] = str(max(0, round(self.retry_after)))
        return web.json_response(body, status=self.status, headers=headers)


class _Disconnect(Exception):
    """Fault injection: drop the connection without answering."""


@dataclass
class _FailRule:
    method: str
    remaining: int
    status: int
    retry_after: float | None
    description: str | None


def _now_ms() -> int:
    return int(time.time() * 1000)


def _new_id() -> str:
    return uuid.uuid4().hex[:20]


class FakeZaloAPI:
    """In-process fake of the Zalo Bot API, served over HTTP on 127.0.0.1."""

    def __init__(
        self,
        token: str = "zalo-token",
        *,
        bot_id: str = BOT_ID,
        account_name: str = BOT_ACCOUNT_NAME,
        batch_updates: bool = False,
        wrap_webhook: bool = False,
        webhook_timeout: float = 10.0,
        max_poll_timeout: float = 60.0,
    ) -> None:
        self.token = token
        self.bot_info: dict[str, Any] = {
            "id": bot_id,
            "account_name": account_name,
            "account_type": "BASIC",
            "can_join_groups": False,
        }
        self.batch_updates = batch_updates
        self.wrap_webhook = wrap_webhook
        self.webhook_timeout = webhook_timeout
        self.max_poll_timeout = max_poll_timeout
        self.port = 0

        # --- recording
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.errors: list[tuple[str, dict[str, Any], int, str]] = []
        self.events: list[dict[str, Any]] = []  # every injected update, in order
        self.webhook_deliveries: list[dict[str, Any]] = []
        self.unauthorized_count = 0

        # --- state
        self._sent: dict[str, list[dict[str, Any]]] = {}
        self._actions: dict[str, list[str]] = {}
        self._pending: list[dict[str, Any]] = []  # queued for getUpdates
        self._webhook: dict[str, Any] | None = None
        self._fail_rules: list[_FailRule] = []
        self._closing = False

        self._cond: asyncio.Condition | None = None
        self._updates_cond: asyncio.Condition | None = None
        self._delivery_lock: asyncio.Lock | None = None
        self._session: aiohttp.ClientSession | None = None
        self._runner: web.AppRunner | None = None
        self._tasks: set[asyncio.Task[Any]] = set()

        handlers: list[tuple[str, Callable[[dict[str, Any]], Any]]] = [
            ("getMe", self._m_get_me),
            ("getUpdates", self._m_get_updates),
            ("setWebhook", self._m_set_webhook),
            ("deleteWebhook", self._m_delete_webhook),
            ("getWebhookInfo", self._m_get_webhook_info),
            ("sendMessage", self._m_send_message),
            ("sendChatAction", self._m_send_chat_action),
        ]
        self._methods = {name.lower(): (name, handler) for name, handler in handlers}

    # ---------------------------------------------------------------- lifecycle

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def base_url(self) -> str:
        """What to give ZaloClient as ``base_url`` (the token and method are appended)."""
        return f"{self.url}/bot"

    async def start(self) -> FakeZaloAPI:
        if self._runner is not None:
            return self
        self._cond = asyncio.Condition()
        self._updates_cond = asyncio.Condition()
        self._delivery_lock = asyncio.Lock()
        self._closing = False
        self._session = aiohttp.ClientSession(
            timeout=aiohttp.ClientTimeout(total=self.webhook_timeout)
        )
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._dispatch)
        runner = web.AppRunner(
            app,
            handle_signals=False,
            access_log=None,
            handler_cancellation=True,
            shutdown_timeout=1.0,
        )
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        self._runner = runner
        self.port = int(runner.addresses[0][1])
        return self

    async def aclose(self) -> None:
        self._closing = True
        await self._wake_pollers()
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)
        if self._session is not None:
            await self._session.close()
            self._session = None
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> FakeZaloAPI:
        return await self.start()

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    # ---------------------------------------------------------------- inspection

    def sent(self, chat_id: str | int) -> list[str]:
        """Texts the bot sent to ``chat_id``, in order."""
        return [m["text"] for m in self._sent.get(str(chat_id), [])]

    def sent_messages(self, chat_id: str | int) -> list[dict[str, Any]]:
        """Messages sent to ``chat_id``: dicts with message_id, date, text, params."""
        return [dict(m) for m in self._sent.get(str(chat_id), [])]

    def chat_actions(self, chat_id: str | int) -> list[str]:
        """Actions sent with sendChatAction to ``chat_id``, in order."""
        return list(self._actions.get(str(chat_id), []))

    def calls_to(self, method: str) -> list[dict[str, Any]]:
        """Parameters of every call to ``method`` (case-insensitive), in order."""
        lower = method.lower()
        return [params for name, params in self.calls if name.lower() == lower]

    @property
    def webhook(self) -> dict[str, Any] | None:
        """The current webhook ({url, secret_token, updated_at}) or None."""
        return dict(self._webhook) if self._webhook is not None else None

    @property
    def pending_updates(self) -> list[dict[str, Any]]:
        """Updates queued for getUpdates."""
        return list(self._pending)

    def event(self, message_id: str) -> dict[str, Any]:
        """The injected update whose message has ``message_id``."""
        for update in self.events:
            if update["message"].get("message_id") == message_id:
                return update
        raise KeyError(f"no injected event with message_id {message_id!r}")

    # ---------------------------------------------------------------- fault injection

    def fail_next(
        self,
        method: str,
        times: int = 1,
        status: int = 500,
        retry_after: float | None = None,
        description: str | None = None,
    ) -> None:
        """Make the next ``times`` calls of ``method`` fail with ``status``.

        403 and 429 -> a JSON error with their documented meaning ("Internal server error",
        "Quota exceeded"; a ``retry_after`` is added only when given, which Zalo never does);
        502 -> an nginx HTML page; 0 -> the connection is dropped without an answer; other
        statuses -> a JSON error with the HTTP phrase.
        """
        self._fail_rules.append(_FailRule(method.lower(), times, status, retry_after, description))

    # ---------------------------------------------------------------- injection

    async def send_text(
        self,
        user_id: str | int,
        text: str,
        display_name: str = "Lan",
        *,
        chat_id: str | int | None = None,
    ) -> str:
        """Inject a private text message from ``user_id``; returns its message_id."""
        return await self.send_event(
            user_id, EVENT_TEXT, display_name=display_name, chat_id=chat_id, text=text
        )

    async def send_event(
        self,
        user_id: str | int,
        event_name: str,
        *,
        display_name: str = "Lan",
        chat_id: str | int | None = None,
        **fields: Any,
    ) -> str:
        """Inject an event from ``user_id``; returns its message_id.

        ``event_name`` is a full name ("message.image.received") or its middle ("image",
        "sticker", "unsupported"); ``fields`` are added to the message (photo, caption,
        sticker, text, message_id, date, ...).
        """
        if "." not in event_name:
            event_name = f"message.{event_name}.received"
        user = str(user_id)
        message: dict[str, Any] = {
            "from": {"id": user, "display_name": display_name, "is_bot": False},
            "chat": {"id": str(chat_id if chat_id is not None else user), "chat_type": "PRIVATE"},
            "message_id": _new_id(),
            "date": _now_ms(),
        }
        message.update(_EVENT_DEFAULTS.get(event_name, {}))
        message.update(fields)
        return await self.inject_raw({"event_name": event_name, "message": message})

    async def inject_raw(self, update: dict[str, Any]) -> str:
        """Queue an arbitrary update, or POST it to the webhook when one is set (awaited);
        returns its message_id ("" when it has none)."""
        update = json.loads(json.dumps(update))  # a private copy, JSON-clean
        self.events.append(update)
        await self._route(update)
        message = update.get("message")
        return str(message.get("message_id", "")) if isinstance(message, dict) else ""

    async def redeliver(self, message_id: str) -> int | None:
        """Deliver the event ``message_id`` again: POSTed to the webhook (returns the HTTP
        status, None if the connection failed) or queued again for getUpdates (None)."""
        update = self.event(message_id)
        if self._webhook is not None:
            return await self._deliver(update)
        await self._queue(update)
        return None

    # ---------------------------------------------------------------- waiting

    async def wait_until(
        self, predicate: Callable[[], bool], timeout: float = 5.0, what: str = "condition"
    ) -> None:
        """Wait (without polling) until ``predicate()`` is true; AssertionError on timeout."""
        assert self._cond is not None, "FakeZaloAPI is not started"
        try:
            async with self._cond, asyncio.timeout(timeout):
                await self._cond.wait_for(predicate)
        except TimeoutError:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}") from None

    async def wait_for_sent(
        self, chat_id: str | int, count: int = 1, timeout: float = 5.0
    ) -> list[str]:
        """Wait until at least ``count`` texts were sent to ``chat_id``; returns them all."""
        key = str(chat_id)
        try:
            await self.wait_until(
                lambda: len(self._sent.get(key, [])) >= count, timeout, "sent messages"
            )
        except AssertionError:
            raise AssertionError(
                f"expected at least {count} message(s) sent to chat {key} within {timeout}s, "
                f"got {self.sent(key)}; errors: {self.errors[-5:]}; "
                f"last calls: {[c[0] for c in self.calls[-10:]]}"
            ) from None
        return self.sent(key)

    # ---------------------------------------------------------------- plumbing

    async def _notify(self) -> None:
        if self._cond is not None:
            async with self._cond:
                self._cond.notify_all()

    async def _wake_pollers(self) -> None:
        if self._updates_cond is not None:
            async with self._updates_cond:
                self._updates_cond.notify_all()

    def _spawn(self, coro: Any) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _deliver_all(self, updates: list[dict[str, Any]]) -> None:
        for update in updates:
            await self._deliver(update)

    async def _route(self, update: dict[str, Any]) -> None:
        if self._webhook is not None:
            await self._deliver(update)
        else:
            await self._queue(update)
        await self._notify()

    async def _queue(self, update: dict[str, Any]) -> None:
        self._pending.append(update)
        await self._wake_pollers()
        await self._notify()

    async def _dispatch(self, request: web.Request) -> web.StreamResponse:
        m = _API_PATH_RE.match(request.path)
        if not m:
            return ZaloApiError(404, "Not Found").response()
        token, method = m.group(1), m.group(2)
        if token != self.token:
            self.unauthorized_count += 1
            return ZaloApiError(401, "Unauthorized").response()
        try:
            params = await self._read_params(request)
        except ZaloApiError as exc:
            return exc.response()
        entry = self._methods.get(method.lower())
        canonical = entry[0] if entry else method
        self.calls.append((canonical, params))
        await self._notify()
        try:
            if entry is None:
                raise ZaloApiError(404, "Not Found")
            self._check_faults(canonical)
            result = await entry[1](params)
        except _Disconnect:
            if request.transport is not None:
                request.transport.abort()
            return web.Response(status=500)  # never reaches the client
        except ZaloApiError as exc:
            self.errors.append((canonical, params, exc.status, exc.description))
            await self._notify()
            return exc.response()
        await self._notify()
        if result is _NO_RESULT:
            return web.json_response({"ok": True})
        return web.json_response({"ok": True, "result": result})

    async def _read_params(self, request: web.Request) -> dict[str, Any]:
        params: dict[str, Any] = dict(request.query)
        if request.method != "POST" or not request.body_exists:
            return params
        if request.content_type == "application/json":
            try:
                body = await request.json()
            except ValueError:
                raise ZaloApiError(400, "Bad Request: invalid JSON body") from None
            if not isinstance(body, dict):
                raise ZaloApiError(400, "Bad Request: the JSON body must be an object")
            params.update(body)
        elif request.content_type in ("application/x-www-form-urlencoded", "multipart/form-data"):
            form = await request.post()
            params.update({k: v for k, v in form.items() if isinstance(v, str)})
        return params

    def _check_faults(self, method: str) -> None:
        lower = method.lower()
        for rule in self._fail_rules:
            if rule.method == lower:
                rule.remaining -= 1
                if rule.remaining <= 0:
                    self._fail_rules.remove(rule)
                raise self._fault(rule)

    @staticmethod
    def _fault(rule: _FailRule) -> Exception:
        status = rule.status
        if status == 0:
            return _Disconnect()
        if status in _DOCUMENTED:
            return ZaloApiError(
                status, rule.description or _DOCUMENTED[status], retry_after=rule.retry_after
            )
        if status == 502 and rule.description is None:
            return ZaloApiError(502, "Bad Gateway", raw_body=_BAD_GATEWAY_HTML)
        try:
            phrase = HTTPStatus(status).phrase
        except ValueError:
            phrase = "Error"
        return ZaloApiError(status, rule.description or phrase, retry_after=rule.retry_after)

    # ---------------------------------------------------------------- methods

    async def _m_get_me(self, params: dict[str, Any]) -> dict[str, Any]:
        return dict(self.bot_info)

    async def _m_get_updates(self, params: dict[str, Any]) -> Any:
        if self._webhook is not None:
            raise ZaloApiError(400, _WEBHOOK_CONFLICT)
        try:
            timeout = float(params.get("timeout", 30) or 0)
        except (TypeError, ValueError):
            raise ZaloApiError(400, "Bad Request: timeout must be a number") from None
        timeout = min(max(0.0, timeout), self.max_poll_timeout)
        assert self._updates_cond is not None

        def ready() -> bool:
            return self._closing or self._webhook is not None or bool(self._pending)

        async with self._updates_cond:
            if timeout > 0 and not ready():
                try:
                    async with asyncio.timeout(timeout):
                        await self._updates_cond.wait_for(ready)
                except TimeoutError:
                    pass
            if self._webhook is not None:
                raise ZaloApiError(400, _WEBHOOK_CONFLICT)
            if not self._pending:
                raise ZaloApiError(408, "Request timeout")
            if self.batch_updates:
                taken, self._pending = self._pending, []
                return taken
            return self._pending.pop(0)

    async def _m_set_webhook(self, params: dict[str, Any]) -> dict[str, Any]:
        url = str(params.get("url") or "")
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ZaloApiError(400, "Bad Request: invalid webhook url")
        secret = params.get("secret_token")
        if not isinstance(secret, str) or not 8 <= len(secret) <= 256:
            raise ZaloApiError(400, "Bad Request: secret_token must be 8 to 256 characters")
        self._webhook = {"url": url, "secret_token": secret, "updated_at": _now_ms()}
        await self._wake_pollers()
        pending, self._pending = self._pending, []
        if pending:  # queued events now go to the webhook, after this answer
            self._spawn(self._deliver_all(pending))
        return {"url": url, "updated_at": self._webhook["updated_at"]}

    async def _m_delete_webhook(self, params: dict[str, Any]) -> dict[str, Any]:
        self._webhook = None
        return {"url": "", "updated_at": _now_ms()}

    async def _m_get_webhook_info(self, params: dict[str, Any]) -> dict[str, Any]:
        if self._webhook is None:
            raise ZaloApiError(404, "Webhook not found")
        return {"url": self._webhook["url"], "updated_at": self._webhook["updated_at"]}

    async def _m_send_message(self, params: dict[str, Any]) -> dict[str, Any]:
        chat_id = self._chat_id(params)
        text = params.get("text")
        length = len(text.encode("utf-16-le")) // 2 if isinstance(text, str) else 0
        if not 1 <= length <= MAX_TEXT_LENGTH:
            raise ZaloApiError(
                400,
                f"Bad Request: text must be 1 to {MAX_TEXT_LENGTH} characters, got {length}",
            )
        record = {"message_id": _new_id(), "date": _now_ms(), "text": text, "params": params}
        self._sent.setdefault(chat_id, []).append(record)
        return {"message_id": record["message_id"], "date": record["date"]}

    async def _m_send_chat_action(self, params: dict[str, Any]) -> object:
        chat_id = self._chat_id(params)
        action = params.get("action")
        if action not in CHAT_ACTIONS:
            raise ZaloApiError(400, "Bad Request: invalid action")
        self._actions.setdefault(chat_id, []).append(str(action))
        return _NO_RESULT

    @staticmethod
    def _chat_id(params: dict[str, Any]) -> str:
        chat_id = params.get("chat_id")
        if chat_id is None or chat_id == "" or isinstance(chat_id, bool | dict | list):
            raise ZaloApiError(400, "Bad Request: chat_id is required")
        return str(chat_id)

    # ---------------------------------------------------------------- webhook delivery

    async def _deliver(self, update: dict[str, Any]) -> int | None:
        assert self._delivery_lock is not None and self._session is not None
        async with self._delivery_lock:
            webhook = self._webhook
            if webhook is None:
                await self._queue(update)
                return None
            url = webhook["url"]
            status: int | None = None
            error: str | None = None
            host = urlsplit(url).hostname
            if host not in _LOOPBACK_HOSTS:
                error = f"the fake delivers webhooks to loopback only, not to {host!r}"
            else:
                body = {"ok": True, "result": update} if self.wrap_webhook else update
                headers = {SECRET_HEADER: webhook["secret_token"]}
                try:
                    async with self._session.post(url, json=body, headers=headers) as response:
                        status = response.status
                        await response.read()
                except (aiohttp.ClientError, TimeoutError) as exc:
                    error = f"{type(exc).__name__}: {exc}"
            self.webhook_deliveries.append(
                {
                    "url": url,
                    "message_id": update.get("message", {}).get("message_id"),
                    "update": update,
                    "status": status,
                    "error": error,
                }
            )
        await self._notify()
        return status


_NO_RESULT = object()  # a method answered {"ok": true} without "result"
