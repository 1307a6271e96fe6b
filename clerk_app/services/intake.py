"""One-form intake (一窗受理): drafts of the form, and its four outcomes at the window.

Outcomes — each one unit of work on the local store and exactly one case event carrying the
time, clerk, window and reason:

* :meth:`IntakeService.accept` — 受理: received → accepted; promised completion from the deadline
  engine over every matter's promised limit (the latest wins), provisional where the calendar is.
* :meth:`IntakeService.request_correction` — 补正: received → correction requested; the complete
  list of missing materials is computed from the form and told at once.
* :meth:`IntakeService.refuse` — 不予受理: received → not accepted; reason and legal basis
  required; the materials handed in are listed as returned.
* :meth:`IntakeService.done_on_the_spot` — 即办件: received → approved (only when every matter is
  of case type 即办件 and no material is deferred).

A form that cannot take the asked outcome raises :class:`IntakeError` (a ``UserError``) listing
*every* blocker at once, each tied to the form field it concerns; nothing is written then.
:func:`validate` gives the same findings without writing, for marking fields as they are typed.

Text rules: every text field is stripped, must fit its column, and may not contain control,
unassigned, private-use or bidirectional-override characters (they corrupt printed notices and
can disguise a name); multi-line fields (reasons, notes) may contain line breaks and tabs.

Case numbers: ``{YYYYMMDD}{window:03}{seq:04}-{DEVICE}``, e.g. ``202611280070012-3F9A1C``: the
hall's service day, the window, a sequence per day and window kept in this workstation's store,
and the last six hex digits of this workstation's device id (the random part of its UUIDv7).
Numbers are therefore made offline with no coordination and stay readable and sortable by day and
window; the device suffix keeps two workstations apart even when they serve the same window number
on the same day (a clerk moving desks, a replaced PC). The unique
index on ``cases.case_number`` is the backstop.

Drafts are local to this workstation (``intake_drafts``, not synced), stored per clerk as
ASCII-escaped JSON so that whatever was typed survives; saving a draft never validates the form.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import unicodedata
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import asdict, dataclass, field, replace
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from clerk_app.domain import case_states
from clerk_app.domain.case_states import CaseEvent, CaseState
from clerk_app.domain.catalogue import (
    CaseType,
    Catalogue,
    ExtraField,
    FieldType,
    Material,
    MaterialForm,
    Matter,
    merge_materials,
)
from clerk_app.domain.catalogue_io import load_demo_catalogue
from clerk_app.domain.deadlines import OfficeHours, compute_deadline
from clerk_app.domain.halltime import HALL_TZ
from clerk_app.domain.identifiers import (
    DocumentType,
    IdentifierError,
    Notice,
    parse_credit_code,
    parse_document,
    parse_mobile,
)
from clerk_app.domain.workdays import WorkCalendar
from clerk_app.i18n import N_, _
from clerk_app.security.roles import Permission
from clerk_app.services.auth import UserSession
from clerk_app.services.errors import UserError
from clerk_app.services.intake_notices import IssuedNotice, NoticeIssuer
from clerk_app.store.base import utcnow
from clerk_app.store.models.cases import (
    Applicant,
    Case,
    CaseCounter,
    CaseEventRecord,
    CaseMaterial,
    IntakeDraft,
)
from clerk_app.store.uow import Store

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


@dataclass(frozen=True, slots=True)
class OpenCase:
    case_number: str
    status: str
    status_label: str
    matter_names: tuple[str, ...]
    received_at: dt.datetime
    promised_date: dt.date | None


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


def _service_day(at: dt.datetime) -> dt.date:
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


def _identity(f: _Findings, prefix: str, id_type: object, number: object, today: dt.date) -> tuple[str, str]:
    """Validate a personal document (type code + number) into its normalised form."""
    type_field, number_field = f"{prefix}.id_type", f"{prefix}.id_number"
    raw_type = f.text(type_field, id_type, 8, required=True)
    raw_number = f.text(number_field, number, 64, required=True)
    kind: DocumentType | None = None
    if raw_type:
        try:
            kind = DocumentType.from_code(raw_type)
        except ValueError:
            f.add(type_field, _("证件类型代码“{code}”无效").format(code=_shown(raw_type)))
    if kind is None or not raw_number:
        return (kind.code if kind else raw_type), raw_number
    try:
        parsed = parse_document(kind, raw_number, today)
    except IdentifierError as exc:
        f.add(number_field, _("{label}有误：{reason}").format(label=_label(number_field), reason=exc.message))
        return kind.code, raw_number
    f.notices(number_field, parsed.warnings)
    return kind.code, parsed.normalised


def _phone(f: _Findings, name: str, value: object, *, required: bool) -> str:
    raw = f.text(name, value, 32, required=required)
    if not raw:
        return ""
    try:
        return parse_mobile(raw).number
    except IdentifierError as exc:
        landline = _PHONE_NOISE.sub("", raw)
        if _LANDLINE.match(landline):
            return landline
        f.add(name, _("{label}有误：{reason}").format(label=_label(name), reason=exc.message))
        return raw


def _applicant(f: _Findings, given: object, today: dt.date) -> _CleanApplicant:
    a = given if isinstance(given, ApplicantIn) else ApplicantIn()
    kind_text = f.text("applicant.kind", a.kind, 16, required=True)
    try:
        kind = ApplicantKind(kind_text)
    except ValueError:
        f.add("applicant.kind", _("申请人类型应为自然人或法人/组织"))
        kind = ApplicantKind.PERSON
    name = f.text("applicant.name", a.name, 100, required=True)
    phone = _phone(f, "applicant.phone", a.phone, required=True)
    address = f.text("applicant.address", a.address, 300)
    legal_rep = ""
    if kind is ApplicantKind.ORGANISATION:
        id_type = ORGANISATION_ID_TYPE
        code = f.text("applicant.id_number", a.id_number, 64, required=True)
        if code:
            try:
                credit = parse_credit_code(code)
                code = credit.code
                f.notices("applicant.id_number", credit.warnings)
            except IdentifierError as exc:
                f.add(
                    "applicant.id_number",
                    _("统一社会信用代码有误：{reason}").format(reason=exc.message),
                )
        legal_rep = f.text("applicant.legal_representative", a.legal_representative, 100, required=True)
        number = code
    else:
        id_type, number = _identity(f, "applicant", a.id_type, a.id_number, today)
    return _CleanApplicant(kind, id_type, number, name, phone, address, legal_rep)


def _agent(f: _Findings, given: object, today: dt.date) -> _CleanAgent | None:
    if given is None:
        return None
    if not isinstance(given, AgentIn):
        f.add("agent.name", _("代办人信息无效"))
        return None
    if all(isinstance(v, str) and not v.strip() for v in (given.name, given.id_number, given.phone)):
        return None
    name = f.text("agent.name", given.name, 100, required=True)
    id_type, number = _identity(f, "agent", given.id_type, given.id_number, today)
    phone = _phone(f, "agent.phone", given.phone, required=True)
    return _CleanAgent(name, id_type, number, phone)


def _matters(f: _Findings, form: IntakeForm, catalogue: Catalogue) -> tuple[tuple[Matter, ...], str]:
    codes: list[str] = []
    bundle_code = f.text("bundle_code", form.bundle_code, 40)
    if bundle_code:
        try:
            codes.extend(catalogue.bundle(bundle_code).matter_codes)
        except KeyError:
            f.add("bundle_code", _("一件事主题“{code}”不在事项目录中").format(code=_shown(bundle_code)))
    given = form.matter_codes if isinstance(form.matter_codes, tuple | list) else ()
    if len(given) > MAX_MATTERS:
        f.add("matters", _("一次最多办理 {limit} 个事项").format(limit=MAX_MATTERS))
        given = ()
    for raw in given:
        code = f.text("matters", raw, 64)
        if code:
            codes.append(code)
    found: dict[str, Matter] = {}
    for code in codes:
        try:
            matter = catalogue.matter(code)
        except KeyError:
            f.add("matters", _("事项编码“{code}”不在事项目录中").format(code=_shown(code)))
            continue
        found.setdefault(matter.implementation_code, matter)
    if not found and not any(p.field in ("matters", "bundle_code") for p in f.problems):
        f.add("matters", _("请至少选择一个办理事项"))
    return tuple(found.values()), bundle_code


def _materials(
    f: _Findings, form: IntakeForm, merged: tuple[Material, ...], outcome: Outcome, today: dt.date
) -> tuple[tuple[MaterialLine, ...], tuple[MaterialLine, ...], list[tuple[str, dt.date]]]:
    """The marked material lines, the required ones still missing, and (name, due) of deferrals."""
    by_key = {m.key: m for m in merged}
    marks: dict[str, MaterialIn] = {}
    given = form.materials if isinstance(form.materials, tuple | list) else ()
    for mark in given:
        key = mark.key if isinstance(mark, MaterialIn) and isinstance(mark.key, str) else ""
        if key not in by_key:
            f.add("materials", _("材料“{key}”不属于所选事项").format(key=_shown(str(key))))
        elif key in marks:
            f.add("materials", _("材料“{name}”重复勾选").format(name=by_key[key].name))
        else:
            marks[key] = mark
    lines: list[MaterialLine] = []
    missing: list[MaterialLine] = []
    deferred: list[tuple[str, dt.date]] = []
    for material in merged:
        line, lacking = _material_line(f, material, marks.get(material.key), outcome, today, deferred)
        lines.append(line)
        if lacking:
            missing.append(line)
    return tuple(lines), tuple(missing), deferred


def _material_line(
    f: _Findings,
    material: Material,
    mark: MaterialIn | None,
    outcome: Outcome,
    today: dt.date,
    deferred: list[tuple[str, dt.date]],
) -> tuple[MaterialLine, bool]:
    name = material.name
    if mark is None:
        state = MaterialState.MISSING
        return MaterialLine(material.key, name, material.required, state, "", 0, None, ""), material.required
    note = f.text("materials", mark.note, 300, lines=True)
    try:
        state = MaterialState(mark.state)
    except ValueError:
        f.add("materials", _("材料“{name}”的状态无效").format(name=name))
        state = MaterialState.MISSING
    form_text = mark.form if isinstance(mark.form, str) and mark.form else material.form.value
    try:
        form_value = MaterialForm(form_text).value
    except ValueError:
        f.add("materials", _("材料“{name}”的形式无效").format(name=name))
        form_value = material.form.value
    count = mark.count if isinstance(mark.count, int) and not isinstance(mark.count, bool) else -1
    due = mark.due if isinstance(mark.due, dt.date) and not isinstance(mark.due, dt.datetime) else None
    lacking = False
    if state is MaterialState.RECEIVED:
        if not 1 <= count <= 999:
            f.add("materials", _("材料“{name}”的份数应在 1 到 999 之间").format(name=name))
    elif state is MaterialState.MISSING:
        lacking = material.required
    elif state is MaterialState.DEFERRED:
        if not material.deferrable:
            f.add("materials", _("材料“{name}”不可容缺受理").format(name=name))
            lacking = material.required
        elif outcome is Outcome.ON_THE_SPOT:
            f.add("materials", _("即办件不能容缺：材料“{name}”须当场提交").format(name=name))
        elif due is None:
            f.add("materials", _("容缺材料“{name}”须填写补交日期").format(name=name))
        elif due < today:
            f.add("materials", _("容缺材料“{name}”的补交日期不能早于今天").format(name=name))
        else:
            deferred.append((name, due))
    elif state is MaterialState.COMMITMENT and not material.commitment_allowed:
        f.add("materials", _("材料“{name}”不适用告知承诺").format(name=name))
        lacking = material.required
    counted = count if state is MaterialState.RECEIVED and count > 0 else 0
    shown_form = form_value if state is MaterialState.RECEIVED else ""
    shown_due = due if state is MaterialState.DEFERRED else None
    line = MaterialLine(material.key, name, material.required, state, shown_form, counted, shown_due, note)
    return line, lacking


def extra_fields_of(matters: Iterable[Matter]) -> tuple[ExtraField, ...]:
    """The matter-specific fields of ``matters``, merged by field name in first-seen order (a field
    two matters share, e.g. 经营范围, is asked once; it is required if any matter requires it)."""
    merged: dict[str, ExtraField] = {}
    for matter in matters:
        for extra in matter.extra_fields:
            seen = merged.get(extra.name)
            if seen is None:
                merged[extra.name] = extra
            elif extra.required and not seen.required:
                merged[extra.name] = ExtraField(seen.name, seen.label, seen.type, True, seen.choices)
    return tuple(merged.values())


def _extras(
    f: _Findings, form: IntakeForm, matters: tuple[Matter, ...], outcome: Outcome
) -> tuple[tuple[str, str], ...]:
    """The values of the chosen matters' extra fields, checked by type; values of fields no chosen
    matter asks for are dropped. Required fields block acceptance and on-the-spot completion."""
    given: dict[str, object] = {}
    pairs = form.extra if isinstance(form.extra, tuple | list) else ()
    for pair in pairs[:200]:
        if isinstance(pair, tuple | list) and len(pair) == 2 and isinstance(pair[0], str):
            given[pair[0]] = pair[1]
    needs_all = outcome in (Outcome.ACCEPT, Outcome.ON_THE_SPOT)
    values: list[tuple[str, str]] = []
    for extra in extra_fields_of(matters):
        name = f"extra.{extra.name}"
        raw = given.get(extra.name, "")
        if not isinstance(raw, str):
            f.add(name, _("“{label}”应为文字").format(label=extra.label))
            continue
        before = len(f.problems)
        text = f.text("extra", raw, 1000, lines=extra.type is FieldType.TEXT)
        if len(f.problems) > before:
            problem = f.problems.pop()
            f.add(name, _("“{label}”：{message}").format(label=extra.label, message=problem.message))
            continue
        if not text:
            if extra.required and needs_all:
                f.add(name, _("请填写“{label}”").format(label=extra.label))
            continue
        if extra.type is FieldType.NUMBER:
            try:
                number = Decimal(text.replace(",", "").replace("，", ""))
            except InvalidOperation:
                number = Decimal("NaN")
            if not number.is_finite() or number < 0:
                f.add(name, _("“{label}”应为不小于 0 的数字").format(label=extra.label))
                continue
            text = format(number.normalize(), "f") if number == number.to_integral() else format(number, "f")
        elif extra.type is FieldType.DATE:
            try:
                text = dt.date.fromisoformat(text).isoformat()
            except ValueError:
                f.add(name, _("“{label}”应为日期，如 2026-01-31").format(label=extra.label))
                continue
        elif extra.type is FieldType.CHOICE and text not in extra.choices:
            f.add(
                name,
                _("“{label}”应为以下之一：{choices}").format(
                    label=extra.label, choices="、".join(extra.choices)
                ),
            )
            continue
        values.append((extra.name, text))
    return tuple(values)


class IntakeRules:
    """The checks of an intake form against the catalogue and the working-day calendar."""

    def __init__(self, catalogue: Catalogue, calendar: WorkCalendar, office: OfficeHours | None = None):
        self.catalogue = catalogue
        self.calendar = calendar
        self.office = office or OfficeHours()

    def check(
        self,
        form: object,
        outcome: Outcome,
        now: dt.datetime,
        reason: object = "",
        legal_basis: object = "",
        authority: object = "",
    ) -> tuple[_Checked | None, tuple[FieldProblem, ...]]:
        f = _Findings()
        if not isinstance(form, IntakeForm):
            return None, (FieldProblem("form", _("表单数据无效")),)
        today = _service_day(now)
        applicant = _applicant(f, form.applicant, today)
        agent = _agent(f, form.agent, today)
        matters, bundle_code = _matters(f, form, self.catalogue)
        merged = merge_materials(m.materials for m in matters)
        lines, missing, deferred = _materials(f, form, merged, outcome, today)
        delivery = self._delivery(f, form)
        address = f.text("delivery_address", form.delivery_address, 300, required=delivery is Delivery.MAIL)
        cross = form.cross_region is True
        other = f.text("other_region", form.other_region, 100, required=cross)
        ticket = f.text("ticket_number", form.ticket_number, 16)
        note = f.text("note", form.note, 1000, lines=True)
        reason_text = f.text("reason", reason, 500, lines=True, required=outcome is Outcome.REFUSE)
        basis = f.text("legal_basis", legal_basis, 500, lines=True, required=outcome is Outcome.REFUSE)
        competent = f.text("authority", authority, 200)
        extra = _extras(f, form, matters, outcome)
        promised: dt.datetime | None = None
        provisional = False
        if outcome in (Outcome.ACCEPT, Outcome.ON_THE_SPOT) and missing:
            names = "、".join(line.name for line in missing)
            f.add("materials", _("缺少必需材料：{names}").format(names=names))
        if outcome is Outcome.CORRECTION and matters and not missing:
            f.add("materials", _("必需材料已齐全，无需补正"))
        if outcome is Outcome.ON_THE_SPOT:
            for matter in matters:
                if matter.case_type is not CaseType.IMMEDIATE:
                    f.add("matters", _("“{name}”不是即办件，不能当场办结").format(name=matter.name))
        if outcome is Outcome.ACCEPT and matters:
            promised, provisional = self.promised(matters, now)
            if promised is not None:
                for name, due in deferred:
                    if due > promised.date():
                        f.add(
                            "materials",
                            _("容缺材料“{name}”的补交日期 {due} 晚于承诺办结日期 {promised}").format(
                                name=name, due=due.isoformat(), promised=promised.date().isoformat()
                            ),
                        )
        if f.problems:
            return None, tuple(f.problems)
        checked = _Checked(
            applicant,
            agent,
            matters,
            bundle_code,
            lines,
            missing,
            delivery,
            address,
            cross,
            other,
            ticket,
            note,
            reason_text,
            basis,
            promised,
            provisional,
            tuple(f.warnings),
            extra,
            competent,
        )
        return checked, ()

    def promised(self, matters: Iterable[Matter], now: dt.datetime) -> tuple[dt.datetime | None, bool]:
        """The latest promised completion over ``matters`` (aware, hall time) and its provisional flag."""
        local = now.astimezone(CHINA).replace(tzinfo=None)
        latest: dt.datetime | None = None
        provisional = False
        for matter in matters:
            deadline = compute_deadline(local, matter.promised_limit, self.calendar, office=self.office)
            due = deadline.due.replace(tzinfo=CHINA)
            provisional = provisional or deadline.provisional
            latest = due if latest is None or due > latest else latest
        return latest, provisional

    @staticmethod
    def _delivery(f: _Findings, form: IntakeForm) -> Delivery:
        try:
            return Delivery(form.delivery)
        except ValueError:
            f.add("delivery", _("送达方式应为窗口领取或邮寄"))
            return Delivery.PICKUP


# ---- drafts: form <-> JSON ------------------------------------------------------------------


def form_to_dict(form: IntakeForm) -> dict[str, Any]:
    data = asdict(form)
    data["materials"] = [
        {**m, "due": m["due"].isoformat() if isinstance(m["due"], dt.date) else None}
        for m in data["materials"]
    ]
    data["matter_codes"] = list(data["matter_codes"])
    data["extra"] = [list(pair) for pair in data["extra"]]
    return data


def _str(data: Mapping[str, Any], key: str, default: str = "") -> str:
    value = data.get(key, default)
    return value if isinstance(value, str) else default


def _date(value: object) -> dt.date | None:
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value)
        except ValueError:
            return None
    return None


def form_from_dict(data: object) -> IntakeForm:
    """A form back from its stored dict; anything unreadable falls back to the empty value."""
    if not isinstance(data, dict):
        return IntakeForm()
    a = data.get("applicant") if isinstance(data.get("applicant"), dict) else {}
    assert isinstance(a, dict)
    applicant = ApplicantIn(
        **{k: _str(a, k, getattr(ApplicantIn(), k)) for k in ApplicantIn.__dataclass_fields__}
    )
    g = data.get("agent")
    agent = (
        AgentIn(**{k: _str(g, k, getattr(AgentIn(), k)) for k in AgentIn.__dataclass_fields__})
        if isinstance(g, dict)
        else None
    )
    materials = []
    for m in data.get("materials") or ():
        if isinstance(m, dict) and isinstance(m.get("key"), str):
            count = m.get("count")
            materials.append(
                MaterialIn(
                    key=m["key"],
                    state=_str(m, "state", MaterialState.RECEIVED),
                    form=_str(m, "form"),
                    count=count if isinstance(count, int) and not isinstance(count, bool) else 1,
                    due=_date(m.get("due")),
                    note=_str(m, "note"),
                )
            )
    codes = data.get("matter_codes")
    return IntakeForm(
        applicant=applicant,
        matter_codes=tuple(c for c in codes if isinstance(c, str)) if isinstance(codes, list) else (),
        bundle_code=_str(data, "bundle_code"),
        materials=tuple(materials),
        agent=agent,
        delivery=_str(data, "delivery", Delivery.PICKUP),
        delivery_address=_str(data, "delivery_address"),
        cross_region=data.get("cross_region") is True,
        other_region=_str(data, "other_region"),
        ticket_number=_str(data, "ticket_number"),
        note=_str(data, "note"),
        extra=tuple(
            (pair[0], pair[1])
            for pair in (data.get("extra") or ())
            if isinstance(pair, list) and len(pair) == 2 and all(isinstance(v, str) for v in pair)
        ),
    )


def _draft_label(form: IntakeForm) -> str:
    name = form.applicant.name if isinstance(form.applicant.name, str) else ""
    shown = _shown(name.strip(), 60) if name.strip() else ""
    return shown or _("未填写申请人")


# ---- the service ----------------------------------------------------------------------------


class IntakeService:
    """Intake at a window on the local store of this workstation."""

    def __init__(
        self,
        store: Store,
        catalogue: Catalogue | None = None,
        calendar: WorkCalendar | None = None,
        *,
        office: OfficeHours | None = None,
        clock: Callable[[], dt.datetime] = utcnow,
        notices: NoticeIssuer | None = None,
    ) -> None:
        self._store = store
        self._clock = clock
        #: when set, every outcome issues its notice(s) in the outcome's own unit of work
        self.notices = notices
        self.rules = IntakeRules(catalogue or load_demo_catalogue(), calendar or WorkCalendar(), office)

    @property
    def catalogue(self) -> Catalogue:
        return self.rules.catalogue

    # ---- checking without writing -------------------------------------------------------------

    def validate(
        self, form: IntakeForm, outcome: Outcome = Outcome.ACCEPT, reason: str = "", legal_basis: str = ""
    ) -> tuple[FieldProblem, ...]:
        """Every blocker of ``outcome`` for ``form`` now (empty when it may proceed)."""
        return self.rules.check(form, outcome, self._clock(), reason, legal_basis)[1]

    def materials_for(self, matter_codes: Iterable[str], bundle_code: str = "") -> tuple[Material, ...]:
        """The merged material list (no duplicates) of the chosen matters and bundle."""
        codes = list(self.catalogue.bundle(bundle_code).matter_codes) if bundle_code else []
        codes.extend(matter_codes)
        matters: dict[str, Matter] = {}
        for code in codes:
            matter = self.catalogue.matter(code)
            matters.setdefault(matter.implementation_code, matter)
        return merge_materials(m.materials for m in matters.values())

    def find_returning(
        self, session: UserSession, kind: str, id_type: str, id_number: str
    ) -> ReturningApplicant | None:
        """回头件: the known applicant with this identity (the number normalised as the rules do),
        with their open cases, newest first; ``None`` when unknown or the number is not valid."""
        session.require(Permission.SERVE)
        applicant = ApplicantIn(
            kind=kind, id_type=id_type, id_number=id_number, name="-", phone="13800138000"
        )
        f = _Findings()
        clean = _applicant(f, applicant, _service_day(self._clock()))
        if any(p.field.startswith("applicant.id") for p in f.problems) or not clean.id_number:
            return None
        with self._store.unit_of_work() as uow:
            s = uow.session
            row = s.scalar(
                select(Applicant)
                .where(
                    Applicant.id_type == clean.id_type,
                    Applicant.id_number == clean.id_number,
                    ~Applicant.deleted,
                )
                .order_by(Applicant.updated_at.desc())
                .limit(1)
            )
            if row is None:
                return None
            same = select(Applicant.id).where(
                Applicant.id_type == clean.id_type, Applicant.id_number == clean.id_number
            )
            cases = s.scalars(
                select(Case)
                .where(Case.applicant_id.in_(same), ~Case.deleted, Case.status.in_(OPEN_STATES))
                .order_by(Case.received_at.desc())
                .limit(50)
            ).all()
            open_cases = tuple(
                OpenCase(
                    c.case_number,
                    c.status,
                    CaseState(c.status).label,
                    tuple(self._matter_name(code) for code in c.matter_codes),
                    c.received_at,
                    c.promised_date,
                )
                for c in cases
            )
            return ReturningApplicant(
                row.kind,
                row.id_type,
                row.id_number,
                row.name,
                row.phone,
                row.address,
                row.legal_representative,
                open_cases,
            )

    def _matter_name(self, code: str) -> str:
        try:
            return self.catalogue.matter(code).name
        except KeyError:
            return code

    # ---- drafts ---------------------------------------------------------------------------------

    def save_draft(
        self, session: UserSession, form: IntakeForm, draft_id: uuid.UUID | None = None
    ) -> DraftInfo:
        """Keep ``form`` as typed (no validation); a new draft unless ``draft_id`` names one."""
        session.require(Permission.SERVE)
        if not isinstance(form, IntakeForm):
            raise UserError(_("表单数据无效"))
        payload = json.dumps(form_to_dict(form), ensure_ascii=True, default=str)
        if len(payload) > MAX_DRAFT_CHARS:
            raise UserError(_("草稿过大，无法保存"))
        now = self._clock()
        with self._store.unit_of_work() as uow:
            row = uow.session.get(IntakeDraft, draft_id) if draft_id is not None else None
            if row is not None and row.clerk_id != session.user_id:
                raise UserError(_("这份草稿属于其他工作人员"))
            if row is None:
                row = IntakeDraft(id=draft_id or uuid.uuid4(), clerk_id=session.user_id, created_at=now)
                uow.session.add(row)
            row.window_number = session.window_number
            row.label = _draft_label(form)
            row.payload = payload
            row.updated_at = now
            uow.flush()
            info = _draft_info(row)
            uow.commit()
        return info

    def load_drafts(self, session: UserSession) -> list[DraftInfo]:
        """This clerk's drafts on this workstation, the most recently changed first."""
        session.require(Permission.SERVE)
        with self._store.unit_of_work() as uow:
            rows = uow.session.scalars(
                select(IntakeDraft)
                .where(IntakeDraft.clerk_id == session.user_id)
                .order_by(IntakeDraft.updated_at.desc(), IntakeDraft.id.desc())
            )
            return [_draft_info(row) for row in rows]

    def discard_draft(self, session: UserSession, draft_id: uuid.UUID) -> None:
        session.require(Permission.SERVE)
        with self._store.unit_of_work() as uow:
            _drop_draft(uow.session, session, draft_id)
            uow.commit()

    # ---- outcomes -------------------------------------------------------------------------------

    def accept(
        self, session: UserSession, form: IntakeForm, *, draft_id: uuid.UUID | None = None
    ) -> CaseResult:
        """受理: the case number, promised completion date and provisional flag."""
        return self._outcome(session, form, Outcome.ACCEPT, "", "", draft_id)

    def request_correction(
        self, session: UserSession, form: IntakeForm, note: str = "", *, draft_id: uuid.UUID | None = None
    ) -> CaseResult:
        """补正: the complete list of required materials still missing, told at once."""
        return self._outcome(session, form, Outcome.CORRECTION, note, "", draft_id)

    def refuse(
        self,
        session: UserSession,
        form: IntakeForm,
        reason: str,
        legal_basis: str,
        *,
        authority: str = "",
        draft_id: uuid.UUID | None = None,
    ) -> CaseResult:
        """不予受理 with its reason and legal basis; the materials handed in are returned, and
        ``authority`` names the body to turn to when the matter is not for this hall."""
        return self._outcome(session, form, Outcome.REFUSE, reason, legal_basis, draft_id, authority)

    def done_on_the_spot(
        self, session: UserSession, form: IntakeForm, *, draft_id: uuid.UUID | None = None
    ) -> CaseResult:
        """即办件: accepted and decided at the window."""
        return self._outcome(session, form, Outcome.ON_THE_SPOT, "", "", draft_id)

    def _outcome(
        self,
        session: UserSession,
        form: IntakeForm,
        outcome: Outcome,
        reason: str,
        legal_basis: str,
        draft_id: uuid.UUID | None,
        authority: str = "",
    ) -> CaseResult:
        session.require(Permission.SERVE)
        now = self._clock()
        checked, problems = self.rules.check(form, outcome, now, reason, legal_basis, authority)
        if checked is None:
            raise IntakeError(problems)
        event = _EVENTS[outcome]
        reason_text = self._event_reason(outcome, checked)
        verdict = case_states.check(CaseState.RECEIVED, event, session.role.value, reason_text or None)
        if not verdict.allowed or verdict.target is None:
            raise UserError(verdict.message)
        with self._store.unit_of_work() as uow:
            s = uow.session
            applicant = self._applicant_row(s, checked.applicant, now)
            case = self._case_row(s, session, checked, applicant, verdict.target, outcome, now)
            for line in checked.lines:
                s.add(
                    CaseMaterial(
                        case_id=case.id,
                        material_key=line.key,
                        name=line.name,
                        required=line.required,
                        state=line.state,
                        form=line.form,
                        count=line.count,
                        due_date=line.due,
                        note=line.note,
                    )
                )
            s.add(
                CaseEventRecord(
                    case_id=case.id,
                    event=event.value,
                    from_state=CaseState.RECEIVED.value,
                    to_state=verdict.target.value,
                    at=now,
                    actor_id=session.user_id,
                    actor_name=session.display_name,
                    window_number=session.window_number,
                    reason=reason_text,
                    legal_basis=checked.legal_basis,
                    detail=self._event_detail(outcome, checked),
                )
            )
            if draft_id is not None:
                _drop_draft(s, session, draft_id)
            uow.flush()
            result = self._result(case, checked, outcome)
            if self.notices is not None:
                issued = self.notices.issue(
                    uow, session, result.case_number, outcome.value, now, checked.authority
                )
                result = replace(result, documents=issued)
            uow.commit()
        return result

    # ---- pieces of an outcome -------------------------------------------------------------------

    @staticmethod
    def _event_reason(outcome: Outcome, checked: _Checked) -> str:
        if outcome is Outcome.CORRECTION:
            listed = "、".join(line.name for line in checked.missing)
            text = _("需补正材料：{names}").format(names=listed)
            return f"{text}\n{checked.reason}" if checked.reason else text
        return checked.reason

    @staticmethod
    def _event_detail(outcome: Outcome, checked: _Checked) -> dict[str, Any]:
        detail: dict[str, Any] = {
            "matters": [m.implementation_code for m in checked.matters],
            "notice": _NOTICES[outcome],
        }
        if checked.promised_due is not None:
            detail["promised_due"] = checked.promised_due.isoformat()
            detail["provisional"] = checked.provisional
        if outcome is Outcome.CORRECTION:
            detail["missing"] = [line.key for line in checked.missing]
        if outcome is Outcome.REFUSE:
            detail["returned"] = [line.key for line in checked.lines if line.state == MaterialState.RECEIVED]
        if checked.ticket_number:
            detail["ticket"] = checked.ticket_number
        if checked.authority:
            detail["authority"] = checked.authority
        if checked.extra:
            detail["extra"] = dict(checked.extra)
        return detail

    @staticmethod
    def _applicant_row(s: Session, clean: _CleanApplicant, now: dt.datetime) -> Applicant:
        """The known applicant with this identity (details brought up to date) or a new one."""
        row = s.scalar(
            select(Applicant)
            .where(
                Applicant.id_type == clean.id_type,
                Applicant.id_number == clean.id_number,
                ~Applicant.deleted,
            )
            .order_by(Applicant.updated_at.desc())
            .limit(1)
        )
        if row is None:
            row = Applicant(kind=clean.kind.value, id_type=clean.id_type, id_number=clean.id_number)
            s.add(row)
        row.kind = clean.kind.value
        row.name = clean.name
        row.phone = clean.phone
        if clean.address:
            row.address = clean.address
        row.address = row.address or ""
        row.legal_representative = clean.legal_representative
        row.updated_at = now
        s.flush()
        return row

    def _case_row(
        self,
        s: Session,
        session: UserSession,
        checked: _Checked,
        applicant: Applicant,
        status: CaseState,
        outcome: Outcome,
        now: dt.datetime,
    ) -> Case:
        agent = checked.agent
        decided = outcome in (Outcome.ON_THE_SPOT, Outcome.REFUSE)
        accepted = outcome in (Outcome.ACCEPT, Outcome.ON_THE_SPOT)
        case = Case(
            case_number=self._next_number(s, session.window_number, now),
            applicant_id=applicant.id,
            matter_codes=[m.implementation_code for m in checked.matters],
            bundle_code=checked.bundle_code,
            status=status.value,
            received_at=now,
            accepted_at=now if accepted else None,
            promised_due=checked.promised_due,
            promised_date=checked.promised_due.date() if checked.promised_due else None,
            provisional=checked.provisional,
            decided_at=now if decided else None,
            clerk_id=session.user_id,
            clerk_name=session.display_name,
            window_number=session.window_number,
            delivery=checked.delivery.value,
            delivery_address=checked.delivery_address,
            agent_name=agent.name if agent else "",
            agent_id_type=agent.id_type if agent else "",
            agent_id_number=agent.id_number if agent else "",
            agent_phone=agent.phone if agent else "",
            cross_region=checked.cross_region,
            other_region=checked.other_region,
            ticket_number=checked.ticket_number,
            reason=self._event_reason(outcome, checked)[:500],
            legal_basis=checked.legal_basis,
            extra=dict(checked.extra),
        )
        s.add(case)
        s.flush()
        return case

    def _next_number(self, s: Session, window: int | None, now: dt.datetime) -> str:
        day = _service_day(now)
        win = window or 0
        counter = s.get(CaseCounter, (day, win), with_for_update=True)
        if counter is None:
            counter = CaseCounter(service_day=day, window_number=win, last=0)
            s.add(counter)
        counter.last += 1
        return case_number(day, win, counter.last, self._store.device_id)

    @staticmethod
    def _result(case: Case, checked: _Checked, outcome: Outcome) -> CaseResult:
        returned = tuple(line for line in checked.lines if line.state == MaterialState.RECEIVED)
        return CaseResult(
            case_id=case.id,
            case_number=case.case_number,
            status=case.status,
            status_label=CaseState(case.status).label,
            applicant_name=checked.applicant.name,
            matter_codes=tuple(case.matter_codes),
            matter_names=tuple(m.name for m in checked.matters),
            received_at=case.received_at,
            accepted_at=case.accepted_at,
            promised_due=checked.promised_due,
            promised_date=case.promised_date,
            provisional=case.provisional,
            materials=checked.lines,
            missing=checked.missing if outcome is Outcome.CORRECTION else (),
            returned=returned if outcome is Outcome.REFUSE else (),
            notice=_(_NOTICES[outcome]),
            warnings=checked.warnings,
            extra=checked.extra,
        )


def case_number(day: dt.date, window: int, seq: int, device_id: str) -> str:
    """``YYYYMMDD`` + window (3 digits) + sequence (4 digits) + ``-`` + device suffix (6 hex)."""
    suffix = re.sub(r"[^0-9A-Fa-f]", "", device_id)[-6:].upper()
    return f"{day:%Y%m%d}{window:03d}{seq:04d}-{suffix}"


def _draft_info(row: IntakeDraft) -> DraftInfo:
    try:
        data = json.loads(row.payload)
    except ValueError:
        data = None
    return DraftInfo(
        row.id, row.label, row.window_number, row.created_at, row.updated_at, form_from_dict(data)
    )


def _drop_draft(s: Session, session: UserSession, draft_id: uuid.UUID) -> None:
    row = s.get(IntakeDraft, draft_id)
    if row is not None and row.clerk_id == session.user_id:
        s.delete(row)
