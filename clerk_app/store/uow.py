"""Unit of work: one transaction per user action, with change capture into the outbox.

Every insert or update of a synced row (see ``SyncedMixin``) made through the session of a unit
of work gets, in the same flush and therefore the same transaction, its ``origin``, a new
``version`` and ``hlc`` stamp, and an ``outbox`` entry carrying the row as it now is, the names
of the changed columns and the version it was based on. If anything fails before commit, the
transaction rolls back and neither the change nor its outbox entry exists.

Bulk ``UPDATE``/``DELETE`` statements would bypass that capture, so they are refused on synced
tables; hard deletes of synced rows are refused too (rows are tombstoned with ``deleted``).

Pulling changes from the central store opens a unit of work with ``capture=False``: rows arrive
with their own version and stamp and must not be echoed back.

A store opened with ``role="central"`` captures the same changes into the central ``change_log``
instead of an outbox, so that every write to a synced table on the central store (a pushed change
or a direct write by an online service such as the queue's "call next") reaches the log that the
workstations pull. Sequence order is commit order: a reader that sees entry ``n`` sees every entry
below ``n``. On PostgreSQL the entries are written without a number and without any shared lock;
the central function ``change_log_assign()`` numbers committed entries before a pull reads them
(``clerk_app.sync.central.assign_change_log``). On SQLite a transaction numbers its entries at its
very end under the lock of the ``sync_counter`` row. Code applying changes itself in a
``capture=False`` unit of work on the central store records them with ``record_change``.
"""

from __future__ import annotations

import datetime as dt
import decimal
import enum
import uuid
from collections.abc import Callable
from types import TracebackType
from typing import Any

from sqlalchemy import Engine, event, insert, inspect, update
from sqlalchemy.orm import ORMExecuteState, Session, sessionmaker
from sqlalchemy.orm.attributes import get_history

from clerk_app.domain.hlc import HybridClock
from clerk_app.store.base import Base, SyncedMixin, is_synced
from clerk_app.store.bulk import insert_rows, json_rows
from clerk_app.store.engine import READ_ONLY_OPTION
from clerk_app.store.ids import new_id
from clerk_app.store.models import ChangeLogEntry, OutboxEntry, SyncCounter

_PENDING = "clerk_pending_capture"
_CONTEXT = "clerk_capture_context"
_LOG_PENDING = "clerk_pending_change_log"

ROLE_WORKSTATION = "workstation"
ROLE_CENTRAL = "central"


class CaptureError(RuntimeError):
    """A write that would escape change capture (a bug, not a user error)."""


def _refuse_writes(session: Session, _context: Any, _instances: Any) -> None:
    if session.new or session.dirty or session.deleted:
        raise CaptureError("a reading unit of work cannot write")


def _refuse_statements(state: ORMExecuteState) -> None:
    if not state.is_select:
        raise CaptureError("a reading unit of work cannot write")


class CaptureContext:
    """Who stamps the changes: this device's id and its hybrid logical clock."""

    def __init__(self, device_id: str, clock: HybridClock, role: str = ROLE_WORKSTATION) -> None:
        self.device_id = device_id
        self.clock = clock
        self.role = role


def jsonable(value: Any) -> Any:
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return str(value)
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    return value


def row_payload(obj: Base) -> dict[str, Any]:
    mapper = inspect(type(obj))
    return {attr.key: jsonable(getattr(obj, attr.key)) for attr in mapper.column_attrs}


def _changed_keys(obj: Base) -> list[str]:
    mapper = inspect(type(obj))
    return [a.key for a in mapper.column_attrs if get_history(obj, a.key).has_changes()]


