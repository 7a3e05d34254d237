"""A fake Telegram Bot API server for tests.

It speaks the real HTTP protocol of the Bot API on ``127.0.0.1`` (random port), so the real
python-telegram-bot stack (``Bot``, ``Application``, ``Updater``, ``AIORateLimiter``) can be
driven against it::

    async with FakeTelegramAPI(token="123:ABC") as fake:
        app = (
            ApplicationBuilder()
            .token("123:ABC")
            .base_url(fake.base_url)
            .base_file_url(fake.base_file_url)
            .build()
        )
        ...
        await fake.send_text(42, "/start")
        sent = await fake.wait_for_sent(42, 1)

PTB builds request URLs as ``f"{base_url}{token}/{method}"`` (the token is appended to
``base_url`` unless ``base_url`` contains a ``{token}`` placeholder), so ``base_url`` ends in
``/bot``.  Files are served at ``f"{base_file_url}{token}/{file_path}"``.

Behaviour mirrors the real API where it matters for bot code: error bodies and HTTP statuses
(400/401/403/404/409/429/5xx), long polling with ``offset`` confirmation, 409 for ``getUpdates``
while a webhook is set or when a newer ``getUpdates`` supersedes a waiting one, "message is not
modified" on no-op edits, HTML / MarkdownV2 / Markdown validation (``can't parse entities``),
text/caption length limits and ``callback_data`` length limit.
"""

from __future__ import annotations

import asyncio
import json
import re
import time
import uuid
import zlib
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any
from urllib.parse import urlsplit

import aiohttp
from aiohttp import web

__all__ = ["ApiError", "FakeTelegramAPI", "UploadedFile"]

BOT_USERNAME = "doingoai_test_bot"
BOT_FIRST_NAME = "Doingoai Test Bot"

MAX_TEXT_LENGTH = 4096
MAX_CAPTION_LENGTH = 1024
MAX_CALLBACK_DATA_BYTES = 64

_LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})
_API_PATH_RE = re.compile(r"^/bot([^/]+)/([^/]+)/?$")
_FILE_PATH_RE = re.compile(r"^/file/bot([^/]+)/(.+)$")
_COMMAND_RE = re.compile(r"^/[A-Za-z0-9_]{1,32}(?:@[A-Za-z0-9_]{3,32})?")
_SECRET_TOKEN_RE = re.compile(r"^[A-Za-z0-9_-]{1,256}$")
_BOT_COMMAND_NAME_RE = re.compile(r"^[a-z0-9_]{1,32}$")

# Parameters that are plain strings in the Bot API: never JSON-decode them, even if they look
# like numbers or JSON ("123", "true", "[1]" are valid message texts).
_STRING_PARAMS = frozenset(
    {
        "text",
        "caption",
        "parse_mode",
        "callback_query_id",
        "data",
        "url",
        "secret_token",
        "ip_address",
        "action",
        "language_code",
        "inline_message_id",
        "business_connection_id",
        "message_effect_id",
        "description",
        "short_description",
        "name",
        "emoji",
        "file_id",
        "title",
        "question",
        "address",
        "phone_number",
        "first_name",
        "last_name",
        "vcard",
        "switch_pm_text",
        "switch_pm_parameter",
        "next_offset",
        "custom_title",
        "sticker_set_name",
    }
)
# Parameters whose value is JSON even inside a JSON body some clients double-encode.
_JSON_PARAMS = frozenset(
    {
        "reply_markup",
        "allowed_updates",
        "commands",
        "scope",
        "entities",
        "caption_entities",
        "link_preview_options",
        "reply_parameters",
        "media",
    }
)
_ID_PARAMS = frozenset({"chat_id", "message_id", "user_id", "from_chat_id", "offset", "limit"})

# Update types that are not delivered unless explicitly listed in allowed_updates.
_OPT_IN_UPDATE_TYPES = frozenset({"chat_member", "message_reaction", "message_reaction_count"})

_CHAT_ACTIONS = frozenset(
    {
        "typing",
        "upload_photo",
        "record_video",
        "upload_video",
        "record_voice",
        "upload_voice",
        "upload_document",
        "choose_sticker",
        "find_location",
        "record_video_note",
        "upload_video_note",
    }
)

# Media sending methods: lower-case name -> (canonical name, message field).
_MEDIA_METHODS = {
    "senddocument": ("sendDocument", "document"),
    "sendphoto": ("sendPhoto", "photo"),
    "sendaudio": ("sendAudio", "audio"),
    "sendvoice": ("sendVoice", "voice"),
    "sendvideo": ("sendVideo", "video"),
    "sendanimation": ("sendAnimation", "animation"),
}

_NOT_MODIFIED = (
    "Bad Request: message is not modified: specified new message content and reply markup "
    "are exactly the same as a current content and reply markup of the message"
)
_BAD_GATEWAY_HTML = (
    "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n"
    "<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx/1.18.0</center>\r\n"
    "</body>\r\n</html>\r\n"
)


class ApiError(Exception):
    """An error answer of the Bot API (raised inside method handlers)."""

    def __init__(
        self,
        status: int,
        description: str,
        parameters: dict[str, Any] | None = None,
        *,
        raw_body: str | None = None,
    ) -> None:
        super().__init__(description)
        self.status = status
        self.description = description
        self.parameters = parameters
        self.raw_body = raw_body

    def response(self) -> web.Response:
        if self.raw_body is not None:
            return web.Response(status=self.status, text=self.raw_body, content_type="text/html")
        body: dict[str, Any] = {
            "ok": False,
            "error_code": self.status,
            "description": self.description,
        }
        if self.parameters:
            body["parameters"] = self.parameters
        return web.json_response(body, status=self.status)


@dataclass
class UploadedFile:
    """A file part of a multipart request."""

    filename: str | None
    content: bytes
    content_type: str | None = None

    def __repr__(self) -> str:
        return (
            f"UploadedFile(filename={self.filename!r}, size={len(self.content)}, "
            f"content_type={self.content_type!r})"
        )


@dataclass
class _FailRule:
    method: str
    chat_id: int | str | None
    remaining: int
    status: int
    retry_after: float
    description: str | None


@dataclass
class _StoredFile:
    file_id: str
    file_unique_id: str
    file_path: str
    content: bytes | None
    filename: str | None
    mime_type: str | None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def size(self) -> int:
        return len(self.content) if self.content is not None else 0


def _u16(text: str) -> int:
    """Length in UTF-16 code units (what Telegram uses for entity offsets and limits)."""
    return len(text.encode("utf-16-le")) // 2


def _now() -> int:
    return int(time.time())


def _bad_request(description: str) -> ApiError:
    return ApiError(400, f"Bad Request: {description}")


def _entities_error(description: str) -> ApiError:
    return _bad_request(f"can't parse entities: {description}")


# --------------------------------------------------------------------------------------------
# Formatting (parse_mode) - validation and rendering to plain text + entities
# --------------------------------------------------------------------------------------------


class _TextBuilder:
    def __init__(self, source: str) -> None:
        self.source = source
        self.parts: list[str] = []
        self.pos = 0  # in UTF-16 code units
        self.entities: list[dict[str, Any]] = []

    def emit(self, text: str) -> None:
        if text:
            self.parts.append(text)
            self.pos += _u16(text)

    def add(self, etype: str, start: int, **extra: Any) -> None:
        length = self.pos - start
        if length > 0:
            entity = {"type": etype, "offset": start, "length": length}
            entity.update({k: v for k, v in extra.items() if v is not None})
            self.entities.append(entity)

    def byte_offset(self, index: int) -> int:
        return len(self.source[:index].encode("utf-8"))

    def result(self) -> tuple[str, list[dict[str, Any]]]:
        entities = sorted(self.entities, key=lambda e: (e["offset"], -e["length"]))
        return "".join(self.parts), entities


_HTML_TAGS = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "u": "underline",
    "ins": "underline",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "tg-spoiler": "spoiler",
    "span": "spoiler",
    "a": "text_link",
    "code": "code",
    "pre": "pre",
    "blockquote": "blockquote",
    "tg-emoji": "custom_emoji",
}
_HTML_ENTITY_RE = re.compile(r"&(#[xX][0-9a-fA-F]{1,6}|#[0-9]{1,7}|[a-zA-Z][a-zA-Z0-9]*);")
_HTML_NAMED = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}
_HTML_START_RE = re.compile(r"<([a-zA-Z][a-zA-Z0-9-]*)")
_HTML_ATTRS_RE = re.compile(
    r"((?:\s+[a-zA-Z_:-][a-zA-Z0-9_:.-]*(?:\s*=\s*(?:\"[^\"]*\"|'[^']*'|[^\s\"'>]+))?)*)\s*/?>"
)
_HTML_ATTR_RE = re.compile(
    r"([a-zA-Z_:-][a-zA-Z0-9_:.-]*)(?:\s*=\s*(?:\"([^\"]*)\"|'([^']*)'|([^\s\"'>]+)))?"
)
_HTML_END_RE = re.compile(r"</([a-zA-Z][a-zA-Z0-9-]*)?\s*>")


