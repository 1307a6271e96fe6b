"""Supervision tables: 好差评 ratings, the rectification of bad ratings, and the 办不成事 ledger.

* ``ratings`` (synced, insert-only): one row per rated service. ``service_ref`` names the service
  (``ticket:…``, ``case:…`` or a free reference) and is unique: one rating per service (一次一评).
  The level is stored by its name (非常满意 … 非常不满意), never by a code: the code lists in use run
  in opposite directions and are export mappings only.
* ``rectifications`` (synced): one per bad rating (unique ``rating_id``), assigned to a supervisor,
  due on a working day; cause, action, re-rating and closing are fields kept current, and every
  step is also a row of ``rectification_events``.
* ``rectification_events`` (synced, insert-only): opened, follow-up call (回访, reached or not, what
  was said), cause, action, re-rating, closed.
* ``complaint_cases`` (synced): the 办不成事 ledger, including 12345 hotline complaints.
* ``complaint_events`` (synced, insert-only): every step of a ledger case.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from sqlalchemy import Date, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from clerk_app.store.base import Base, SyncedMixin, utcnow


class Rating(SyncedMixin, Base):
    __tablename__ = "ratings"
    __insert_only__ = True

    service_ref: Mapped[str] = mapped_column(String(120))
    level: Mapped[str] = mapped_column(String(8))
    overall: Mapped[int | None] = mapped_column(Integer, default=None)
    efficiency: Mapped[int | None] = mapped_column(Integer, default=None)
    competence: Mapped[int | None] = mapped_column(Integer, default=None)
    attitude: Mapped[int | None] = mapped_column(Integer, default=None)
    comment: Mapped[str] = mapped_column(Text, default="")
    channel: Mapped[str] = mapped_column(String(16))
    clerk_id: Mapped[uuid.UUID | None] = mapped_column(default=None, index=True)
    clerk_name: Mapped[str] = mapped_column(String(100), default="")
    window_number: Mapped[int | None] = mapped_column(Integer, default=None)
    matter_name: Mapped[str] = mapped_column(String(200), default="")
    applicant_name: Mapped[str] = mapped_column(String(200), default="")
    applicant_phone: Mapped[str] = mapped_column(String(32), default="")
    rated_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    __table_args__ = (Index("uq_ratings_service_ref", "service_ref", unique=True),)


class Rectification(SyncedMixin, Base):
    __tablename__ = "rectifications"

    rating_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("ratings.id"))
    level: Mapped[str] = mapped_column(String(8))
    clerk_id: Mapped[uuid.UUID | None] = mapped_column(default=None)
    clerk_name: Mapped[str] = mapped_column(String(100), default="")
    window_number: Mapped[int | None] = mapped_column(Integer, default=None)
    assignee_id: Mapped[uuid.UUID | None] = mapped_column(default=None)
    assignee_name: Mapped[str] = mapped_column(String(100), default="")
    status: Mapped[str] = mapped_column(String(16))  # open | closed
    opened_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    due_date: Mapped[dt.date] = mapped_column(Date)
    due_provisional: Mapped[bool] = mapped_column(default=False)
    follow_ups: Mapped[int] = mapped_column(Integer, default=0)
    reached: Mapped[bool] = mapped_column(default=False)
    cause_category: Mapped[str] = mapped_column(String(32), default="")
    action_taken: Mapped[str] = mapped_column(Text, default="")
    re_rating: Mapped[str] = mapped_column(String(8), default="")
    closed_at: Mapped[dt.datetime | None] = mapped_column(default=None)
    closed_by: Mapped[str] = mapped_column(String(100), default="")
    __table_args__ = (
        Index("uq_rectifications_rating_id", "rating_id", unique=True),
        Index("ix_rectifications_status", "status"),
    )


class RectificationEvent(SyncedMixin, Base):
    __tablename__ = "rectification_events"
    __insert_only__ = True

    rectification_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("rectifications.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    actor_name: Mapped[str] = mapped_column(String(100), default="")
    reached: Mapped[bool | None] = mapped_column(default=None)
    text: Mapped[str] = mapped_column(Text, default="")
    detail: Mapped[dict[str, Any]] = mapped_column(default=dict)


class ComplaintCase(SyncedMixin, Base):
    __tablename__ = "complaint_cases"

    number: Mapped[str] = mapped_column(String(40), unique=True)
    source: Mapped[str] = mapped_column(String(16))  # window | pad | hotline
    hotline_ref: Mapped[str] = mapped_column(String(64), default="")
    applicant_name: Mapped[str] = mapped_column(String(200), default="")
    applicant_phone: Mapped[str] = mapped_column(String(32), default="")
    request: Mapped[str] = mapped_column(Text)
    window_number: Mapped[int | None] = mapped_column(Integer, default=None)
    department: Mapped[str] = mapped_column(String(200), default="")
    matter_name: Mapped[str] = mapped_column(String(200), default="")
    case_ref: Mapped[str] = mapped_column(String(64), default="")
    rating_id: Mapped[uuid.UUID | None] = mapped_column(default=None)
    category: Mapped[str] = mapped_column(String(32))
    complexity: Mapped[str] = mapped_column(String(16), default="simple")
    status: Mapped[str] = mapped_column(String(16))
    registered_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    registered_by: Mapped[str] = mapped_column(String(100), default="")
    first_action_at: Mapped[dt.datetime | None] = mapped_column(default=None)
    handover_department: Mapped[str] = mapped_column(String(200), default="")
    handed_over_at: Mapped[dt.datetime | None] = mapped_column(default=None)
    due_date: Mapped[dt.date | None] = mapped_column(Date, default=None)
    resolution: Mapped[str] = mapped_column(Text, default="")
    resolved_at: Mapped[dt.datetime | None] = mapped_column(default=None)
    feedback: Mapped[str] = mapped_column(Text, default="")
    feedback_at: Mapped[dt.datetime | None] = mapped_column(default=None)
    negative_reason: Mapped[str] = mapped_column(Text, default="")
    reported: Mapped[bool] = mapped_column(default=False)
    closed_at: Mapped[dt.datetime | None] = mapped_column(default=None)
    closed_by: Mapped[str] = mapped_column(String(100), default="")
    __table_args__ = (Index("ix_complaint_cases_registered_at", "registered_at"),)


class ComplaintEvent(SyncedMixin, Base):
    __tablename__ = "complaint_events"
    __insert_only__ = True

    case_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("complaint_cases.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    actor_name: Mapped[str] = mapped_column(String(100), default="")
    status: Mapped[str] = mapped_column(String(16))
    text: Mapped[str] = mapped_column(Text, default="")
    detail: Mapped[dict[str, Any]] = mapped_column(default=dict)
