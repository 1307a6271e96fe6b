"""The notices an intake outcome prints, issued in the outcome's own unit of work.

The intake service writes the case, its materials and its event, flushes, and then asks the
documents service (:class:`clerk_app.services.documents.CaseDocuments`) to issue the outcome's
notices from those rows in the same ``uow`` — numbered from this workstation's blocks, rendered,
archived and audited — so the case and its notice commit together or not at all:

* accept → 受理通知书, and with a material deferred under 容缺 also the 容缺受理通知书;
* correction → 一次性告知书 (every missing material, the deadline to supply);
* refusal → 不予受理通知书 (reason, legal basis, the authority to turn to, remedies);
* on the spot → 办结通知书.

:meth:`NoticeIssuer.top_up` refills the number blocks (hall numbering settings) before the
outcome, outside its unit of work; offline it keeps working on the blocks already reserved, and
an outcome with no number left is refused as a whole (a ``UserError``), nothing written.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from clerk_app.documents.dto import DocType
from clerk_app.services.auth import UserSession
from clerk_app.services.documents import CaseDocuments, IssuedNotice, NoticeExtras, RefillReport, refill_due
from clerk_app.services.runtime import Runtime
from clerk_app.store.uow import Store, UnitOfWork

__all__ = ["IssuedNotice", "NoticeIssuer"]

_TYPES = {
    "accept": (DocType.ACCEPTANCE, DocType.TOLERANCE),
    "correction": (DocType.ONE_TIME,),
    "refuse": (DocType.REFUSAL,),
    "on_the_spot": (DocType.COMPLETION,),
}


class NoticeIssuer:
    """The intake side of the documents service."""

    def __init__(self, desk: CaseDocuments) -> None:
        self.desk = desk

    @classmethod
    def for_runtime(cls, runtime: Runtime) -> NoticeIssuer:
        return cls(CaseDocuments.for_runtime(runtime))

    @staticmethod
    def doc_types(outcome: str) -> tuple[DocType, ...]:
        """The document types an outcome may need numbers for."""
        return _TYPES[outcome]

    @staticmethod
    def top_up(local: Store, central: Store, doc_types: Iterable[DocType], year: int) -> RefillReport:
        """Refill the blocks of ``doc_types`` at or below their threshold (hall settings); never
        raises for an unreachable central store."""
        return refill_due(local, central, year=year, doc_types=doc_types)

    def issue(
        self,
        uow: UnitOfWork,
        who: UserSession,
        case_number: str,
        outcome: str,
        at: dt.datetime,
        authority: str = "",
    ) -> tuple[IssuedNotice, ...]:
        """Issue the notices of ``outcome`` for the case just written in ``uow`` (caller commits)."""
        extras = NoticeExtras(competent_authority=authority)
        return self.desk.issue_outcome(uow, who, case_number, outcome, at=at, extras=extras)
