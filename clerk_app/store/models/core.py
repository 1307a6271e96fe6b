"""Foundation tables: hall, departments, windows, users, devices, settings, audit; and the local
bookkeeping tables of sync (outbox, sync state) and login throttling."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from sqlalchemy import JSON, BigInteger, ForeignKey, Index, Integer, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from clerk_app.store.base import Base, SyncedMixin, utcnow


class Hall(SyncedMixin, Base):
    __tablename__ = "halls"

    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    authority: Mapped[str] = mapped_column(String(200))
    address: Mapped[str] = mapped_column(String(300), default="")
    contact_phone: Mapped[str] = mapped_column(String(40), default="")


class Department(SyncedMixin, Base):
    __tablename__ = "departments"

    hall_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("halls.id"))
    code: Mapped[str] = mapped_column(String(32))
    name: Mapped[str] = mapped_column(String(200))
    __table_args__ = (Index("uq_departments_hall_code", "hall_id", "code", unique=True),)


class Window(SyncedMixin, Base):
    __tablename__ = "windows"

    hall_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("halls.id"))
    number: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(32), default="comprehensive")
    active: Mapped[bool] = mapped_column(default=True)
    __table_args__ = (Index("uq_windows_hall_number", "hall_id", "number", unique=True),)


class User(SyncedMixin, Base):
    __tablename__ = "users"

    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(100))
    role: Mapped[str] = mapped_column(String(16))
    password_hash: Mapped[str] = mapped_column(String(256))
    department_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("departments.id"), default=None)
    staff_no: Mapped[str] = mapped_column(String(32), default="")
    active: Mapped[bool] = mapped_column(default=True)


class Device(SyncedMixin, Base):
    """A registered workstation, kiosk or display; ``device_key`` is the id used in sync."""

    __tablename__ = "devices"

    device_key: Mapped[str] = mapped_column(String(64), unique=True)
    kind: Mapped[str] = mapped_column(String(16), default="workstation")
    name: Mapped[str] = mapped_column(String(100), default="")
    window_number: Mapped[int | None] = mapped_column(Integer, default=None)
    registered_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class Setting(SyncedMixin, Base):
    """Hall-wide settings kept centrally (holiday rules, limits, wording…); per-machine
    preferences live in the settings file instead (clerk_app.settings)."""

    __tablename__ = "settings"

    key: Mapped[str] = mapped_column(String(120), unique=True)
    value: Mapped[dict[str, Any]] = mapped_column(default=dict)


class AuditEntry(SyncedMixin, Base):
    """Insert-only audit trail; each entry chains the hash of the previous one on its device."""

    __tablename__ = "audit_entries"
    __insert_only__ = True

    at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    actor_id: Mapped[uuid.UUID | None] = mapped_column(default=None)
    actor_name: Mapped[str] = mapped_column(String(100), default="")
    window_number: Mapped[int | None] = mapped_column(Integer, default=None)
    action: Mapped[str] = mapped_column(String(64), index=True)
    target: Mapped[str] = mapped_column(String(200), default="")
    detail: Mapped[dict[str, Any]] = mapped_column(default=dict)
    prev_hash: Mapped[str] = mapped_column(String(64), default="")
    hash: Mapped[str] = mapped_column(String(64))


# --- local-only tables (never synced) -------------------------------------------------------


class OutboxEntry(Base):
    """A captured change waiting to be pushed. ``seq`` is the device order of changes."""

    __tablename__ = "outbox"

    seq: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    )
    table_name: Mapped[str] = mapped_column(String(64))
    row_id: Mapped[uuid.UUID] = mapped_column()
    op: Mapped[str] = mapped_column(String(8))  # insert | update | delete
    base_version: Mapped[int] = mapped_column(BigInteger, default=0)
    version: Mapped[int] = mapped_column(BigInteger)
    hlc: Mapped[str] = mapped_column(String(96))
    changed: Mapped[list[str]] = mapped_column(JSON, default=list)
    payload: Mapped[dict[str, Any]] = mapped_column()
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    #: sync looks entries up by row (is a change of this row still waiting?)
    __table_args__ = (Index("ix_outbox_row_id", "row_id"),)


class SyncState(Base):
    """Small local key/value facts: this device's id, pull cursor, last push and pull times."""

    __tablename__ = "sync_state"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[dict[str, Any]] = mapped_column(default=dict)


class LoginThrottle(Base):
    """Failed-login counter per user name on this workstation (lockout after repeated failures)."""

    __tablename__ = "login_throttle"

    username: Mapped[str] = mapped_column(String(64), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))
    locked_until: Mapped[dt.datetime | None] = mapped_column(default=None)
    last_failure: Mapped[dt.datetime | None] = mapped_column(default=None)
    note: Mapped[str] = mapped_column(Text, default="")
