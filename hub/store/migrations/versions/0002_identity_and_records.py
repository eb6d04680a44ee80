"""identity, hub records, held messages

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23 22:30:59.625331
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "identity_reviews",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("subject_id", sa.String(length=36), nullable=False),
        sa.Column("reason", sa.String(length=40), nullable=False),
        sa.Column("candidates", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("provisional_subject", sa.Boolean(), nullable=False),
        sa.Column("decided_subject_id", sa.String(length=36), nullable=True),
        sa.Column("merged_subject_id", sa.String(length=36), nullable=True),
        sa.Column("decided_by", sa.String(length=36), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["subject_id"], ["subjects.id"], name=op.f("fk_identity_reviews_subject_id_subjects")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_identity_reviews")),
    )
    with op.batch_alter_table("identity_reviews", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_identity_reviews_status"), ["status"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_identity_reviews_subject_id"), ["subject_id"], unique=False
        )

    op.create_table(
        "subject_traits",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("subject_id", sa.String(length=36), nullable=False),
        sa.Column("dob_key", sa.String(length=64), nullable=False),
        sa.Column("details_digest", sa.String(length=64), nullable=False),
        sa.Column("details_enc", sa.LargeBinary(), nullable=False),
        sa.Column("source_agency_id", sa.String(length=64), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["subject_id"], ["subjects.id"], name=op.f("fk_subject_traits_subject_id_subjects")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_subject_traits")),
        sa.UniqueConstraint("subject_id", "details_digest", name="uq_subject_traits_details"),
    )
    with op.batch_alter_table("subject_traits", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_subject_traits_dob_key"), ["dob_key"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_subject_traits_subject_id"), ["subject_id"], unique=False
        )

    op.create_table(
        "subject_records",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("public_id", sa.String(length=36), nullable=False),
        sa.Column("subject_id", sa.String(length=36), nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("value_enc", sa.LargeBinary(), nullable=False),
        sa.Column("value_digest", sa.String(length=64), nullable=False),
        sa.Column("holder", sa.String(length=320), nullable=True),
        sa.Column("effective_on", sa.Date(), nullable=True),
        sa.Column("source_agency_id", sa.String(length=64), nullable=False),
        sa.Column("message_id", sa.String(length=36), nullable=True),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["message_id"], ["messages.id"], name=op.f("fk_subject_records_message_id_messages")
        ),
        sa.ForeignKeyConstraint(
            ["subject_id"], ["subjects.id"], name=op.f("fk_subject_records_subject_id_subjects")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_subject_records")),
        sa.UniqueConstraint("public_id", name=op.f("uq_subject_records_public_id")),
    )
    with op.batch_alter_table("subject_records", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_subject_records_holder"), ["holder"], unique=False)
        batch_op.create_index(
            "ix_subject_records_subject_kind", ["subject_id", "kind", "id"], unique=False
        )

    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.add_column(sa.Column("held_by_review", sa.String(length=36), nullable=True))
        batch_op.create_index(
            batch_op.f("ix_messages_held_by_review"), ["held_by_review"], unique=False
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_messages_held_by_review_identity_reviews"),
            "identity_reviews",
            ["held_by_review"],
            ["id"],
        )

    with op.batch_alter_table("subjects", schema=None) as batch_op:
        batch_op.add_column(sa.Column("merged_into", sa.String(length=36), nullable=True))
        batch_op.add_column(
            sa.Column("status", sa.String(length=12), nullable=False, server_default="active")
        )
        batch_op.create_index(batch_op.f("ix_subjects_merged_into"), ["merged_into"], unique=False)
        batch_op.create_foreign_key(
            batch_op.f("fk_subjects_merged_into_subjects"), "subjects", ["merged_into"], ["id"]
        )


def downgrade() -> None:
    with op.batch_alter_table("subjects", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_subjects_merged_into_subjects"), type_="foreignkey")
        batch_op.drop_index(batch_op.f("ix_subjects_merged_into"))
        batch_op.drop_column("status")
        batch_op.drop_column("merged_into")

    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_messages_held_by_review_identity_reviews"), type_="foreignkey"
        )
        batch_op.drop_index(batch_op.f("ix_messages_held_by_review"))
        batch_op.drop_column("held_by_review")

    with op.batch_alter_table("subject_records", schema=None) as batch_op:
        batch_op.drop_index("ix_subject_records_subject_kind")
        batch_op.drop_index(batch_op.f("ix_subject_records_holder"))

    op.drop_table("subject_records")
    with op.batch_alter_table("subject_traits", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_subject_traits_subject_id"))
        batch_op.drop_index(batch_op.f("ix_subject_traits_dob_key"))

    op.drop_table("subject_traits")
    with op.batch_alter_table("identity_reviews", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_identity_reviews_subject_id"))
        batch_op.drop_index(batch_op.f("ix_identity_reviews_status"))

    op.drop_table("identity_reviews")
