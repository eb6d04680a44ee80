"""delivery to people and channels: who at the recipient a delivery is for, its urgency and the
practitioner's response; users' work email; webhook subscriptions; the transactional outbox

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-24 14:00:00

A delivery names the person at the recipient agency it is for (`assignee`: a keyed digest of the
case owner's work email or name, with the name itself sealed in `assignee_enc`; empty for the
agency's allocation queue). Each
delivery's live notification and webhook sends are rows in `outbox`, written in the same
transaction as the delivery and its audit entries, so an accepted message is never lost to a
crash between commit and send.

`subject_records.holder` held case owners' work emails in clear; nothing read them, and from here
on it holds a keyed digest (the clear values are removed).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

Big = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
Time = sa.DateTime(timezone=True)


def upgrade() -> None:
    # Case owners' names were kept in clear beside the person's records (and never read): from
    # now on the column holds a keyed digest; the clear values go.
    op.execute("UPDATE subject_records SET holder = NULL")
    with op.batch_alter_table("deliveries") as batch:
        batch.add_column(sa.Column("assignee", sa.String(320), nullable=True))
        batch.add_column(sa.Column("assignee_enc", sa.LargeBinary(), nullable=True))
        batch.add_column(sa.Column("urgency", sa.String(20), nullable=True))
        batch.add_column(sa.Column("response", sa.String(30), nullable=True))
        batch.add_column(sa.Column("responded_at", Time, nullable=True))
        batch.add_column(sa.Column("responded_by", sa.String(100), nullable=True))
        batch.create_index(
            "ix_deliveries_recipient_assignee", ["recipient_agency_id", "assignee", "id"]
        )
    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("email", sa.String(320), nullable=True))
        batch.create_index("ix_users_email", ["email"], unique=True)
    op.create_table(
        "subscriptions",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("agency_id", sa.String(64), sa.ForeignKey("agencies.id"), nullable=False),
        sa.Column("client_id", sa.String(64), nullable=False),
        sa.Column("url", sa.String(2000), nullable=False),
        sa.Column("secret_enc", sa.LargeBinary(), nullable=False),
        sa.Column("types", sa.JSON(), nullable=False),
        sa.Column("created_at", Time, nullable=False),
        sa.Column("deleted_at", Time, nullable=True),
    )
    op.create_index("ix_subscriptions_agency_id", "subscriptions", ["agency_id"])
    op.create_table(
        "outbox",
        sa.Column("id", Big, primary_key=True, autoincrement=True),
        sa.Column(
            "delivery_id", sa.String(36), sa.ForeignKey("deliveries.public_id"), nullable=False
        ),
        sa.Column("channel", sa.String(20), nullable=False),
        sa.Column(
            "subscription_id", sa.String(36), sa.ForeignKey("subscriptions.id"), nullable=True
        ),
        sa.Column("state", sa.String(12), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("next_attempt_at", Time, nullable=False),
        sa.Column("claimed_until", Time, nullable=True),
        sa.Column("last_result", sa.String(200), nullable=True),
        sa.Column("created_at", Time, nullable=False),
        sa.Column("done_at", Time, nullable=True),
    )
    op.create_index("ix_outbox_due", "outbox", ["state", "channel", "next_attempt_at"])
    op.create_index("ix_outbox_subscription", "outbox", ["subscription_id", "state", "id"])


def downgrade() -> None:
    op.drop_table("outbox")
    op.drop_table("subscriptions")
    with op.batch_alter_table("users") as batch:
        batch.drop_index("ix_users_email")
        batch.drop_column("email")
    with op.batch_alter_table("deliveries") as batch:
        batch.drop_index("ix_deliveries_recipient_assignee")
        for column in (
            "responded_by",
            "responded_at",
            "response",
            "urgency",
            "assignee_enc",
            "assignee",
        ):
            batch.drop_column(column)