def _html_unescape(value: str) -> str:
    def repl(m: re.Match[str]) -> str:
        name = m.group(1)
        if name[:2] in ("#x", "#X"):
            return chr(int(name[2:], 16))
        if name.startswith("#"):
            return chr(int(name[1:]))
        return _HTML_NAMED.get(name, m.group(0))

    return _HTML_ENTITY_RE.sub(repl, value)


def _parse_html(text: str) -> tuple[str, list[dict[str, Any]]]:
    out = _TextBuilder(text)
    # stack items: (tag, entity type, start position, attributes, byte offset)
    stack: list[tuple[str, str, int, dict[str, str], int]] = []
    i, n = 0, len(text)
    while i < n:
        char = text[i]
        if char == "&":
            m = _HTML_ENTITY_RE.match(text, i)
            if m:
                out.emit(_html_unescape(m.group(0)))
                i = m.end()
            else:
                out.emit("&")
                i += 1
            continue
        if char != "<":
            j = i
            while j < n and text[j] not in "<&":
                j += 1
            out.emit(text[i:j])
            i = j
            continue
        offset = out.byte_offset(i)
        if text.startswith("</", i):
            m = _HTML_END_RE.match(text, i)
            if not m:
                raise _entities_error(f"Unclosed end tag at byte offset {offset}")
            name = (m.group(1) or "").lower()
            if not stack:
                raise _entities_error(f"Unexpected end tag at byte offset {offset}")
            tag, etype, start, attrs, _ = stack.pop()
            if name and name != tag:
                raise _entities_error(
                    f'Unmatched end tag at byte offset {offset}, expected "</{tag}>", '
                    f'found "</{name}>"'
                )
            parent = stack[-1][0] if stack else None
            if etype == "text_link":
                href = attrs.get("href")
                if href:
                    out.add("text_link", start, url=href)
            elif etype == "custom_emoji":
                out.add("custom_emoji", start, custom_emoji_id=attrs.get("emoji-id"))
            elif etype == "code" and parent == "pre":
                language = attrs.get("class", "")
                if language.startswith("language-"):
                    # Attach the language to the enclosing <pre> when it closes.
                    ptag, ptype, pstart, pattrs, pofs = stack[-1]
                    stack[-1] = (ptag, ptype, pstart, {**pattrs, "_language": language[9:]}, pofs)
                else:
                    out.add("code", start)
            elif etype == "pre":
                out.add("pre", start, language=attrs.get("_language"))
            elif etype == "blockquote":
                out.add("expandable_blockquote" if "expandable" in attrs else "blockquote", start)
            else:
                out.add(etype, start)
            i = m.end()
            continue
        m = _HTML_START_RE.match(text, i)
        if not m:
            raise _entities_error(f'Unsupported start tag "" at byte offset {offset}')
        name = m.group(1).lower()
        if name not in _HTML_TAGS:
            raise _entities_error(f'Unsupported start tag "{name}" at byte offset {offset}')
        attrs_match = _HTML_ATTRS_RE.match(text, m.end())
        if not attrs_match:
            raise _entities_error(f"Unclosed start tag at byte offset {offset}")
        attrs: dict[str, str] = {}
        for am in _HTML_ATTR_RE.finditer(attrs_match.group(1)):
            raw = next((g for g in am.groups()[1:] if g is not None), "")
            attrs[am.group(1).lower()] = _html_unescape(raw)
        if name == "span" and attrs.get("class") != "tg-spoiler":
            raise _entities_error(
                f'Tag "span" must have class "tg-spoiler" at byte offset {offset}'
            )
        stack.append((name, _HTML_TAGS[name], out.pos, attrs, offset))
        i = attrs_match.end()
    if stack:
        raise _entities_error(f'Can\'t find end tag corresponding to start tag "{stack[-1][0]}"')
    return out.result()


_MDV2_RESERVED = frozenset("_*[]()~`>#+-=|{}.!")
_MDV2_NAMES = {
    "bold": "Bold",
    "italic": "Italic",
    "underline": "Underline",
    "strikethrough": "Strikethrough",
    "spoiler": "Spoiler",
    "text_link": "TextUrl",
    "custom_emoji": "CustomEmoji",
}


def _mdv2_scan_until(text: str, start: int, closing: str, escapable: str) -> tuple[str, int]:
    """Read from ``start`` to the next unescaped ``closing``; returns (content, index after)."""
    buf: list[str] = []
    k, n = start, len(text)
    while k < n:
        if text[k] == "\\" and k + 1 < n and text[k + 1] in escapable:
            buf.append(text[k + 1])
            k += 2
            continue
        if text.startswith(closing, k):
            return "".join(buf), k + len(closing)
        buf.append(text[k])
        k += 1
    return "".join(buf), -1


def _parse_markdown_v2(text: str) -> tuple[str, list[dict[str, Any]]]:
    out = _TextBuilder(text)
    stack: list[tuple[str, int, int, str]] = []  # (type, start pos, byte offset, extra)
    quote: list[Any] | None = None  # [start pos, expandable]
    line_start = True
    i, n = 0, len(text)

    def close_quote(end_pos: int) -> None:
        nonlocal quote
        if quote is not None:
            saved = out.pos
            out.pos = end_pos
            out.add("expandable_blockquote" if quote[1] else "blockquote", quote[0])
            out.pos = saved
            quote = None

    while i < n:
        char = text[i]
        if line_start:
            line_start = False
            if text.startswith("**>", i) or char == ">":
                if quote is None:
                    quote = [out.pos, False]
                if char == "*":
                    quote[1] = True
                    i += 3
                else:
                    i += 1
                continue
            if quote is not None:
                close_quote(out.pos - 1)  # the quote ends before the newline
        if char == "\\":
            if i + 1 < n and 0 < ord(text[i + 1]) <= 126:
                out.emit(text[i + 1])
                i += 2
            else:
                out.emit("\\")
                i += 1
            continue
        if char == "\n":
            out.emit("\n")
            line_start = True
            i += 1
            continue
        if char == "`":
            offset = out.byte_offset(i)
            if text.startswith("```", i):
                body_start = i + 3
                language = None
                newline = text.find("\n", body_start)
                closing = text.find("```", body_start)
                if newline != -1 and (closing == -1 or newline < closing):
                    first_line = text[body_start:newline]
                    if first_line and not any(c.isspace() for c in first_line):
                        language = first_line
                        body_start = newline + 1
                    elif not first_line:
                        body_start = newline + 1
                content, end = _mdv2_scan_until(text, body_start, "```", "`\\")
                if end == -1:
                    raise _entities_error(f"Can't find end of Pre entity at byte offset {offset}")
                start = out.pos
                out.emit(content)
                out.add("pre", start, language=language)
                i = end
            else:
                content, end = _mdv2_scan_until(text, i + 1, "`", "`\\")
                if end == -1:
                    raise _entities_error(f"Can't find end of Code entity at byte offset {offset}")
                start = out.pos
                out.emit(content)
                out.add("code", start)
                i = end
            continue
        if char in "*_~|]" or (char == "!" and text.startswith("![", i)) or char == "[":
            nxt = text[i + 1 : i + 2]
            top = stack[-1][0] if stack else None
            # tdlib rule: only the innermost open entity can be closed.
            closes = (
                (top == "bold" and char == "*")
                or (top == "italic" and char == "_" and nxt != "_")
                or (top == "underline" and char == "_" and nxt == "_")
                or (top == "strikethrough" and char == "~")
                or (top == "spoiler" and char == "|" and nxt == "|")
                or (top in ("text_link", "custom_emoji") and char == "]")
            )
            if (
                char == "|"
                and nxt == "|"
                and quote is not None
                and top != "spoiler"
                and text[i + 2 : i + 3] in ("", "\n")
            ):
                quote[1] = True  # expandable block quotation mark
                i += 2
                continue
            if closes and char == "]":
                etype, start, offset, _ = stack.pop()
                if not text.startswith("(", i + 1):
                    name = _MDV2_NAMES[etype]
                    raise _entities_error(
                        f"Can't find end of {name} entity at byte offset {offset}"
                    )
                url, end = _mdv2_scan_until(text, i + 2, ")", ")\\")
                if end == -1:
                    raise _entities_error(f"Can't find end of a URL at byte offset {offset}")
                if etype == "custom_emoji":
                    out.add("custom_emoji", start, custom_emoji_id=url.rpartition("id=")[2])
                else:
                    out.add("text_link", start, url=url)
                i = end
                continue
            if closes:
                etype, start, _, _ = stack.pop()
                out.add(etype, start)
                i += 2 if etype in ("underline", "spoiler") else 1
                continue
            opened = {
                "*": "bold",
                "~": "strikethrough",
                "[": "text_link",
                "!": "custom_emoji",
                "_": "underline" if nxt == "_" else "italic",
                "|": "spoiler" if nxt == "|" else None,
                "]": None,
            }[char]
            if opened is not None:
                stack.append((opened, out.pos, out.byte_offset(i), ""))
                i += 2 if opened in ("underline", "spoiler", "custom_emoji") else 1
                continue
        if char in _MDV2_RESERVED:
            raise _entities_error(
                f"Character '{char}' is reserved and must be escaped with the preceding '\\'"
            )
        j = i
        while j < n and text[j] not in _MDV2_RESERVED and text[j] not in "\\\n":
            j += 1
        out.emit(text[i:j])
        i = j
    if quote is not None:
        close_quote(out.pos)
    if stack:
        etype, _, offset, _ = stack[-1]
        raise _entities_error(
            f"Can't find end of {_MDV2_NAMES.get(etype, etype)} entity at byte offset {offset}"
        )
    return out.result()


