"""Queue tables: categories and which windows serve them, tickets and their insert-only history,
the per-day number counters, the idempotency record of button presses, and each window's state.

The partial unique index ``uq_queue_tickets_active_window`` lets a window hold at most one
active (called or serving) ticket; it is the backstop behind the conditional transitions of
``clerk_app.services.queue``. A window's offline local queue keeps its own active ticket apart
(``offline`` is part of the key): the two never share a store while the window is offline.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from sqlalchemy import Date, ForeignKey, Index, Integer, String, text
from sqlalchemy.orm import Mapped, mapped_column

from clerk_app.store.base import Base, SyncedMixin, utcnow

#: ticket states that occupy a window
ACTIVE_STATES = ("called", "serving")
_ACTIVE_SQL = "state IN ('called', 'serving') AND window_number IS NOT NULL"
#: tickets "call next" may claim, in three partial indexes by the list the ranking takes them
#: from (walk-ins, appointments, routed to a window; migration 0015_queue_press_fn)
_WAITING_SQL = "state IN ('issued', 'transferred') AND NOT offline AND NOT deleted"
_WAITING_INDEXES = (
    ("ix_queue_tickets_walk_ins", ("service_day", "category", "priority", "issued_at", "id"),
     f"{_WAITING_SQL} AND routed_window IS NULL AND appointment_at IS NULL"),
    ("ix_queue_tickets_appointments", ("service_day", "appointment_at", "issued_at", "id"),
     f"{_WAITING_SQL} AND routed_window IS NULL AND appointment_at IS NOT NULL"),
    ("ix_queue_tickets_routed", ("service_day", "routed_window"),
     f"{_WAITING_SQL} AND routed_window IS NOT NULL"),
)  # fmt: skip


class QueueCategory(SyncedMixin, Base):
    """A ticket category (A 综合业务, B 企业开办 …); ``code`` is the number prefix."""

    __tablename__ = "queue_categories"

    code: Mapped[str] = mapped_column(String(4), unique=True)
    name: Mapped[str] = mapped_column(String(60))
    description: Mapped[str] = mapped_column(String(200), default="")
    sort_order: Mapped[int] = mapped_column(Integer, default=0)
    mean_service_minutes: Mapped[int] = mapped_column(Integer, default=10)
    active: Mapped[bool] = mapped_column(default=True)


class WindowCategory(SyncedMixin, Base):
    """Window ``window_number`` serves category ``category_code`` (a tombstone removes it)."""

    __tablename__ = "queue_window_categories"

    window_number: Mapped[int] = mapped_column(Integer)
    category_code: Mapped[str] = mapped_column(String(4))
    __table_args__ = (
        Index("uq_queue_window_categories_pair", "window_number", "category_code", unique=True),
    )


class Ticket(SyncedMixin, Base):
    __tablename__ = "queue_tickets"

    service_day: Mapped[dt.date] = mapped_column(Date)
    number: Mapped[str] = mapped_column(String(16))
    seq: Mapped[int] = mapped_column(Integer)
    category: Mapped[str] = mapped_column(String(4))
    priority: Mapped[bool] = mapped_column(default=False)
    priority_kind: Mapped[str] = mapped_column(String(16), default="")
    appointment_at: Mapped[dt.datetime | None] = mapped_column(default=None)
    case_ref: Mapped[str] = mapped_column(String(64), default="")
    state: Mapped[str] = mapped_column(String(16), default="issued")
    window_number: Mapped[int | None] = mapped_column(Integer, default=None)
    clerk_id: Mapped[uuid.UUID | None] = mapped_column(default=None)
    routed_window: Mapped[int | None] = mapped_column(Integer, default=None)
    routed_at: Mapped[dt.datetime | None] = mapped_column(default=None)
    return_window: Mapped[int | None] = mapped_column(Integer, default=None)
    recall_count: Mapped[int] = mapped_column(Integer, default=0)
    call_reason: Mapped[str] = mapped_column(String(24), default="")
    issued_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    called_at: Mapped[dt.datetime | None] = mapped_column(default=None)
    started_at: Mapped[dt.datetime | None] = mapped_column(default=None)
    finished_at: Mapped[dt.datetime | None] = mapped_column(default=None)
    offline: Mapped[bool] = mapped_column(default=False)
    issued_by: Mapped[str] = mapped_column(String(64), default="")

    __table_args__ = (
        Index("uq_queue_tickets_day_number", "service_day", "number", unique=True),
        Index("ix_queue_tickets_waiting", "state", "category", "issued_at"),
        *(
            Index(name, *columns, postgresql_where=text(where), sqlite_where=text(where))
            for name, columns, where in _WAITING_INDEXES
        ),
        Index(
            "uq_queue_tickets_active_window",
            "window_number",
            "offline",
            unique=True,
            postgresql_where=text(_ACTIVE_SQL),
            sqlite_where=text(_ACTIVE_SQL),
        ),
    )


class TicketEvent(SyncedMixin, Base):
    """One transition of a ticket: insert-only history (statistics are computed from it)."""

    __tablename__ = "queue_ticket_events"
    __insert_only__ = True

    ticket_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("queue_tickets.id"), index=True)
    event: Mapped[str] = mapped_column(String(16))
    from_state: Mapped[str] = mapped_column(String(16), default="")
    to_state: Mapped[str] = mapped_column(String(16))
    window_number: Mapped[int | None] = mapped_column(Integer, default=None)
    clerk_id: Mapped[uuid.UUID | None] = mapped_column(default=None)
    at: Mapped[dt.datetime] = mapped_column(default=utcnow, index=True)
    reason: Mapped[str] = mapped_column(String(200), default="")
    detail: Mapped[dict[str, Any]] = mapped_column(default=dict)


# --- store-local bookkeeping (not synced) -----------------------------------------------------


class QueueCounter(Base):
    """The last number issued per day and prefix (category code, or ``07-`` offline)."""

    __tablename__ = "queue_counters"

    service_day: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    prefix: Mapped[str] = mapped_column(String(8), primary_key=True)
    last: Mapped[int] = mapped_column(Integer, default=0)


class QueueRequest(Base):
    """A button press already carried out: a retry with the same key gets the same result."""

    __tablename__ = "queue_requests"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    action: Mapped[str] = mapped_column(String(16))
    window_number: Mapped[int | None] = mapped_column(Integer, default=None)
    ticket_id: Mapped[uuid.UUID | None] = mapped_column(default=None)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class WindowState(Base):
    """Who works at a window now, and whether it is open or paused (with the reason code)."""

    __tablename__ = "queue_window_states"

    window_number: Mapped[int] = mapped_column(Integer, primary_key=True)
    clerk_id: Mapped[uuid.UUID | None] = mapped_column(default=None)
    clerk_name: Mapped[str] = mapped_column(String(100), default="")
    status: Mapped[str] = mapped_column(String(16), default="closed")
    pause_reason: Mapped[str] = mapped_column(String(32), default="")
    since: Mapped[dt.datetime] = mapped_column(default=utcnow)
    normal_streak: Mapped[int] = mapped_column(Integer, default=0)


class Appointment(SyncedMixin, Base):
    """A booked visit (online or by phone): the applicant checks in at the kiosk with its code
    or their ID number and gets a ticket carrying the slot's time (``Ticket.appointment_at``),
    which call-next serves at that time among the walk-ins."""

    __tablename__ = "queue_appointments"

    code: Mapped[str] = mapped_column(String(16), unique=True)
    service_day: Mapped[dt.date] = mapped_column(Date)
    category: Mapped[str] = mapped_column(String(4))
    slot_start: Mapped[dt.datetime] = mapped_column()
    slot_end: Mapped[dt.datetime] = mapped_column()
    applicant_name: Mapped[str] = mapped_column(String(60), default="")
    id_number: Mapped[str] = mapped_column(String(32), default="")
    state: Mapped[str] = mapped_column(String(16), default="booked")  # booked, checked_in, cancelled
    ticket_id: Mapped[uuid.UUID | None] = mapped_column(default=None)
    checked_in_at: Mapped[dt.datetime | None] = mapped_column(default=None)
    #: from the booking platform's export (migration 0016_queue_appointment_cancel)
    phone: Mapped[str] = mapped_column(String(20), default="", server_default="")
    cancelled_at: Mapped[dt.datetime | None] = mapped_column(default=None)
    cancel_reason: Mapped[str] = mapped_column(String(200), default="", server_default="")
    cancelled_by: Mapped[str] = mapped_column(String(100), default="", server_default="")

    __table_args__ = (Index("ix_queue_appointments_day_id", "service_day", "id_number"),)