def _before_flush(session: Session, _ctx: Any, _instances: Any) -> None:
    context: CaptureContext | None = session.info.get(_CONTEXT)
    if context is None:
        return
    pending: list[tuple[Base, str, list[str], int]] = session.info.setdefault(_PENDING, [])
    for obj in list(session.deleted):
        if is_synced(obj):
            raise CaptureError(f"hard delete of synced row {obj!r}; set deleted=True instead")
    for obj in list(session.new):
        if isinstance(obj, SyncedMixin):
            _stamp_new(obj, context)
            pending.append((obj, "insert", [], 0))  # type: ignore[arg-type]
    for obj in list(session.dirty):
        if isinstance(obj, SyncedMixin) and session.is_modified(obj, include_collections=False):
            pending.append(_stamp_update(obj, context))


def _stamp_new(obj: SyncedMixin, context: CaptureContext) -> None:
    if obj.id is None:
        obj.id = new_id()
    obj.origin = obj.origin or context.device_id
    obj.version = 1
    obj.hlc = str(context.clock.now())
    if obj.deleted is None:
        obj.deleted = False


def _stamp_update(obj: SyncedMixin, context: CaptureContext) -> tuple[Base, str, list[str], int]:
    if type(obj).__insert_only__:
        raise CaptureError(f"{type(obj).__name__} rows are insert-only")
    changed = _changed_keys(obj)  # type: ignore[arg-type]
    was_deleted = get_history(obj, "deleted").deleted
    op = "delete" if obj.deleted and not (was_deleted and was_deleted[0]) else "update"
    base_version = obj.version
    obj.version = base_version + 1
    obj.hlc = str(context.clock.now())
    return obj, op, changed, base_version  # type: ignore[return-value]


def _after_flush(session: Session, _ctx: Any) -> None:
    pending: list[tuple[Base, str, list[str], int]] = session.info.pop(_PENDING, [])
    if not pending:
        return
    rows = [_outbox_row(obj, op, changed, base) for obj, op, changed, base in pending]
    context: CaptureContext | None = session.info.get(_CONTEXT)
    if context is not None and context.role == ROLE_CENTRAL:
        for row in rows:
            record_change(
                session,
                table_name=row["table_name"],
                row_id=row["row_id"],
                op=row["op"],
                version=row["version"],
                source=context.device_id,
                changed=row["changed"],
                payload=row["payload"],
            )
        return
    session.connection().execute(insert(OutboxEntry), rows)


def record_change(
    session: Session,
    *,
    table_name: str,
    row_id: uuid.UUID,
    op: str,
    version: int,
    source: str,
    changed: list[str],
    payload: dict[str, Any],
) -> None:
    """Queue one central change-log entry; it is written, numbered, when the session commits."""
    session.info.setdefault(_LOG_PENDING, []).append(
        {
            "table_name": table_name,
            "row_id": row_id,
            "op": op,
            "version": version,
            "source": source,
            "changed": changed,
            "payload": payload,
        }
    )


class LogText(str):
    """One change-log entry already encoded as a JSON object keyed by ``change_log`` column
    (``table_name``, ``row_id``, ``op``, ``version``, ``source``, ``changed``, ``payload``), for a
    store on PostgreSQL: written as it is (``record_change_text``)."""

    __slots__ = ()


def record_change_text(session: Session, entry: str) -> None:
    """Queue one change-log entry given as JSON text (``LogText``; PostgreSQL only)."""
    session.info.setdefault(_LOG_PENDING, []).append(LogText(entry))


def pending_change_count(session: Session) -> int:
    """How many change-log entries this session has queued (see ``discard_changes_from``)."""
    return len(session.info.get(_LOG_PENDING, []))


def discard_changes_from(session: Session, count: int) -> None:
    """Forget the entries queued after the first ``count`` (their savepoint was rolled back)."""
    pending = session.info.get(_LOG_PENDING)
    if pending is not None:
        del pending[count:]


