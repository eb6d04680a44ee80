"""the audit log as a transparency log: sequence numbers, Merkle tree nodes, signed checkpoints,
their keys and verification runs; append-only enforced by the database

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-24 10:30:00

Every audit table refuses UPDATE and DELETE (and TRUNCATE on PostgreSQL) by trigger, whoever
asks. On PostgreSQL the role `hub_app` (created here when the migrating role may) is granted only
SELECT and INSERT on them and ordinary rights elsewhere: run the hub as a login role that is a
member of `hub_app`, and migrations as the owner.
"""

from __future__ import annotations

import json

import sqlalchemy as sa
from alembic import op

from audit.entry import canonical_json

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

AUDIT_TABLES = (
    "audit_entries",
    "audit_nodes",
    "audit_checkpoints",
    "audit_keys",
    "audit_verifications",
)
Big = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _drop_entry_triggers_of_0001(dialect: str) -> None:
    """0001 protected audit_entries alone; this migration rewrites it once (numbering the
    entries already there), then protects every audit table alike."""
    if dialect == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS audit_entries_no_change ON audit_entries")
        op.execute("DROP TRIGGER IF EXISTS audit_entries_no_truncate ON audit_entries")
    else:
        op.execute("DROP TRIGGER IF EXISTS audit_entries_no_update")
        op.execute("DROP TRIGGER IF EXISTS audit_entries_no_delete")


