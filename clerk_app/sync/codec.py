"""Synced tables by name, and conversion of JSON payloads back to column values.

Payloads (outbox, change log) hold each row as JSON (``clerk_app.store.uow.row_payload``). To write
a payload with Core statements its values are turned back into Python values by column type; keys
this program does not know (a newer schema) are dropped, missing ones are left to the defaults.
"""

from __future__ import annotations

import datetime as dt
import decimal
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from typing import Any

from sqlalchemy import Column, Date, DateTime, Numeric, Table, Time, Uuid

from clerk_app.store import models as _models  # noqa: F401 - every table registered
from clerk_app.store.base import Base, UtcDateTime, is_synced

BOOKKEEPING = frozenset({"id", "origin", "version", "hlc"})


@dataclass(frozen=True)
class SyncedTable:
    name: str
    model: type[Base]
    table: Table
    insert_only: bool
    #: payload key -> column
    columns: dict[str, Column[Any]]
    converters: dict[str, Callable[[Any], Any]]

    def decode(self, payload: dict[str, Any]) -> dict[str, Any]:
        """Column values (by column name) for the known keys of ``payload``."""
        out: dict[str, Any] = {}
        for key, column in self.columns.items():
            if key in payload:
                value = payload[key]
                convert = self.converters.get(key)
                out[column.name] = convert(value) if convert is not None and value is not None else value
        return out

    def encode(self, row: Any) -> dict[str, Any]:
        """The JSON payload of a Core result row of this table."""
        from clerk_app.store.uow import jsonable

        mapping = row._mapping
        return {key: jsonable(mapping[column.name]) for key, column in self.columns.items()}


def _datetime(value: Any) -> dt.datetime:
    if isinstance(value, dt.datetime):
        return value
    parsed = dt.datetime.fromisoformat(str(value))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)


def _converter(column: Column[Any]) -> Callable[[Any], Any] | None:
    kind = column.type
    if isinstance(kind, Uuid):
        return lambda v: v if isinstance(v, uuid.UUID) else uuid.UUID(str(v))
    if isinstance(kind, UtcDateTime | DateTime):
        return _datetime
    if isinstance(kind, Date):
        return lambda v: v if isinstance(v, dt.date) else dt.date.fromisoformat(str(v))
    if isinstance(kind, Time):
        return lambda v: v if isinstance(v, dt.time) else dt.time.fromisoformat(str(v))
    if isinstance(kind, Numeric) and kind.asdecimal:
        return lambda v: decimal.Decimal(str(v))
    return None


@cache
def _registry() -> dict[str, SyncedTable]:
    from sqlalchemy import inspect

    out: dict[str, SyncedTable] = {}
    for mapper in Base.registry.mappers:
        cls = mapper.class_
        if not is_synced(cls):
            continue
        table = mapper.local_table
        assert isinstance(table, Table)
        columns: dict[str, Column[Any]] = {}
        converters: dict[str, Callable[[Any], Any]] = {}
        for attr in inspect(cls).column_attrs:
            column = attr.columns[0]
            assert isinstance(column, Column)
            columns[attr.key] = column
            convert = _converter(column)
            if convert is not None:
                converters[attr.key] = convert
        out[table.name] = SyncedTable(
            table.name, cls, table, bool(getattr(cls, "__insert_only__", False)), columns, converters
        )
    return out


def synced_table(name: str) -> SyncedTable:
    try:
        return _registry()[name]
    except KeyError:
        raise KeyError(f"{name} is not a synced table known to this program") from None


def known_table(name: str) -> bool:
    return name in _registry()


def synced_tables() -> list[SyncedTable]:
    """Every synced table, parents before children (foreign-key order)."""
    registry = _registry()
    return [registry[t.name] for t in Base.metadata.sorted_tables if t.name in registry]


@cache
def table_order() -> dict[str, int]:
    """Each synced table's place in foreign-key order (the tables are fixed once the models are
    imported; do not change the mapping returned)."""
    return {t.name: index for index, t in enumerate(synced_tables())}