def _write_change_log(session: Session) -> None:
    """``before_commit`` on a central store: write the queued entries (numbered in commit order on
    SQLite; left for ``change_log_assign`` on PostgreSQL)."""
    if session.info.get(_LOG_PENDING) or session.new or session.dirty:
        session.flush()
    entries: list[dict[str, Any]] = session.info.pop(_LOG_PENDING, [])
    if not entries:
        return
    connection = session.connection()
    now = dt.datetime.now(dt.UTC)
    if connection.dialect.name == "postgresql":
        # No number and no shared lock: ``change_log_assign()`` numbers the entries once this
        # transaction has committed (in ``id`` order, the order inserted here), before a pull.
        _insert_change_log_postgres(connection, entries, now)
        return
    # SQLite: the row lock taken here is held until this transaction commits, a moment later
    # (the database's write lock serialises writers anyway), so numbers follow commit order.
    last = connection.execute(
        update(SyncCounter)
        .where(SyncCounter.name == "change_log")
        .values(value=SyncCounter.value + len(entries))
        .returning(SyncCounter.value)
    ).scalar_one()
    first = last - len(entries) + 1
    for offset, entry in enumerate(entries):
        entry["seq"] = first + offset
        entry["committed_at"] = now
    insert_rows(connection, ChangeLogEntry.__table__, entries, direct=True)  # type: ignore[arg-type]


_LOG_COLUMNS = "table_name, row_id, op, version, source, changed, payload"
_LOG_INSERT = (
    f"INSERT INTO change_log ({_LOG_COLUMNS}, committed_at) SELECT {_LOG_COLUMNS}, %(now)s "
    "FROM json_populate_recordset(NULL::change_log, %(rows)s::json)"
)


def _insert_change_log_postgres(connection: Any, entries: list[Any], now: dt.datetime) -> None:
    """One statement, the entries in the order queued: ``LogText`` entries as they are, runs of
    the others encoded together (``clerk_app.store.bulk.json_rows``)."""
    table = ChangeLogEntry.__table__
    pieces: list[str] = []
    run: list[dict[str, Any]] = []
    for entry in entries:
        if isinstance(entry, LogText):
            if run:
                pieces.append(json_rows(table, run)[1:-1])  # type: ignore[arg-type]
                run = []
            pieces.append(entry)
        else:
            run.append(entry)
    if run:
        pieces.append(json_rows(table, run)[1:-1])  # type: ignore[arg-type]
    connection.exec_driver_sql(_LOG_INSERT, {"now": now, "rows": "[" + ",".join(pieces) + "]"})


def write_queued_changes(session: Session) -> None:
    """Write the change-log entries queued so far now instead of at commit, unnumbered (a central
    store on PostgreSQL writing a large transaction in pieces; see ``clerk_app.sync.central``)."""
    connection = session.connection()
    if connection.dialect.name != "postgresql":
        raise ValueError("only a central store on PostgreSQL writes its change log before commit")
    entries: list[Any] = session.info.pop(_LOG_PENDING, [])
    if entries:
        _insert_change_log_postgres(connection, entries, dt.datetime.now(dt.UTC))


def _drop_change_log(session: Session, *_args: Any) -> None:
    session.info.pop(_LOG_PENDING, None)


def _outbox_row(obj: Base, op: str, changed: list[str], base_version: int) -> dict[str, Any]:
    payload = row_payload(obj)
    return {
        "table_name": type(obj).__tablename__,
        "row_id": getattr(obj, "id"),  # noqa: B009 - every synced model has an id
        "op": op,
        "base_version": base_version,
        "version": payload["version"],
        "hlc": payload["hlc"],
        "changed": changed,
        "payload": payload,
        "created_at": dt.datetime.now(dt.UTC),
    }


def _refuse_bulk(state: ORMExecuteState) -> None:
    if not (state.is_update or state.is_delete):
        return
    if state.session.info.get(_CONTEXT) is None:
        return
    table = getattr(state.statement, "table", None)
    if table is not None and table.name in synced_table_names():
        raise CaptureError(f"bulk {('UPDATE' if state.is_update else 'DELETE')} on synced table {table.name}")


def synced_table_names() -> frozenset[str]:
    return frozenset(m.class_.__tablename__ for m in Base.registry.mappers if is_synced(m.class_))


