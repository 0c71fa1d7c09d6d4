"""mail dead letters and erased secrets

Issue 15: a message that cannot be built or sent is given up after MAX_ATTEMPTS (`dead_at`)
and shown to coordinators; one-time secrets in a body (claim links, wallet codes) are erased
once the message is sent or given up (`redacted_body` holds the body without them until then).

Rows queued before this revision carry no list of their secrets, so the two mails that had
them are scrubbed here by their known wording: sent ones now, pending ones when they go.

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-26 10:00:00.000000
"""

from __future__ import annotations

import re

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

REDACTED = "[redacted after delivery]"
# The claim mail (services/claims.py) and the OpenID4VCI code mail (web/routes/wallets.py).
SECRETS = (
    re.compile(r"(/claim/)[A-Za-z0-9_-]+"),
    re.compile(r"(Enter this code when your wallet asks: )[0-9]+"),
)

outbox = sa.table(
    "outbox_messages",
    sa.column("id", sa.Integer()),
    sa.column("body", sa.Text()),
    sa.column("redacted_body", sa.Text()),
    sa.column("sent_at", sa.DateTime()),
    sa.column("secrets_erased_at", sa.DateTime()),
)


def upgrade() -> None:
    with op.batch_alter_table("outbox_messages", schema=None) as batch_op:
        batch_op.add_column(sa.Column("redacted_body", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("dead_at", sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column("secrets_erased_at", sa.DateTime(), nullable=True))
        batch_op.drop_index(batch_op.f("ix_outbox_messages_next_attempt_at"))
        batch_op.create_index(
            "ix_outbox_messages_due",
            ["next_attempt_at"],
            unique=False,
            sqlite_where=sa.text("sent_at IS NULL AND dead_at IS NULL"),
            postgresql_where=sa.text("sent_at IS NULL AND dead_at IS NULL"),
        )
        batch_op.create_index(
            "ix_outbox_messages_dead",
            ["dead_at"],
            unique=False,
            sqlite_where=sa.text("dead_at IS NOT NULL"),
            postgresql_where=sa.text("dead_at IS NOT NULL"),
        )
    _scrub_existing_messages()


def _scrub_existing_messages() -> None:
    connection = op.get_bind()
    rows = connection.execute(sa.select(outbox.c.id, outbox.c.body, outbox.c.sent_at)).all()
    for message_id, body, sent_at in rows:
        scrubbed = body
        for pattern in SECRETS:
            scrubbed = pattern.sub(rf"\g<1>{REDACTED}", scrubbed)
        if scrubbed == body:
            continue
        row = outbox.update().where(outbox.c.id == message_id)
        if sent_at is None:
            connection.execute(row.values(redacted_body=scrubbed))
        else:
            connection.execute(row.values(body=scrubbed, secrets_erased_at=outbox.c.sent_at))


def downgrade() -> None:
    # The erased secrets stay erased: there is nothing to restore them from.
    with op.batch_alter_table("outbox_messages", schema=None) as batch_op:
        batch_op.drop_index(
            "ix_outbox_messages_dead",
            sqlite_where=sa.text("dead_at IS NOT NULL"),
            postgresql_where=sa.text("dead_at IS NOT NULL"),
        )
        batch_op.drop_index(
            "ix_outbox_messages_due",
            sqlite_where=sa.text("sent_at IS NULL AND dead_at IS NULL"),
            postgresql_where=sa.text("sent_at IS NULL AND dead_at IS NULL"),
        )
        batch_op.create_index(
            batch_op.f("ix_outbox_messages_next_attempt_at"), ["next_attempt_at"], unique=False
        )
        batch_op.drop_column("secrets_erased_at")
        batch_op.drop_column("dead_at")
        batch_op.drop_column("redacted_body")
