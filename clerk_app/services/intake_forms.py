"""What an intake form is made of: the data coming in (``IntakeForm`` and its parts), the data going
out (``CaseResult``, problems, drafts, returning applicants), the field labels and the text rules
every field obeys (see :mod:`clerk_app.services.intake`)."""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum

from clerk_app.domain.case_states import CaseEvent
from clerk_app.domain.catalogue import (
    Matter,
)
from clerk_app.domain.halltime import HALL_TZ
from clerk_app.domain.identifiers import (
    DocumentType,
    Notice,
)
from clerk_app.i18n import N_, _
from clerk_app.services.errors import UserError
from clerk_app.services.intake_notices import IssuedNotice

#: the hall's time zone (China Standard Time, no daylight saving): service days and promises
CHINA = HALL_TZ
ORGANISATION_ID_TYPE = "001"  # holder code type of a unified social credit code
MAX_DRAFT_CHARS = 2_000_000
MAX_MATTERS = 30
#: cases still being worked on (回头件 offers these)
OPEN_STATES = (
    "received",
    "accepted",
    "correction_requested",
    "in_review",
    "special_procedure",
)


class ApplicantKind(StrEnum):
    PERSON = "person"
    ORGANISATION = "organisation"


class MaterialState(StrEnum):
    RECEIVED = "received"
    MISSING = "missing"
    DEFERRED = "deferred"  # 容缺受理
    COMMITMENT = "commitment"  # 告知承诺


class Delivery(StrEnum):
    PICKUP = "pickup"
    MAIL = "mail"


class Outcome(StrEnum):
    ACCEPT = "accept"
    CORRECTION = "correction"
    REFUSE = "refuse"
    ON_THE_SPOT = "on_the_spot"


# ---- data in --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ApplicantIn:
    kind: str = ApplicantKind.PERSON
    id_type: str = DocumentType.RESIDENT_ID.code  # ignored for organisations
    id_number: str = ""
    name: str = ""
    phone: str = ""
    address: str = ""
    legal_representative: str = ""  # organisations


@dataclass(frozen=True, slots=True)
class AgentIn:
    """代办人 acting for the applicant (帮代办)."""

    name: str = ""
    id_type: str = DocumentType.RESIDENT_ID.code
    id_number: str = ""
    phone: str = ""

    @property
    def is_empty(self) -> bool:
        return not (self.name.strip() or self.id_number.strip() or self.phone.strip())


@dataclass(frozen=True, slots=True)
class MaterialIn:
    """The clerk's mark on one material of the merged list (by its catalogue key)."""

    key: str
    state: str = MaterialState.RECEIVED
    form: str = ""  # original | copy | electronic; blank = as the catalogue asks
    count: int = 1
    due: dt.date | None = None  # deferred materials: when it must be supplied
    note: str = ""


@dataclass(frozen=True, slots=True)
class IntakeForm:
    applicant: ApplicantIn = field(default_factory=ApplicantIn)
    matter_codes: tuple[str, ...] = ()
    bundle_code: str = ""
    materials: tuple[MaterialIn, ...] = ()
    agent: AgentIn | None = None
    delivery: str = Delivery.PICKUP
    delivery_address: str = ""
    cross_region: bool = False  # 跨省通办
    other_region: str = ""
    ticket_number: str = ""
    note: str = ""
    #: values of the matter-specific fields (catalogue ``ExtraField``), as (field name, text)
    extra: tuple[tuple[str, str], ...] = ()
    #: the id of the queue ticket being served (from the queue panel), and whether it is a ticket of
    #: this window's local queue (offline) rather than of the hall's central queue
    ticket_id: str = ""
    ticket_offline: bool = False


# ---- data out -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class FieldProblem:
    """One blocker: the form field it concerns (dotted path) and the message in the UI language."""

    field: str
    message: str


class IntakeError(UserError):
    """The form cannot take the asked outcome; ``problems`` lists every blocker."""

    def __init__(self, problems: Iterable[FieldProblem]) -> None:
        self.problems = tuple(problems)
        lines = "\n".join(f"{i}. {p.message}" for i, p in enumerate(self.problems, 1))
        first = self.problems[0].field if self.problems else None
        super().__init__(_("表单不能办理，请先处理以下问题：") + "\n" + lines, field=first)


@dataclass(frozen=True, slots=True)
class MaterialLine:
    key: str
    name: str
    required: bool
    state: str
    form: str
    count: int
    due: dt.date | None
    note: str


@dataclass(frozen=True, slots=True)
class CaseResult:
    case_id: uuid.UUID
    case_number: str
    status: str
    status_label: str
    applicant_name: str
    matter_codes: tuple[str, ...]
    matter_names: tuple[str, ...]
    received_at: dt.datetime
    accepted_at: dt.datetime | None
    promised_due: dt.datetime | None
    promised_date: dt.date | None
    provisional: bool
    materials: tuple[MaterialLine, ...]
    missing: tuple[MaterialLine, ...]  # 补正: everything still to supply
    returned: tuple[MaterialLine, ...]  # 不予受理: materials handed back
    notice: str  # the notice to print for this outcome
    warnings: tuple[str, ...] = ()
    extra: tuple[tuple[str, str], ...] = ()
    #: the notices issued with the outcome (numbered, rendered, archived in its unit of work)
    documents: tuple[IssuedNotice, ...] = ()
    #: the served ticket was linked to this case in the queue (see ``IntakeService.tickets``)
    ticket_linked: bool = False


@dataclass(frozen=True, slots=True)
class OpenCase:
    case_number: str
    status: str
    status_label: str
    matter_names: tuple[str, ...]
    received_at: dt.datetime
    promised_date: dt.date | None
    case_id: uuid.UUID | None = None


