"""Migration 0014 (the Open Badges API's tables) upgrades and downgrades on both backends,
with rows in its tables, and the schema at head still matches the models.

(It belongs with tests/store/test_migrations.py; it lives here beside the API's other tests.)
"""

from __future__ import annotations

from datetime import UTC, datetime

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, inspect, text

from issuer.store import migrate
from issuer.store.db import make_engine
from issuer.store.models import Base

TABLES = {
    "ob_clients",
    "ob_authorization_codes",
    "ob_tokens",
    "held_credentials",
    "ob_providers",
    "ob_pushes",
}


def to(engine: Engine, revision: str, *, down: bool = False) -> None:
    config = migrate.alembic_config(engine.url.render_as_string(hide_password=False))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        (command.downgrade if down else command.upgrade)(config, revision)


def test_0014_upgrades_and_downgrades(database_url: str) -> None:
    engine = make_engine(database_url)
    try:
        to(engine, "0014")
        assert TABLES <= set(inspect(engine).get_table_names())
        with engine.begin() as connection:
            connection.execute(
                text(
                    "INSERT INTO ob_clients (client_id, secret_hash, name, registration,"
                    " registered_at) VALUES ('obc_1', :hash, 'A backpack', '{}', :now)"
                ),
                {"hash": "0" * 64, "now": datetime.now(UTC).replace(tzinfo=None)},
            )
        to(engine, "0013", down=True)
        inspect(engine).clear_cache()
        left = set(inspect(engine).get_table_names())
        assert not TABLES & left and {"users", "credentials", "outbox_messages"} <= left
        assert migrate.current_revision(engine) == "0013"
        assert migrate.upgrade(engine) == migrate.head_revision()
        with engine.connect() as connection:
            differences = compare_metadata(MigrationContext.configure(connection), Base.metadata)
        assert differences == []
    finally:
        engine.dispose()