class UnitOfWork:
    """``with store.unit_of_work() as uow: …; uow.commit()`` — nothing commits implicitly."""

    def __init__(self, factory: sessionmaker[Session], context: CaptureContext | None) -> None:
        self._factory = factory
        self._context = context
        self.session: Session

    def __enter__(self) -> UnitOfWork:
        self.session = self._factory()
        if self._context is not None:
            self.session.info[_CONTEXT] = self._context
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        try:
            if exc_type is not None or self.session.in_transaction():
                self.session.rollback()
        finally:
            self.session.close()

    def commit(self) -> None:
        self.session.commit()

    def flush(self) -> None:
        self.session.flush()

    # A change made by one Core statement (``UPDATE … RETURNING`` that claims a row): the
    # statement sets ``version = version + 1`` and ``hlc = uow.stamp()`` itself; the caller then
    # loads the resulting row and records it here, in the same transaction.

    def stamp(self) -> str:
        """A fresh HLC stamp of this store's device for a statement-level change."""
        if self._context is None:
            raise CaptureError("stamp() needs a capturing unit of work")
        return str(self._context.clock.now())

    def record_statement_change(self, obj: Base, changed: list[str], base_version: int) -> None:
        """Record ``obj`` as changed by a Core statement of this transaction: its outbox entry on a
        workstation, its change-log entry on the central store."""
        if self._context is None:
            return
        row = _outbox_row(obj, "update", changed, base_version)
        if self._context.role == ROLE_CENTRAL:
            record_change(
                self.session,
                table_name=row["table_name"],
                row_id=row["row_id"],
                op=row["op"],
                version=row["version"],
                source=self._context.device_id,
                changed=row["changed"],
                payload=row["payload"],
            )
            return
        self.session.connection().execute(insert(OutboxEntry), [row])


class Store:
    """One database (the local store, or the central one) and the units of work over it."""

    def __init__(
        self,
        engine: Engine,
        device_id: str,
        clock: HybridClock | None = None,
        *,
        role: str = ROLE_WORKSTATION,
    ) -> None:
        if role not in (ROLE_WORKSTATION, ROLE_CENTRAL):
            raise ValueError(f"unknown store role {role!r}")
        self.engine = engine
        self.device_id = device_id
        self.role = role
        self.clock = clock or HybridClock(device_id)
        self._factory = sessionmaker(engine, expire_on_commit=False)
        event.listen(self._factory, "before_flush", _before_flush)
        event.listen(self._factory, "after_flush", _after_flush)
        event.listen(self._factory, "do_orm_execute", _refuse_bulk)
        if role == ROLE_CENTRAL:
            event.listen(self._factory, "before_commit", _write_change_log)
            event.listen(self._factory, "after_rollback", _drop_change_log)
        # searches and lists: on SQLite a deferred BEGIN (a WAL snapshot that never waits for a
        # writer, where a unit of work takes the write lock at its start); writes are refused
        self._read_factory = sessionmaker(
            engine.execution_options(**{READ_ONLY_OPTION: True}), expire_on_commit=False
        )
        event.listen(self._read_factory, "before_flush", _refuse_writes)
        event.listen(self._read_factory, "do_orm_execute", _refuse_statements)

    @property
    def is_central(self) -> bool:
        return self.role == ROLE_CENTRAL

    def unit_of_work(self, *, capture: bool = True) -> UnitOfWork:
        context = CaptureContext(self.device_id, self.clock, self.role) if capture else None
        return UnitOfWork(self._factory, context)

    def reading(self) -> UnitOfWork:
        """A unit of work for reading only: it never takes the SQLite write lock, so a search
        does not queue behind a clerk's save (and a flush of any change is refused)."""
        return UnitOfWork(self._read_factory, None)

    def run(self, action: Callable[[UnitOfWork], Any]) -> Any:
        """Run ``action`` in one unit of work and commit it."""
        with self.unit_of_work() as uow:
            result = action(uow)
            uow.commit()
            return result

    def dispose(self) -> None:
        self.engine.dispose()
