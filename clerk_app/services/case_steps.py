"""The later steps of a case at the window, each one unit of work and one insert-only case event.

Each step is checked first by :func:`clerk_app.domain.case_states.check` (refused in plain words
with a :class:`~clerk_app.services.errors.UserError`, nothing written): correction received
(补正材料已收: accepts a case whose correction came before acceptance, or resumes the review and its
clock), start of review, correction asked during review, special procedure start and end,
decision (approve, approve on tolerance, refuse — the last two by a supervisor, with a reason),
tolerance materials confirmed, delivery (pickup with the signature note, or mail with a tracking
number), archive, withdrawal; and 发证, the licence of an approved licence matter (no state change).

With a documents desk (:class:`~clerk_app.services.case_documents.StepDocuments`) the decision
issues its 决定书 and the delivery its 送达回证 inside the step's unit of work; a document that
cannot be issued fails the step as a whole.

:class:`CaseSteps` is the half of :class:`~clerk_app.services.cases.CaseService` that writes; the
other half (search, deadlines, details) is in :mod:`clerk_app.services.cases`.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
import unicodedata
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from clerk_app.domain import case_states
from clerk_app.domain.case_states import CaseEvent, CaseState
from clerk_app.domain.catalogue import Catalogue
from clerk_app.i18n import N_, _
from clerk_app.security.roles import Permission, Role
from clerk_app.services.auth import UserSession
from clerk_app.services.case_documents import Delivery, StepDocuments, titles
from clerk_app.services.case_search import sees_whole
from clerk_app.services.documents import IssuedNotice
from clerk_app.services.errors import UserError
from clerk_app.store.models.cases import Applicant, Case, CaseEventRecord, CaseMaterial
from clerk_app.store.uow import Store, UnitOfWork

if TYPE_CHECKING:
    from clerk_app.services.cases import CaseDetail

_NOISE = re.compile(r"[\s\u3000\-()（）]")
_TRACKING = re.compile(r"^[0-9A-Z]{8,30}$")
_BIDI = frozenset("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
_BAD_CATEGORIES = frozenset({"Cc", "Cs", "Co", "Cn", "Zl", "Zp"})

#: a licence is issued from a case in these states (granted, before or after delivery)
LICENSABLE = frozenset(
    {CaseState.APPROVED.value, CaseState.APPROVED_TOLERANCE.value, CaseState.DELIVERED.value}
)


class Decision(StrEnum):
    APPROVE = "approve"
    APPROVE_TOLERANCE = "approve_tolerance"
    REFUSE = "refuse"

    @property
    def event(self) -> CaseEvent:
        return CaseEvent(self.value)


class DeliveryMethod(StrEnum):
    PICKUP = "pickup"
    MAIL = "mail"

    @property
    def label(self) -> str:
        return _(N_("窗口领取")) if self is DeliveryMethod.PICKUP else _(N_("邮寄"))


class CaseSteps:
    """The later steps (mixed into :class:`~clerk_app.services.cases.CaseService`, which provides
    the store, the clock, the catalogue, the documents desk and the reading half below)."""

    _store: Store
    _clock: Callable[[], dt.datetime]
    catalogue: Catalogue
    documents: StepDocuments | None

    @staticmethod
    def _case(s: Session, case_id: uuid.UUID, *, lock: bool = False) -> Case:
        raise NotImplementedError

    def _detail(self, s: Session, session: UserSession, case: Case, now: dt.datetime) -> CaseDetail:
        raise NotImplementedError

    def _promised_after_resume(self, case: Case, events: Sequence[CaseEventRecord], now: dt.datetime) -> None:
        raise NotImplementedError

    def receive_correction(
        self,
        session: UserSession,
        case_id: uuid.UUID,
        received_keys: Sequence[str] | None = None,
        note: str = "",
    ) -> CaseDetail:
        """补正材料已收: the asked-for materials are in. Before acceptance this accepts the case
        (the clock starts); during review it resumes the review and the clock."""

        def change(s: Session, case: Case, now: dt.datetime, step: _Step) -> None:
            materials = s.scalars(
                select(CaseMaterial).where(CaseMaterial.case_id == case.id, ~CaseMaterial.deleted)
            ).all()
            keys = set(received_keys) if received_keys is not None else None
            unknown = (keys or set()) - {m.material_key for m in materials}
            if unknown:
                raise UserError(_("材料“{key}”不属于这件办件").format(key=sorted(unknown)[0][:40]))
            for m in materials:
                if m.state == "missing" and (keys is None or m.material_key in keys):
                    m.state, m.count = "received", max(m.count, 1)
            still = [m.name for m in materials if m.required and m.state == "missing"]
            if still:
                raise UserError(_("仍缺少必需材料：{names}").format(names="、".join(still)))
            step.detail["received"] = sorted(m.material_key for m in materials if m.state == "received")
            if step.event is CaseEvent.ACCEPT:
                case.accepted_at = now
                self._promised_after_resume(case, (), now)

        def event_for(case: Case) -> CaseEvent:
            if case.status == CaseState.CORRECTION_REQUESTED and case.accepted_at is None:
                return CaseEvent.ACCEPT
            return CaseEvent.RESUME_REVIEW

        return self._step(session, case_id, event_for, note, change=change, resumes=True)

    def start_review(self, session: UserSession, case_id: uuid.UUID, note: str = "") -> CaseDetail:
        """开始审查."""
        return self._step(session, case_id, CaseEvent.START_REVIEW, note)

    def request_correction(
        self, session: UserSession, case_id: uuid.UUID, missing_keys: Sequence[str], note: str = ""
    ) -> CaseDetail:
        """要求补正 after acceptance: the clock stands still until the materials come in."""
        if not missing_keys:
            raise UserError(_("请选择需要补正的材料"))

        def change(s: Session, case: Case, now: dt.datetime, step: _Step) -> None:
            materials = {
                m.material_key: m
                for m in s.scalars(
                    select(CaseMaterial).where(CaseMaterial.case_id == case.id, ~CaseMaterial.deleted)
                )
            }
            for key in missing_keys:
                if key not in materials:
                    raise UserError(_("材料“{key}”不属于这件办件").format(key=key[:40]))
                materials[key].state = "missing"
            step.detail["missing"] = list(missing_keys)

        def reason_for(s: Session, case_id: uuid.UUID) -> str:
            names = s.scalars(
                select(CaseMaterial.name).where(
                    CaseMaterial.case_id == case_id, CaseMaterial.material_key.in_(list(missing_keys))
                )
            ).all()
            text = _("需补正材料：{names}").format(names="、".join(names) or "、".join(missing_keys))
            return f"{text}\n{note.strip()}" if note.strip() else text

        return self._step(session, case_id, CaseEvent.REQUEST_CORRECTION, note, change, reason_for=reason_for)

    def start_special(self, session: UserSession, case_id: uuid.UUID, reason: str) -> CaseDetail:
        """进入特别程序 (hearing, testing, expert review): the clock stands still."""
        return self._step(session, case_id, CaseEvent.START_SPECIAL, reason)

    def end_special(self, session: UserSession, case_id: uuid.UUID, note: str = "") -> CaseDetail:
        """结束特别程序: the review and its clock resume, the promise pushed back."""
        return self._step(session, case_id, CaseEvent.END_SPECIAL, note, resumes=True)

    def decide(
        self,
        session: UserSession,
        case_id: uuid.UUID,
        decision: Decision | str,
        reason: str = "",
        legal_basis: str = "",
    ) -> CaseDetail:
        """准予许可 / 容缺通过 / 不予许可 (the last two by a supervisor, with a reason)."""
        chosen = Decision(decision)
        basis = _clean(legal_basis, N_("法律依据"), 500, lines=True)
        if chosen is Decision.REFUSE and not basis:
            raise UserError(_("不予许可须写明法律依据"))

        def change(s: Session, case: Case, now: dt.datetime, step: _Step) -> None:
            if chosen is Decision.APPROVE_TOLERANCE:
                deferred = s.scalar(
                    select(func.count()).where(
                        CaseMaterial.case_id == case.id,
                        CaseMaterial.state == "deferred",
                        ~CaseMaterial.deleted,
                    )
                )
                if not deferred:
                    raise UserError(_("这件办件没有容缺材料，请直接准予许可"))
            case.decided_at = now
            case.legal_basis = basis
            step.detail["decision"] = chosen.value

        def notices(uow: UnitOfWork, case: Case, now: dt.datetime) -> tuple[IssuedNotice, ...]:
            if self.documents is None:
                return ()
            approve = chosen is not Decision.REFUSE
            tolerance = chosen is Decision.APPROVE_TOLERANCE
            return (
                self.documents.issue_decision(
                    uow, session, case, self.catalogue, approve=approve, tolerance=tolerance, at=now
                ),
            )

        return self._step(session, case_id, chosen.event, reason, change, legal_basis=basis, notices=notices)

    def confirm_tolerance(self, session: UserSession, case_id: uuid.UUID, note: str = "") -> CaseDetail:
        """容缺材料已补齐: the deferred materials are in."""

        def change(s: Session, case: Case, now: dt.datetime, step: _Step) -> None:
            for m in s.scalars(
                select(CaseMaterial).where(CaseMaterial.case_id == case.id, CaseMaterial.state == "deferred")
            ):
                m.state, m.count, m.due_date = "received", max(m.count, 1), None
                step.detail.setdefault("received", []).append(m.material_key)

        return self._step(session, case_id, CaseEvent.CONFIRM_TOLERANCE, note, change)

    def deliver(
        self,
        session: UserSession,
        case_id: uuid.UUID,
        method: DeliveryMethod | str,
        *,
        signature_note: str = "",
        recipient: str = "",
        tracking_number: str = "",
        address: str = "",
    ) -> CaseDetail:
        """送达: pickup at the window (who signed, the signature note) or mail (tracking number)."""
        how = DeliveryMethod(method)
        sign = _clean(signature_note, N_("签收说明"), 300, lines=True)
        who = _clean(recipient, N_("签收人"), 100)
        where = _clean(address, N_("邮寄地址"), 300)
        tracking = _NOISE.sub("", _clean(tracking_number, N_("快递单号"), 40)).upper()
        if how is DeliveryMethod.PICKUP and not sign:
            raise UserError(_("窗口领取须填写签收说明（签收人签字情况）"))
        if how is DeliveryMethod.MAIL and not _TRACKING.match(tracking):
            raise UserError(_("邮寄送达须填写快递单号（8 至 30 位字母或数字）"))

        def change(s: Session, case: Case, now: dt.datetime, step: _Step) -> None:
            step.detail["method"] = how.value
            if how is DeliveryMethod.PICKUP:
                applicant = s.get(Applicant, case.applicant_id)
                step.detail["recipient"] = who or (applicant.name if applicant else "")
                step.detail["signature"] = sign
            else:
                target = where or case.delivery_address
                if not target:
                    raise UserError(_("邮寄送达须填写邮寄地址"))
                step.detail["tracking"] = tracking
                step.detail["address"] = target
                case.delivery_address = target
            case.delivery = how.value

        def notices(uow: UnitOfWork, case: Case, now: dt.datetime) -> tuple[IssuedNotice, ...]:
            if self.documents is None:
                return ()
            mail = how is DeliveryMethod.MAIL
            recipient = who
            if not recipient:
                applicant = uow.session.get(Applicant, case.applicant_id)
                recipient = applicant.name if applicant else ""
            delivery = Delivery(mail, recipient, sign, tracking, case.delivery_address if mail else "")
            return (self.documents.issue_delivery(uow, session, case, delivery, at=now),)

        return self._step(session, case_id, CaseEvent.DELIVER, sign, change, notices=notices)

    def archive(self, session: UserSession, case_id: uuid.UUID, note: str = "") -> CaseDetail:
        """归档."""
        return self._step(session, case_id, CaseEvent.ARCHIVE, note, permission=None)

    def withdraw(self, session: UserSession, case_id: uuid.UUID, reason: str) -> CaseDetail:
        """撤件 before the decision, with the applicant's reason."""

        def change(s: Session, case: Case, now: dt.datetime, step: _Step) -> None:
            case.reason = step.reason[:500]

        return self._step(session, case_id, CaseEvent.WITHDRAW, reason, change)

    def issue_licence(self, session: UserSession, case_id: uuid.UUID) -> CaseDetail:
        """发证: the licence of an approved case whose matter results in one, in one unit of work
        with its number, archive record and audit entry (the case's state does not change)."""
        session.require(Permission.SERVE)
        if self.documents is None:
            raise UserError(_("本工作台未配置文书服务，不能发放证照"))
        now = self._clock()
        with self._store.unit_of_work() as uow:
            s = uow.session
            case = self._case(s, case_id, lock=True)
            if case.status not in LICENSABLE:
                raise UserError(
                    _("办件处于“{state}”状态，不能发放证照：证照在准予许可后发放").format(
                        state=CaseState(case.status).label
                    )
                )
            issued = (self.documents.issue_licence(uow, session, case, at=now),)
            uow.flush()
            result = dataclasses.replace(self._detail(s, session, case, now), issued=issued)
            uow.commit()
        return result

    def open_document(self, session: UserSession, case_id: uuid.UUID, document_id: uuid.UUID) -> IssuedNotice:
        """One archived document of the case, to preview and print again — for the case's own
        clerk and supervisors only: the printed documents carry the whole ID number, which the
        cases screen masks for everyone else."""
        session.require(Permission.SERVE)
        if self.documents is None:
            raise UserError(_("本工作台未配置文书服务"))
        with self._store.unit_of_work() as uow:
            case = self._case(uow.session, case_id)
            if not sees_whole(session, case.clerk_id):
                raise UserError(_("本件文书载有完整证件号码，只有本件经办人和值班负责人可以打开"))
            if document_id not in {d.id for d in self.documents.documents(uow.session, case.case_number)}:
                raise UserError(_("这份文书不属于这件办件"))
            return self.documents.open(uow, document_id)

    def _step(
        self,
        session: UserSession,
        case_id: uuid.UUID,
        event: CaseEvent | Callable[[Case], CaseEvent],
        reason: str,
        change: Callable[[Session, Case, dt.datetime, _Step], None] | None = None,
        *,
        legal_basis: str = "",
        resumes: bool = False,
        reason_for: Callable[[Session, uuid.UUID], str] | None = None,
        permission: Permission | None = Permission.SERVE,
        notices: Callable[[UnitOfWork, Case, dt.datetime], tuple[IssuedNotice, ...]] | None = None,
    ) -> CaseDetail:
        if permission is not None or session.role is not Role.ADMIN:
            session.require(Permission.SERVE)
        text = _clean(reason, N_("理由"), 2000, lines=True)
        now = self._clock()
        with self._store.unit_of_work() as uow:
            s = uow.session
            case = self._case(s, case_id, lock=True)
            chosen = event(case) if callable(event) else event
            if reason_for is not None:
                text = reason_for(s, case.id)[:2000]
            verdict = case_states.check(case.status, chosen, session.role.value, text or None)
            if not verdict.allowed or verdict.target is None:
                raise UserError(verdict.message)
            step = _Step(chosen, text, {})
            before = case.status
            if change is not None:
                change(s, case, now, step)
            case.status = verdict.target.value
            if chosen in (CaseEvent.REFUSE, CaseEvent.APPROVE_TOLERANCE):
                case.reason = text[:500]
            issued = notices(uow, case, now) if notices is not None else ()
            if issued:
                step.detail["documents"] = titles(issued)
            record = CaseEventRecord(
                case_id=case.id,
                event=chosen.value,
                from_state=before,
                to_state=verdict.target.value,
                at=now,
                actor_id=session.user_id,
                actor_name=session.display_name,
                window_number=session.window_number,
                reason=text,
                legal_basis=legal_basis,
                detail=step.detail,
            )
            if resumes and chosen is not CaseEvent.ACCEPT:
                earlier = s.scalars(select(CaseEventRecord).where(CaseEventRecord.case_id == case.id)).all()
                self._promised_after_resume(case, [*earlier, record], now)
                if case.promised_due is not None:
                    record.detail = {**step.detail, "promised_due": case.promised_due.isoformat()}
            s.add(record)
            uow.flush()
            result = dataclasses.replace(self._detail(s, session, case, now), issued=issued)
            uow.commit()
        return result


@dataclass(slots=True)
class _Step:
    event: CaseEvent
    reason: str
    detail: dict[str, Any]


def _clean(value: str, label: str, limit: int, *, lines: bool = False) -> str:
    """A typed text stripped and checked: no control or direction-override characters, fits."""
    if not isinstance(value, str):
        raise UserError(_("{label}应为文字").format(label=_(label)))
    text = unicodedata.normalize("NFC", value).strip()
    for ch in text:
        if not (lines and ch in "\n\t") and (ch in _BIDI or unicodedata.category(ch) in _BAD_CATEGORIES):
            raise UserError(_("{label}含有不允许的控制字符").format(label=_(label)))
    if len(text) > limit:
        raise UserError(_("{label}过长：最多 {limit} 个字符").format(label=_(label), limit=limit))
    return text
