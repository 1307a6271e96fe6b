"""Plain frozen inputs of the document templates, one per document of DOMAIN.md "Notices".

Services build these from a case; templates only read them. Optional fields are empty strings or
``None``: the template then prints a blank line to be filled in by hand, never the word "None".
Every field listed for a notice in the Administrative Licensing Law art. 32 set is here.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from enum import StrEnum


class DocType(StrEnum):
    """Document types; the value is the key in templates, numbering formats and the archive."""

    ACCEPTANCE = "acceptance"  # 受理通知书
    REFUSAL = "refusal"  # 不予受理通知书
    CORRECTION = "correction"  # 补正材料通知书
    ONE_TIME = "one_time"  # 一次性告知书
    TOLERANCE = "tolerance"  # 容缺受理通知书 (+ 承诺书)
    COMMITMENT = "commitment"  # 告知承诺书
    APPROVAL = "approval"  # 准予许可决定书
    DENIAL = "denial"  # 不予许可决定书
    COMPLETION = "completion"  # 办结通知书
    DELIVERY = "delivery"  # 送达回证
    LICENCE = "licence"  # 证照
    QUEUE_SLIP = "queue_slip"  # 排队小票


@dataclass(frozen=True, slots=True)
class Applicant:
    """The applicant (person or organisation) as printed on a notice."""

    name: str
    id_type: str = ""  # e.g. 居民身份证 / 统一社会信用代码 (display name, not the code)
    id_number: str = ""
    phone: str = ""
    address: str = ""
    agent: str = ""  # 代办人, empty when the applicant came in person


@dataclass(frozen=True, slots=True)
class Material:
    """One submitted or returned material."""

    name: str
    form: str = ""  # 原件 / 复印件 / 电子
    copies: int | None = None
    note: str = ""


@dataclass(frozen=True, slots=True)
class MissingMaterial:
    """A material missing or defective, with the reason told to the applicant (一次性告知)."""

    name: str
    reason: str
    requirement: str = ""  # what an acceptable copy looks like


@dataclass(frozen=True, slots=True)
class DeferredMaterial:
    """A non-key material accepted later under 容缺受理, with its form and deadline."""

    name: str
    form: str
    deadline: dt.date


@dataclass(frozen=True, slots=True)
class CommitmentItem:
    """One proof replaced by the applicant's written commitment (告知承诺制)."""

    proof: str
    legal_basis: str
    promise: str


@dataclass(frozen=True, slots=True)
class Clerk:
    """The clerk who handled the case, and how to reach the window."""

    name: str
    phone: str = ""
    window: str = ""


@dataclass(frozen=True, slots=True)
class AcceptanceNotice:
    """受理通知书 (行政许可法 art. 32)."""

    number: str
    case_no: str
    applicant: Applicant
    matters: tuple[str, ...]
    application_date: dt.date
    accepted_at: dt.datetime
    materials: tuple[Material, ...]
    clerk: Clerk
    promised_date: dt.date
    issue_date: dt.date
    matter_code: str = ""  # selects per-matter wording in the templates


@dataclass(frozen=True, slots=True)
class RefusalNotice:
    """不予受理通知书: reason, legal basis, the authority to turn to, remedies, returned materials."""

    number: str
    case_no: str
    applicant: Applicant
    matters: tuple[str, ...]
    application_date: dt.date
    reason: str
    legal_basis: str
    competent_authority: str  # 可向…申请 (empty if the matter is not for any authority)
    returned_materials: tuple[Material, ...]
    clerk: Clerk
    issue_date: dt.date
    review_body: str = ""  # 行政复议机关; empty → the hall default
    court: str = ""  # 人民法院; empty → the hall default
    matter_code: str = ""


