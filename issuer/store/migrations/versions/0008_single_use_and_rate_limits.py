"""single use and rate limits

Issue 15: rate limits were counted in each process's memory, so `issuer serve --workers N`
and several instances each allowed the full limit. Their counters now live here, one row per
bucket, hashed key and one-minute window, bumped with an atomic upsert; old windows are
deleted through the index on `window_start`.

The single-use fixes of the same issue (claim links, exchanges, pre-authorized codes, access
tokens, nonces, transaction-code attempts) need no schema change: they change how the existing
columns are written (one conditional UPDATE … RETURNING each).

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-26 09:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "rate_limit_counters",
        sa.Column("bucket", sa.String(length=32), nullable=False),
        sa.Column("key_hash", sa.String(length=64), nullable=False),
        sa.Column("window_start", sa.DateTime(), nullable=False),
        sa.Column("hits", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint(
            "bucket", "key_hash", "window_start", name=op.f("pk_rate_limit_counters")
        ),
    )
    with op.batch_alter_table("rate_limit_counters", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_rate_limit_counters_window_start"), ["window_start"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("rate_limit_counters", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_rate_limit_counters_window_start"))
    op.drop_table("rate_limit_counters")
