"""The notices an intake outcome prints, issued through the document archive in the outcome's own
unit of work (:func:`clerk_app.documents.archive.issue` takes the caller's ``uow``): the case, its
event and its numbered, rendered and archived notice commit together or not at all.

* accept → 受理通知书, and with any material deferred under 容缺 also the 容缺受理通知书 (with the
  applicant's 承诺书 page);
* correction → 一次性告知书 (every missing material with its reason, the deadline to supply);
* refusal → 不予受理通知书 (reason, legal basis, the authority to turn to, review and suit);
* on the spot → 办结通知书.

Numbers come from this workstation's reserved blocks; :meth:`NoticeIssuer.top_up` refills them
from the central store while online (call it before the outcome, outside its unit of work). With
no number left the outcome is refused as a whole (:class:`UserError`), nothing is written.
Printed wording stays Chinese whatever the interface language.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from clerk_app.documents import archive as archive_mod
from clerk_app.documents.archive import Archive
from clerk_app.documents.dto import (
    AcceptanceNotice,
    Applicant,
    Clerk,
    CorrectionNotice,
    DecisionKind,
    DecisionNotice,
    DeferredMaterial,
    DocType,
    Document,
    Material,
    MissingMaterial,
    RefusalNotice,
    ToleranceNotice,
)
from clerk_app.documents.numbers import NumberingSettings, refill, remaining
from clerk_app.documents.templates import Templates, load_templates
from clerk_app.domain.catalogue import MATERIAL_FORM_NAMES, MaterialForm
from clerk_app.domain.identifiers import DocumentType
from clerk_app.domain.numbering import BlocksExhausted
from clerk_app.domain.workdays import WorkCalendar
from clerk_app.i18n import _
from clerk_app.services.errors import UserError
from clerk_app.store.uow import Store, UnitOfWork

log = logging.getLogger("clerk.intake")

#: working days the applicant has to supply what a 一次性告知书 lists (a hall setting)
CORRECTION_DAYS = 5


@dataclass(frozen=True, slots=True)
class NoticeMaterial:
    name: str
    state: str  # received | missing | deferred | commitment
    form: str
    count: int
    due: dt.date | None
    note: str
    standard: str
    required: bool


@dataclass(frozen=True, slots=True)
class NoticeFacts:
    """What an outcome knows that its notice prints (built by the intake service)."""

    outcome: str  # accept | correction | refuse | on_the_spot
    case_number: str
    at: dt.datetime  # hall time
    applicant_name: str
    applicant_id_type: str
    applicant_id_number: str
    applicant_phone: str
    applicant_address: str
    agent_name: str
    matter_names: tuple[str, ...]
    matter_codes: tuple[str, ...]
    materials: tuple[NoticeMaterial, ...]
    promised_date: dt.date | None
    reason: str
    legal_basis: str
    authority: str
    clerk_name: str
    window_number: int | None


@dataclass(frozen=True, slots=True)
class IssuedNotice:
    id: object  # uuid of the archive record
    doc_type: str
    number: str
    title: str
    sha256: str
    pdf: bytes


def _id_type_name(code: str) -> str:
    if code == "001":
        return "统一社会信用代码"
    try:
        return DocumentType.from_code(code).label
    except ValueError:
        return code


def _form_name(form: str) -> str:
    try:
        return MATERIAL_FORM_NAMES[MaterialForm(form)]
    except ValueError:
        return ""


class NoticeIssuer:
    """Builds the notice DTOs of an outcome and issues them through the archive."""

    def __init__(
        self,
        archive: Archive,
        templates: Templates | None = None,
        *,
        device_id: str,
        calendar: WorkCalendar | None = None,
    ) -> None:
        self.archive = archive
        self.templates = templates or load_templates()
        self.device_id = device_id
        self.calendar = calendar or WorkCalendar()

    @classmethod
    def for_data_dir(cls, data: Path, device_id: str) -> NoticeIssuer:
        return cls(Archive(data / "documents"), device_id=device_id)

    @staticmethod
    def doc_types(outcome: str, deferred: bool = True) -> tuple[DocType, ...]:
        return {
            "accept": (DocType.ACCEPTANCE, DocType.TOLERANCE) if deferred else (DocType.ACCEPTANCE,),
            "correction": (DocType.ONE_TIME,),
            "refuse": (DocType.REFUSAL,),
            "on_the_spot": (DocType.COMPLETION,),
        }[outcome]

    @staticmethod
    def top_up(local: Store, central: Store, doc_types: Iterable[DocType], year: int) -> None:
        """Refill this workstation's number blocks while the central store answers; offline the
        blocks already reserved are used (and an outcome with none left is refused)."""
        settings = NumberingSettings()
        for doc_type in doc_types:
            if remaining(local, doc_type.value, year) > settings.refill_threshold:
                continue  # enough reserved: no round trip to the central store
            try:
                refill(local, central, doc_type.value, year, settings)
            except Exception as exc:  # offline: keep working on what is reserved
                log.warning("number refill for %s failed: %s", doc_type.value, type(exc).__name__)

    # ---- issuing ---------------------------------------------------------------------------------

    def issue(self, uow: UnitOfWork, facts: NoticeFacts) -> tuple[IssuedNotice, ...]:
        """Number, render and archive the notices of ``facts`` in ``uow`` (the caller commits)."""
        wanted: list[tuple[DocType, Callable[[str, NoticeFacts], Document]]] = []
        if facts.outcome == "accept":
            wanted.append((DocType.ACCEPTANCE, self._acceptance))
            if any(m.state == "deferred" for m in facts.materials):
                wanted.append((DocType.TOLERANCE, self._tolerance))
        elif facts.outcome == "correction":
            wanted.append((DocType.ONE_TIME, self._correction))
        elif facts.outcome == "refuse":
            wanted.append((DocType.REFUSAL, self._refusal))
        else:
            wanted.append((DocType.COMPLETION, self._completion))
        year = facts.at.year
        issued: list[IssuedNotice] = []
        for doc_type, builder in wanted:
            try:
                doc = archive_mod.issue(
                    uow,
                    self.archive,
                    self.templates,
                    doc_type,
                    lambda number, b=builder: b(number, facts),  # type: ignore[misc]
                    device_id=self.device_id,
                    actor_name=facts.clerk_name,
                    year=year,
                )
            except BlocksExhausted as exc:
                raise UserError(
                    _("本工作台没有可用的{title}编号，请连接中心库后重试（本次办理未保存）").format(
                        title=self.templates.wording(doc_type).title
                    )
                ) from exc
            issued.append(IssuedNotice(doc.id, doc.doc_type, doc.number, doc.title, doc.sha256, doc.pdf))
        return tuple(issued)

    # ---- DTOs ------------------------------------------------------------------------------------

    def _applicant(self, facts: NoticeFacts) -> Applicant:
        return Applicant(
            name=facts.applicant_name,
            id_type=_id_type_name(facts.applicant_id_type),
            id_number=facts.applicant_id_number,
            phone=facts.applicant_phone,
            address=facts.applicant_address,
            agent=facts.agent_name,
        )

    def _clerk(self, facts: NoticeFacts) -> Clerk:
        window = f"{facts.window_number}号窗口" if facts.window_number else ""
        return Clerk(facts.clerk_name, self.templates.hall.contact_phone, window)

    @staticmethod
    def _received(facts: NoticeFacts) -> tuple[Material, ...]:
        return tuple(
            Material(m.name, _form_name(m.form), m.count, m.note)
            for m in facts.materials
            if m.state == "received"
        )

    def _acceptance(self, number: str, facts: NoticeFacts) -> Document:
        day = facts.at.date()
        return AcceptanceNotice(
            number=number,
            case_no=facts.case_number,
            applicant=self._applicant(facts),
            matters=facts.matter_names,
            application_date=day,
            accepted_at=facts.at,
            materials=self._received(facts),
            clerk=self._clerk(facts),
            promised_date=facts.promised_date or day,
            issue_date=day,
            matter_code=facts.matter_codes[0] if len(facts.matter_codes) == 1 else "",
        )

    def _tolerance(self, number: str, facts: NoticeFacts) -> Document:
        deferred = tuple(
            DeferredMaterial(m.name, _form_name(m.form) or "原件", m.due or facts.at.date())
            for m in facts.materials
            if m.state == "deferred"
        )
        return ToleranceNotice(
            number=number,
            case_no=facts.case_number,
            matter="、".join(facts.matter_names),
            applicant=self._applicant(facts),
            deferred=deferred,
            clerk=self._clerk(facts),
            issue_date=facts.at.date(),
        )

    def _correction(self, number: str, facts: NoticeFacts) -> Document:
        missing = tuple(
            MissingMaterial(m.name, m.note or "未提交", m.standard)
            for m in facts.materials
            if m.required and m.state == "missing"
        )
        day = facts.at.date()
        deadline = self.calendar.add_workdays(day, CORRECTION_DAYS).value
        return CorrectionNotice(
            number=number,
            case_no=facts.case_number,
            matter="、".join(facts.matter_names),
            applicant=self._applicant(facts),
            missing=missing,
            deadline=deadline,
            enquiry_phone=self.templates.hall.contact_phone,
            issue_date=day,
            one_time=True,
        )

    def _refusal(self, number: str, facts: NoticeFacts) -> Document:
        day = facts.at.date()
        return RefusalNotice(
            number=number,
            case_no=facts.case_number,
            applicant=self._applicant(facts),
            matters=facts.matter_names,
            application_date=day,
            reason=facts.reason,
            legal_basis=facts.legal_basis,
            competent_authority=facts.authority,
            returned_materials=self._received(facts),
            clerk=self._clerk(facts),
            issue_date=day,
        )

    def _completion(self, number: str, facts: NoticeFacts) -> Document:
        return DecisionNotice(
            kind=DecisionKind.COMPLETION,
            number=number,
            case_no=facts.case_number,
            matter="、".join(facts.matter_names),
            applicant=self._applicant(facts),
            content="申请事项已当场办结。",
            legal_basis="",
            decision_date=facts.at.date(),
        )