def upgrade() -> None:
    _drop_entry_triggers_of_0001(op.get_bind().dialect.name)
    with op.batch_alter_table("audit_entries") as batch:
        batch.add_column(sa.Column("seq", sa.BigInteger(), nullable=True))
        batch.add_column(sa.Column("recipient_agency_id", sa.String(length=64), nullable=True))
    # Entries written before this migration get their sequence numbers in the order they were
    # written, and their canonical JSON gains the number (the bytes the tree will hash).
    bind = op.get_bind()
    table = sa.table(
        "audit_entries",
        sa.column("id", sa.BigInteger()),
        sa.column("seq", sa.BigInteger()),
        sa.column("entry", sa.Text()),
        sa.column("recipient_agency_id", sa.String()),
    )
    rows = bind.execute(sa.select(table.c.id, table.c.entry).order_by(table.c.id)).all()
    for seq, (row_id, text) in enumerate(rows):
        entry = json.loads(text)
        entry["seq"] = seq
        bind.execute(
            table.update()
            .where(table.c.id == row_id)
            .values(
                seq=seq,
                entry=canonical_json(entry).decode(),
                recipient_agency_id=entry.get("recipient"),
            )
        )
    with op.batch_alter_table("audit_entries") as batch:
        batch.alter_column("seq", existing_type=sa.BigInteger(), nullable=False)
        batch.create_index("ix_audit_entries_seq", ["seq"], unique=True)
        batch.create_index("ix_audit_entries_recipient", ["recipient_agency_id", "seq"])
        batch.create_index("ix_audit_entries_action", ["action", "seq"])
        batch.create_index("ix_audit_entries_recorded", ["recorded_at"])

    op.create_table(
        "audit_nodes",
        sa.Column("level", sa.SmallInteger(), nullable=False),
        sa.Column("idx", sa.BigInteger(), nullable=False),
        sa.Column("hash", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("level", "idx", name=op.f("pk_audit_nodes")),
    )
    op.create_table(
        "audit_keys",
        sa.Column("key_id", sa.String(length=8), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("public_key", sa.LargeBinary(), nullable=False),
        sa.Column("private_key_enc", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("key_id", name=op.f("pk_audit_keys")),
    )
    op.create_table(
        "audit_checkpoints",
        sa.Column("id", Big, autoincrement=True, nullable=False),
        sa.Column("tree_size", sa.BigInteger(), nullable=False),
        sa.Column("root_hash", sa.LargeBinary(), nullable=False),
        sa.Column("key_id", sa.String(length=8), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_checkpoints")),
    )
    with op.batch_alter_table("audit_checkpoints") as batch:
        batch.create_index("ix_audit_checkpoints_size", ["tree_size"], unique=True)
    op.create_table(
        "audit_verifications",
        sa.Column("id", Big, autoincrement=True, nullable=False),
        sa.Column("verified_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("tree_size", sa.BigInteger(), nullable=False),
        sa.Column("ok", sa.Boolean(), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.Column("verified_by", sa.String(length=200), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_verifications")),
    )

    if bind.dialect.name == "postgresql":
        _postgres_append_only()
    else:
        for name in AUDIT_TABLES:
            for operation in ("UPDATE", "DELETE"):
                op.execute(
                    f"CREATE TRIGGER {name}_no_{operation.lower()} BEFORE {operation} ON {name} "
                    f"BEGIN SELECT RAISE(ABORT, 'audit tables are append-only: "
                    f"{operation} on {name} refused'); END"
                )


def _postgres_append_only() -> None:
    op.execute(
        """
        CREATE OR REPLACE FUNCTION hub_audit_append_only() RETURNS trigger
        LANGUAGE plpgsql AS $$
        BEGIN
          RAISE EXCEPTION 'audit tables are append-only: % on % refused', TG_OP, TG_TABLE_NAME
            USING ERRCODE = 'insufficient_privilege';
        END $$
        """
    )
    for name in AUDIT_TABLES:
        op.execute(
            f"CREATE TRIGGER {name}_append_only BEFORE UPDATE OR DELETE ON {name} "
            "FOR EACH ROW EXECUTE FUNCTION hub_audit_append_only()"
        )
        op.execute(
            f"CREATE TRIGGER {name}_no_truncate BEFORE TRUNCATE ON {name} "
            "FOR EACH STATEMENT EXECUTE FUNCTION hub_audit_append_only()"
        )
    # The application's role: INSERT and SELECT only on the audit tables.
    op.execute(
        """
        DO $$
        BEGIN
          IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'hub_app') THEN
            BEGIN
              CREATE ROLE hub_app NOLOGIN;
            EXCEPTION
              WHEN duplicate_object THEN NULL;
              WHEN insufficient_privilege THEN
                RAISE NOTICE 'cannot create role hub_app: grant it yourself (see 0006)';
            END;
          END IF;
        END $$
        """
    )
    grants = """
        DO $$
        DECLARE t text;
        BEGIN
          IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'hub_app') THEN
            FOR t IN SELECT tablename FROM pg_tables WHERE schemaname = current_schema() LOOP
              EXECUTE format('GRANT SELECT, INSERT, UPDATE, DELETE ON %I TO hub_app', t);
            END LOOP;
            EXECUTE 'GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA ' || current_schema()
              || ' TO hub_app';
            EXECUTE 'REVOKE UPDATE, DELETE, TRUNCATE ON AUDIT_TABLES FROM hub_app';
          END IF;
        END $$
        """
    op.execute(grants.replace("AUDIT_TABLES", ", ".join(AUDIT_TABLES)))


def downgrade() -> None:
    bind = op.get_bind()
    for name in AUDIT_TABLES:
        if bind.dialect.name == "postgresql":
            op.execute(f"DROP TRIGGER IF EXISTS {name}_append_only ON {name}")
            op.execute(f"DROP TRIGGER IF EXISTS {name}_no_truncate ON {name}")
        else:
            op.execute(f"DROP TRIGGER IF EXISTS {name}_no_update")
            op.execute(f"DROP TRIGGER IF EXISTS {name}_no_delete")
    for name in ("audit_verifications", "audit_checkpoints", "audit_keys", "audit_nodes"):
        op.drop_table(name)
    with op.batch_alter_table("audit_entries") as batch:
        batch.drop_index("ix_audit_entries_recorded")
        batch.drop_index("ix_audit_entries_action")
        batch.drop_index("ix_audit_entries_recipient")
        batch.drop_index("ix_audit_entries_seq")
        batch.drop_column("recipient_agency_id")
        batch.drop_column("seq")
    # Back to 0001's protection of the entries.
    if bind.dialect.name == "postgresql":
        op.execute("DROP FUNCTION IF EXISTS hub_audit_append_only()")
        op.execute(
            "CREATE TRIGGER audit_entries_no_change BEFORE UPDATE OR DELETE ON audit_entries "
            "FOR EACH ROW EXECUTE FUNCTION audit_append_only()"
        )
        op.execute(
            "CREATE TRIGGER audit_entries_no_truncate BEFORE TRUNCATE ON audit_entries "
            "FOR EACH STATEMENT EXECUTE FUNCTION audit_append_only()"
        )
    else:
        for verb in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER audit_entries_no_{verb.lower()} BEFORE {verb} ON audit_entries "
                "BEGIN SELECT RAISE(ABORT, 'audit entries are append-only'); END"
            )
