"""the Open Badges API

Issue 18, items 3 and 4: the 1EdTech Open Badges 3.0 API on both sides.
- As Service Provider: `ob_clients` (backpacks and hosts registered by RFC 7591, secrets
  hashed), `ob_authorization_codes` (a learner's consent, single-use, hashed) and `ob_tokens`
  (access and refresh tokens, hashed, grouped by the code they descend from), and
  `held_credentials`, the credentials a learner received elsewhere and keeps here.
- As Consumer: `ob_providers` (backpacks we registered with) and `ob_pushes` (a learner
  sending a credential to one: the state, hashed, and what the backpack answered).

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-14 12:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    _provider_tables()
    _consumer_tables()


def _provider_tables() -> None:
    op.create_table(
        "ob_clients",
        sa.Column("client_id", sa.String(length=64), nullable=False),
        sa.Column("secret_hash", sa.String(length=64), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("registration", sa.JSON(), nullable=False),
        sa.Column("registered_at", sa.DateTime(), nullable=False),
        sa.Column("revoked_at", sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint("client_id", name=op.f("pk_ob_clients")),
    )
    op.create_table(
        "ob_authorization_codes",
        sa.Column("code_hash", sa.String(length=64), nullable=False),
        sa.Column("client_id", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("redirect_uri", sa.Text(), nullable=False),
        sa.Column("scope", sa.Text(), nullable=False),
        sa.Column("code_challenge", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("expires_at", sa.DateTime(), nullable=False),
        sa.Column("used_at", sa.DateTime(), nullable=True),
        _foreign_key("ob_authorization_codes", "client_id", "ob_clients"),
        _foreign_key("ob_authorization_codes", "user_id", "users", "id"),
        sa.PrimaryKeyConstraint("code_hash", name=op.f("pk_ob_authorization_codes")),
    )
    _index("ob_authorization_codes", "client_id")
    op.create_table(
        "ob_tokens",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("client_id", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("grant_id", sa.String(length=64), nullable=False),
        sa.Column("access_token_hash", sa.String(length=64), nullable=False),
        sa.Column("refresh_token_hash", sa.String(length=64), nullable=True),
        sa.Column("scope", sa.Text(), nullable=False),
        sa.Column("issued_at", sa.DateTime(), nullable=False),
        sa.Column("expires_at", sa.DateTime(), nullable=False),
        sa.Column("refresh_expires_at", sa.DateTime(), nullable=True),
        sa.Column("refresh_used_at", sa.DateTime(), nullable=True),
        sa.Column("revoked_at", sa.DateTime(), nullable=True),
        _foreign_key("ob_tokens", "client_id", "ob_clients"),
        _foreign_key("ob_tokens", "user_id", "users", "id"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ob_tokens")),
        sa.UniqueConstraint("access_token_hash", name=op.f("uq_ob_tokens_access_token_hash")),
        sa.UniqueConstraint("refresh_token_hash", name=op.f("uq_ob_tokens_refresh_token_hash")),
    )
    for column in ("client_id", "user_id", "grant_id"):
        _index("ob_tokens", column)
    op.create_table(
        "held_credentials",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("document", sa.Text(), nullable=False),
        sa.Column("compact_jws", sa.Boolean(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("issuer_name", sa.Text(), nullable=False),
        sa.Column("issued_at", sa.DateTime(), nullable=False),
        sa.Column("received_at", sa.DateTime(), nullable=False),
        sa.Column("client_id", sa.String(length=64), nullable=True),
        _foreign_key("held_credentials", "client_id", "ob_clients"),
        _foreign_key("held_credentials", "user_id", "users", "id"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_held_credentials")),
        sa.UniqueConstraint("user_id", "key", name=op.f("uq_held_credentials_user_id")),
    )
    _index("held_credentials", "user_id")


def _consumer_tables() -> None:
    op.create_table(
        "ob_providers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("base_url", sa.Text(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("authorization_url", sa.Text(), nullable=False),
        sa.Column("token_url", sa.Text(), nullable=False),
        sa.Column("revocation_url", sa.Text(), nullable=True),
        sa.Column("client_id", sa.Text(), nullable=False),
        sa.Column("client_secret", sa.Text(), nullable=False),
        sa.Column("registered_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ob_providers")),
        sa.UniqueConstraint("base_url", name=op.f("uq_ob_providers_base_url")),
    )
    op.create_table(
        "ob_pushes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("state_hash", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("provider_id", sa.Integer(), nullable=False),
        sa.Column("credential_id", sa.String(length=36), nullable=False),
        sa.Column("code_verifier", sa.String(length=64), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("expires_at", sa.DateTime(), nullable=False),
        sa.Column("used_at", sa.DateTime(), nullable=True),
        sa.Column("outcome", sa.Text(), nullable=True),
        sa.Column("completed_at", sa.DateTime(), nullable=True),
        _foreign_key("ob_pushes", "credential_id", "credentials", "id"),
        _foreign_key("ob_pushes", "provider_id", "ob_providers", "id"),
        _foreign_key("ob_pushes", "user_id", "users", "id"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ob_pushes")),
        sa.UniqueConstraint("state_hash", name=op.f("uq_ob_pushes_state_hash")),
    )
    _index("ob_pushes", "user_id")


def _foreign_key(
    table: str, column: str, target: str, target_column: str | None = None
) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        [column],
        [f"{target}.{target_column or column}"],
        name=op.f(f"fk_{table}_{column}_{target}"),
    )


def _index(table: str, column: str) -> None:
    with op.batch_alter_table(table) as batch:
        batch.create_index(batch.f(f"ix_{table}_{column}"), [column], unique=False)


def downgrade() -> None:
    for table in (
        "ob_pushes",
        "ob_providers",
        "held_credentials",
        "ob_tokens",
        "ob_authorization_codes",
        "ob_clients",
    ):
        op.drop_table(table)
