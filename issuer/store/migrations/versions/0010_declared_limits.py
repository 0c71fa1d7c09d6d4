"""declared limits

Issue 15: every stored text has one declared maximum (issuer/limits.py) that sizes its column
and is checked at input. Two columns shrink to their limits and one becomes Text:

- `frameworks.title` 300 -> 200 and `achievements.label` 200 -> 80, so that an Achievement's
  name ("{title}: {label}", 282) fits the claim e-mail's subject ("Your badge: {name}") in
  `outbox_messages.subject` (300). A 290-character title used to overflow that subject on
  PostgreSQL and turn every attestation of the framework into a 500;
- `achievements.url` String(500) -> Text: it is the operator's base URL plus a level key that
  may percent-encode to 768 characters.

Nothing is cut: if a stored title or label is longer than its new limit (possible on SQLite,
which never enforced the old ones), the upgrade stops and names them.

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-30 12:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

# (table, column, old length, new length); the figures of this revision, not of limits.py,
# which may change later.
SHRUNK = (("frameworks", "title", 300, 200), ("achievements", "label", 200, 80))


def upgrade() -> None:
    _refuse_longer_values()
    with op.batch_alter_table("frameworks") as batch:
        batch.alter_column(
            "title", type_=sa.String(length=200), existing_type=sa.String(length=300)
        )
    with op.batch_alter_table("achievements") as batch:
        batch.alter_column("label", type_=sa.String(length=80), existing_type=sa.String(length=200))
        batch.alter_column("url", type_=sa.Text(), existing_type=sa.String(length=500))


def downgrade() -> None:
    with op.batch_alter_table("achievements") as batch:
        batch.alter_column("url", type_=sa.String(length=500), existing_type=sa.Text())
        batch.alter_column("label", type_=sa.String(length=200), existing_type=sa.String(length=80))
    with op.batch_alter_table("frameworks") as batch:
        batch.alter_column(
            "title", type_=sa.String(length=300), existing_type=sa.String(length=200)
        )


def _refuse_longer_values() -> None:
    connection = op.get_bind()
    problems = []
    for table, column, _, length in SHRUNK:
        values = sa.table(table, sa.column(column, sa.String()))
        count = connection.execute(
            sa.select(sa.func.count())
            .select_from(values)
            .where(sa.func.length(values.c[column]) > length)
        ).scalar_one()
        if count:
            problems.append(f"{table}.{column}: {count} longer than {length} characters")
    if problems:
        raise RuntimeError(
            "cannot apply the declared text limits; shorten these values first: "
            + "; ".join(problems)
        )
