"""The notices an intake outcome prints, issued in the outcome's own unit of work.

The intake service writes the case, its materials and its event, flushes, and then asks the
documents service (:class:`clerk_app.services.documents.CaseDocuments`) to issue the outcome's
notices from those rows in the same ``uow`` — numbered from this workstation's blocks, rendered,
archived and audited — so the case and its notice commit together or not at all:

* accept → 受理通知书, and with a material deferred under 容缺 also the 容缺受理通知书;
* correction → 一次性告知书 (every missing material, the deadline to supply);
* refusal → 不予受理通知书 (reason, legal basis, the authority to turn to, remedies);
* on the spot → 办结通知书.

Accept and on the spot also issue the 告知承诺书 when a material was replaced by the applicant's
commitment (告知承诺): the case number, the matter(s), the applicant (and agent), each committed
proof with its legal basis and what is promised, how and by when the authority verifies it (the
promised completion date; for a case done on the spot ``verification_days`` working days, a
template setting), and the liability for a false promise (template wording, per matter if set).
It goes through the same archive as every notice (:func:`clerk_app.documents.archive.issue`).

:meth:`NoticeIssuer.top_up` refills the number blocks (hall numbering settings) before the
outcome, outside its unit of work; offline it keeps working on the blocks already reserved, and
an outcome with no number left is refused as a whole (a ``UserError``), nothing written.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import replace

from sqlalchemy import select

from clerk_app.documents import archive as archive_mod
from clerk_app.documents.dto import Applicant as PrintedApplicant
from clerk_app.documents.dto import CommitmentItem, CommitmentLetter, DocType
from clerk_app.documents.templates import TemplateError, fill
from clerk_app.domain.catalogue import Material
from clerk_app.domain.halltime import HALL_TZ
from clerk_app.domain.identifiers import _DOC_LABELS, DocumentType
from clerk_app.domain.numbering import BlocksExhausted
from clerk_app.i18n import _
from clerk_app.services.auth import UserSession
from clerk_app.services.documents import CaseDocuments, IssuedNotice, NoticeExtras, RefillReport, refill_due
from clerk_app.services.errors import UserError
from clerk_app.services.runtime import Runtime
from clerk_app.store.models.cases import Applicant, Case, CaseMaterial
from clerk_app.store.uow import Store, UnitOfWork

__all__ = ["IssuedNotice", "NoticeIssuer", "commitment_letter"]

_TYPES = {
    "accept": (DocType.ACCEPTANCE, DocType.TOLERANCE, DocType.COMMITMENT),
    "correction": (DocType.ONE_TIME,),
    "refuse": (DocType.REFUSAL,),
    "on_the_spot": (DocType.COMPLETION, DocType.COMMITMENT),
}
#: outcomes after which a commitment in place of a proof is put on paper
_COMMITTING = frozenset({"accept", "on_the_spot"})


def _id_type_name(code: str) -> str:
    """The printed (Chinese) name of an ID type code."""
    if code == "001":
        return "统一社会信用代码"
    try:
        return _DOC_LABELS.get(DocumentType.from_code(code), code)
    except ValueError:
        return code


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
        issued = self.desk.issue_outcome(uow, who, case_number, outcome, at=at, extras=extras)
        if outcome in _COMMITTING:
            letter = self.issue_commitment(uow, who, case_number, at)
            if letter is not None:
                issued = (*issued, letter)
        return issued

    def issue_commitment(
        self, uow: UnitOfWork, who: UserSession, case_number: str, at: dt.datetime
    ) -> IssuedNotice | None:
        """The 告知承诺书 of the case (``None`` when no material was replaced by a commitment)."""
        s = uow.session
        s.flush()
        case = s.scalar(select(Case).where(Case.case_number == case_number, ~Case.deleted))
        if case is None:
            raise UserError(_("找不到办件：{number}").format(number=case_number))
        committed = s.scalars(
            select(CaseMaterial)
            .where(CaseMaterial.case_id == case.id, CaseMaterial.state == "commitment", ~CaseMaterial.deleted)
            .order_by(CaseMaterial.hlc, CaseMaterial.material_key)
        ).all()
        if not committed:
            return None
        applicant = s.get(Applicant, case.applicant_id)
        if applicant is None:
            raise UserError(_("办件 {number} 没有申请人记录").format(number=case_number))
        moment = at.astimezone(HALL_TZ)
        desk = self.desk
        pairs = [(m.name, m.material_key) for m in committed]
        letter = commitment_letter(desk, case, applicant, pairs, moment)
        try:
            done = archive_mod.issue(
                uow,
                desk.archive,
                desk.templates,
                DocType.COMMITMENT,
                lambda number: _numbered(letter, number),
                device_id=desk.device_id,
                actor_name=who.username,
                year=moment.year,
                signer=desk.signer,
            )
        except BlocksExhausted as exc:
            raise UserError(
                _("本工作台没有可用的{title}编号，请连接中心库补充号段后重试（本次办理未保存）").format(
                    title=desk.templates.wording(DocType.COMMITMENT).title
                )
            ) from exc
        return IssuedNotice(done.id, done.doc_type, done.number, done.title, done.sha256, done.pdf)


def _numbered(letter: CommitmentLetter, number: str) -> CommitmentLetter:
    return replace(letter, number=number)


def commitment_letter(
    desk: CaseDocuments,
    case: Case,
    applicant: Applicant,
    committed: list[tuple[str, str]],
    moment: dt.datetime,
) -> CommitmentLetter:
    """The letter's content (number still blank) for ``committed`` (name, material key) pairs."""
    templates = desk.templates
    single = case.matter_codes[0] if len(case.matter_codes) == 1 else ""
    wording = templates.wording(DocType.COMMITMENT, single)
    catalogue_materials: dict[str, Material] = {}
    names: list[str] = []
    for code in case.matter_codes:
        try:
            matter = desk.catalogue.matter(code)
        except KeyError:
            names.append(code)
            continue
        names.append(matter.name)
        for material in matter.materials:
            catalogue_materials.setdefault(material.key, material)
    items = []
    for name, key in committed:
        known = catalogue_materials.get(key)
        promise = (known.standard if known is not None else "") or fill(
            wording.text("default_promise", "{proof}"), {"proof": name}
        )
        items.append(CommitmentItem(name, wording.text("default_basis"), promise))
    day = moment.date()
    deadline = case.promised_date
    if deadline is None:
        try:
            days = int(wording.text("verification_days", "20"))
        except ValueError as exc:
            raise TemplateError(_("模板项 commitment.verification_days 应为整数")) from exc
        deadline = desk.calendar.add_workdays(day, days).value
    printed = PrintedApplicant(
        name=applicant.name,
        id_type=_id_type_name(applicant.id_type),
        id_number=applicant.id_number,
        phone=applicant.phone,
        address=applicant.address,
        agent=case.agent_name,
    )
    return CommitmentLetter(
        number="",
        matter="、".join(names),
        applicant=printed,
        items=tuple(items),
        verification=wording.text("verification"),
        issue_date=day,
        matter_code=single,
        case_no=case.case_number,
        verification_deadline=deadline,
    )
