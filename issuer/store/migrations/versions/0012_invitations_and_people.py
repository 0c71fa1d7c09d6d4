"""invitations and people

Issue 16: a person added by a coordinator could never sign in (no password, no way to set
one), a learner who signed out after the claim link was locked out, and nobody could be
deactivated. `account_links` holds the single-use links e-mailed to a person (invitation,
password reset, a learner's sign-in link, confirming a new e-mail address), each stored as
the SHA-256 of its token and spent by one conditional UPDATE; `users.deactivated_at` shuts
every way in, and `users.last_signed_in_at` is shown on the coordinators' people page.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-07 12:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("deactivated_at", sa.DateTime(), nullable=True))
        batch.add_column(sa.Column("last_signed_in_at", sa.DateTime(), nullable=True))
    op.create_table(
        "account_links",
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("purpose", sa.String(length=16), nullable=False),
        sa.Column("new_email", sa.String(length=320), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("expires_at", sa.DateTime(), nullable=False),
        sa.Column("used_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_account_links_user_id_users")
        ),
        sa.PrimaryKeyConstraint("token_hash", name=op.f("pk_account_links")),
    )
    with op.batch_alter_table("account_links") as batch:
        batch.create_index(batch.f("ix_account_links_user_id"), ["user_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("account_links") as batch:
        batch.drop_index(batch.f("ix_account_links_user_id"))
    op.drop_table("account_links")
    with op.batch_alter_table("users") as batch:
        batch.drop_column("last_signed_in_at")
        batch.drop_column("deactivated_at")
