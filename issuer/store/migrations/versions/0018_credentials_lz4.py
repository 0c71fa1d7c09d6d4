"""credentials: lz4 for the signed documents (PostgreSQL)

A signed credential is ~16 KB of JSON, so PostgreSQL compresses it into TOAST on every insert.
Its default compressor (pglz) cost ~0.15 ms of the database's CPU per issuance more than lz4,
which also stores these documents smaller (bench/http_load.py). Values already stored stay
as they are; both read the same. SQLite is left alone, as is a PostgreSQL built without lz4
(before 14, or compiled without it).

Revision ID: 0018
Revises: 0017
Create Date: 2026-11-30 21:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None

_LZ4_AVAILABLE = sa.text(
    "SELECT 1 FROM pg_settings WHERE name = 'default_toast_compression' AND 'lz4' = ANY(enumvals)"
)


def upgrade() -> None:
    _set_compression("lz4")


def downgrade() -> None:
    _set_compression("pglz")


def _set_compression(method: str) -> None:
    bind = op.get_bind()
    if bind.dialect.name != "postgresql" or bind.scalar(_LZ4_AVAILABLE) is None:
        return
    op.execute(f"ALTER TABLE credentials ALTER COLUMN document SET COMPRESSION {method}")