def _parse_markdown(text: str) -> tuple[str, list[dict[str, Any]]]:
    """Legacy ``Markdown`` parse mode."""
    out = _TextBuilder(text)
    i, n = 0, len(text)
    while i < n:
        char = text[i]
        if char == "\\" and i + 1 < n and text[i + 1] in "_*`[":
            out.emit(text[i + 1])
            i += 2
            continue
        offset = out.byte_offset(i)
        missing = f"Can't find end of the entity starting at byte offset {offset}"
        if char in "*_":
            end = text.find(char, i + 1)
            if end == -1:
                raise _entities_error(missing)
            start = out.pos
            out.emit(text[i + 1 : end])
            out.add("bold" if char == "*" else "italic", start)
            i = end + 1
            continue
        if char == "`":
            if text.startswith("```", i):
                end = text.find("```", i + 3)
                if end == -1:
                    raise _entities_error(missing)
                body = text[i + 3 : end]
                language = None
                first_line, sep, rest = body.partition("\n")
                if sep and first_line and not any(c.isspace() for c in first_line):
                    language, body = first_line, rest
                start = out.pos
                out.emit(body)
                out.add("pre", start, language=language)
                i = end + 3
            else:
                end = text.find("`", i + 1)
                if end == -1:
                    raise _entities_error(missing)
                start = out.pos
                out.emit(text[i + 1 : end])
                out.add("code", start)
                i = end + 1
            continue
        if char == "[":
            end = text.find("]", i + 1)
            if end == -1:
                raise _entities_error(missing)
            if text.startswith("(", end + 1):
                close = text.find(")", end + 2)
                if close == -1:
                    raise _entities_error(missing)
                start = out.pos
                out.emit(text[i + 1 : end])
                out.add("text_link", start, url=text[end + 2 : close])
                i = close + 1
            else:
                out.emit(text[i : end + 1])
                i = end + 1
            continue
        out.emit(char)
        i += 1
    return out.result()


def render_text(
    text: str, parse_mode: str | None, entities: list[dict[str, Any]] | None = None
) -> tuple[str, list[dict[str, Any]]]:
    """Validate ``text`` like Telegram does and return (plain text, entities).

    Raises :class:`ApiError` (400 ``can't parse entities``) for malformed markup.
    """
    if not parse_mode:
        return text, list(entities or [])
    mode = parse_mode.lower()
    if mode == "html":
        return _parse_html(text)
    if mode == "markdownv2":
        return _parse_markdown_v2(text)
    if mode == "markdown":
        return _parse_markdown(text)
    raise _bad_request(f"unsupported parse_mode {parse_mode!r}")


# --------------------------------------------------------------------------------------------
# Parameter decoding
# --------------------------------------------------------------------------------------------


def _decode_form_value(key: str, value: str) -> Any:
    if key in _STRING_PARAMS:
        return value
    try:
        return json.loads(value)
    except ValueError:
        return value


def _normalize_typed_value(key: str, value: Any) -> Any:
    if isinstance(value, str):
        if key in _ID_PARAMS and re.fullmatch(r"-?\d+", value):
            return int(value)
        if key in _JSON_PARAMS:
            try:
                return json.loads(value)
            except ValueError:
                return value
    return value


def _update_type(update: dict[str, Any]) -> str | None:
    return next((k for k in update if k != "update_id"), None)


# --------------------------------------------------------------------------------------------
# The server
# --------------------------------------------------------------------------------------------


