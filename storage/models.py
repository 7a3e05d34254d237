"""Database tables. Records keep their field values as JSON keyed by the DOMAIN.md field keys."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    event,
)
from sqlalchemy import true as sa_true
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from domain.parsing import fold
from storage.clock import utcnow


class Base(DeclarativeBase):
    pass


class Unit(Base):
    """A reporting unit (đơn vị): a department, a district, a school."""

    __tablename__ = "units"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    group: Mapped[str] = mapped_column(String(32), default="khac")
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    # The focal point's official address from the units file (email_dau_moi): linked to
    # the first focal point who registers for the unit.
    email: Mapped[str] = mapped_column(String(254), default="", server_default="")


class Member(Base):
    """A person using the bot: a unit's focal point or a Department coordinator.

    One person may reach the bot through several messengers; each is an Identity.
    """

    __tablename__ = "members"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    role: Mapped[str] = mapped_column(String(32))
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"), nullable=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class Identity(Base):
    """A member's account on one channel (telegram, zalo, email, console)."""

    __tablename__ = "identities"
    __table_args__ = (UniqueConstraint("channel", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"))
    channel: Mapped[str] = mapped_column(String(16))
    user_id: Mapped[str] = mapped_column(String(64))
    chat_id: Mapped[str] = mapped_column(String(64))
    blocked_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    # Whether reminders go to this channel (/kenh turns it off and on).
    reminders: Mapped[bool] = mapped_column(Boolean, default=True, server_default=sa_true())


class Invite(Base):
    """A single-use, expiring invite code. Only its SHA-256 hash is stored."""

    __tablename__ = "invites"

    id: Mapped[int] = mapped_column(primary_key=True)
    code_hash: Mapped[str] = mapped_column(String(64), unique=True)
    role: Mapped[str] = mapped_column(String(32))
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"), nullable=True)
    member_id: Mapped[int | None] = mapped_column(ForeignKey("members.id"), nullable=True)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("members.id"), nullable=True)
    expires_at: Mapped[datetime] = mapped_column(DateTime)
    used_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    used_by: Mapped[int | None] = mapped_column(ForeignKey("members.id"), nullable=True)
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class Record(Base):
    """One reported activity."""

    __tablename__ = "records"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(32), index=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"), index=True)
    submitted_by: Mapped[int | None] = mapped_column(ForeignKey("members.id"), nullable=True)
    event_date: Mapped[date | None] = mapped_column(Date, nullable=True, index=True)
    round_id: Mapped[str | None] = mapped_column(String(32), nullable=True, index=True)
    values: Mapped[dict[str, Any]] = mapped_column(JSON)
    version: Mapped[int] = mapped_column(Integer, default=1)
    deleted_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    # Every value folded (no case, no diacritics): the web table's text search.
    search_text: Mapped[str] = mapped_column(Text, default="", server_default="")

    # Round progress reads only these columns: a scan of this index, not of the table.
    __table_args__ = (
        Index(
            "ix_records_round_progress", "unit_id", "event_date", "round_id", "deleted_at",
            "updated_at",
        ),
    )  # fmt: skip


def search_text(values: dict[str, Any]) -> str:
    """What the records table's text search matches: all values, folded."""
    return fold(" ".join(str(value) for value in values.values() if value is not None))


@event.listens_for(Record, "before_insert")
@event.listens_for(Record, "before_update")
def _index_values(_mapper, _connection, record: Record) -> None:
    record.search_text = search_text(record.values or {})


class ConversationSession(Base):
    """Where a person is in the conversation on one channel, and their draft."""

    __tablename__ = "conversation_sessions"
    __table_args__ = (UniqueConstraint("channel", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    channel: Mapped[str] = mapped_column(String(16))
    user_id: Mapped[str] = mapped_column(String(64))
    state: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class ProcessedUpdate(Base):
    """Update ids already handled, so a redelivered update changes nothing."""

    __tablename__ = "processed_updates"
    __table_args__ = (UniqueConstraint("channel", "update_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    channel: Mapped[str] = mapped_column(String(16))
    update_id: Mapped[str] = mapped_column(String(64))
    processed_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class AuditEntry(Base):
    """Who created, changed or deleted what."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    member_id: Mapped[int | None] = mapped_column(ForeignKey("members.id"), nullable=True)
    action: Mapped[str] = mapped_column(String(32))
    entity: Mapped[str] = mapped_column(String(32))
    entity_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # Where the change was made: chat, web or cli.
    source: Mapped[str] = mapped_column(String(16), default="chat", server_default="chat")


class Round(Base):
    """A reporting round (đợt báo cáo): the recurring 6-month and annual ones, or ad hoc."""

    __tablename__ = "rounds"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    kind: Mapped[str] = mapped_column(String(8))  # H1, Y or adhoc
    start: Mapped[date] = mapped_column(Date)
    end: Mapped[date] = mapped_column(Date)
    deadline: Mapped[date] = mapped_column(Date)
    message: Mapped[str] = mapped_column(String(1000), default="")
    created_by: Mapped[int | None] = mapped_column(ForeignKey("members.id"), nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class Confirmation(Base):
    """A unit's confirmation that its report for a round is complete."""

    __tablename__ = "confirmations"
    __table_args__ = (UniqueConstraint("round_id", "unit_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    round_id: Mapped[str] = mapped_column(ForeignKey("rounds.id"))
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"))
    member_id: Mapped[int | None] = mapped_column(ForeignKey("members.id"), nullable=True)
    nothing_to_report: Mapped[bool] = mapped_column(Boolean, default=False)
    confirmed_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)


class ReminderLog(Base):
    """One reminder (or coordinator summary) per round, member and slot: written before
    the send is attempted, so that a restart neither repeats nor skips anyone."""

    __tablename__ = "reminder_log"
    __table_args__ = (UniqueConstraint("round_id", "member_id", "slot"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    round_id: Mapped[str] = mapped_column(ForeignKey("rounds.id"))
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"))
    slot: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str] = mapped_column(String(500), default="")
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class Delivery(Base):
    """What became of one reminder (or summary) on one of the member's channels: sent,
    failed (with the reason), deferred (the messenger's quota) or unreachable. One row per
    reminder-log entry, channel and address, updated when a retry settles it."""

    __tablename__ = "deliveries"
    __table_args__ = (UniqueConstraint("reminder_log_id", "channel", "address"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    reminder_log_id: Mapped[int] = mapped_column(ForeignKey("reminder_log.id"))
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"), index=True)
    channel: Mapped[str] = mapped_column(String(16))
    address: Mapped[str] = mapped_column(String(254))  # chat id or e-mail address
    outcome: Mapped[str] = mapped_column(String(16))
    error: Mapped[str] = mapped_column(String(500), default="")
    message_id: Mapped[str] = mapped_column(String(200), default="")
    at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class FileLink(Base):
    """A generated file offered by link (for channels without documents): the token is
    random, serves this one file, and expires. Only the token's hash is stored."""

    __tablename__ = "file_links"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    path: Mapped[str] = mapped_column(String(1000))
    filename: Mapped[str] = mapped_column(String(200))
    expires_at: Mapped[datetime] = mapped_column(DateTime)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class LoginToken(Base):
    """A one-time sign-in link for the web workspace, asked for in the chat (/web).
    Only the token's hash is stored; it expires within minutes."""

    __tablename__ = "login_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"))
    expires_at: Mapped[datetime] = mapped_column(DateTime)
    used_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class WebSession(Base):
    """A signed-in browser: the cookie holds the token, the database its hash."""

    __tablename__ = "web_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"), index=True)
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(DateTime)


class WebCredential(Base):
    """A coordinator's desk password (argon2 hash) and the login name that goes with it."""

    __tablename__ = "web_credentials"

    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"), primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    password_hash: Mapped[str] = mapped_column(String(200))
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class SignInAttempt(Base):
    """A failed password sign-in, by login name or address: the throttle counts them."""

    __tablename__ = "sign_in_attempts"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(200), index=True)
    at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, index=True)


class ReportText(Base):
    """A standing paragraph (or several) of one report section, written for a round.

    A new round's draft carries the text of the last round of the same kind, marked for
    review, until a coordinator writes the section for the new round."""

    __tablename__ = "report_texts"
    __table_args__ = (UniqueConstraint("round_id", "section"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    round_id: Mapped[str] = mapped_column(String(32), index=True)
    section: Mapped[str] = mapped_column(String(32))
    text: Mapped[str] = mapped_column(String(20000), default="")
    source: Mapped[str] = mapped_column(String(200), default="")  # cli, web, a file name
    changed_by: Mapped[int | None] = mapped_column(ForeignKey("members.id"), nullable=True)
    changed_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class ReportHeader(Base):
    """The heading and signature of one report (a round and a template): addressee, the
    request letter it answers, recipients, signer. Empty values fall back to settings."""

    __tablename__ = "report_headers"
    __table_args__ = (UniqueConstraint("round_id", "template"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    round_id: Mapped[str] = mapped_column(String(32))
    template: Mapped[str] = mapped_column(String(64))
    values: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    changed_by: Mapped[int | None] = mapped_column(ForeignKey("members.id"), nullable=True)
    changed_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class OutboxMessage(Base):
    """A message to send (a reply, a reminder, a summary), written in the transaction of
    the change that caused it and marked once the messenger accepted it, so that a crash
    neither loses it nor, outside the moment between acceptance and marking, doubles it."""

    __tablename__ = "outbox"
    __table_args__ = (
        Index("ix_outbox_due", "status", "priority", "id"),
        Index("ix_outbox_chat", "channel", "chat_id", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    channel: Mapped[str] = mapped_column(String(16))
    chat_id: Mapped[str] = mapped_column(String(64))
    priority: Mapped[int] = mapped_column(Integer, default=0)  # 0 replies first
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    # What the message asks ("ask:<kind>:<field>"), so an answer can be bound to it.
    question: Mapped[str] = mapped_column(String(200), default="")
    reminder_id: Mapped[int | None] = mapped_column(ForeignKey("reminder_log.id"), nullable=True)
    status: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    not_before: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    # Until when a process's sender holds it (several processes on PostgreSQL).
    claimed_until: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    # The messenger's ids of the messages it became (a long text is several), in order.
    message_ids: Mapped[str] = mapped_column(String(500), default="")
    error: Mapped[str] = mapped_column(String(500), default="")
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)


class InboxUpdate(Base):
    """An update fetched from a messenger that cannot be asked again (Zalo's getUpdates
    has no offset): stored as received, processed from here."""

    __tablename__ = "inbox"
    __table_args__ = (UniqueConstraint("channel", "update_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    channel: Mapped[str] = mapped_column(String(16))
    update_id: Mapped[str] = mapped_column(String(64))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    received_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    processed_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
