"""New rows written by Core INSERTs instead of the ORM's unit of work.

An attestation writes a credential, its claim link, its claim e-mail and two audit events. The
unit of work (change tracking, flush ordering, reading generated keys back) cost ~1 ms of CPU
an issuance for rows nothing reads again in that transaction (bench/http_load.py); here each
table gets one INSERT, the same statement for several rows of it.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import Table, insert, inspect
from sqlalchemy.orm import Session, make_transient_to_detached

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


def values_of(obj: Base) -> dict[str, Any]:
    """The column values set on `obj`; columns left unset get their defaults from the INSERT."""
    state = inspect(obj)
    values = {}
    for attribute in state.mapper.column_attrs:
        if attribute.key in state.dict:
            values[attribute.columns[0].key] = state.dict[attribute.key]
    return values
