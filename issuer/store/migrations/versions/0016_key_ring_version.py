"""key ring version

Issue 19 (scale-out): several instances share one key directory and one database. After
`issuer keys rotate` the CLI bumps this one-row counter; each instance compares it with the
version it loaded before signing or serving its DID document, and reloads the key ring when
it moved, so no instance keeps signing with a key the others do not publish.

Revision ID: 0016
Revises: 0015
Create Date: 2026-11-30 17:30:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "key_ring_version",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("changed_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_key_ring_version")),
    )


def downgrade() -> None:
    op.drop_table("key_ring_version")