@dataclass(frozen=True, slots=True)
class ReturningApplicant:
    """回头件: an applicant already known to this workstation, with their cases still open."""

    kind: str
    id_type: str
    id_number: str
    name: str
    phone: str
    address: str
    legal_representative: str
    open_cases: tuple[OpenCase, ...]


@dataclass(frozen=True, slots=True)
class DraftInfo:
    id: uuid.UUID
    label: str
    window_number: int | None
    created_at: dt.datetime
    updated_at: dt.datetime
    form: IntakeForm


# ---- field names and labels -----------------------------------------------------------------

_LABELS: Mapping[str, str] = {
    "applicant.kind": N_("申请人类型"),
    "applicant.id_type": N_("证件类型"),
    "applicant.id_number": N_("证件号码"),
    "applicant.name": N_("申请人名称"),
    "applicant.phone": N_("联系电话"),
    "applicant.address": N_("联系地址"),
    "applicant.legal_representative": N_("法定代表人"),
    "agent.name": N_("代办人姓名"),
    "agent.id_type": N_("代办人证件类型"),
    "agent.id_number": N_("代办人证件号码"),
    "agent.phone": N_("代办人电话"),
    "matters": N_("办理事项"),
    "bundle_code": N_("一件事主题"),
    "materials": N_("申请材料"),
    "delivery": N_("送达方式"),
    "delivery_address": N_("邮寄地址"),
    "other_region": N_("跨省通办地区"),
    "ticket_number": N_("排队号"),
    "ticket_id": N_("排队号"),
    "note": N_("备注"),
    "extra": N_("事项信息"),
    "authority": N_("有权受理机关"),
    "reason": N_("理由"),
    "legal_basis": N_("法律依据"),
}

_NOTICES: Mapping[Outcome, str] = {
    Outcome.ACCEPT: N_("受理通知书"),
    Outcome.CORRECTION: N_("一次性告知书"),
    Outcome.REFUSE: N_("不予受理通知书"),
    Outcome.ON_THE_SPOT: N_("办结通知书"),
}

_EVENTS: Mapping[Outcome, CaseEvent] = {
    Outcome.ACCEPT: CaseEvent.ACCEPT,
    Outcome.CORRECTION: CaseEvent.REQUEST_CORRECTION,
    Outcome.REFUSE: CaseEvent.REJECT,
    Outcome.ON_THE_SPOT: CaseEvent.COMPLETE_ON_SPOT,
}

_BIDI = frozenset("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
_BAD_CATEGORIES = frozenset({"Cc", "Cs", "Co", "Cn", "Zl", "Zp"})
_LANDLINE = re.compile(r"^0\d{9,11}$")
_PHONE_NOISE = re.compile(r"[\s\u3000\-()（）]")


def service_day(at: dt.datetime) -> dt.date:
    """The hall's day of ``at``: case numbers restart at local midnight."""
    return at.astimezone(CHINA).date()


def _label(name: str) -> str:
    return _(_LABELS[name])


def _shown(text: str, limit: int = 30) -> str:
    """A user's value quoted back safely in a message: printable and short."""
    clean = "".join(ch if ch.isprintable() and ch not in _BIDI else "�" for ch in text)
    return clean if len(clean) <= limit else clean[:limit] + "…"


class _Findings:
    def __init__(self) -> None:
        self.problems: list[FieldProblem] = []
        self.warnings: list[str] = []

    def add(self, name: str, message: str) -> None:
        self.problems.append(FieldProblem(name, message))

    def text(
        self, name: str, value: object, limit: int, *, required: bool = False, lines: bool = False
    ) -> str:
        """``value`` stripped and checked; a problem is recorded (and ``""`` returned) if unusable."""
        if not isinstance(value, str):
            self.add(name, _("{label}应为文字").format(label=_label(name)))
            return ""
        text = unicodedata.normalize("NFC", value).strip()
        for position, ch in enumerate(text, 1):
            allowed_break = lines and ch in "\n\t"
            if not allowed_break and (ch in _BIDI or unicodedata.category(ch) in _BAD_CATEGORIES):
                self.add(
                    name,
                    _("{label}第 {position} 个字符（U+{code:04X}）是不允许的控制字符").format(
                        label=_label(name), position=position, code=ord(ch)
                    ),
                )
                return ""
        if len(text) > limit:
            self.add(
                name,
                _("{label}过长：{actual} 个字符，最多 {limit} 个").format(
                    label=_label(name), actual=len(text), limit=limit
                ),
            )
            return ""
        if required and not text:
            self.add(name, _("请填写{label}").format(label=_label(name)))
        return text

    def notices(self, name: str, found: Iterable[Notice]) -> None:
        self.warnings.extend(
            _("{label}：{message}").format(label=_label(name), message=n.message) for n in found
        )


# ---- checking a form ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _CleanApplicant:
    kind: ApplicantKind
    id_type: str
    id_number: str
    name: str
    phone: str
    address: str
    legal_representative: str


@dataclass(frozen=True, slots=True)
class _CleanAgent:
    name: str
    id_type: str
    id_number: str
    phone: str


@dataclass(frozen=True, slots=True)
class _Checked:
    applicant: _CleanApplicant
    agent: _CleanAgent | None
    matters: tuple[Matter, ...]
    bundle_code: str
    lines: tuple[MaterialLine, ...]
    missing: tuple[MaterialLine, ...]
    delivery: Delivery
    delivery_address: str
    cross_region: bool
    other_region: str
    ticket_number: str
    note: str
    reason: str
    legal_basis: str
    promised_due: dt.datetime | None
    provisional: bool
    warnings: tuple[str, ...]
    extra: tuple[tuple[str, str], ...] = ()
    authority: str = ""
    ticket_id: uuid.UUID | None = None
    ticket_offline: bool = False
