"""An async HTTP client for the Zalo Bot Platform ("Zalo Bot").

What the API is, from the platform's documentation (https://bot.zaloplatforms.com/docs and
its current edition https://docs.zaloplatforms.com/docs/BOT) [D], and where the docs are
silent, from public clients [O]:

* Calls are ``{base}/bot<TOKEN>/<method>``, GET or POST, parameters as JSON, form or query
  string [D]; this client POSTs JSON. The base is ``https://bot-api.zaloplatforms.com``
  (older: ``bot-api.zapps.me``) [D]. Answers are ``{"ok": true, "result": ...}`` or
  ``{"ok": false, "error_code": N, "description": "..."}``; only ``ok`` means success [D].
* The documented error codes ("Bảng mã lỗi") are all there is [D]: 400 bad request,
  401 token expired or invalid, **403 internal server error** (retried here, a bounded
  number of times; it does NOT mean the user blocked the bot: no code is documented for
  that), 404 not found, 408 request timeout, **429 quota exceeded** (no ``retry_after``
  and no quota figure are documented: `ZaloQuotaExceeded` is raised at once, and the
  caller pauses for minutes). Connection errors and 5xx are retried too (not documented,
  harmless).
* ``getMe`` -> ``{id, account_name, account_type, can_join_groups}`` [D].
* ``getUpdates`` (``timeout`` in seconds, documented as a string, default 30) long-polls
  and returns **one** update object, with no update id and no offset; the update is gone
  once returned [D, O: github.com/openclaw/openclaw extensions/zalo]. Nothing before the
  timeout answers 408 [D, O]. The docs reserve polling for development ("production should
  set a webhook so as not to miss events") and it does not work while a webhook is set;
  it then answers 400 in practice [O: github.com/field-vn/zalo].
* An update is ``{"event_name": ..., "message": {...}}``; events ``message.text.received``,
  ``message.image.received`` (``photo`` and ``caption``), ``message.sticker.received``
  (``sticker``, ``url``), ``message.voice.received`` (``voice_url``) and
  ``message.unsupported.received``: a sender in a group the law protects (children, people
  with disabilities...) whose content Zalo withholds [D]. ``message`` has ``from`` {id,
  display_name, is_bot}, ``chat`` {id, chat_type "PRIVATE"|"GROUP" (groups in beta)},
  ``text``, ``message_id`` (a hex string), ``date`` (milliseconds) [D]. Ids are strings.
* ``setWebhook`` {url, secret_token (8-256 characters)} -> {url, updated_at}; the URL must be
  public HTTPS (localhost and private addresses are refused) [D]; Zalo then POSTs each update
  with the header ``X-Bot-Api-Secret-Token`` [D]. The docs show the body wrapped as
  ``{"ok": true, "result": update}``; flat deliveries have been observed
  [O: github.com/openclaw/openclaw pull 991]: `parse_event` takes both. ``deleteWebhook`` ->
  {url: "", updated_at}; ``getWebhookInfo`` -> {url, updated_at}, or 404 when none is set
  [D, O: github.com/vcth4nh/hermes-zalo-bot].
* ``sendMessage`` {chat_id, text: 1 to 2000 characters, optional parse_mode and
  text_styles} -> {message_id, date} [D]. The docs do not say how characters are counted;
  text_styles offsets are UTF-16 units, so texts are measured in UTF-16 and cut with a
  margin (`SPLIT_AT`).
* ``sendChatAction`` {chat_id, action: "typing"} -> ``{"ok": true}`` with no ``result`` [D].
* Events may be delivered again (a webhook answered 5xx is redelivered
  [O: github.com/field-vn/zalo]): hence `stable_update_id`, since updates carry no id.
* Zalo's edge has been seen sending duplicate ``Server`` headers [O: hermes-zalo-bot];
  aiohttp's response parser accepts them except in Python dev mode.
* Not documented at all: whether a bot may message a user unprompted weeks after their last
  message (what every reminder does). Test it live (see the README) before relying on it.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any

import aiohttp

from bot.render import utf16_length

log = logging.getLogger(__name__)

__all__ = [
    "DEFAULT_BASE_URL",
    "EVENT_IMAGE",
    "EVENT_STICKER",
    "EVENT_TEXT",
    "EVENT_UNSUPPORTED",
    "EVENT_VOICE",
    "MAX_TEXT",
    "SECRET_HEADER",
    "SPLIT_AT",
    "ZaloClient",
    "ZaloError",
    "ZaloEvent",
    "ZaloNetworkError",
    "ZaloQuotaExceeded",
    "ZaloUnauthorized",
    "parse_event",
    "stable_update_id",
]

DEFAULT_BASE_URL = "https://bot-api.zaloplatforms.com/bot"
MAX_TEXT = 2000
# Texts are cut below the limit: how Zalo counts characters is not documented.
SPLIT_AT = 1900
SECRET_HEADER = "X-Bot-Api-Secret-Token"
SECRET_MIN, SECRET_MAX = 8, 256

EVENT_TEXT = "message.text.received"
EVENT_IMAGE = "message.image.received"
EVENT_STICKER = "message.sticker.received"
EVENT_VOICE = "message.voice.received"
EVENT_UNSUPPORTED = "message.unsupported.received"

POLL_TIMEOUT_CODE = 408  # getUpdates: nothing arrived before the timeout
INTERNAL_ERROR = 403  # documented as "Internal server error", retried
QUOTA_EXCEEDED = 429  # documented as "Quota exceeded", with no retry_after
_POLL_MARGIN = 10.0  # seconds of HTTP timeout beyond the long-poll timeout


# --- errors --------------------------------------------------------------------------------


class ZaloError(Exception):
    """An error answer of the Zalo Bot API (or, for `ZaloNetworkError`, no answer at all)."""

    def __init__(
        self,
        error_code: int,
        description: str,
        *,
        method: str = "",
    ) -> None:
        self.error_code = error_code
        self.description = description
        self.method = method
        where = f"{method}: " if method else ""
        super().__init__(f"{where}{description} (error {error_code})")


class ZaloUnauthorized(ZaloError):
    """The bot token was rejected (401): the app should stop with a one-line message."""

    def __str__(self) -> str:
        return f"Zalo rejected the bot token ({self.error_code} {self.description})"


class ZaloNetworkError(ZaloError):
    """No usable answer: connection error, timeout, or a body that is not the API's JSON."""


