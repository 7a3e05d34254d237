"""Settings from environment variables prefixed DOINGOAI_ (and an optional .env file).

Everything that differs between provinces or deployments lives here, never in code.
"""

from __future__ import annotations

import ipaddress
import re
from functools import cached_property
from pathlib import Path
from typing import Annotated, Literal
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from pydantic import Field, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from domain.catalog import has, t
from domain.periods import DayMonth

PROJECT_ROOT = Path(__file__).resolve().parent.parent
ENV_PREFIX = "DOINGOAI_"
_CLOCK = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")

Positive = Annotated[int, Field(gt=0)]
NotNegative = Annotated[int, Field(ge=0)]
Mode = Literal["polling", "webhook"]


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, env_file=".env", extra="ignore")

    data_dir: Path = Path("data")
    database_url: str = ""
    timezone: str = "Asia/Ho_Chi_Minh"

    # Province and organisation (heading blocks, messages, demo data).
    province_name: str = "Hà Tĩnh"
    parent_body: str = "UBND TỈNH HÀ TĨNH"
    department_name: str = "Sở Ngoại vụ"
    units_file: Path = PROJECT_ROOT / "config" / "ha-tinh" / "units.csv"
    # The province's partnerships with foreign localities (the second table of Mẫu 06.1):
    # a CSV with columns cap_ky,doi_tac,nuoc,thoi_diem_ky,het_hieu_luc,linh_vuc,de_xuat,ghi_chu.
    partnerships_file: Path = PROJECT_ROOT / "config" / "ha-tinh" / "quan-he-dia-phuong.csv"

    # Invites and the demo set-up created on first run of the terminal chat.
    invite_ttl_days: Positive = 14
    # Invite codes one person may try in a row (then one a minute), and all people together
    # per minute: guessing codes is slowed down, a typo costs nothing.
    invite_attempts_per_person: Positive = 5
    invite_attempts_per_minute: Positive = 30
    # The key invite codes and file-link tokens are hashed with (HMAC). Empty: a key is
    # generated on first start and kept in DATA_DIR/secret.key. Several processes or hosts
    # sharing one PostgreSQL database must all be given the same key here.
    secret_key: str = ""
    demo_focal_unit: str = "Sở Ngoại vụ"

    # Below this much free space (MB) in the data folder the process refuses to start and
    # /healthz answers 503: a record must never be lost to a full disk.
    min_free_mb: NotNegative = 50

    # Conversation.
    page_size: Annotated[int, Field(ge=2, le=50)] = 8
    # Messages one person may send in a burst, and per minute after it; beyond that the bot
    # answers once that it is too fast and ignores the flood until it slows down.
    flood_burst: Positive = 20
    flood_per_minute: Positive = 40

    # Telegram: no token means the terminal chat. Mode "polling" or "webhook".
    telegram_bot_token: str = ""
    telegram_api_base_url: str = "https://api.telegram.org/bot"
    telegram_file_base_url: str = "https://api.telegram.org/file/bot"
    telegram_mode: Mode = "polling"
    telegram_webhook_secret: str = ""
    # Updates handled at once (the engine serialises database work; this overlaps sending).
    telegram_concurrency: Positive = 8
    # Outgoing messages per second, spread evenly (Telegram allows about 30 overall).
    telegram_messages_per_second: Annotated[float, Field(gt=0)] = 29.0
    send_retries: NotNegative = 3
    # Seconds a send may take before it counts as uncertain (never sent again blindly: the
    # messenger may have taken it). Longer than a slow API's answers.
    send_timeout: Annotated[float, Field(gt=0)] = 30.0
    # Outbox: messages sent at once, and tries of a message that certainly failed (waiting
    # the first wait, then twice as long each time, up to 60 seconds) before it is given up.
    outbox_concurrency: Positive = 16
    outbox_max_attempts: Positive = 10
    outbox_first_wait_seconds: Annotated[float, Field(gt=0)] = 2.0

    # Zalo Bot Platform: no token means no Zalo. Mode "polling" (the platform's development
    # mode), "webhook", or "auto": the webhook when public_base_url is set.
    zalo_bot_token: str = ""
    zalo_api_base_url: str = "https://bot-api.zaloplatforms.com/bot"
    zalo_mode: Literal["auto", "polling", "webhook"] = "auto"
    zalo_webhook_secret: str = ""
    # Zalo answered "quota exceeded" (429, no retry time given): reminders to Zalo wait this
    # long, the others go on; the unsent ones stay pending and go out after the pause.
    zalo_quota_pause_minutes: Annotated[float, Field(gt=0)] = 15.0
    # Generated files offered by link (Zalo cannot send documents) expire after this.
    file_link_hours: Positive = 24

    # Logs: "text" lines or "json" (one object a line, for a log collector); the level.
    # Tokens and secrets are never written, whatever the format.
    log_format: Literal["text", "json"] = "text"
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "WARNING"

    # The backend (health check, webhooks, file downloads).
    public_base_url: str = ""
    listen_host: str = "127.0.0.1"
    listen_port: Annotated[int, Field(ge=0, le=65535)] = 8080  # 0: any free port

    # The web workspace (pages under /web/ on the backend): a sign-in link asked for in
    # the chat stays valid this long; a session ends after this long, or idle this long;
    # password sign-ins are refused after this many failures in the window.
    web_login_minutes: Positive = 10
    web_session_hours: Positive = 12
    web_idle_minutes: Positive = 120
    web_signin_max_failures: Positive = 5
    web_signin_window_minutes: Positive = 15
    # Rows per page of the web records table.
    web_page_size: Positive = 50
    # For invite deep links and QR codes: the Telegram bot's @username (t.me/<name>?start=)
    # and the Zalo bot's link (zalo.me/...; Zalo has no start parameter, the code is typed).
    telegram_bot_username: str = ""
    zalo_bot_link: str = ""

    # Reporting rounds: the recurring ones' periods and deadlines (day/month), the grace
    # after a deadline during which a round stays open, and the reminder plan.
    round_h1_period: tuple[str, str] = ("1/1", "30/6")
    round_y_period: tuple[str, str] = ("1/1", "31/12")
    round_h1_deadline: str = "25/5"
    round_y_deadline: str = "10/10"
    round_grace_days: NotNegative = 5
    reminder_offsets_days: list[NotNegative] = [7, 3, 1, 0]
    reminder_time: str = "08:00"
    reminder_overdue_days: NotNegative = 1
    quiet_hours: tuple[str, str] = ("21:00", "07:00")
    reminder_max_attempts: Positive = 4
    # Reminders sent at once in a wave (the rate limiter paces the messenger).
    reminder_concurrency: Positive = 16
    # Seconds between the scheduler's looks at the reminder plan (and at a wave's summary).
    reminder_tick_seconds: Positive = 60
    # Each morning at this time coordinators are told who no reminder reached that day.
    unreached_check_time: str = "10:00"

    # E-mail (SMTP): no host means no e-mail channel. Security "starttls" (port 587),
    # "tls" (port 465) or "none" (a relay on the local network).
    smtp_host: str = ""
    smtp_port: Annotated[int, Field(ge=1, le=65535)] = 587
    smtp_user: str = ""
    smtp_password: str = ""
    smtp_from: str = ""
    smtp_security: Literal["starttls", "tls", "none"] = "starttls"
    smtp_timeout_seconds: Annotated[float, Field(gt=0)] = 30.0
    # A verification code sent to a new address stays valid this long.
    email_code_minutes: Positive = 30
    # /tiendo keeps showing a round this many days after its deadline.
    progress_days_after_deadline: NotNegative = 90

    # Reports (Nghị định 30/2020/NĐ-CP heading, signature and recipients of the
    # Department's reports; templates may override them, e.g. the report to the Ministry).
    report_place: str = "Hà Tĩnh"
    report_symbol: str = "BC-SNgV"
    report_signer_title: list[str] = ["GIÁM ĐỐC"]
    report_signer_name: str = "Thái Phúc Sơn"
    report_recipients: list[str] = [
        "Như trên;",
        "UBND tỉnh (b/c);",
        "Ban Giám đốc Sở;",
        "Lưu: VT, VPTTr.",
    ]

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ValueError, KeyError) as error:
            raise ValueError("timezone") from error
        return value

    @field_validator("reminder_time", "quiet_hours", "unreached_check_time")
    @classmethod
    def _clock_times(cls, value: str | tuple[str, str]) -> str | tuple[str, str]:
        for text in (value,) if isinstance(value, str) else value:
            if not _CLOCK.match(text):
                raise ValueError("clock")
        return value

    @field_validator("round_h1_deadline", "round_y_deadline", "round_h1_period", "round_y_period")
    @classmethod
    def _days_of_year(cls, value: str | tuple[str, str]) -> str | tuple[str, str]:
        for text in (value,) if isinstance(value, str) else value:
            try:
                DayMonth.parse(text)
            except ValueError as error:
                raise ValueError("day_month") from error
        return value

    @model_validator(mode="after")
    def _zalo_webhook_reachable(self) -> Settings:
        """Zalo refuses webhook URLs that are not public HTTPS: say so before starting."""
        if self.zalo_bot_token and self.zalo_webhook and webhook_url_problem(self.public_base_url):
            raise ValueError("zalo_webhook_url")
        return self

    @property
    def zalo_webhook(self) -> bool:
        """Whether Zalo runs on the webhook: asked for, or by default when public."""
        if self.zalo_mode == "auto":
            return bool(self.public_base_url)
        return self.zalo_mode == "webhook"

    @property
    def email_enabled(self) -> bool:
        return bool(self.smtp_host and self.smtp_from)

    @cached_property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def web_base_url(self) -> str:
        """Where people reach the backend: the public URL, else the listen address."""
        if self.public_base_url:
            return self.public_base_url.rstrip("/")
        return f"http://{self.listen_host}:{self.listen_port}"

    @property
    def resolved_database_url(self) -> str:
        """The configured URL, or an SQLite file under the data directory."""
        if self.database_url:
            return self.database_url
        return f"sqlite+aiosqlite:///{(self.data_dir / 'doingoai.db').resolve()}"


