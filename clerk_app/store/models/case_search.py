"""Indexes for the cases screen's search (migrations ``0010_case_search`` to ``0012_case_search_tail``).

* Plain indexes on the applicant's document number, phone and name (a value *beginning with*
  what was typed is found by a range over the index), on the case's reception time (newest
  first) and on status with reception time (a status filter, migration ``0011``).
* ``case_search_keys`` (``0012``) — store-local, derived, not synced: per applicant

  - ``i``: the last eight characters of the document number, last one first; ``p``: the same of
    the phone. A number *ending with* what was typed (尾号, 4 to 8 characters — the usual way a
    clerk asks) is a key *beginning with* the typed text reversed: one range over the index.
  - ``n``: every suffix of the name starting within its first 24 characters (not at a space or a
    middle dot), ASCII letters in lower case, cut to 40 characters. A name *containing* the
    typed text — a surname, a given name, a part of a company's name — is a key beginning with
    it: again one range. This is exact for Chinese names of any length (one character too),
    which trigram indexes (three characters at least) are not.

  Database triggers keep the keys in step with ``case_applicants`` inside the transaction that
  writes the applicant, whoever writes there (the intake service, a sync pull, a bulk load), so
  an applicant and their keys commit together or not at all.
"""

from __future__ import annotations

import uuid

from sqlalchemy import Index, String
from sqlalchemy.orm import Mapped, mapped_column

from clerk_app.store.base import Base
from clerk_app.store.models.cases import Applicant, Case

TAIL = 8  # characters of a number kept as a key (reversed)
NAME_STARTS = 24  # a name is found by text starting within its first 24 characters
KEY_CHARS = 40  # characters of a name suffix kept

KIND_ID = "i"
KIND_PHONE = "p"
KIND_NAME = "n"


class CaseSearchKey(Base):
    __tablename__ = "case_search_keys"

    kind: Mapped[str] = mapped_column(String(1), primary_key=True)
    # byte order ("C") on PostgreSQL: a range of keys is a range of the index, as on SQLite
    key: Mapped[str] = mapped_column(
        String(KEY_CHARS).with_variant(String(KEY_CHARS, collation="C"), "postgresql"), primary_key=True
    )
    applicant_id: Mapped[uuid.UUID] = mapped_column(primary_key=True, index=True)

    __table_args__ = ({"sqlite_with_rowid": False},)


Index("ix_case_applicants_id_number", Applicant.id_number)
Index("ix_case_applicants_phone", Applicant.phone)
Index("ix_case_applicants_name", Applicant.name)
Index("ix_cases_received_at", Case.received_at)
Index("ix_cases_status_received", Case.status, Case.deleted, Case.received_at)  # 0011_case_search_status
# 0012: the cases of the applicants found, their page (newest first), status filter and count all
# read from this index alone; only the page's rows are then read from the table
Index("ix_cases_applicant_search", Case.applicant_id, Case.deleted, Case.received_at, Case.status, Case.id)
