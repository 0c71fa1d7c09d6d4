"""html mail

Issue 17: e-mails people trust. Each message goes as plain text and branded HTML; the HTML is
made when the message is sent (the brand is the sender's setting, which the use cases do not
know) from the letter the use case wrote, kept in `letter` (JSON) beside the text `body`.
Like the body, it holds one-time secrets only while pending: `redacted_letter` is the letter
without them and replaces it once the message is sent or given up.

Rows queued before this revision have no letter and go as plain text, as they were written.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-14 12:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("outbox_messages") as batch:
        batch.add_column(sa.Column("letter", sa.Text(), nullable=True))
        batch.add_column(sa.Column("redacted_letter", sa.Text(), nullable=True))


def downgrade() -> None:
    # The text part stays complete: a downgraded issuer sends pending mail as plain text.
    with op.batch_alter_table("outbox_messages") as batch:
        batch.drop_column("redacted_letter")
        batch.drop_column("letter")
