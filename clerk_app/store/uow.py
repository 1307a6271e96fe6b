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
"""

from __future__ import annotations

import datetime as dt
import decimal
import enum
import uuid
from collections.abc import Callable
from types import TracebackType
from typing import Any

from sqlalchemy import Engine, event, insert, inspect
from sqlalchemy.orm import ORMExecuteState, Session, sessionmaker
from sqlalchemy.orm.attributes import get_history

from clerk_app.domain.hlc import HybridClock
from clerk_app.store.base import Base, SyncedMixin, is_synced
from clerk_app.store.ids import new_id
from clerk_app.store.models import OutboxEntry

_PENDING = "clerk_pending_capture"
_CONTEXT = "clerk_capture_context"


class CaptureError(RuntimeError):
    """A write that would escape change capture (a bug, not a user error)."""


class CaptureContext:
    """Who stamps the changes: this device's id and its hybrid logical clock."""

    def __init__(self, device_id: str, clock: HybridClock) -> None:
        self.device_id = device_id
        self.clock = clock


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
    session.connection().execute(insert(OutboxEntry), rows)


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


class Store:
    """One database (the local store, or the central one) and the units of work over it."""

    def __init__(self, engine: Engine, device_id: str, clock: HybridClock | None = None) -> None:
        self.engine = engine
        self.device_id = device_id
        self.clock = clock or HybridClock(device_id)
        self._factory = sessionmaker(engine, expire_on_commit=False)
        event.listen(self._factory, "before_flush", _before_flush)
        event.listen(self._factory, "after_flush", _after_flush)
        event.listen(self._factory, "do_orm_execute", _refuse_bulk)

    def unit_of_work(self, *, capture: bool = True) -> UnitOfWork:
        context = CaptureContext(self.device_id, self.clock) if capture else None
        return UnitOfWork(self._factory, context)

    def run(self, action: Callable[[UnitOfWork], Any]) -> Any:
        """Run ``action`` in one unit of work and commit it."""
        with self.unit_of_work() as uow:
            result = action(uow)
            uow.commit()
            return result

    def dispose(self) -> None:
        self.engine.dispose()
