"""Inserting many rows in one go: COPY on PostgreSQL, ``executemany`` elsewhere.

Sync writes thousands of rows per batch on the central store (the rows themselves, the push
ledger, the change log). An ``executemany`` sends each row as its own statement; ``COPY`` streams
them in one. Tables without row-level security (the sync bookkeeping) are copied into directly;
tables that may have it (synced, hall-scoped) are copied into a temporary table first and moved
with one ``INSERT … SELECT``, so that grants, row-level-security policies and constraints apply
exactly as they do to an ``INSERT`` (``COPY FROM`` is refused on tables with row-level security).

Errors of the driver are raised as SQLAlchemy's (``IntegrityError``, ``OperationalError`` …), as
if the rows had gone through ``Connection.execute``.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from sqlalchemy import JSON, Connection, Table, insert
from sqlalchemy.exc import DBAPIError

#: fewer rows than this go through ``executemany`` (COPY has a fixed cost of its own)
MIN_COPY_ROWS = 64

_names = itertools.count(1)


def insert_rows(
    connection: Connection, table: Table, rows: Sequence[Mapping[str, Any]], *, direct: bool
) -> None:
    """Insert ``rows`` (all with the same keys) into ``table`` in this transaction. ``direct``:
    COPY straight into the table (only for tables without row-level security)."""
    if not rows:
        return
    if connection.dialect.name != "postgresql" or len(rows) < MIN_COPY_ROWS:
        connection.execute(insert(table), list(rows))
        return
    columns = list(rows[0])
    convert = [_converter(table, c) for c in columns]
    if any(convert):
        values = [
            tuple(row[c] if f is None else f(row[c]) for c, f in zip(columns, convert, strict=True))
            for row in rows
        ]
    else:
        values = [tuple(row[c] for c in columns) for row in rows]
    column_list = ", ".join(_quote(connection, c) for c in columns)
    target = _quote(connection, table.name)
    if direct:
        _copy(connection, f"COPY {target} ({column_list}) FROM STDIN", values)
        return
    staging = _quote(connection, f"_bulk_{table.name}_{next(_names)}")
    _run(connection, f"CREATE TEMPORARY TABLE {staging} (LIKE {target}) ON COMMIT DROP")
    _copy(connection, f"COPY {staging} ({column_list}) FROM STDIN", values)
    _run(connection, f"INSERT INTO {target} ({column_list}) SELECT {column_list} FROM {staging}")
    _run(connection, f"DROP TABLE {staging}")


def _converter(table: Table, column: str) -> Callable[[Any], Any] | None:
    """How a Python value of ``column`` becomes what COPY gets (None: as it is)."""
    kind = table.c[column].type
    if isinstance(kind, JSON):
        return _json
    bind = getattr(kind, "process_bind_param", None)  # a TypeDecorator such as UtcDateTime
    if bind is not None:
        return lambda value: bind(value, None)
    return None


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


def _quote(connection: Connection, name: str) -> str:
    return connection.dialect.identifier_preparer.quote(name)


def _raw(connection: Connection) -> Any:
    return connection.connection.driver_connection


def _copy(connection: Connection, statement: str, values: list[tuple[Any, ...]]) -> None:
    import psycopg

    try:
        with _raw(connection).cursor() as cursor, cursor.copy(statement) as copy:
            for row in values:
                copy.write_row(row)
    except psycopg.Error as exc:
        raise DBAPIError.instance(statement, None, exc, psycopg.Error) from exc


def _run(connection: Connection, statement: str) -> None:
    import psycopg

    try:
        with _raw(connection).cursor() as cursor:
            cursor.execute(statement)
    except psycopg.Error as exc:
        raise DBAPIError.instance(statement, None, exc, psycopg.Error) from exc