class FakeTelegramAPI:
    """In-process fake of the Telegram Bot API, served over HTTP on 127.0.0.1."""

    def __init__(
        self,
        token: str = "123:ABC",
        rate_limit_per_second: int | None = None,
        *,
        bot_username: str = BOT_USERNAME,
        strict_parse_mode: bool = True,
        webhook_timeout: float = 10.0,
        webhook_retry_seconds: float | None = None,
    ) -> None:
        """`webhook_retry_seconds`: as Telegram does, deliver a failed update again after
        this long (None: only when the webhook is set again, or `redeliver_pending`)."""
        self.token = token
        self.webhook_retry_seconds = webhook_retry_seconds
        self._retry_scheduled = False
        self.rate_limit_per_second = rate_limit_per_second
        self.strict_parse_mode = strict_parse_mode
        self.webhook_timeout = webhook_timeout
        bot_id_text = token.split(":", 1)[0]
        self.bot_user: dict[str, Any] = {
            "id": int(bot_id_text) if bot_id_text.isdigit() else 123456789,
            "is_bot": True,
            "first_name": BOT_FIRST_NAME,
            "username": bot_username,
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
            "can_connect_to_business": False,
            "has_main_web_app": False,
        }

        self.port: int = 0
        # --- recording
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.errors: list[tuple[str, dict[str, Any], int, str]] = []
        self.answered_callbacks: list[str] = []
        self.callback_answers: dict[str, dict[str, Any]] = {}
        self.updates: list[dict[str, Any]] = []  # every injected update, in order
        self.webhook_deliveries: list[dict[str, Any]] = []
        self.delivered_count = 0
        self.rate_limited_count = 0
        self.unauthorized_count = 0

        # --- state
        self._sent: dict[int | str, list[dict[str, Any]]] = {}
        self._edits: dict[int | str, list[dict[str, Any]]] = {}
        self._deleted: dict[int | str, list[int]] = {}
        self._messages: dict[int | str, dict[int, dict[str, Any]]] = {}
        self._next_message_id: dict[int | str, int] = {}
        self._users: dict[int, dict[str, Any]] = {}
        self._files: dict[str, _StoredFile] = {}
        self._files_by_path: dict[str, _StoredFile] = {}
        self._commands: dict[tuple[str, str], list[dict[str, Any]]] = {}
        self._callback_ids: set[str] = set()
        self._pending: list[dict[str, Any]] = []  # not yet confirmed / delivered updates
        self._next_update_id = 100_000_001
        self._allowed_updates: list[str] | None = None
        self._webhook: dict[str, Any] | None = None
        self._webhook_last_error: tuple[int, str] | None = None
        self._fail_rules: list[_FailRule] = []
        self._delays: list[list[Any]] = []  # [method, seconds, remaining]
        self._blocked: set[int | str] = set()
        self._send_window: deque[float] = deque()
        self._poll_seq = 0
        self._closing = False
        self._file_counter = 0
        self._callback_counter = 0

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
            ("editMessageText", self._m_edit_message_text),
            ("editMessageCaption", self._m_edit_message_caption),
            ("editMessageReplyMarkup", self._m_edit_message_reply_markup),
            ("answerCallbackQuery", self._m_answer_callback_query),
            ("setMyCommands", self._m_set_my_commands),
            ("getMyCommands", self._m_get_my_commands),
            ("deleteMyCommands", self._m_delete_my_commands),
            ("sendChatAction", self._m_send_chat_action),
            ("deleteMessage", self._m_delete_message),
            ("getFile", self._m_get_file),
            ("close", self._m_true),
            ("logOut", self._m_true),
        ]
        self._methods: dict[str, tuple[str, Callable[[dict[str, Any]], Any]]] = {
            name.lower(): (name, handler) for name, handler in handlers
        }
        for lower, (canonical, media_field) in _MEDIA_METHODS.items():
            self._methods[lower] = (canonical, self._media_handler(canonical, media_field))

    # ---------------------------------------------------------------- lifecycle

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def base_url(self) -> str:
        return f"{self.url}/bot"

    @property
    def base_file_url(self) -> str:
        return f"{self.url}/file/bot"

    async def start(self) -> FakeTelegramAPI:
        if self._runner is not None:
            return self
        self._cond = asyncio.Condition()
        self._updates_cond = asyncio.Condition()
        self._delivery_lock = asyncio.Lock()
        self._closing = False
        self._session = aiohttp.ClientSession(
            timeout=aiohttp.ClientTimeout(total=self.webhook_timeout)
        )
        app = web.Application(client_max_size=64 * 1024 * 1024)
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
        if self._updates_cond is not None:
            async with self._updates_cond:
                self._updates_cond.notify_all()
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

    async def __aenter__(self) -> FakeTelegramAPI:
        return await self.start()

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    # ---------------------------------------------------------------- inspection

    def sent(self, chat_id: int | str) -> list[dict[str, Any]]:
        """Messages the bot sent to ``chat_id`` (current state: edits/deletion applied).

        Each dict has: message_id, chat_id, method, date, text, rendered_text, entities,
        caption, rendered_caption, parse_mode, reply_markup, reply_to_message_id, media_type,
        filename, content, mime_type, file_id, edit_date, deleted, params.
        """
        return list(self._sent.get(chat_id, []))

    def edits(self, chat_id: int | str) -> list[dict[str, Any]]:
        """Edits of the bot's messages in ``chat_id`` in order (method, message_id, ...)."""
        return list(self._edits.get(chat_id, []))

    def deleted(self, chat_id: int | str) -> list[int]:
        """message_ids deleted in ``chat_id`` by deleteMessage."""
        return list(self._deleted.get(chat_id, []))

    def last_sent(self, chat_id: int | str) -> dict[str, Any]:
        messages = self._sent.get(chat_id)
        if not messages:
            raise AssertionError(f"no message was sent to chat {chat_id}")
        return messages[-1]

    def message_json(self, chat_id: int | str, message_id: int) -> dict[str, Any]:
        """The Bot API ``Message`` object of a stored message, as Telegram would send it."""
        return self._message_json(self._get_message(chat_id, message_id))

    def calls_to(self, method: str) -> list[dict[str, Any]]:
        """Parameters of every call to ``method`` (case-insensitive), in order."""
        lower = method.lower()
        return [params for name, params in self.calls if name.lower() == lower]

    def my_commands(
        self, scope: dict[str, Any] | None = None, language_code: str = ""
    ) -> list[dict[str, Any]]:
        return list(self._commands.get(self._commands_key(scope, language_code), []))

    @property
    def webhook(self) -> dict[str, Any] | None:
        """The current webhook settings (url, secret_token, allowed_updates, ...) or None."""
        return dict(self._webhook) if self._webhook is not None else None

    @property
    def pending_updates(self) -> list[dict[str, Any]]:
        return list(self._pending)

    # ---------------------------------------------------------------- fault injection

    def fail_next(
        self,
        method: str,
        chat_id: int | str | None = None,
        times: int = 1,
        status: int = 429,
        retry_after: float = 1,
        description: str | None = None,
    ) -> None:
        """Make the next ``times`` calls of ``method`` (optionally only for ``chat_id``) fail.

        429 -> "Too Many Requests: retry after N" with parameters.retry_after (PTB: RetryAfter);
        403 -> "Forbidden: bot was blocked by the user" (PTB: Forbidden);
        400 -> "Bad Request: ..." (PTB: BadRequest); 500 -> JSON "Internal Server Error";
        502 -> nginx HTML page (PTB: NetworkError); others -> the HTTP phrase.
        """
        self._fail_rules.append(
            _FailRule(method.lower(), chat_id, times, status, retry_after, description)
        )

    def delay_next(self, method: str, seconds: float, times: int = 1) -> None:
        """The next ``times`` calls of ``method`` take effect at once (a message is sent) but
        are answered ``seconds`` later: a slow API, a client timing out after acceptance."""
        self._delays.append([method.lower(), seconds, times])

    async def _slow_answer(self, method: str) -> None:
        for rule in self._delays:
            if rule[0] == method.lower():
                rule[2] -= 1
                if rule[2] <= 0:
                    self._delays.remove(rule)
                await asyncio.sleep(rule[1])
                return

    def block_user(self, chat_id: int | str) -> None:
        """From now on every send/edit to ``chat_id`` answers 403 (bot blocked by the user)."""
        self._blocked.add(chat_id)

    def unblock_user(self, chat_id: int | str) -> None:
        self._blocked.discard(chat_id)

    # ---------------------------------------------------------------- injection

    async def send_text(
        self,
        user_id: int,
        text: str,
        first_name: str = "Test",
        *,
        username: str | None = None,
        last_name: str | None = None,
        language_code: str | None = "en",
        reply_to_message_id: int | None = None,
        message_id: int | None = None,
    ) -> int:
        """Inject a private text message from ``user_id``; returns the update_id. With
        ``message_id`` (from `reserve_message_id`) it is a message typed earlier that
        arrives only now (a slow network, the bot away)."""
        message = self._user_message(
            user_id, first_name, username, last_name, language_code, reply_to_message_id,
            message_id,
        )  # fmt: skip
        message["text"] = text
        command = _COMMAND_RE.match(text)
        if command:
            message["entities"] = [
                {"type": "bot_command", "offset": 0, "length": _u16(command.group(0))}
            ]
        return await self.inject_raw({"message": message})

    async def edit_last_text(self, user_id: int, text: str) -> int:
        """Inject an ``edited_message`` update: the user edits the last message they sent.
        Returns the update_id."""
        mine = [r for r in self._messages.get(user_id, {}).values() if r.get("from_user")]
        if not mine:
            raise AssertionError(f"user {user_id} has sent no message to edit")
        record = mine[-1]
        record["json"] = {**record["json"], "text": text, "edit_date": _now()}
        return await self.inject_raw({"edited_message": record["json"]})

    async def send_document(
        self,
        user_id: int,
        filename: str,
        content: bytes,
        *,
        mime_type: str | None = "application/octet-stream",
        caption: str | None = None,
        first_name: str = "Test",
    ) -> int:
        """Inject a private message with a document from ``user_id`` (downloadable through
        getFile + ``base_file_url``); returns the update_id."""
        message = self._user_message(user_id, first_name, None, None, "en", None)
        stored = self._store_file(content, filename, mime_type, "documents")
        message["document"] = self._media_json("document", stored)
        if caption is not None:
            message["caption"] = caption
        return await self.inject_raw({"message": message})

    async def press_button(
        self, user_id: int, message_id: int, data: str, *, strict: bool = True
    ) -> int:
        """Inject a callback_query for pressing the inline button with ``data`` on the bot's
        message ``message_id`` in the private chat with ``user_id``; returns the update_id.

        With ``strict`` the message must exist, not be deleted and carry an inline button with
        exactly this ``callback_data`` (a real client cannot press anything else).
        """
        record = self._messages.get(user_id, {}).get(message_id)
        if record is None or record.get("deleted"):
            raise AssertionError(
                f"message {message_id} does not exist in chat {user_id} "
                f"(sent: {[m['message_id'] for m in self._sent.get(user_id, [])]})"
            )
        if strict:
            datas = [b.get("callback_data") for b in _iter_buttons(record.get("reply_markup"))]
            if data not in datas:
                raise AssertionError(
                    f"message {message_id} in chat {user_id} has no inline button with "
                    f"callback_data={data!r}; buttons: {datas}"
                )
        user = self._users.get(user_id) or self._remember_user(user_id, "Test", None, None, "en")
        self._callback_counter += 1
        query_id = str(4_000_000_000_000_000 + user_id * 1000 + self._callback_counter)
        self._callback_ids.add(query_id)
        query = {
            "id": query_id,
            "from": user,
            "message": self._message_json(record),
            "chat_instance": str(-(zlib.crc32(f"{user_id}".encode()) + 10**12)),
            "data": data,
        }
        return await self.inject_raw({"callback_query": query})

    async def inject_raw(self, update: dict[str, Any]) -> int:
        """Queue an arbitrary update (update_id assigned if missing); returns its update_id.

        In webhook mode it is POSTed to the webhook right away (awaited; see
        ``webhook_deliveries``)."""
        update = dict(update)
        if "update_id" in update:
            update_id = int(update["update_id"])
            self._next_update_id = max(self._next_update_id, update_id + 1)
        else:
            update_id = self._next_update_id
            self._next_update_id += 1
            update = {"update_id": update_id, **update}
        self.updates.append(update)
        self._pending.append(update)
        self._pending.sort(key=lambda u: u["update_id"])
        await self._wake_pollers()
        await self._notify()
        if self._webhook is not None:
            if self._is_allowed(update):
                await self._deliver(update)
            else:  # Telegram never sends updates the webhook did not ask for
                self._pending = [u for u in self._pending if u is not update]
        return update_id

    async def redeliver(self, update_id: int) -> int | None:
        """POST the update with ``update_id`` to the webhook again; returns the HTTP status
        (None when the connection failed)."""
        if self._webhook is None:
            raise RuntimeError("no webhook is set")
        update = next((u for u in self.updates if u["update_id"] == update_id), None)
        if update is None:
            raise KeyError(f"unknown update_id {update_id}")
        return await self._deliver(update)

    async def redeliver_pending(self) -> list[int | None]:
        """Redeliver every not yet successfully delivered update, in order."""
        return [await self.redeliver(u["update_id"]) for u in list(self._pending)]

    # ---------------------------------------------------------------- waiting

    async def wait_until(
        self, predicate: Callable[[], bool], timeout: float = 5.0, what: str = "condition"
    ) -> None:
        """Wait (without polling) until ``predicate()`` is true; AssertionError on timeout."""
        assert self._cond is not None, "FakeTelegramAPI is not started"
        try:
            async with self._cond, asyncio.timeout(timeout):
                await self._cond.wait_for(predicate)
        except TimeoutError:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}") from None

    async def wait_for_sent(
        self, chat_id: int | str, count: int = 1, timeout: float = 5.0
    ) -> list[dict[str, Any]]:
        """Wait until at least ``count`` messages were sent to ``chat_id``; returns them all."""
        try:
            await self.wait_until(
                lambda: len(self._sent.get(chat_id, [])) >= count, timeout, "sent messages"
            )
        except AssertionError:
            got = [
                {k: m[k] for k in ("message_id", "method", "text", "caption") if m.get(k)}
                for m in self._sent.get(chat_id, [])
            ]
            raise AssertionError(
                f"expected at least {count} message(s) sent to chat {chat_id} within {timeout}s, "
                f"got {len(got)}: {got}; errors: {self.errors[-5:]}; "
                f"last calls: {[c[0] for c in self.calls[-10:]]}"
            ) from None
        return self.sent(chat_id)

    async def wait_for_edits(
        self, chat_id: int | str, count: int = 1, timeout: float = 5.0
    ) -> list[dict[str, Any]]:
        try:
            await self.wait_until(
                lambda: len(self._edits.get(chat_id, [])) >= count, timeout, "edits"
            )
        except AssertionError:
            raise AssertionError(
                f"expected at least {count} edit(s) in chat {chat_id} within {timeout}s, got "
                f"{self._edits.get(chat_id, [])}; errors: {self.errors[-5:]}"
            ) from None
        return self.edits(chat_id)

    async def wait_for_call(
        self,
        method: str,
        predicate: Callable[[dict[str, Any]], bool] | None = None,
        timeout: float = 5.0,
        *,
        start: int = 0,
    ) -> dict[str, Any]:
        """Wait for a call to ``method`` (case-insensitive) whose params satisfy ``predicate``,
        looking at ``calls[start:]`` (past calls included); returns its params."""
        lower = method.lower()
        found: list[dict[str, Any]] = []

        def match() -> bool:
            for name, params in self.calls[start:]:
                if name.lower() == lower and (predicate is None or predicate(params)):
                    found.append(params)
                    return True
            return False

        try:
            await self.wait_until(match, timeout, f"a call to {method}")
        except AssertionError:
            seen = [p for n, p in self.calls[start:] if n.lower() == lower]
            raise AssertionError(
                f"no matching call to {method} within {timeout}s; calls to it: {seen[-5:]}; "
                f"all methods called: {[c[0] for c in self.calls[-15:]]}"
            ) from None
        return found[0]

    # ---------------------------------------------------------------- internals: plumbing

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

    async def _dispatch(self, request: web.Request) -> web.StreamResponse:
        path = request.path
        m = _API_PATH_RE.match(path)
        if m:
            return await self._handle_api(request, m.group(1), m.group(2))
        m = _FILE_PATH_RE.match(path)
        if m and request.method in ("GET", "HEAD"):
            return self._handle_file(m.group(1), m.group(2))
        return ApiError(404, "Not Found").response()

    def _handle_file(self, token: str, file_path: str) -> web.StreamResponse:
        if token != self.token:
            self.unauthorized_count += 1
            return ApiError(401, "Unauthorized").response()
        stored = self._files_by_path.get(file_path)
        if stored is None or stored.content is None:
            return ApiError(404, "Not Found").response()
        return web.Response(
            body=stored.content, content_type=stored.mime_type or "application/octet-stream"
        )

    async def _read_params(self, request: web.Request) -> dict[str, Any]:
        params: dict[str, Any] = {}
        for key, value in request.query.items():
            params[key] = _normalize_typed_value(key, _decode_form_value(key, value))
        if request.method != "POST" or not request.body_exists:
            return params
        content_type = request.content_type
        if content_type == "application/json":
            try:
                body = await request.json()
            except ValueError:
                raise _bad_request("can't parse JSON body") from None
            if not isinstance(body, dict):
                raise _bad_request("JSON body must be an object")
            for key, value in body.items():
                params[key] = _normalize_typed_value(key, value)
        elif content_type in ("application/x-www-form-urlencoded", "multipart/form-data"):
            form = await request.post()
            for key, value in form.items():
                if isinstance(value, web.FileField):
                    params[key] = UploadedFile(
                        value.filename, value.file.read(), value.content_type
                    )
                else:
                    text = value if isinstance(value, str) else value.decode()
                    params[key] = _normalize_typed_value(key, _decode_form_value(key, text))
        return params

    async def _handle_api(self, request: web.Request, token: str, method: str) -> web.Response:
        if token != self.token:
            self.unauthorized_count += 1
            return ApiError(401, "Unauthorized").response()
        try:
            params = await self._read_params(request)
        except ApiError as exc:
            return exc.response()
        entry = self._methods.get(method.lower())
        canonical = entry[0] if entry else method
        self.calls.append((canonical, params))
        await self._notify()
        try:
            if entry is None:
                raise ApiError(404, "Not Found")
            self._check_faults(canonical, params)
            result = await entry[1](params)
            await self._slow_answer(canonical)
        except ApiError as exc:
            self.errors.append((canonical, params, exc.status, exc.description))
            await self._notify()
            return exc.response()
        await self._notify()
        return web.json_response({"ok": True, "result": result})

    def _check_faults(self, method: str, params: dict[str, Any]) -> None:
        lower = method.lower()
        chat_id = params.get("chat_id")
        for rule in self._fail_rules:
            if rule.method == lower and (rule.chat_id is None or rule.chat_id == chat_id):
                rule.remaining -= 1
                if rule.remaining <= 0:
                    self._fail_rules.remove(rule)
                raise self._fault(rule)
        if chat_id is not None and chat_id in self._blocked and _is_send_or_edit(lower):
            raise ApiError(403, "Forbidden: bot was blocked by the user")
        if self.rate_limit_per_second is not None and _is_rate_limited(lower):
            now = time.monotonic()
            window = self._send_window
            while window and now - window[0] >= 1.0:
                window.popleft()
            if len(window) >= self.rate_limit_per_second:
                self.rate_limited_count += 1
                raise ApiError(429, "Too Many Requests: retry after 1", {"retry_after": 1})
            window.append(now)

    @staticmethod
    def _fault(rule: _FailRule) -> ApiError:
        status = rule.status
        if status == 429:
            retry_after: float = rule.retry_after
            if float(retry_after).is_integer():
                retry_after = int(retry_after)
            return ApiError(
                429,
                rule.description or f"Too Many Requests: retry after {retry_after}",
                {"retry_after": retry_after},
            )
        if status == 403:
            return ApiError(403, rule.description or "Forbidden: bot was blocked by the user")
        if status == 400:
            return ApiError(400, rule.description or "Bad Request: chat not found")
        if status == 409:
            return ApiError(
                409,
                rule.description
                or "Conflict: terminated by other getUpdates request; make sure that only one "
                "bot instance is running",
            )
        if status == 502 and rule.description is None:
            return ApiError(502, "Bad Gateway", raw_body=_BAD_GATEWAY_HTML)
        try:
            phrase = HTTPStatus(status).phrase
        except ValueError:
            phrase = "Error"
        return ApiError(status, rule.description or phrase)

    # ---------------------------------------------------------------- internals: state helpers

    def _remember_user(
        self,
        user_id: int,
        first_name: str,
        username: str | None,
        last_name: str | None,
        language_code: str | None,
    ) -> dict[str, Any]:
        user: dict[str, Any] = {"id": user_id, "is_bot": False, "first_name": first_name}
        if last_name:
            user["last_name"] = last_name
        if username:
            user["username"] = username
        if language_code:
            user["language_code"] = language_code
        self._users[user_id] = user
        return user

    def _user_message(
        self,
        user_id: int,
        first_name: str,
        username: str | None,
        last_name: str | None,
        language_code: str | None,
        reply_to_message_id: int | None,
        message_id: int | None = None,
    ) -> dict[str, Any]:
        user = self._remember_user(user_id, first_name, username, last_name, language_code)
        if message_id is None:
            message_id = self._allocate_message_id(user_id)
        message: dict[str, Any] = {
            "message_id": message_id,
            "from": user,
            "chat": self._chat_json(user_id),
            "date": _now(),
        }
        if reply_to_message_id is not None:
            message["reply_to_message"] = self.message_json(user_id, reply_to_message_id)
        self._messages.setdefault(user_id, {})[message_id] = {
            "message_id": message_id,
            "chat_id": user_id,
            "from_user": True,
            "json": message,
            "deleted": False,
        }
        return message

    def reserve_message_id(self, user_id: int) -> int:
        """The id of a message the user types now, to be delivered later
        (`send_text(..., message_id=...)`): Telegram numbers a chat's messages as they are
        written, so the bot's messages meanwhile get later ids."""
        return self._allocate_message_id(user_id)

    def _allocate_message_id(self, chat_id: int | str) -> int:
        message_id = self._next_message_id.get(chat_id, 1)
        self._next_message_id[chat_id] = message_id + 1
        return message_id

    def _chat_json(self, chat_id: int | str) -> dict[str, Any]:
        if isinstance(chat_id, str):
            numeric = -1_000_000_000_000 - zlib.crc32(chat_id.encode()) % 10**9
            return {"id": numeric, "type": "channel", "title": chat_id, "username": chat_id[1:]}
        if chat_id < 0:
            kind = "supergroup" if str(chat_id).startswith("-100") else "group"
            return {"id": chat_id, "type": kind, "title": "Test Group"}
        user = self._users.get(chat_id, {})
        chat: dict[str, Any] = {
            "id": chat_id,
            "type": "private",
            "first_name": user.get("first_name", "Test"),
        }
        for key in ("last_name", "username"):
            if key in user:
                chat[key] = user[key]
        return chat

    def _get_message(self, chat_id: int | str, message_id: int) -> dict[str, Any]:
        record = self._messages.get(chat_id, {}).get(message_id)
        if record is None:
            raise KeyError(f"no message {message_id} in chat {chat_id}")
        return record

    def _message_json(self, record: dict[str, Any], *, nested: bool = False) -> dict[str, Any]:
        if record.get("from_user"):
            return dict(record["json"])
        message: dict[str, Any] = {
            "message_id": record["message_id"],
            "from": self.bot_user,
            "chat": self._chat_json(record["chat_id"]),
            "date": record["date"],
        }
        if record.get("edit_date"):
            message["edit_date"] = record["edit_date"]
        media_type = record.get("media_type")
        if media_type is None:
            message["text"] = record["rendered_text"]
            if record.get("entities"):
                message["entities"] = record["entities"]
        else:
            stored = self._files[record["file_id"]]
            message[media_type] = self._media_json(media_type, stored)
            if record.get("rendered_caption"):
                message["caption"] = record["rendered_caption"]
                if record.get("caption_entities"):
                    message["caption_entities"] = record["caption_entities"]
        markup = record.get("reply_markup")
        if isinstance(markup, dict) and "inline_keyboard" in markup:
            message["reply_markup"] = markup
        reply_to = record.get("reply_to_message_id")
        if reply_to is not None and not nested:
            target = self._messages.get(record["chat_id"], {}).get(reply_to)
            if target is not None:
                message["reply_to_message"] = self._message_json(target, nested=True)
        return message

    def _store_file(
        self, content: bytes | None, filename: str | None, mime_type: str | None, folder: str
    ) -> _StoredFile:
        self._file_counter += 1
        suffix = ""
        if filename and "." in filename:
            suffix = "." + filename.rsplit(".", 1)[1]
        unique = uuid.uuid4().hex
        stored = _StoredFile(
            file_id=f"BQACAgIAAxkBAAI{unique}",
            file_unique_id=f"AgAD{unique[:12]}",
            file_path=f"{folder}/file_{self._file_counter}{suffix}",
            content=content,
            filename=filename,
            mime_type=mime_type,
        )
        self._files[stored.file_id] = stored
        self._files_by_path[stored.file_path] = stored
        return stored

    @staticmethod
    def _media_json(media_type: str, stored: _StoredFile) -> Any:
        base: dict[str, Any] = {
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
            "file_size": stored.size,
        }
        if media_type == "photo":
            return [{**base, "width": 90, "height": 90}]
        if media_type in ("document", "audio", "video", "animation") and stored.filename:
            base["file_name"] = stored.filename
        if stored.mime_type:
            base["mime_type"] = stored.mime_type
        if media_type in ("audio", "voice", "video", "animation"):
            base["duration"] = 0
        if media_type in ("video", "animation"):
            base.update(width=1, height=1)
        return base

    def _is_allowed(self, update: dict[str, Any]) -> bool:
        kind = _update_type(update)
        if self._allowed_updates:
            return kind in self._allowed_updates
        return kind not in _OPT_IN_UPDATE_TYPES

    def _confirm(self, offset: int) -> None:
        if offset > 0:
            self._pending = [u for u in self._pending if u["update_id"] >= offset]
        elif offset < 0:
            self._pending = self._pending[offset:]

    @staticmethod
    def _commands_key(scope: Any, language_code: Any) -> tuple[str, str]:
        scope = scope or {"type": "default"}
        return json.dumps(scope, sort_keys=True), str(language_code or "")

    def _chat_key(self, params: dict[str, Any]) -> int | str:
        chat_id = params.get("chat_id")
        if chat_id is None or chat_id == "":
            raise _bad_request("chat_id is empty")
        if isinstance(chat_id, bool) or not isinstance(chat_id, int | str):
            raise _bad_request("chat not found")
        if isinstance(chat_id, str) and not chat_id.startswith("@"):
            raise _bad_request("chat not found")
        return chat_id

    def _check_markup(self, markup: Any) -> Any:
        if markup is None:
            return None
        if not isinstance(markup, dict):
            raise _bad_request("can't parse reply keyboard markup JSON object")
        if "inline_keyboard" in markup:
            rows = markup["inline_keyboard"]
            if not isinstance(rows, list) or not all(isinstance(r, list) for r in rows):
                raise _bad_request(
                    'field "inline_keyboard" of the InlineKeyboardMarkup '
                    "should be an Array of Arrays"
                )
            for row in rows:
                for button in row:
                    if not isinstance(button, dict) or not button.get("text"):
                        raise _bad_request(
                            "BUTTON_TEXT_INVALID"
                            if isinstance(button, dict)
                            else "can't parse inline keyboard button"
                        )
                    data = button.get("callback_data")
                    if data is not None and (
                        not data or len(str(data).encode("utf-8")) > MAX_CALLBACK_DATA_BYTES
                    ):
                        raise _bad_request("BUTTON_DATA_INVALID")
        return markup

    def _render(
        self, text: str, parse_mode: Any, entities: Any
    ) -> tuple[str, list[dict[str, Any]]]:
        if not self.strict_parse_mode:
            return text, list(entities or [])
        return render_text(
            text, parse_mode or None, entities if isinstance(entities, list) else None
        )

    def _reply_target(self, chat: int | str, params: dict[str, Any]) -> int | None:
        reply = params.get("reply_parameters")
        target: Any = None
        allow_missing = bool(params.get("allow_sending_without_reply"))
        if isinstance(reply, dict):
            target = reply.get("message_id")
            allow_missing = allow_missing or bool(reply.get("allow_sending_without_reply"))
        elif params.get("reply_to_message_id") is not None:
            target = params.get("reply_to_message_id")
        if target is None:
            return None
        existing = self._messages.get(chat, {}).get(int(target))
        if existing is None or existing.get("deleted"):
            if allow_missing:
                return None
            raise _bad_request("message to be replied not found")
        return int(target)

    async def _add_message(self, chat: int | str, record: dict[str, Any]) -> dict[str, Any]:
        message_id = self._allocate_message_id(chat)
        record.update(
            message_id=message_id,
            chat_id=chat,
            date=_now(),
            edit_date=None,
            deleted=False,
        )
        self._messages.setdefault(chat, {})[message_id] = record
        self._sent.setdefault(chat, []).append(record)
        self.delivered_count += 1
        return self._message_json(record)

    def _editable(self, params: dict[str, Any]) -> dict[str, Any]:
        chat = self._chat_key(params)
        message_id = params.get("message_id")
        if message_id is None:
            raise _bad_request("message identifier is not specified")
        record = self._messages.get(chat, {}).get(int(message_id))
        if record is None or record.get("deleted"):
            raise _bad_request("message to edit not found")
        if record.get("from_user"):
            raise _bad_request("message can't be edited")
        return record

    async def _record_edit(
        self, method: str, record: dict[str, Any], params: dict[str, Any], **changes: Any
    ) -> dict[str, Any]:
        record.update(changes)
        record["edit_date"] = _now()
        entry = {
            "method": method,
            "message_id": record["message_id"],
            "chat_id": record["chat_id"],
            "date": record["edit_date"],
            "params": params,
            **changes,
        }
        self._edits.setdefault(record["chat_id"], []).append(entry)
        return self._message_json(record)

    # ---------------------------------------------------------------- internals: webhook

    async def _deliver(self, update: dict[str, Any]) -> int | None:
        assert self._delivery_lock is not None and self._session is not None
        async with self._delivery_lock:
            webhook = self._webhook
            if webhook is None:
                return None
            url = webhook["url"]
            status: int | None = None
            error: str | None = None
            host = urlsplit(url).hostname
            if host not in _LOOPBACK_HOSTS:
                error = f"fake Telegram delivers webhooks to loopback only, not to {host!r}"
            else:
                headers = {"Content-Type": "application/json"}
                if webhook.get("secret_token"):
                    headers["X-Telegram-Bot-Api-Secret-Token"] = webhook["secret_token"]
                try:
                    async with self._session.post(
                        url, data=json.dumps(update), headers=headers
                    ) as response:
                        status = response.status
                        reason = response.reason
                        await response.read()
                    if not 200 <= status < 300:
                        error = f"Wrong response from the webhook: {status} {reason}"
                except (aiohttp.ClientError, TimeoutError, OSError) as exc:
                    error = f"Connection failed: {exc!r}"
            attempt = 1 + sum(
                1 for d in self.webhook_deliveries if d["update_id"] == update["update_id"]
            )
            self.webhook_deliveries.append(
                {
                    "update_id": update["update_id"],
                    "status": status,
                    "error": error,
                    "attempt": attempt,
                    "url": url,
                }
            )
            if error is None:
                self._pending = [
                    u
                    for u in self._pending
                    if u is not update and u["update_id"] != update["update_id"]
                ]
            else:
                self._webhook_last_error = (_now(), error)
                if self.webhook_retry_seconds is not None and not self._retry_scheduled:
                    self._retry_scheduled = True
                    self._spawn(self._retry_later())
        await self._notify()
        return status

    async def _retry_later(self) -> None:
        await asyncio.sleep(self.webhook_retry_seconds or 0)
        self._retry_scheduled = False
        await self._flush_to_webhook()

    async def _flush_to_webhook(self) -> None:
        for update in list(self._pending):
            if self._webhook is None:
                return
            if self._is_allowed(update):
                await self._deliver(update)

    # ---------------------------------------------------------------- Bot API methods

    async def _m_true(self, params: dict[str, Any]) -> bool:
        return True

    async def _m_get_me(self, params: dict[str, Any]) -> dict[str, Any]:
        return self.bot_user

    async def _m_get_updates(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        assert self._updates_cond is not None
        if self._webhook is not None:
            raise ApiError(
                409,
                "Conflict: can't use getUpdates method while webhook is active; use "
                "deleteWebhook to delete the webhook first",
            )
        try:
            offset = int(params.get("offset") or 0)
            limit = min(100, max(1, int(params.get("limit") or 100)))
            timeout = max(0.0, float(params.get("timeout") or 0))
        except (TypeError, ValueError):
            raise _bad_request("wrong parameter type") from None
        allowed = params.get("allowed_updates")
        if isinstance(allowed, list):
            self._allowed_updates = [str(a) for a in allowed]
        self._confirm(offset)

        def deliverable() -> list[dict[str, Any]]:
            return [u for u in self._pending if self._is_allowed(u)]

        async with self._updates_cond:
            self._poll_seq += 1
            my_seq = self._poll_seq
            self._updates_cond.notify_all()  # supersede an older waiting getUpdates

            def ready() -> bool:
                return (
                    self._closing
                    or my_seq != self._poll_seq
                    or self._webhook is not None
                    or bool(deliverable())
                )

            if timeout > 0 and not ready():
                try:
                    async with asyncio.timeout(timeout):
                        await self._updates_cond.wait_for(ready)
                except TimeoutError:
                    pass
            if my_seq != self._poll_seq:
                raise ApiError(
                    409,
                    "Conflict: terminated by other getUpdates request; make sure that only one "
                    "bot instance is running",
                )
            return deliverable()[:limit]

    async def _m_set_webhook(self, params: dict[str, Any]) -> bool:
        url = str(params.get("url") or "")
        if not url:
            return await self._m_delete_webhook(params)
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise _bad_request("bad webhook: invalid webhook URL specified")
        secret = params.get("secret_token")
        if secret is not None:
            secret = str(secret)
            if not _SECRET_TOKEN_RE.match(secret):
                raise _bad_request("secret token contains unallowed characters")
        allowed = params.get("allowed_updates")
        if isinstance(allowed, list):
            self._allowed_updates = [str(a) for a in allowed]
        if params.get("drop_pending_updates"):
            self._pending.clear()
        self._webhook = {
            "url": url,
            "secret_token": secret,
            "allowed_updates": list(allowed) if isinstance(allowed, list) else None,
            "max_connections": int(params.get("max_connections") or 40),
            "ip_address": params.get("ip_address"),
            "has_custom_certificate": params.get("certificate") is not None,
        }
        self._webhook_last_error = None
        await self._wake_pollers()
        if self._pending:
            self._spawn(self._flush_to_webhook())
        return True

    async def _m_delete_webhook(self, params: dict[str, Any]) -> bool:
        self._webhook = None
        self._webhook_last_error = None
        if params.get("drop_pending_updates"):
            self._pending.clear()
        return True

    async def _m_get_webhook_info(self, params: dict[str, Any]) -> dict[str, Any]:
        info: dict[str, Any] = {
            "url": "",
            "has_custom_certificate": False,
            "pending_update_count": len(self._pending),
        }
        webhook = self._webhook
        if webhook is not None:
            info["url"] = webhook["url"]
            info["has_custom_certificate"] = webhook["has_custom_certificate"]
            info["max_connections"] = webhook["max_connections"]
            if webhook.get("ip_address"):
                info["ip_address"] = webhook["ip_address"]
            if self._allowed_updates:
                info["allowed_updates"] = list(self._allowed_updates)
            if self._webhook_last_error is not None:
                info["last_error_date"], info["last_error_message"] = self._webhook_last_error
        return info

    async def _m_send_message(self, params: dict[str, Any]) -> dict[str, Any]:
        chat = self._chat_key(params)
        text = params.get("text")
        if text is None or text == "":
            raise _bad_request("message text is empty")
        text = str(text)
        rendered, entities = self._render(text, params.get("parse_mode"), params.get("entities"))
        if not rendered.strip():
            raise _bad_request("message text is empty")
        if _u16(rendered) > MAX_TEXT_LENGTH:
            raise _bad_request("message is too long")
        markup = self._check_markup(params.get("reply_markup"))
        reply_to = self._reply_target(chat, params)
        return await self._add_message(
            chat,
            {
                "method": "sendMessage",
                "text": text,
                "rendered_text": rendered,
                "entities": entities,
                "caption": None,
                "rendered_caption": None,
                "caption_entities": [],
                "parse_mode": params.get("parse_mode"),
                "reply_markup": markup,
                "reply_to_message_id": reply_to,
                "media_type": None,
                "filename": None,
                "content": None,
                "mime_type": None,
                "file_id": None,
                "params": params,
            },
        )

    def _media_handler(self, method: str, media_type: str) -> Callable[[dict[str, Any]], Any]:
        async def handler(params: dict[str, Any]) -> dict[str, Any]:
            return await self._send_media(method, media_type, params)

        return handler

    async def _send_media(
        self, method: str, media_type: str, params: dict[str, Any]
    ) -> dict[str, Any]:
        chat = self._chat_key(params)
        value = params.get(media_type)
        if isinstance(value, str) and value.startswith("attach://"):
            value = params.get(value[len("attach://") :])
        if isinstance(value, UploadedFile):
            stored = self._store_file(
                value.content, value.filename, value.content_type, f"{media_type}s"
            )
        elif isinstance(value, str) and value in self._files:
            stored = self._files[value]
        elif isinstance(value, str) and value.startswith(("http://", "https://")):
            name = urlsplit(value).path.rsplit("/", 1)[-1] or None
            stored = self._store_file(None, name, None, f"{media_type}s")
        elif isinstance(value, str) and value:
            raise _bad_request("wrong file identifier/HTTP URL specified")
        else:
            raise _bad_request(f"there is no {media_type} in the request")
        caption = params.get("caption")
        rendered_caption, caption_entities = None, []
        if caption is not None and caption != "":
            caption = str(caption)
            rendered_caption, caption_entities = self._render(
                caption, params.get("parse_mode"), params.get("caption_entities")
            )
            if _u16(rendered_caption) > MAX_CAPTION_LENGTH:
                raise _bad_request("message caption is too long")
        markup = self._check_markup(params.get("reply_markup"))
        reply_to = self._reply_target(chat, params)
        return await self._add_message(
            chat,
            {
                "method": method,
                "text": None,
                "rendered_text": None,
                "entities": [],
                "caption": caption,
                "rendered_caption": rendered_caption,
                "caption_entities": caption_entities,
                "parse_mode": params.get("parse_mode"),
                "reply_markup": markup,
                "reply_to_message_id": reply_to,
                "media_type": media_type,
                "filename": stored.filename,
                "content": stored.content,
                "mime_type": stored.mime_type,
                "file_id": stored.file_id,
                "params": params,
            },
        )

    async def _m_edit_message_text(self, params: dict[str, Any]) -> Any:
        if params.get("inline_message_id"):
            self._edits.setdefault("inline", []).append(
                {"method": "editMessageText", "params": params, "text": params.get("text")}
            )
            await self._notify()
            return True
        record = self._editable(params)
        if record.get("media_type") is not None:
            raise _bad_request("there is no text in the message to edit")
        text = params.get("text")
        if text is None or text == "":
            raise _bad_request("message text is empty")
        text = str(text)
        rendered, entities = self._render(text, params.get("parse_mode"), params.get("entities"))
        if not rendered.strip():
            raise _bad_request("message text is empty")
        if _u16(rendered) > MAX_TEXT_LENGTH:
            raise _bad_request("message is too long")
        markup = self._check_markup(params.get("reply_markup"))
        if (
            rendered == record["rendered_text"]
            and entities == record["entities"]
            and markup == record["reply_markup"]
        ):
            raise _bad_request(_NOT_MODIFIED[len("Bad Request: ") :])
        return await self._record_edit(
            "editMessageText",
            record,
            params,
            text=text,
            rendered_text=rendered,
            entities=entities,
            parse_mode=params.get("parse_mode"),
            reply_markup=markup,
        )

    async def _m_edit_message_caption(self, params: dict[str, Any]) -> Any:
        if params.get("inline_message_id"):
            return True
        record = self._editable(params)
        if record.get("media_type") is None:
            raise _bad_request("there is no caption in the message to edit")
        caption = params.get("caption")
        rendered, entities = None, []
        if caption:
            caption = str(caption)
            rendered, entities = self._render(
                caption, params.get("parse_mode"), params.get("caption_entities")
            )
            if _u16(rendered) > MAX_CAPTION_LENGTH:
                raise _bad_request("message caption is too long")
        markup = self._check_markup(params.get("reply_markup"))
        if (
            rendered == record["rendered_caption"]
            and entities == record["caption_entities"]
            and markup == record["reply_markup"]
        ):
            raise _bad_request(_NOT_MODIFIED[len("Bad Request: ") :])
        return await self._record_edit(
            "editMessageCaption",
            record,
            params,
            caption=caption,
            rendered_caption=rendered,
            caption_entities=entities,
            parse_mode=params.get("parse_mode"),
            reply_markup=markup,
        )

    async def _m_edit_message_reply_markup(self, params: dict[str, Any]) -> Any:
        if params.get("inline_message_id"):
            return True
        record = self._editable(params)
        markup = self._check_markup(params.get("reply_markup"))
        if markup == record["reply_markup"]:
            raise _bad_request(_NOT_MODIFIED[len("Bad Request: ") :])
        return await self._record_edit(
            "editMessageReplyMarkup", record, params, reply_markup=markup
        )

    async def _m_answer_callback_query(self, params: dict[str, Any]) -> bool:
        query_id = str(params.get("callback_query_id") or "")
        if query_id not in self._callback_ids or query_id in self.callback_answers:
            raise _bad_request(
                "query is too old and response timeout expired or query ID is invalid"
            )
        self.answered_callbacks.append(query_id)
        self.callback_answers[query_id] = {
            k: params.get(k) for k in ("text", "show_alert", "url", "cache_time")
        }
        await self._notify()
        return True

    async def _m_set_my_commands(self, params: dict[str, Any]) -> bool:
        commands = params.get("commands")
        if not isinstance(commands, list):
            raise _bad_request('parameter "commands" is required')
        for command in commands:
            if not isinstance(command, dict):
                raise _bad_request("can't parse BotCommand")
            if not _BOT_COMMAND_NAME_RE.match(str(command.get("command", ""))):
                raise _bad_request("BOT_COMMAND_INVALID")
            if not 1 <= len(str(command.get("description", ""))) <= 256:
                raise _bad_request("BOT_COMMAND_DESCRIPTION_INVALID")
        key = self._commands_key(params.get("scope"), params.get("language_code"))
        self._commands[key] = [
            {"command": c["command"], "description": c["description"]} for c in commands
        ]
        return True

    async def _m_get_my_commands(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        key = self._commands_key(params.get("scope"), params.get("language_code"))
        return list(self._commands.get(key, []))

    async def _m_delete_my_commands(self, params: dict[str, Any]) -> bool:
        self._commands.pop(
            self._commands_key(params.get("scope"), params.get("language_code")), None
        )
        return True

    async def _m_send_chat_action(self, params: dict[str, Any]) -> bool:
        self._chat_key(params)
        if params.get("action") not in _CHAT_ACTIONS:
            raise _bad_request("wrong parameter action in request")
        return True

    async def _m_delete_message(self, params: dict[str, Any]) -> bool:
        chat = self._chat_key(params)
        message_id = params.get("message_id")
        record = self._messages.get(chat, {}).get(int(message_id or 0))
        if record is None or record.get("deleted"):
            raise _bad_request("message to delete not found")
        record["deleted"] = True
        self._deleted.setdefault(chat, []).append(record["message_id"])
        await self._notify()
        return True

    async def _m_get_file(self, params: dict[str, Any]) -> dict[str, Any]:
        stored = self._files.get(str(params.get("file_id") or ""))
        if stored is None:
            raise _bad_request("invalid file_id")
        return {
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
            "file_size": stored.size,
            "file_path": stored.file_path,
        }


def _is_send_or_edit(lower_method: str) -> bool:
    return lower_method.startswith(("send", "edit", "copy", "forward"))


def _is_rate_limited(lower_method: str) -> bool:
    """send* methods except sendChatAction count towards the rate limit."""
    return lower_method.startswith("send") and lower_method != "sendchataction"


def _iter_buttons(markup: dict[str, Any] | None) -> Iterable[dict[str, Any]]:
    for row in (markup or {}).get("inline_keyboard", []):
        yield from row
