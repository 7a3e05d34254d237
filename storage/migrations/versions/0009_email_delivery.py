"""e-mail channel and delivery log: per-channel outcomes of reminders, reminders on/off per
identity, the units' official e-mail addresses

Revision ID: 0009_email_delivery
Revises: 0007_outbox_inbox
"""

import sqlalchemy as sa
from alembic import op

revision = "0009_email_delivery"
down_revision = "0007_outbox_inbox"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "deliveries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column(
            "reminder_log_id", sa.Integer(), sa.ForeignKey("reminder_log.id"), nullable=False
        ),
        sa.Column("member_id", sa.Integer(), sa.ForeignKey("members.id"), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("address", sa.String(length=254), nullable=False),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("error", sa.String(length=500), nullable=False),
        sa.Column("message_id", sa.String(length=200), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("reminder_log_id", "channel", "address"),
    )
    op.create_index("ix_deliveries_member_id", "deliveries", ["member_id"])
    with op.batch_alter_table("identities") as batch:
        batch.add_column(
            sa.Column("reminders", sa.Boolean(), nullable=False, server_default=sa.true())
        )
    with op.batch_alter_table("units") as batch:
        batch.add_column(
            sa.Column("email", sa.String(length=254), nullable=False, server_default="")
        )


def downgrade() -> None:
    with op.batch_alter_table("units") as batch:
        batch.drop_column("email")
    with op.batch_alter_table("identities") as batch:
        batch.drop_column("reminders")
    op.drop_index("ix_deliveries_member_id", table_name="deliveries")
    op.drop_table("deliveries")
