"""Case tables of one-form intake (一窗受理): applicants, cases, the materials of each case, the
insert-only history of case events, and two store-local tables (drafts and case number counters).

* ``case_applicants`` — a person (document type code of GA/T 2000.156 + number) or an
  organisation (type ``001``, unified social credit code, legal representative). A returning
  applicant is found by type + number; the index is not unique because two workstations may
  register the same applicant while offline (both rows travel; the newest details win locally).
* ``cases`` — one application: its case number, applicant, the matter codes (JSON list), status
  (``clerk_app.domain.case_states.CaseState``), acceptance time, promised completion time and date,
  whether that date rests on a provisional calendar, clerk and window. The agent (代办人) is stored
  on the case, not on the applicant: an agent acts for one application.
* ``case_materials`` — per case and material key: received / missing / deferred (容缺, with its
  due date) / commitment (告知承诺), the form handed in and the count.
* ``case_events`` — insert-only: event, states, time, actor, window, reason, legal basis.
* ``intake_drafts`` — local only (not synced): drafts belong to the workstation they were typed on.
* ``case_counters`` — local only: the last case sequence number per service day and window.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from sqlalchemy import JSON, Date, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from clerk_app.store.base import Base, SyncedMixin, utcnow
from clerk_app.store.ids import new_id


class Applicant(SyncedMixin, Base):
    __tablename__ = "case_applicants"

    kind: Mapped[str] = mapped_column(String(16))  # person | organisation
    id_type: Mapped[str] = mapped_column(String(8))
    id_number: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(200))
    phone: Mapped[str] = mapped_column(String(32), default="")
    address: Mapped[str] = mapped_column(String(300), default="")
    legal_representative: Mapped[str] = mapped_column(String(100), default="")
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    __table_args__ = (Index("ix_case_applicants_identity", "id_type", "id_number"),)


class Case(SyncedMixin, Base):
    __tablename__ = "cases"

    case_number: Mapped[str] = mapped_column(String(40), unique=True)
    applicant_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("case_applicants.id"), index=True)
    matter_codes: Mapped[list[str]] = mapped_column(JSON, default=list)
    bundle_code: Mapped[str] = mapped_column(String(40), default="")
    status: Mapped[str] = mapped_column(String(24))
    received_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    accepted_at: Mapped[dt.datetime | None] = mapped_column(default=None)
    promised_due: Mapped[dt.datetime | None] = mapped_column(default=None)
    promised_date: Mapped[dt.date | None] = mapped_column(Date, default=None)
    provisional: Mapped[bool] = mapped_column(default=False)
    decided_at: Mapped[dt.datetime | None] = mapped_column(default=None)
    clerk_id: Mapped[uuid.UUID] = mapped_column()
    clerk_name: Mapped[str] = mapped_column(String(100), default="")
    window_number: Mapped[int | None] = mapped_column(Integer, default=None)
    delivery: Mapped[str] = mapped_column(String(16), default="pickup")  # pickup | mail
    delivery_address: Mapped[str] = mapped_column(String(300), default="")
    agent_name: Mapped[str] = mapped_column(String(100), default="")
    agent_id_type: Mapped[str] = mapped_column(String(8), default="")
    agent_id_number: Mapped[str] = mapped_column(String(64), default="")
    agent_phone: Mapped[str] = mapped_column(String(32), default="")
    cross_region: Mapped[bool] = mapped_column(default=False)
    other_region: Mapped[str] = mapped_column(String(100), default="")
    ticket_number: Mapped[str] = mapped_column(String(16), default="")
    reason: Mapped[str] = mapped_column(String(500), default="")
    legal_basis: Mapped[str] = mapped_column(String(500), default="")
    #: matter-specific fields defined in the catalogue (``ExtraField``): field name → value as typed
    extra: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)

    __table_args__ = (Index("ix_cases_status_due", "status", "promised_due"),)


class CaseMaterial(SyncedMixin, Base):
    __tablename__ = "case_materials"

    case_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("cases.id"), index=True)
    material_key: Mapped[str] = mapped_column(String(200))
    name: Mapped[str] = mapped_column(String(200))
    required: Mapped[bool] = mapped_column(default=True)
    state: Mapped[str] = mapped_column(String(16))  # received | missing | deferred | commitment
    form: Mapped[str] = mapped_column(String(16), default="")  # original | copy | electronic
    count: Mapped[int] = mapped_column(Integer, default=0)
    due_date: Mapped[dt.date | None] = mapped_column(Date, default=None)
    note: Mapped[str] = mapped_column(String(300), default="")

    __table_args__ = (Index("uq_case_materials_case_key", "case_id", "material_key", unique=True),)


class CaseEventRecord(SyncedMixin, Base):
    """One step of a case: insert-only history."""

    __tablename__ = "case_events"
    __insert_only__ = True

    case_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("cases.id"), index=True)
    event: Mapped[str] = mapped_column(String(24))
    from_state: Mapped[str] = mapped_column(String(24), default="")
    to_state: Mapped[str] = mapped_column(String(24))
    at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    actor_id: Mapped[uuid.UUID] = mapped_column()
    actor_name: Mapped[str] = mapped_column(String(100), default="")
    window_number: Mapped[int | None] = mapped_column(Integer, default=None)
    reason: Mapped[str] = mapped_column(String(2000), default="")
    legal_basis: Mapped[str] = mapped_column(String(500), default="")
    detail: Mapped[dict[str, Any]] = mapped_column(default=dict)


# --- store-local (not synced) -------------------------------------------------------------------


class IntakeDraft(Base):
    """A form being typed at this workstation; ``payload`` is the form as ASCII-escaped JSON text
    (any character typed survives on SQLite and PostgreSQL alike)."""

    __tablename__ = "intake_drafts"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    clerk_id: Mapped[uuid.UUID] = mapped_column(index=True)
    window_number: Mapped[int | None] = mapped_column(Integer, default=None)
    label: Mapped[str] = mapped_column(String(200), default="")
    payload: Mapped[str] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class CaseCounter(Base):
    """The last case sequence number used on this workstation per service day and window."""

    __tablename__ = "case_counters"

    service_day: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    window_number: Mapped[int] = mapped_column(Integer, primary_key=True)
    last: Mapped[int] = mapped_column(Integer, default=0)
