"""Inserting many rows in one go: one set-based ``INSERT … SELECT`` on PostgreSQL, ``executemany``
elsewhere.

Sync writes thousands of rows per batch on the central store (the rows themselves, the push
ledger, the change log). An ``executemany`` sends each row as its own statement; here the rows
travel as one JSON array (serialised by one C-level ``json.dumps`` call) and PostgreSQL unpacks it
with ``json_populate_recordset`` into the table's own row type:

    INSERT INTO t (a, b, …) SELECT a, b, … FROM json_populate_recordset(NULL::t, $1)

It is an ordinary ``INSERT``, so grants, row-level-security policies, constraints and column
defaults (for columns the rows do not name) apply exactly as they do to one ``INSERT`` per row.

A value that is already JSON text can be passed as ``PreSerialised`` (for a ``JSON`` column): it
is spliced into the array as it is instead of being decoded and encoded again.

Errors of the driver are raised as SQLAlchemy's (``IntegrityError``, ``OperationalError`` …), as
if the rows had gone through ``Connection.execute``.
"""

from __future__ import annotations

import datetime as dt
import decimal
import enum
import gc
import json
import uuid
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Connection, DateTime, Table, Uuid, insert

from clerk_app.store.base import UtcDateTime

#: fewer rows than this go through ``executemany`` (the JSON statement has a fixed cost of its own)
MIN_COPY_ROWS = 64


class PreSerialised(str):
    """JSON text of a value of a ``JSON`` column, written as it is."""

    __slots__ = ()


@contextmanager
def no_cycle_collection() -> Iterator[None]:
    """Python's cycle collector paused while a sync batch or page makes and drops its rows: tens
    of thousands of new dicts, lists and tuples (which hold no cycles; reference counting frees
    them) would otherwise start collections that walk every object of the program, again and
    again. Process-wide while it lasts (one batch: tens of milliseconds); the collector runs as
    usual afterwards."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def insert_rows(
    connection: Connection, table: Table, rows: Sequence[Mapping[str, Any]], *, direct: bool = False
) -> None:
    """Insert ``rows`` (all with the same keys) into ``table`` in this transaction. ``direct`` is
    kept for callers that know the table has no row-level security; both kinds take the same
    statement."""
    del direct
    if not rows:
        return
    if connection.dialect.name != "postgresql" or len(rows) < MIN_COPY_ROWS:
        connection.execute(insert(table), [_decoded(table, row) for row in rows])
        return
    columns = list(rows[0])
    column_list = ", ".join(_quote(connection, c) for c in columns)
    target = _quote(connection, table.name)
    statement = (
        f"INSERT INTO {target} ({column_list}) SELECT {column_list} "
        f"FROM json_populate_recordset(NULL::{target}, %(rows)s::json)"
    )
    connection.exec_driver_sql(statement, {"rows": json_rows(table, rows)})


def insert_json(connection: Connection, table: Table, columns: Sequence[str], rows: Sequence[str]) -> None:
    """Insert rows given as JSON objects (text, keyed by column name, each naming every one of
    ``columns``) with one set-based statement on PostgreSQL."""
    if not rows:
        return
    column_list = ", ".join(_quote(connection, c) for c in columns)
    target = _quote(connection, table.name)
    statement = (
        f"INSERT INTO {target} ({column_list}) SELECT {column_list} "
        f"FROM json_populate_recordset(NULL::{target}, %(rows)s::json)"
    )
    connection.exec_driver_sql(statement, {"rows": "[" + ",".join(rows) + "]"})


def json_rows(table: Table, rows: Sequence[Mapping[str, Any]]) -> str:
    """``rows`` as one JSON array of objects keyed by column name, encoded in one call.

    Identifiers and times are turned into their text forms column by column first (so the C
    encoder needs no Python fallback per value); ``PreSerialised`` values are spliced in after
    encoding, in the places a marker held (PostgreSQL text cannot contain the NUL in the marker,
    and the number of places is checked)."""
    columns = list(rows[0])
    convert = [(c, _text_form(table, c)) for c in columns]
    raw: list[str] = []
    plain: list[dict[str, Any]] = []
    last: dict[str, tuple[Any, Any]] = {}  # column -> (value, its text): a batch's time is one object
    for row in rows:
        out = dict(row)
        for column, form in convert:
            value = out[column]
            if value is None:
                continue
            if type(value) is PreSerialised:
                raw.append(value)
                out[column] = _MARKER
            elif form is not None:
                seen = last.get(column)
                if seen is not None and seen[0] is value:
                    out[column] = seen[1]
                else:
                    out[column] = text = form(value)
                    last[column] = (value, text)
        plain.append(out)
    text = _ENCODER.encode(plain)
    if not raw:
        return text
    pieces = text.split(_ENCODED_MARKER)
    if len(pieces) != len(raw) + 1:
        raise ValueError("a bulk value holds the pre-serialised marker")
    out_text = [pieces[0]]
    for value, piece in zip(raw, pieces[1:], strict=True):
        out_text.append(value)
        out_text.append(piece)
    return "".join(out_text)


def _text_form(table: Table, column: str) -> Any:
    kind = table.c[column].type
    if isinstance(kind, Uuid):
        return str
    if isinstance(kind, DateTime | UtcDateTime):
        return _datetime_text
    return None


def _datetime_text(value: dt.datetime) -> str:
    if value.tzinfo is None:
        raise ValueError("naive datetime given to a UTC column")
    return value.isoformat()


_MARKER = "\x00pre-serialised\x00"
_ENCODED_MARKER = json.dumps(_MARKER)


def _decoded(table: Table, row: Mapping[str, Any]) -> Mapping[str, Any]:
    """A row for ``Connection.execute``: pre-serialised JSON values parsed back."""
    if not any(isinstance(v, PreSerialised) for v in row.values()):
        return row
    return {k: json.loads(v) if isinstance(v, PreSerialised) else v for k, v in row.items()}


def _plain(value: Any) -> Any:
    """What a Python column value is in JSON, in the text form PostgreSQL reads for its type."""
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, dt.datetime):
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.isoformat()
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return str(value)
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, bytes | bytearray | memoryview):
        return "\\x" + bytes(value).hex()
    if isinstance(value, set | frozenset):
        return list(value)
    raise TypeError(f"cannot write {type(value).__name__} in a bulk insert")


_ENCODER = json.JSONEncoder(ensure_ascii=False, default=_plain)


def _quote(connection: Connection, name: str) -> str:
    return connection.dialect.identifier_preparer.quote(name)
