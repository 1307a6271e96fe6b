"""Correction checklist (补正): what an applicant still owes, and ticking what they brought back.

A case waiting for a correction (``correction_requested``) lists its missing materials. When the
applicant returns, the clerk ticks the ones brought (:meth:`CorrectionService.receive`):

* **all required materials now in** — the step is the cases service's ``receive_correction``
  (one unit of work, one case event): a correction asked before acceptance accepts the case and
  starts the clock; one asked during review resumes the review and the clock, the promised date
  pushed back by the suspension. A case accepted this way then gets its 受理通知书 (and the
  容缺/告知承诺 letters it needs) when a documents desk is set, in a unit of work of its own right
  after the acceptance; if no number is left the case stays accepted and the receipt says so.
* **some still missing** (partial correction) — in one unit of work: the materials brought are
  marked received, an audit entry records what came (``case.correction_partial``), and the list of
  what is still missing is issued again on paper as a 补正材料通知书 (numbered, archived) when a
  documents desk is set. The case stays in correction and its clock does not resume. No case event
  is written: case events are status changes checked by the state machine (also when synced), and
  the status does not change.

Both the intake form and the cases screen use this module (the dialog is
:mod:`clerk_app.gui.correction_dialog`). Results are frozen DTOs.
"""

from __future__ import annotations

import datetime as dt
import unicodedata
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

from sqlalchemy import select
from sqlalchemy.orm import Session

from clerk_app.documents.dto import DocType
from clerk_app.domain.case_states import CaseState
from clerk_app.domain.catalogue import Catalogue
from clerk_app.domain.catalogue_io import load_demo_catalogue
from clerk_app.i18n import _
from clerk_app.security.roles import Permission
from clerk_app.services.auth import UserSession
from clerk_app.services.documents import CaseDocuments, IssuedNotice
from clerk_app.services.errors import UserError
from clerk_app.services.intake_forms import _BAD_CATEGORIES, _BIDI
from clerk_app.services.intake_notices import NoticeIssuer
from clerk_app.store.audit import append_audit
from clerk_app.store.base import utcnow
from clerk_app.store.models.cases import Applicant, Case, CaseMaterial
from clerk_app.store.uow import Store, UnitOfWork

MAX_NOTE = 500


class CorrectionCompleter(Protocol):
    """The cases service's step for a correction that is complete (status change, clock)."""

    def receive_correction(
        self,
        session: UserSession,
        case_id: uuid.UUID,
        received_keys: Sequence[str] | None = None,
        note: str = "",
    ) -> object: ...


@dataclass(frozen=True, slots=True)
class ChecklistItem:
    key: str
    name: str
    required: bool
    reason: str  # why it was asked for (the note typed at the correction request)


@dataclass(frozen=True, slots=True)
class CorrectionChecklist:
    case_id: uuid.UUID
    case_number: str
    status: str
    status_label: str
    applicant_name: str
    matter_names: tuple[str, ...]
    outstanding: tuple[ChecklistItem, ...]  # every material still missing, required ones first

    @property
    def required_keys(self) -> tuple[str, ...]:
        return tuple(item.key for item in self.outstanding if item.required)


@dataclass(frozen=True, slots=True)
class CorrectionReceipt:
    case_id: uuid.UUID
    case_number: str
    complete: bool  # every required material is in: the case moved on (clock started or resumed)
    status: str
    status_label: str
    brought: tuple[str, ...]  # names of the materials ticked this time
    remaining: tuple[ChecklistItem, ...]  # still missing (empty when complete)
    #: partial: the re-issued list of what is still missing; complete before acceptance: the
    #: 受理通知书 (with the 容缺/告知承诺 letters the case needs)
    documents: tuple[IssuedNotice, ...] = ()
    warnings: tuple[str, ...] = ()


