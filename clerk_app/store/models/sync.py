"""Tables of sync: the central change log and its commit-ordered counter, the applied-push ledger,
the registry of workstations seen by the central store, and the rejected changes.

``change_log``, ``sync_counter``, ``sync_push_ledger`` and ``sync_devices`` are used on the central
store only (they exist, empty, in every store because all stores share one migration chain).
``sync_rejections`` is a synced table: a rejection is recorded centrally and flows down to the
workstations like any other row, so the clerk sees what was not applied and why.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from sqlalchemy import JSON, BigInteger, Identity, Index, Integer, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from clerk_app.store.base import Base, SyncedMixin, utcnow


class ChangeLogEntry(Base):
    """One applied change of a synced row on the central store.

    The number of an entry follows commit order: a reader that sees number ``n`` also sees
    every entry below ``n``. On PostgreSQL a writer inserts its entries without a number (``id``,
    the insertion order, comes from an identity; a trigger notes the id in
    ``change_log_pending``) and takes no shared lock; the function ``change_log_assign``, run
    before every pull, numbers the committed entries in one short transaction of its own, into
    the narrow table ``change_log_order(seq, id, numbered_at)`` (migrations
    ``0014_change_log_assign``, ``0018_change_log_order``): there ``seq`` below stays NULL, except
    for the entries numbered before 0018, and its indexes are dropped. On SQLite the writer
    numbers them in ``seq`` at the end of its transaction from the ``sync_counter`` row (the
    database's write lock serialises writers anyway); see ``clerk_app.store.uow``.
    """

    __tablename__ = "change_log"

    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer(), "sqlite"), Identity(), primary_key=True, autoincrement=True
    )
    seq: Mapped[int | None] = mapped_column(BigInteger, nullable=True, default=None)
    table_name: Mapped[str] = mapped_column(String(64))
    row_id: Mapped[uuid.UUID] = mapped_column()
    op: Mapped[str] = mapped_column(String(8))
    version: Mapped[int] = mapped_column(BigInteger)
    #: the device whose write this is (a workstation for pushed changes, the central store's own
    #: device id for changes made directly on it)
    source: Mapped[str] = mapped_column(String(64))
    changed: Mapped[list[str]] = mapped_column(JSON, default=list)
    payload: Mapped[dict[str, Any]] = mapped_column()
    committed_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    __table_args__ = (
        Index("ix_change_log_row_version", "row_id", "version"),
        # both dropped on PostgreSQL by 0018_change_log_order
        Index("ix_change_log_seq", "seq", unique=True),
        # the entries still to be numbered (empty on SQLite)
        Index(
            "ix_change_log_unassigned",
            "id",
            postgresql_where=text("seq IS NULL"),
            sqlite_where=text("seq IS NULL"),
        ),
    )


class SyncCounter(Base):
    """Named counters: ``change_log`` (last sequence handed out; on PostgreSQL moved only by
    ``change_log_assign``), ``pruned_through`` (entries at or
    below it were removed by retention), ``schema`` (the central sync schema version)."""

    __tablename__ = "sync_counter"

    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    value: Mapped[int] = mapped_column(BigInteger, default=0)


class PushLedgerEntry(Base):
    """``(device, seq)`` of every outbox entry the central store has processed, with its result;
    a replay after a lost acknowledgement returns this result and changes nothing."""

    __tablename__ = "sync_push_ledger"

    device_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    seq: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    table_name: Mapped[str] = mapped_column(String(64))
    row_id: Mapped[uuid.UUID] = mapped_column()
    #: the entry's version on the device, and the row's central version after processing it
    local_version: Mapped[int] = mapped_column(BigInteger)
    central_version: Mapped[int] = mapped_column(BigInteger)
    result: Mapped[str] = mapped_column(String(16))  # applied | merged | partial | duplicate | rejected
    reason: Mapped[str] = mapped_column(String(32), default="")
    applied_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    __table_args__ = (
        # the entries a later edit of the row is decided on (0019_push_ledger_edit_index)
        Index(
            "ix_sync_push_ledger_edits",
            "device_id",
            "row_id",
            postgresql_where=text("local_version <> central_version"),
            sqlite_where=text("local_version <> central_version"),
        ),
    )


class SyncDevice(Base):
    """What the central store knows of each workstation: last push and pull, cursor, schema, clock."""

    __tablename__ = "sync_devices"

    device_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(100), default="")
    hall_id: Mapped[uuid.UUID | None] = mapped_column(default=None)
    schema_version: Mapped[int] = mapped_column(Integer, default=0)
    last_push_at: Mapped[dt.datetime | None] = mapped_column(default=None)
    last_push_seq: Mapped[int] = mapped_column(BigInteger, default=0)
    last_pull_at: Mapped[dt.datetime | None] = mapped_column(default=None)
    cursor: Mapped[int] = mapped_column(BigInteger, default=0)
    outbox_waiting: Mapped[int] = mapped_column(Integer, default=0)
    clock_skew_ms: Mapped[int] = mapped_column(BigInteger, default=0)
    last_seen_at: Mapped[dt.datetime | None] = mapped_column(default=None)


class SyncRejection(SyncedMixin, Base):
    """A pushed change (or part of one) that the central store did not apply, and why."""

    __tablename__ = "sync_rejections"

    device_id: Mapped[str] = mapped_column(String(64), index=True)
    entry_seq: Mapped[int] = mapped_column(BigInteger)
    table_name: Mapped[str] = mapped_column(String(64))
    row_id: Mapped[uuid.UUID] = mapped_column()
    reason: Mapped[str] = mapped_column(String(32))
    fields: Mapped[list[str]] = mapped_column(JSON, default=list)
    #: the losing values, and the central values that stood instead
    rejected_values: Mapped[dict[str, Any]] = mapped_column(default=dict)
    central_values: Mapped[dict[str, Any]] = mapped_column(default=dict)
    detail: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(16), default="open")  # open | dismissed | reapplied
    resolved_by: Mapped[str] = mapped_column(String(100), default="")
    resolved_at: Mapped[dt.datetime | None] = mapped_column(default=None)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class SyncRoleHall(Base):
    """Central only: the halls whose rows a workstation's database role may write (row-level
    security policies of the hall-scoped tables read it)."""

    __tablename__ = "sync_role_halls"

    role_name: Mapped[str] = mapped_column(String(63), primary_key=True)
    hall_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
