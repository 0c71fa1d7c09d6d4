"""New rows written by Core INSERTs instead of the ORM's unit of work.

An attestation writes a credential, its claim link, its claim e-mail and two audit events. The
unit of work (change tracking, flush ordering, reading generated keys back) cost ~1 ms of CPU
an issuance for rows nothing reads again in that transaction (bench/http_load.py); here each
table gets one INSERT, the same statement for several rows of it.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import lru_cache
from typing import Any, cast

from sqlalchemy import Dialect, Table, TextualSelect, bindparam, insert, inspect, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.dialects.postgresql.base import PGDialect
from sqlalchemy.dialects.sqlite.base import SQLiteDialect
from sqlalchemy.orm import Session, make_transient_to_detached
from sqlalchemy.sql.schema import ScalarElementColumnDefault

from issuer.store.models import Base


def insert_rows(session: Session, objects: Iterable[Base]) -> None:
    """INSERT the rows of these new objects in the session's transaction. They stay outside
    the session: keys the database generates (autoincrement ids) are not read back."""
    batches: dict[tuple[Table, tuple[str, ...]], list[dict[str, Any]]] = {}
    for obj in objects:
        values = values_of(obj)
        table: Table = obj.__table__  # type: ignore[assignment]
        batches.setdefault((table, tuple(values)), []).append(values)
    for (table, _), rows in batches.items():
        session.execute(insert(table), rows)


def insert_persistent(session: Session, obj: Base) -> None:
    """INSERT one new object whose primary key is already set, and make it persistent in the
    session, as `session.add` and a flush would, without the unit of work."""
    insert_rows(session, [obj])
    make_transient_to_detached(obj)
    session.add(obj)


def insert_unless_taken(session: Session, obj: Base) -> bool:
    """INSERT the new object's row unless a unique index refuses it (ON CONFLICT DO NOTHING,
    which PostgreSQL and SQLite share); whether it went in. The object stays outside the
    session, as with `insert_rows`."""
    values = values_of(obj)
    table = cast(Table, obj.__table__)
    for column in table.c:  # what the INSERT would take from Python-side defaults
        if column.key not in values and column.default is not None:
            if not isinstance(column.default, ScalarElementColumnDefault):
                raise ValueError(f"set {table.name}.{column.key}: its default is computed")
            values[column.key] = column.default.arg
    statement = _unless_taken(table, session.get_bind().dialect.name, tuple(values))
    return session.execute(statement, values).first() is not None


@lru_cache(maxsize=32)
def _unless_taken(table: Table, dialect: str, names: tuple[str, ...]) -> TextualSelect:
    """The dialect's INSERT … ON CONFLICT DO NOTHING RETURNING as SQLAlchemy writes it, made
    into a text() statement once. SQLAlchemy 2.0's dialect INSERTs carry no cache key
    (`inherit_cache = False`), so the ORM compiled the credential's INSERT again for every
    issuance (~0.3 ms of the app's CPU on a slow minute, bench/http_load.py under py-spy);
    a text() statement is cached by its text. Its parameters keep the columns' types
    (UTCDateTime's conversion to UTC included)."""
    columns = [table.c[name] for name in names]
    made: postgresql.Insert | sqlite.Insert
    compiler: Dialect
    if dialect == "postgresql":
        # PGDialect.__init__ has no annotations in SQLAlchemy 2.0
        compiler = PGDialect(paramstyle="named")  # type: ignore[no-untyped-call]
        made = postgresql.insert(table)
    else:
        made, compiler = sqlite.insert(table), SQLiteDialect(paramstyle="named")
    statement = (
        made.values({column: bindparam(column.key) for column in columns})
        .on_conflict_do_nothing()
        .returning(*table.primary_key.columns)
    )
    return (
        text(str(statement.compile(dialect=compiler)))
        .bindparams(*(bindparam(column.key, type_=column.type) for column in columns))
        .columns(*table.primary_key.columns)
    )


def values_of(obj: Base) -> dict[str, Any]:
    """The column values set on `obj`; columns left unset get their defaults from the INSERT."""
    state = inspect(obj)
    values = {}
    for attribute in state.mapper.column_attrs:
        if attribute.key in state.dict:
            values[attribute.columns[0].key] = state.dict[attribute.key]
    return values
