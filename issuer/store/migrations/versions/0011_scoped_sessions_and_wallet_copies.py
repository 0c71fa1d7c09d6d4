"""scoped sessions, server-side flash messages, wallet copies

Issue 15:
- a claim link opened a session with all of the person's roles; `web_sessions.scope` limits a
  session to some of them, and `web_sessions.flash` keeps the message for the next page, which
  used to travel in the URL (`?done=`, `?error=`) where anyone could write it;
- binding a credential to a wallet re-signed and overwrote it, so every copy shared before
  stopped matching our records; a bound copy is now a credential of its own
  (`credentials.copy_of`), outside the one-active-credential-per-level rule, and the exchange
  names the copy it produced (`exchanges.bound_credential_id`).

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-30 12:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

ACTIVE_BEFORE = "revoked_at IS NULL AND superseded_at IS NULL"
ACTIVE = "revoked_at IS NULL AND superseded_at IS NULL AND copy_of IS NULL"


def upgrade() -> None:
    with op.batch_alter_table("web_sessions") as batch:
        batch.add_column(sa.Column("scope", sa.String(length=100), nullable=True))
        batch.add_column(sa.Column("flash", sa.Text(), nullable=True))
    with op.batch_alter_table("credentials") as batch:
        batch.add_column(sa.Column("copy_of", sa.String(length=36), nullable=True))
        batch.create_foreign_key(
            "fk_credentials_copy_of_credentials", "credentials", ["copy_of"], ["id"]
        )
        batch.create_index("ix_credentials_copy_of", ["copy_of"], unique=False)
    _active_index(ACTIVE)
    with op.batch_alter_table("exchanges") as batch:
        batch.add_column(sa.Column("bound_credential_id", sa.String(length=36), nullable=True))
        batch.create_foreign_key(
            "fk_exchanges_bound_credential_id_credentials",
            "credentials",
            ["bound_credential_id"],
            ["id"],
        )


def downgrade() -> None:
    with op.batch_alter_table("exchanges") as batch:
        batch.drop_constraint("fk_exchanges_bound_credential_id_credentials", type_="foreignkey")
        batch.drop_column("bound_credential_id")
    op.execute(
        "DELETE FROM claim_tokens WHERE credential_id IN "
        "(SELECT id FROM credentials WHERE copy_of IS NOT NULL)"
    )
    op.execute("DELETE FROM credentials WHERE copy_of IS NOT NULL")
    _active_index(ACTIVE_BEFORE)
    with op.batch_alter_table("credentials") as batch:
        batch.drop_index("ix_credentials_copy_of")
        batch.drop_constraint("fk_credentials_copy_of_credentials", type_="foreignkey")
        batch.drop_column("copy_of")
    with op.batch_alter_table("web_sessions") as batch:
        batch.drop_column("flash")
        batch.drop_column("scope")


def _active_index(where: str) -> None:
    op.drop_index("uq_credentials_active", table_name="credentials")
    op.create_index(
        "uq_credentials_active",
        "credentials",
        ["learner_id", "achievement_id"],
        unique=True,
        sqlite_where=sa.text(where),
        postgresql_where=sa.text(where),
    )
