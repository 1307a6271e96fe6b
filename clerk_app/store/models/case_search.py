"""Indexes for the cases screen's search (migration ``0010_case_search``).

* Plain indexes on the applicant's document number, phone and name (a value *beginning with*
  what was typed is found by a range over the index), on the case's reception time (newest
  first) and on status with reception time (a status filter, migration ``0011``).
* ``case_search_tails`` — store-local, derived, not synced: the last four characters of each
  applicant's document number and phone, so that a value *ending with* what was typed (尾号, the
  usual way a clerk asks) is found by an index too. Database triggers keep it in step with
  ``case_applicants`` whoever writes there (the intake service, a sync pull, a bulk load).
"""

from __future__ import annotations

import uuid

from sqlalchemy import Index, String
from sqlalchemy.orm import Mapped, mapped_column

from clerk_app.store.base import Base
from clerk_app.store.models.cases import Applicant, Case

TAIL = 4


class CaseSearchTail(Base):
    __tablename__ = "case_search_tails"

    applicant_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    id_tail: Mapped[str] = mapped_column(String(TAIL), default="", index=True)
    phone_tail: Mapped[str] = mapped_column(String(TAIL), default="", index=True)


Index("ix_case_applicants_id_number", Applicant.id_number)
Index("ix_case_applicants_phone", Applicant.phone)
Index("ix_case_applicants_name", Applicant.name)
Index("ix_cases_received_at", Case.received_at)
Index("ix_cases_status_received", Case.status, Case.deleted, Case.received_at)  # 0011_case_search_status