class ZaloQuotaExceeded(ZaloError):
    """429 "Quota exceeded": not retried here; the caller pauses for minutes."""


class ZaloUncertain(ZaloNetworkError):
    """No answer after the request may have reached the API (a timeout, a dropped
    connection): a message may have been sent, so it is not sent again blindly."""


# --- the client ----------------------------------------------------------------------------


class ZaloClient:
    """Async client of ``{base_url}{token}/{method}``.

    ``async with ZaloClient(token) as zalo: ...`` or ``await start()`` / ``await close()``.
    Transient failures that certainly left nothing done (no connection, 403 "internal
    server error", 5xx) are retried ``retries`` times with exponential backoff
    (``backoff`` * 2**attempt, at most ``max_delay``). Other errors are raised at once: 401
    as `ZaloUnauthorized`, 429 as `ZaloQuotaExceeded` (the caller pauses for minutes), a
    timeout or dropped connection after the request went out as `ZaloUncertain`, the rest
    as `ZaloError`.
    """

    def __init__(
        self,
        token: str,
        *,
        base_url: str = DEFAULT_BASE_URL,
        retries: int = 3,
        backoff: float = 0.5,
        max_delay: float = 30.0,
        request_timeout: float = 15.0,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        """`sleep` waits between retries (a test records the delays instead)."""
        if not token:
            raise ValueError("a Zalo bot token is required")
        self._token = token
        self.base_url = base_url
        self.retries = max(0, retries)
        self.backoff = backoff
        self.max_delay = max_delay
        self.request_timeout = request_timeout
        self._sleep = sleep
        self._session: aiohttp.ClientSession | None = None

    # --- lifecycle ------------------------------------------------------------------------

    async def start(self) -> ZaloClient:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                headers={"Accept": "application/json"}, raise_for_status=False
            )
        return self

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def __aenter__(self) -> ZaloClient:
        return await self.start()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    # --- methods --------------------------------------------------------------------------

    async def get_me(self) -> dict[str, Any]:
        """The bot's account ({id, account_name, account_type, ...}); checks the token."""
        result = await self.call("getMe")
        return result if isinstance(result, dict) else {}

    async def get_updates(self, timeout: int = 30) -> list[dict[str, Any]]:
        """Long-poll up to ``timeout`` seconds; the updates received (empty on timeout).

        Zalo answers one update per call; a list is accepted too.
        """
        if timeout < 0:
            raise ValueError("timeout must be >= 0")
        try:
            result = await self.call(
                "getUpdates",
                {"timeout": str(int(timeout))},
                http_timeout=timeout + _POLL_MARGIN,
            )
        except ZaloError as error:
            if error.error_code == POLL_TIMEOUT_CODE and not isinstance(error, ZaloNetworkError):
                return []
            raise
        return _as_update_list(result)

    async def set_webhook(self, url: str, secret_token: str) -> dict[str, Any]:
        """Have Zalo POST updates to ``url`` with header X-Bot-Api-Secret-Token."""
        if not SECRET_MIN <= len(secret_token) <= SECRET_MAX:
            raise ValueError(
                f"the webhook secret must be {SECRET_MIN} to {SECRET_MAX} characters long"
            )
        result = await self.call("setWebhook", {"url": url, "secret_token": secret_token})
        return result if isinstance(result, dict) else {}

    async def delete_webhook(self) -> dict[str, Any]:
        result = await self.call("deleteWebhook")
        return result if isinstance(result, dict) else {}

    async def get_webhook_info(self) -> dict[str, Any] | None:
        """The webhook ({url, updated_at}), or None when none is set (Zalo answers 404)."""
        try:
            result = await self.call("getWebhookInfo")
        except ZaloError as error:
            if error.error_code == 404 and not isinstance(error, ZaloNetworkError):
                return None
            raise
        if not isinstance(result, dict) or not result.get("url"):
            return None
        return result

    async def send_message(self, chat_id: str | int, text: str) -> dict[str, Any]:
        """Send one text of 1 to 2000 characters (UTF-16 units); {message_id, date}.

        Longer texts are refused with ValueError: cutting them (`split_text`) is the caller's.
        """
        length = utf16_length(text)
        if not 1 <= length <= MAX_TEXT:
            raise ValueError(f"Zalo texts are 1 to {MAX_TEXT} characters long, not {length}")
        result = await self.call("sendMessage", {"chat_id": str(chat_id), "text": text})
        return result if isinstance(result, dict) else {}

    async def send_chat_action(self, chat_id: str | int, action: str = "typing") -> bool:
        result = await self.call("sendChatAction", {"chat_id": str(chat_id), "action": action})
        return result is not False

    # --- plumbing -------------------------------------------------------------------------

    async def call(
        self,
        method: str,
        params: dict[str, Any] | None = None,
        *,
        http_timeout: float | None = None,
    ) -> Any:
        """POST ``params`` as JSON to ``method``; its ``result`` (True when there is none)."""
        attempts = self.retries + 1
        for attempt in range(attempts):
            try:
                return await self._call_once(method, params, http_timeout)
            except ZaloUnauthorized:
                raise
            except ZaloError as error:
                if not _is_transient(error, method) or attempt == attempts - 1:
                    raise
                delay = min(self.backoff * 2**attempt, self.max_delay)
                log.warning(
                    "zalo %s failed (%s), retry %d/%d in %.2fs",
                    method,
                    error.description,
                    attempt + 1,
                    self.retries,
                    delay,
                )
                await self._sleep(delay)
        raise AssertionError("unreachable")  # pragma: no cover

    async def _call_once(
        self, method: str, params: dict[str, Any] | None, http_timeout: float | None
    ) -> Any:
        if self._session is None or self._session.closed:
            raise RuntimeError("ZaloClient is not started: use `async with` or await start()")
        url = f"{self.base_url}{self._token}/{method}"
        timeout = aiohttp.ClientTimeout(total=http_timeout or self.request_timeout)
        try:
            async with self._session.post(url, json=params or {}, timeout=timeout) as response:
                status = response.status
                raw = await response.text(errors="replace")
        except (aiohttp.ClientError, TimeoutError) as exc:
            detail = self._redact(str(exc)) or "no detail"
            # Only a connection never made certainly failed.
            never_sent = isinstance(
                exc, aiohttp.ClientConnectorError | aiohttp.ConnectionTimeoutError
            )
            kind = ZaloNetworkError if never_sent else ZaloUncertain
            raise kind(0, f"{type(exc).__name__}: {detail}"[:300], method=method) from None
        try:
            body = json.loads(raw)
        except ValueError:
            body = None
        if not isinstance(body, dict):
            snippet = self._redact(" ".join(raw.split()))[:200] or "empty body"
            if status == 401:
                raise ZaloUnauthorized(401, "Unauthorized", method=method)
            if status >= 400:
                raise ZaloError(status, f"HTTP {status}: {snippet}", method=method)
            raise ZaloNetworkError(status, f"not a JSON object: {snippet}", method=method)
        if body.get("ok") is True:
            return body.get("result", True)
        code = _int(body.get("error_code")) or (status if status >= 400 else 0)
        description = self._redact(str(body.get("description") or f"HTTP {status}"))
        if code == 401 or status == 401:
            raise ZaloUnauthorized(401, description, method=method)
        if code == QUOTA_EXCEEDED:
            raise ZaloQuotaExceeded(code, description, method=method)
        raise ZaloError(code, description, method=method)

    def _redact(self, text: str) -> str:
        return text.replace(self._token, "<TOKEN>") if self._token else text


