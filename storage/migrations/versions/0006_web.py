"""web workspace: sign-in links, sessions, passwords, throttling; audit source; record
search text; revoked invites

Revision ID: 0006_web
Revises: 0004
"""

import json

import sqlalchemy as sa
from alembic import op

from storage.models import search_text

revision = "0006_web"
down_revision = "0004"  # re-chained after main gained 0004_report_texts
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "login_tokens",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("member_id", sa.Integer(), sa.ForeignKey("members.id"), nullable=False),
        sa.Column("expires_at", sa.DateTime(), nullable=False),
        sa.Column("used_at", sa.DateTime(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("token_hash"),
    )
    op.create_table(
        "web_sessions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("member_id", sa.Integer(), sa.ForeignKey("members.id"), nullable=False),
        sa.Column("csrf_token", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("last_seen_at", sa.DateTime(), nullable=False),
        sa.Column("expires_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("token_hash"),
    )
    op.create_index("ix_web_sessions_member_id", "web_sessions", ["member_id"])
    op.create_table(
        "web_credentials",
        sa.Column("member_id", sa.Integer(), sa.ForeignKey("members.id"), nullable=False),
        sa.Column("username", sa.String(length=64), nullable=False),
        sa.Column("password_hash", sa.String(length=200), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("member_id"),
        sa.UniqueConstraint("username"),
    )
    op.create_table(
        "sign_in_attempts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_sign_in_attempts_key", "sign_in_attempts", ["key"])
    op.create_index("ix_sign_in_attempts_at", "sign_in_attempts", ["at"])
    with op.batch_alter_table("audit_log") as batch:
        batch.add_column(
            sa.Column("source", sa.String(length=16), nullable=False, server_default="chat")
        )
    with op.batch_alter_table("invites") as batch:
        batch.add_column(sa.Column("revoked_at", sa.DateTime(), nullable=True))
    with op.batch_alter_table("records") as batch:
        batch.add_column(sa.Column("search_text", sa.Text(), nullable=False, server_default=""))
    op.create_index(
        "ix_records_round_progress",
        "records",
        ["unit_id", "event_date", "round_id", "deleted_at", "updated_at"],
    )
    _fill_search_text()


def _fill_search_text() -> None:
    connection = op.get_bind()
    records = sa.table("records", sa.column("id"), sa.column("values"), sa.column("search_text"))
    for record_id, values in connection.execute(sa.select(records.c.id, records.c["values"])):
        stored = json.loads(values) if isinstance(values, str) else values
        connection.execute(
            records.update()
            .where(records.c.id == record_id)
            .values(search_text=search_text(stored or {}))
        )


def downgrade() -> None:
    op.drop_index("ix_records_round_progress", "records")
    with op.batch_alter_table("records") as batch:
        batch.drop_column("search_text")
    with op.batch_alter_table("invites") as batch:
        batch.drop_column("revoked_at")
    with op.batch_alter_table("audit_log") as batch:
        batch.drop_column("source")
    op.drop_table("sign_in_attempts")
    op.drop_table("web_credentials")
    op.drop_table("web_sessions")
    op.drop_table("login_tokens")