@dataclass(frozen=True, slots=True)
class CorrectionNotice:
    """补正材料通知书 / 一次性告知书: every missing item with its reason, the deadline, a receipt."""

    number: str
    case_no: str
    matter: str
    applicant: Applicant
    missing: tuple[MissingMaterial, ...]
    deadline: dt.date
    enquiry_phone: str
    issue_date: dt.date
    one_time: bool = False  # True → titled 一次性告知书
    matter_code: str = ""

    @property
    def doc_type(self) -> DocType:
        return DocType.ONE_TIME if self.one_time else DocType.CORRECTION


@dataclass(frozen=True, slots=True)
class ToleranceNotice:
    """容缺受理通知书 and the applicant's 承诺书 on its own page."""

    number: str
    case_no: str
    matter: str
    applicant: Applicant
    deferred: tuple[DeferredMaterial, ...]
    clerk: Clerk
    issue_date: dt.date
    consequence: str = ""  # empty → the template's wording
    matter_code: str = ""


@dataclass(frozen=True, slots=True)
class CommitmentLetter:
    """告知承诺书: matter, proofs replaced with their basis, promise, liability, verification, signature."""

    number: str
    matter: str
    applicant: Applicant
    items: tuple[CommitmentItem, ...]
    verification: str
    issue_date: dt.date
    liability: str = ""  # empty → the template's wording
    matter_code: str = ""
    case_no: str = ""  # the case the commitment was made for (empty for a blank letter)
    verification_deadline: dt.date | None = None  # the authority verifies the promise by this day


class DecisionKind(StrEnum):
    APPROVAL = "approval"  # 准予许可决定书
    DENIAL = "denial"  # 不予许可决定书
    COMPLETION = "completion"  # 办结通知书


@dataclass(frozen=True, slots=True)
class DecisionNotice:
    """准予/不予许可决定书 and 办结通知书: decision no., content, basis, date, seal; remedies on refusal."""

    kind: DecisionKind
    number: str
    case_no: str
    matter: str
    applicant: Applicant
    content: str
    legal_basis: str
    decision_date: dt.date
    reason: str = ""  # required for a denial
    review_body: str = ""
    court: str = ""
    pickup: str = ""  # how the result is delivered (领取方式)
    matter_code: str = ""

    @property
    def doc_type(self) -> DocType:
        return DocType(self.kind.value)


@dataclass(frozen=True, slots=True)
class DeliveryReceipt:
    """送达回证: what was delivered, to whom, when (to the minute), where, how, who signed."""

    number: str
    document_title: str
    document_number: str
    recipient: str
    served_at: dt.datetime
    place: str
    method: str
    server: str
    witness: str = ""
    remarks: str = ""
    case_no: str = ""


@dataclass(frozen=True, slots=True)
class LicenceItem:
    """One licence-specific line (e.g. 经营项目, 住所) as label and value."""

    label: str
    value: str


@dataclass(frozen=True, slots=True)
class Licence:
    """A licence or certificate with its GB/T 36901 identifier and signed verification QR."""

    title: str  # 食品经营许可证 …
    holder: str
    holder_code: str
    holder_code_type: str  # "111" resident ID / "001" unified social credit code
    licence_number: str
    issuer: str
    issuer_code: str
    issue_date: dt.date
    valid_from: dt.date
    valid_until: dt.date | None  # None → 长期
    identifier: str  # 1.2.156.3005.2.{type}.{issuer}.{serial}.{version}.{check}
    items: tuple[LicenceItem, ...] = field(default=())


@dataclass(frozen=True, slots=True)
class QueueSlip:
    """The ticket printed by the kiosk on 80 mm receipt paper."""

    ticket_number: str
    category: str
    people_ahead: int
    issued_at: dt.datetime
    hall_name: str = ""  # empty → the hall template's name
    note: str = ""


Document = (
    AcceptanceNotice
    | RefusalNotice
    | CorrectionNotice
    | ToleranceNotice
    | CommitmentLetter
    | DecisionNotice
    | DeliveryReceipt
    | Licence
    | QueueSlip
)
