"""Alembic environment: runs against the connection or URL that store/migrate.py hands in."""

from __future__ import annotations

from alembic import context

from issuer.store.db import make_engine
from issuer.store.models import Base

config = context.config
connection = config.attributes.get("connection")

if connection is None:
    engine = make_engine(config.get_main_option("sqlalchemy.url") or "")
    with engine.connect() as connection:
        context.configure(
            connection=connection, target_metadata=Base.metadata, render_as_batch=True
        )
        with context.begin_transaction():
            context.run_migrations()
        connection.commit()
else:
    context.configure(connection=connection, target_metadata=Base.metadata, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()