def webhook_url_problem(url: str) -> str | None:
    """Why a messenger could not post to `url` (a catalogue key), or None when it can:
    it must be HTTPS to a public host, not loopback or a private network."""
    parts = urlsplit(url.strip())
    if parts.scheme != "https" or not parts.hostname:
        return "settings.webhook_not_https"
    host = parts.hostname.lower()
    if host == "localhost" or host.endswith((".localhost", ".local", ".internal")):
        return "settings.webhook_private"
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return None
    if not address.is_global:
        return "settings.webhook_private"
    return None


# Checks across settings, and the setting each one reports.
_CROSS_CHECKS = {"zalo_webhook_url": "public_base_url"}


def settings_problems(error: ValidationError) -> list[str]:
    """One Vietnamese line per wrong setting: its variable, the value and what it must be."""
    lines = []
    for problem in error.errors():
        context = {k: str(v).replace(" or ", " hoặc ") for k, v in problem.get("ctx", {}).items()}
        reason = str(context.get("error", "")) if problem["type"] == "value_error" else ""
        field = str(problem["loc"][0]) if problem["loc"] else _CROSS_CHECKS.get(reason, "")
        value = problem.get("input")
        if not problem["loc"] and isinstance(value, dict):
            value = value.get(field, "")
        key = f"settings.{reason or problem['type']}"
        lines.append(
            t(
                "settings.line",
                name=ENV_PREFIX + field.upper(),
                value=value,
                reason=t(key, **context) if has(key) else t("settings.invalid"),
            )
        )
    return lines
