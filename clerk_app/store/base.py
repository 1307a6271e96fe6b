"""Declarative base and the columns every synced table carries.

A *synced* table is one whose rows travel between workstations and the central store. Each row
has a client-made UUIDv7 ``id``, the ``origin`` device that created it, an integer ``version``
bumped on every change, a hybrid-logical-clock stamp ``hlc`` of its last change, and a soft
delete flag ``deleted`` (a tombstone, so the delete itself can travel).

The unit of work (``clerk_app.store.uow``) fills ``origin``, ``version`` and ``hlc`` and writes
the outbox entry; models never set them by hand.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any, ClassVar

from sqlalchemy import JSON, BigInteger, DateTime, MetaData, String, Uuid
from sqlalchemy.ext.mutable import MutableDict
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

from clerk_app.store.ids import new_id

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UtcDateTime(TypeDecorator[dt.datetime]):
    """Timezone-aware UTC datetimes on both SQLite (which stores naive text) and PostgreSQL."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(dt.UTC)

    def process_result_value(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map: ClassVar[dict[Any, Any]] = {
        uuid.UUID: Uuid(),
        dt.datetime: UtcDateTime(),
        dict[str, Any]: MutableDict.as_mutable(JSON()),
    }


class SyncedMixin:
    """Columns of every synced table; ``__synced__`` marks the class for outbox capture."""

    __synced__: ClassVar[bool] = True
    #: tables whose rows are never changed after insert (ratings, audit, ticket history…)
    __insert_only__: ClassVar[bool] = False

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    origin: Mapped[str] = mapped_column(String(64))
    version: Mapped[int] = mapped_column(BigInteger, default=1)
    hlc: Mapped[str] = mapped_column(String(96))
    deleted: Mapped[bool] = mapped_column(default=False)


def is_synced(obj_or_cls: object) -> bool:
    cls = obj_or_cls if isinstance(obj_or_cls, type) else type(obj_or_cls)
    return bool(getattr(cls, "__synced__", False))
