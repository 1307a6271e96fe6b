"""The documents of a case's later steps, issued in the step's own unit of work.

:class:`StepDocuments` sits on the documents service (:class:`~clerk_app.services.documents.CaseDocuments`:
numbers from this workstation's blocks, rendering, archive, audit) and knows what each later step
prints:

* decision — 准予行政许可决定书 (approve, approve on tolerance) or 不予行政许可决定书 (refuse) for
  a matter that is an administrative licence (事项类型 01); 办结通知书 for an approval of any other
  matter. The content names the matter (and the licence that comes with it), the legal basis is
  the one typed, or for an approved licence 《中华人民共和国行政许可法》第三十八条第一款; a refusal
  prints the reason and the remedies.
* delivery — 送达回证: the documents delivered (the case's decision notice and licence, with their
  numbers), the recipient, the time to the minute, the place, the method (直接送达 with the
  signature note, or 邮寄送达 with the tracking number and address), the clerk as server.
* licence — for a decided (approved) case whose matter results in a licence
  (``resources/templates/licences.toml``): the 证照 with its GB/T 36901 identifier and the signed
  verification QR (the hall's issuer key must be on this workstation). Recorded in the audit chain
  as ``case.licence`` with the case number, which is how a case finds its licence again.

Every call takes the caller's ``uow``; a failure (no number left, no signing key) raises before the
caller commits, so the step and its documents are written together or not at all.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from clerk_app.documents import archive as archive_mod
from clerk_app.documents.case_licences import LicenceFacts, LicenceKind, build_licence, load_licence_kinds
from clerk_app.documents.dto import DeliveryReceipt, DocType, Document
from clerk_app.documents.numbers import take_number
from clerk_app.domain.catalogue import Catalogue, MatterType
from clerk_app.domain.halltime import HALL_TZ
from clerk_app.domain.numbering import BlocksExhausted, NumberFormat
from clerk_app.i18n import _
from clerk_app.security.roles import Permission
from clerk_app.services.auth import UserSession
from clerk_app.services.documents import SIGNING_KEY, CaseDocuments, IssuedNotice, NoticeExtras
from clerk_app.services.errors import UserError
from clerk_app.services.runtime import Runtime
from clerk_app.store.audit import append_audit
from clerk_app.store.models import AuditEntry, Setting
from clerk_app.store.models.cases import Applicant, Case
from clerk_app.store.models.documents import DocumentRecord
from clerk_app.store.uow import UnitOfWork

CHINA = HALL_TZ
LICENCE_AUDIT = "case.licence"
#: 行政许可法 art. 38(1): the written decision to grant a licence
APPROVAL_BASIS = "《中华人民共和国行政许可法》第三十八条第一款"
DECISION_TYPES = (DocType.APPROVAL, DocType.DENIAL, DocType.COMPLETION)
ORGANISATION_ID_TYPE = "001"


@dataclass(frozen=True, slots=True)
class CaseDocumentView:
    """One archived document of a case (no bytes; :meth:`StepDocuments.open` gives them)."""

    id: uuid.UUID
    doc_type: str
    title: str
    number: str
    created_at: dt.datetime


@dataclass(frozen=True, slots=True)
class Delivery:
    """How the result went to the applicant (what the 送达回证 prints)."""

    mail: bool
    recipient: str
    signature_note: str = ""
    tracking: str = ""
    address: str = ""


def _local(at: dt.datetime) -> dt.datetime:
    aware = at if at.tzinfo is not None else at.replace(tzinfo=dt.UTC)
    return aware.astimezone(CHINA)


class StepDocuments:
    """Decision notices, delivery receipts and licences of cases (see the module docstring)."""

    def __init__(
        self,
        desk: CaseDocuments,
        *,
        licence_kinds: Mapping[str, LicenceKind] | None = None,
        issuer_code: str = "",
    ) -> None:
        self.desk = desk
        self.licence_kinds = dict(load_licence_kinds() if licence_kinds is None else licence_kinds)
        self.issuer_code = issuer_code

    @classmethod
    def for_runtime(cls, runtime: Runtime) -> StepDocuments:
        """This workstation's desk; licences are issued under the hall's issuer code (setting
        ``documents.signing``) with its key from this machine's keyring."""
        desk = CaseDocuments.for_runtime(runtime)
        with runtime.local.unit_of_work() as uow:
            row = uow.session.scalar(select(Setting).where(Setting.key == SIGNING_KEY, ~Setting.deleted))
            code = str(dict(row.value).get("issuer_code", "")).strip() if row is not None else ""
        return cls(desk, issuer_code=code)

    # ---- what a case gets --------------------------------------------------------------------

    @property
    def can_sign(self) -> bool:
        """Licences can be issued here: the hall names its issuer and this machine holds the key."""
        return self.desk.signer is not None and bool(self.issuer_code)

    def licence_kind(self, case: Case) -> LicenceKind | None:
        """The licence the case's matter results in (the first matter that has one)."""
        for code in case.matter_codes or ():
            if code in self.licence_kinds:
                return self.licence_kinds[code]
        return None

    def _is_licensing(self, case: Case, catalogue: Catalogue) -> bool:
        for code in case.matter_codes or ():
            try:
                if catalogue.matter(code).matter_type is MatterType.LICENCE:
                    return True
            except KeyError:
                continue
        return self.licence_kind(case) is not None

    def decision_type(self, case: Case, catalogue: Catalogue, approve: bool) -> DocType:
        if not approve:
            return DocType.DENIAL
        return DocType.APPROVAL if self._is_licensing(case, catalogue) else DocType.COMPLETION

    def doc_types(self, event: str) -> tuple[DocType, ...]:
        """The series a step may need a number of (to top up the blocks before it)."""
        if event in ("approve", "approve_tolerance", "refuse"):
            return DECISION_TYPES
        if event == "deliver":
            return (DocType.DELIVERY,)
        if event == "licence":
            return (DocType.LICENCE,)
        return ()

    # ---- issuing -----------------------------------------------------------------------------

    def issue_decision(
        self,
        uow: UnitOfWork,
        who: UserSession,
        case: Case,
        catalogue: Catalogue,
        *,
        approve: bool,
        tolerance: bool,
        at: dt.datetime,
    ) -> IssuedNotice:
        """The decision notice of ``case`` as it now stands in ``uow`` (status, reason, basis set)."""
        doc_type = self.decision_type(case, catalogue, approve)
        names = []
        for code in case.matter_codes or ():
            try:
                names.append(catalogue.matter(code).name)
            except KeyError:
                names.append(code)
        matter = "、".join(names)
        basis = case.legal_basis.strip()
        if not basis:
            if doc_type is not DocType.APPROVAL:
                raise UserError(
                    _("请填写法律依据：{title}须载明决定的法律依据").format(title=self._title(doc_type))
                )
            basis = APPROVAL_BASIS
        if approve:
            content = f"准予{matter}。"
            kind = self.licence_kind(case)
            if kind is not None:
                content += f"核发《{kind.title}》。"
            if tolerance:
                content += "本决定为容缺通过，申请人应在承诺期限内补齐容缺材料。"
        else:
            content = f"不予{matter}。"
        if case.delivery == "mail":
            pickup = f"邮寄送达（{case.delivery_address}）" if case.delivery_address else "邮寄送达"
        else:
            pickup = f"到{self.desk.templates.hall.hall_name}窗口领取"
        extras = NoticeExtras(
            decision_content=content, decision_basis=basis, pickup=pickup if approve else ""
        )
        return self.desk.issue(uow, who, case.case_number, doc_type, at=at, extras=extras)

    def issue_delivery(
        self, uow: UnitOfWork, who: UserSession, case: Case, delivery: Delivery, *, at: dt.datetime
    ) -> IssuedNotice:
        """The 送达回证 of what the case's applicant received (decision notice and licence)."""
        who.require(Permission.SERVE)
        delivered = [
            d for d in self.documents(uow.session, case.case_number) if d.doc_type != DocType.DELIVERY
        ]
        decisions = [d for d in delivered if d.doc_type in DECISION_TYPES][-1:]
        licences = [d for d in delivered if d.doc_type == DocType.LICENCE]
        shown = decisions + licences
        if shown:
            title = "、".join(d.title for d in shown)
            numbers = "、".join(d.number for d in shown)
        else:  # decided before notices were issued from the cases screen: numbers by hand
            title = self._title(DocType.APPROVAL if case.status != "refused" else DocType.DENIAL)
            numbers = ""
        moment = _local(at).replace(second=0, microsecond=0)
        hall = self.desk.templates.hall
        if delivery.mail:
            place = delivery.address
            method = "邮寄送达"
            remarks = f"快递单号：{delivery.tracking}"
        else:
            window = f"{who.window_number}号窗口" if who.window_number else ""
            place = f"{hall.hall_name}{window}"
            method = "直接送达"
            remarks = delivery.signature_note
        receipt = lambda number: DeliveryReceipt(  # noqa: E731
            number=number,
            document_title=title,
            document_number=numbers,
            recipient=delivery.recipient,
            served_at=moment.replace(tzinfo=None),
            place=place,
            method=method,
            server=who.display_name,
            remarks=remarks,
            case_no=case.case_number,
        )
        return self._issue(uow, who, DocType.DELIVERY, receipt, moment)

    def issue_licence(
        self, uow: UnitOfWork, who: UserSession, case: Case, *, at: dt.datetime
    ) -> IssuedNotice:
        """The licence of an approved case (see the module docstring); the caller checks the state."""
        who.require(Permission.SERVE)
        kind = self.licence_kind(case)
        if kind is None:
            raise UserError(_("这件办件的事项不发放证照"))
        if self.licence_issued(uow.session, case.case_number):
            raise UserError(_("这件办件的证照已经发放，不能重复发证"))
        signer = self.desk.signer
        if signer is None or not self.issuer_code:
            raise UserError(_("本工作台没有签发机构的签名密钥，不能发放证照；请联系管理员（本次办理未保存）"))
        applicant = uow.session.get(Applicant, case.applicant_id)
        if applicant is None:  # pragma: no cover - the foreign key keeps it
            raise UserError(_("找不到这件办件的申请人"))
        moment = _local(at)
        year = moment.year
        fmt = NumberFormat(DocType.LICENCE.value, self.desk.templates.wording(DocType.LICENCE).number_format)
        try:
            seq = take_number(uow, DocType.LICENCE.value, year)
        except BlocksExhausted as exc:
            raise self._exhausted(DocType.LICENCE) from exc
        names = [self._matter_name(code) for code in case.matter_codes or ()]
        facts = LicenceFacts(
            case_no=case.case_number,
            matter="、".join(names),
            holder=applicant.name,
            holder_code=applicant.id_number,
            holder_is_organisation=applicant.id_type == ORGANISATION_ID_TYPE,
            address=applicant.address,
            legal_representative=applicant.legal_representative,
            extra=dict(case.extra or {}),
        )
        licence = build_licence(
            kind,
            facts,
            number=fmt.format(year, seq),
            year=year,
            seq=seq,
            issuer=self.desk.templates.hall.authority,
            issuer_code=self.issuer_code,
            issue_date=moment.date(),
        )
        issued = archive_mod.archive_document(
            uow,
            self.desk.archive,
            self.desk.templates,
            licence,
            device_id=self.desk.device_id,
            actor_name=who.username,
            year=year,
            seq=seq,
            signer=signer,
        )
        append_audit(
            uow.session,
            self.desk.device_id,
            LICENCE_AUDIT,
            actor_id=who.user_id,
            actor_name=who.username,
            window_number=who.window_number,
            target=case.case_number,
            detail={"document_id": str(issued.id), "number": issued.number, "identifier": licence.identifier},
        )
        return IssuedNotice(
            issued.id, issued.doc_type, issued.number, issued.title, issued.sha256, issued.pdf
        )

    # ---- reading -----------------------------------------------------------------------------

    def licence_issued(self, s: Session, case_number: str) -> bool:
        return bool(self._licence_ids(s, case_number))

    @staticmethod
    def _licence_ids(s: Session, case_number: str) -> list[uuid.UUID]:
        details = s.scalars(
            select(AuditEntry.detail).where(
                AuditEntry.action == LICENCE_AUDIT, AuditEntry.target == case_number
            )
        ).all()
        found = []
        for detail in details:
            try:
                found.append(uuid.UUID(str((detail or {}).get("document_id"))))
            except ValueError:
                continue
        return found

    def documents(self, s: Session, case_number: str) -> list[CaseDocumentView]:
        """The archived documents of a case, oldest first: its notices and its licence."""
        s.flush()
        licences = self._licence_ids(s, case_number)
        condition = DocumentRecord.case_ref == case_number
        if licences:
            condition = condition | DocumentRecord.id.in_(licences)
        rows = s.scalars(select(DocumentRecord).where(condition).order_by(DocumentRecord.created_at)).all()
        return [CaseDocumentView(r.id, r.doc_type, r.title, r.number, r.created_at) for r in rows]

    def open(self, uow: UnitOfWork, document_id: uuid.UUID) -> IssuedNotice:
        """An archived document's original bytes (checked against its SHA-256) to preview and print."""
        try:
            found = archive_mod.load(uow, self.desk.archive, document_id)
        except archive_mod.ArchiveError as exc:
            raise UserError(str(exc)) from exc
        return IssuedNotice(found.id, found.doc_type, found.number, found.title, found.sha256, found.pdf)

    # ---- internals ---------------------------------------------------------------------------

    def _title(self, doc_type: DocType) -> str:
        return self.desk.templates.wording(doc_type).title

    def _matter_name(self, code: str) -> str:
        try:
            return self.desk.catalogue.matter(code).name
        except KeyError:
            return code

    def _exhausted(self, doc_type: DocType) -> UserError:
        title = self._title(doc_type) or _("证照")
        return UserError(
            _("本工作台没有可用的{title}编号，请连接中心库补充号段后重试（本次办理未保存）").format(
                title=title
            )
        )

    def _issue(
        self,
        uow: UnitOfWork,
        who: UserSession,
        doc_type: DocType,
        build: Callable[[str], Document],
        moment: dt.datetime,
    ) -> IssuedNotice:
        try:
            issued = archive_mod.issue(
                uow,
                self.desk.archive,
                self.desk.templates,
                doc_type,
                build,
                device_id=self.desk.device_id,
                actor_name=who.username,
                year=moment.year,
                signer=self.desk.signer,
            )
        except BlocksExhausted as exc:
            raise self._exhausted(doc_type) from exc
        return IssuedNotice(
            issued.id, issued.doc_type, issued.number, issued.title, issued.sha256, issued.pdf
        )


def titles(notices: Sequence[IssuedNotice]) -> list[str]:
    """``["准予行政许可决定书 呼政许〔2025〕00001号", …]`` for a case event's detail."""
    return [f"{n.title} {n.number}" for n in notices]
