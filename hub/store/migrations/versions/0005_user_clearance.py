"""user clearance

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-24 09:10:00

A user's own vetting (0 none, 1 police information, 2 police intelligence): sharing rules read it
beside the role, so a provider's case manager sees police intelligence only when both the
provider and the person are cleared.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("clearance", sa.Integer(), nullable=False, server_default="0"))


def downgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.drop_column("clearance")
