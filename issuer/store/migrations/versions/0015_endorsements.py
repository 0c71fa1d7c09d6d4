"""endorsements

Issue 18: a framework owner (or any endorser the operator trusts) vouches for an Achievement
or for the issuer Profile with an OB 3.0 EndorsementCredential. `endorsements` keeps each
one exactly as signed, by the id of what it endorses; it is embedded in that Achievement or
Profile from then on and published at its own URL. A withdrawn endorsement is kept (the
credentials issued with it still carry it) but no longer embedded or listed.

Revision ID: 0015
Revises: 0014
Create Date: 2026-11-30 15:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "endorsements",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("subject_id", sa.Text(), nullable=False),
        sa.Column("endorser_id", sa.Text(), nullable=False),
        sa.Column("endorser_name", sa.Text(), nullable=False),
        sa.Column("comment", sa.Text(), nullable=True),
        sa.Column("document", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("withdrawn_at", sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_endorsements")),
    )
    with op.batch_alter_table("endorsements") as batch:
        batch.create_index(batch.f("ix_endorsements_subject_id"), ["subject_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("endorsements") as batch:
        batch.drop_index(batch.f("ix_endorsements_subject_id"))
    op.drop_table("endorsements")