class CorrectionService:
    """The correction checklist on the local store of this workstation."""

    def __init__(
        self,
        store: Store,
        cases: CorrectionCompleter,
        *,
        notices: CaseDocuments | None = None,
        catalogue: Catalogue | None = None,
        clock: Callable[[], dt.datetime] = utcnow,
        top_up: Callable[[], object] | None = None,
    ) -> None:
        self._store = store
        self.cases = cases
        #: when set, a partial correction re-issues the list of what is still missing on paper
        self.notices = notices
        self.catalogue = catalogue or load_demo_catalogue()
        self._clock = clock
        #: refills the notice number blocks before a partial return is recorded (outside its
        #: unit of work; quiet offline), as the intake outcomes do
        self.top_up = top_up

    def checklist(self, session: UserSession, case_id: uuid.UUID) -> CorrectionChecklist:
        """The materials this case still owes (a case waiting for a correction)."""
        session.require(Permission.SERVE)
        with self._store.unit_of_work() as uow:
            case = self._waiting(uow.session.get(Case, case_id))
            return self._checklist(uow.session, case)

    def receive(
        self, session: UserSession, case_id: uuid.UUID, brought: Sequence[str], note: str = ""
    ) -> CorrectionReceipt:
        """Record the materials ``brought`` (keys from the checklist); see the module docstring."""
        session.require(Permission.SERVE)
        keys = list(dict.fromkeys(k for k in brought if isinstance(k, str)))
        if not keys:
            raise UserError(_("请勾选申请人本次带来的材料"))
        text = unicodedata.normalize("NFC", note).strip() if isinstance(note, str) else ""
        if len(text) > MAX_NOTE:
            raise UserError(_("说明过长：最多 {limit} 个字符").format(limit=MAX_NOTE))
        if any(
            ch not in "\n\t" and (ch in _BIDI or unicodedata.category(ch) in _BAD_CATEGORIES) for ch in text
        ):
            raise UserError(_("说明中含有不允许的控制字符"))
        if self.notices is not None and self.top_up is not None:
            self.top_up()
        now = self._clock()
        with self._store.unit_of_work() as uow:
            s = uow.session
            case = self._waiting(s.get(Case, case_id, with_for_update=True))
            before = self._checklist(s, case)
            owed = {item.key: item for item in before.outstanding}
            strangers = [k for k in keys if k not in owed]
            if strangers:
                raise UserError(_("材料“{key}”不在这件办件的补正清单中").format(key=strangers[0][:40]))
            names = tuple(owed[k].name for k in keys)
            remaining = tuple(item for item in before.outstanding if item.key not in keys)
            complete = not any(item.required for item in remaining)
            if complete:
                receipt = None  # the cases service takes the step in its own unit of work
            else:
                receipt = self._partial(uow, session, case, keys, text, names, remaining, now)
                uow.commit()
        if receipt is None:
            return self._complete(session, case_id, keys, text, names, remaining)
        return receipt

    # ---- internals ------------------------------------------------------------------------------

    def _partial(
        self,
        uow: UnitOfWork,
        session: UserSession,
        case: Case,
        keys: list[str],
        text: str,
        names: tuple[str, ...],
        remaining: tuple[ChecklistItem, ...],
        now: dt.datetime,
    ) -> CorrectionReceipt:
        s = uow.session
        rows = s.scalars(
            select(CaseMaterial).where(
                CaseMaterial.case_id == case.id, CaseMaterial.material_key.in_(keys), ~CaseMaterial.deleted
            )
        ).all()
        for row in rows:
            row.state, row.count = "received", max(row.count, 1)
        append_audit(
            s,
            self._store.device_id,
            "case.correction_partial",
            actor_id=session.user_id,
            actor_name=session.username,
            window_number=session.window_number,
            target=case.case_number,
            detail={"received": keys, "remaining": [i.key for i in remaining], "note": text},
            at=now,
        )
        documents: tuple[IssuedNotice, ...] = ()
        if self.notices is not None:
            documents = (self.notices.issue(uow, session, case.case_number, DocType.CORRECTION, at=now),)
        return CorrectionReceipt(
            case.id,
            case.case_number,
            False,
            case.status,
            CaseState(case.status).label,
            names,
            remaining,
            documents,
        )

    def _complete(
        self,
        session: UserSession,
        case_id: uuid.UUID,
        keys: list[str],
        note: str,
        names: tuple[str, ...],
        remaining: tuple[ChecklistItem, ...],
    ) -> CorrectionReceipt:
        self.cases.receive_correction(session, case_id, keys, note)
        documents: tuple[IssuedNotice, ...] = ()
        warnings: tuple[str, ...] = ()
        with self._store.unit_of_work() as uow:
            case = uow.session.get(Case, case_id)
            assert case is not None
            number, status = case.case_number, case.status
            if status == CaseState.ACCEPTED.value and self.notices is not None:
                # accepted by this correction: its 受理通知书 (and 容缺/告知承诺 letters) follow in
                # their own unit of work — the acceptance itself is the cases service's step
                try:
                    documents = NoticeIssuer(self.notices).issue(
                        uow, session, number, "accept", self._clock()
                    )
                    uow.commit()
                except UserError as exc:
                    warnings = (_("办件已受理，但受理通知书未能出具：{reason}").format(reason=exc.message),)
        return CorrectionReceipt(
            case_id, number, True, status, CaseState(status).label, names, remaining, documents, warnings
        )

    @staticmethod
    def _waiting(case: Case | None) -> Case:
        if case is None or case.deleted:
            raise UserError(_("找不到这件办件，可能已被删除"))
        if case.status != CaseState.CORRECTION_REQUESTED.value:
            raise UserError(
                _("办件 {number} 当前为“{status}”，不在等待补正").format(
                    number=case.case_number, status=CaseState(case.status).label
                )
            )
        return case

    def _checklist(self, s: Session, case: Case) -> CorrectionChecklist:
        missing = s.scalars(
            select(CaseMaterial)
            .where(CaseMaterial.case_id == case.id, CaseMaterial.state == "missing", ~CaseMaterial.deleted)
            .order_by(CaseMaterial.hlc, CaseMaterial.material_key)
        ).all()
        items = sorted(
            (ChecklistItem(m.material_key, m.name, m.required, m.note) for m in missing),
            key=lambda item: not item.required,
        )
        applicant = s.get(Applicant, case.applicant_id)
        return CorrectionChecklist(
            case.id,
            case.case_number,
            case.status,
            CaseState(case.status).label,
            applicant.name if applicant is not None else "",
            tuple(self._matter_name(code) for code in case.matter_codes),
            tuple(items),
        )

    def _matter_name(self, code: str) -> str:
        try:
            return self.catalogue.matter(code).name
        except KeyError:
            return code
