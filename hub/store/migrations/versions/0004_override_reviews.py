"""override reviews

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-24 00:13:07.270923
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "override_reviews",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("message_id", sa.String(length=36), nullable=False),
        sa.Column("subject_id", sa.String(length=36), nullable=False),
        sa.Column("sender_agency_id", sa.String(length=64), nullable=False),
        sa.Column("recipient_agency_id", sa.String(length=64), nullable=False),
        sa.Column("message_type", sa.String(length=40), nullable=False),
        sa.Column("justification_enc", sa.LargeBinary(), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("note_enc", sa.LargeBinary(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("reviewed_by", sa.String(length=36), nullable=True),
        sa.Column("reviewed_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["message_id"], ["messages.id"], name=op.f("fk_override_reviews_message_id_messages")
        ),
        sa.ForeignKeyConstraint(
            ["subject_id"], ["subjects.id"], name=op.f("fk_override_reviews_subject_id_subjects")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_override_reviews")),
    )
    with op.batch_alter_table("override_reviews", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_override_reviews_message_id"), ["message_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_override_reviews_status"), ["status"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("override_reviews", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_override_reviews_status"))
        batch_op.drop_index(batch_op.f("ix_override_reviews_message_id"))

    op.drop_table("override_reviews")