def _is_transient(error: ZaloError, method: str) -> bool:
    """Worth another try: the API cannot have acted on the request, or acting twice is
    harmless (reads, setting the webhook); a send that may have gone out is not."""
    if isinstance(error, ZaloNetworkError):
        return not isinstance(error, ZaloUncertain) or not method.startswith("send")
    return error.error_code == INTERNAL_ERROR or 500 <= error.error_code <= 599


def _int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _as_update_list(result: Any) -> list[dict[str, Any]]:
    if isinstance(result, list):
        return [u for u in result if isinstance(u, dict) and u]
    if isinstance(result, dict) and ("event_name" in result or "message" in result):
        return [result]
    return []


# --- events --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ZaloEvent:
    """One incoming update, read tolerantly (missing fields are empty, never an error)."""

    event_name: str
    user_id: str
    chat_id: str
    display_name: str
    text: str | None
    message_id: str
    is_text: bool
    date: int | None = None
    chat_type: str = ""
    is_bot: bool = False
    photo: str = ""  # an image's URL (message.image.received), with its caption
    caption: str = ""
    raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)


def parse_event(update: Any) -> ZaloEvent | None:
    """Read an update, flat ``{event_name, message}`` or wrapped ``{ok, result: {...}}``.

    None when it is not an update at all (no message, or neither a chat nor a sender id).
    A message with text but no event name (the docs' getUpdates sample) counts as text.
    """
    if not isinstance(update, dict):
        return None
    body = update
    if isinstance(update.get("result"), dict) and "message" not in update:
        body = update["result"]
    message = body.get("message")
    if not isinstance(message, dict):
        return None
    sender = message.get("from") if isinstance(message.get("from"), dict) else {}
    chat = message.get("chat") if isinstance(message.get("chat"), dict) else {}
    user_id = _str(sender.get("id"))
    chat_id = _str(chat.get("id")) or user_id
    if not chat_id:
        return None
    event_name = _str(body.get("event_name"))
    raw_text = message.get("text")
    is_text = isinstance(raw_text, str) and event_name in (EVENT_TEXT, "")
    display_name = next(
        (
            _str(sender.get(key))
            for key in ("display_name", "name", "first_name")
            if _str(sender.get(key))
        ),
        "",
    )
    date = message.get("date")
    return ZaloEvent(
        event_name=event_name,
        user_id=user_id or chat_id,
        chat_id=chat_id,
        display_name=display_name,
        text=raw_text if is_text else None,
        message_id=_str(message.get("message_id")),
        is_text=is_text,
        date=int(date) if isinstance(date, int | float) and not isinstance(date, bool) else None,
        chat_type=_str(chat.get("chat_type")).upper(),
        is_bot=sender.get("is_bot") is True,
        photo=_str(message.get("photo")),
        caption=_str(message.get("caption")),
        raw=body,
    )


def stable_update_id(event: ZaloEvent) -> str:
    """An id equal for every delivery of the same event (at most 64 characters).

    Zalo updates carry no update id: the message id is used ("m:<id>"); without one, a hash
    of event name, chat id, date and text ("h:<sha256>"), so that the same text sent twice
    without message id and date would count as one.
    """
    if event.message_id and len(event.message_id) <= 62:
        return f"m:{event.message_id}"
    seed = "\x1f".join(
        [
            event.event_name,
            event.chat_id,
            "" if event.date is None else str(event.date),
            event.text or "",
            event.message_id,
        ]
    )
    return "h:" + hashlib.sha256(seed.encode("utf-8")).hexdigest()[:48]


def _str(value: Any) -> str:
    if value is None or isinstance(value, bool):
        return ""
    return str(value).strip()
