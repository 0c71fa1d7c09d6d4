"""Renewal: successor credentials and fresh confirmations per cycle

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

CONFIRMATIONS_ACTIVE = "withdrawn_at IS NULL AND consumed_by IS NULL"
CREDENTIALS_ACTIVE = "revoked_at IS NULL AND superseded_at IS NULL"


def upgrade() -> None:
    with op.batch_alter_table("credentials") as batch:
        batch.add_column(sa.Column("superseded_at", sa.DateTime(), nullable=True))
        batch.add_column(sa.Column("predecessor_id", sa.String(length=36), nullable=True))
    with op.batch_alter_table("confirmations") as batch:
        batch.add_column(sa.Column("consumed_by", sa.String(length=36), nullable=True))
        batch.create_foreign_key(
            "fk_confirmations_consumed_by_credentials", "credentials", ["consumed_by"], ["id"]
        )
    # Confirmations that went into a credential are consumed: a renewal starts afresh.
    op.execute(
        "UPDATE confirmations SET consumed_by = (SELECT c.id FROM credentials c "
        "WHERE c.learner_id = confirmations.learner_id "
        "AND c.achievement_id = confirmations.achievement_id AND c.revoked_at IS NULL) "
        "WHERE withdrawn_at IS NULL"
    )
    _replace_index(
        "confirmations",
        "uq_confirmations_active",
        ["learner_id", "achievement_id", "statement_index"],
        CONFIRMATIONS_ACTIVE,
    )
    _replace_index(
        "credentials", "uq_credentials_active", ["learner_id", "achievement_id"], CREDENTIALS_ACTIVE
    )


def downgrade() -> None:
    _replace_index(
        "credentials",
        "uq_credentials_active",
        ["learner_id", "achievement_id"],
        "revoked_at IS NULL",
    )
    _replace_index(
        "confirmations",
        "uq_confirmations_active",
        ["learner_id", "achievement_id", "statement_index"],
        "withdrawn_at IS NULL",
    )
    with op.batch_alter_table("confirmations") as batch:
        batch.drop_constraint("fk_confirmations_consumed_by_credentials", type_="foreignkey")
        batch.drop_column("consumed_by")
    with op.batch_alter_table("credentials") as batch:
        batch.drop_column("predecessor_id")
        batch.drop_column("superseded_at")


def _replace_index(table: str, name: str, columns: list[str], where: str) -> None:
    op.drop_index(name, table_name=table)
    op.create_index(
        name,
        table,
        columns,
        unique=True,
        sqlite_where=sa.text(where),
        postgresql_where=sa.text(where),
    )
