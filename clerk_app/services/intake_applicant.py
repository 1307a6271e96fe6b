"""The applicant part of an intake form: the applicant (person or organisation), the agent (代办人),
their documents and phones checked with the domain rules, the applicant row an outcome writes,
and the returning applicant (回头件) found by ID or credit code with their open cases."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from sqlalchemy import select
from sqlalchemy.orm import Session

from clerk_app.domain.case_states import CaseState
from clerk_app.domain.identifiers import (
    DocumentType,
    IdentifierError,
    parse_credit_code,
    parse_document,
    parse_mobile,
)
from clerk_app.i18n import _
from clerk_app.services.intake_forms import (
    _LANDLINE,
    _PHONE_NOISE,
    OPEN_STATES,
    ORGANISATION_ID_TYPE,
    AgentIn,
    ApplicantIn,
    ApplicantKind,
    OpenCase,
    ReturningApplicant,
    _CleanAgent,
    _CleanApplicant,
    _Findings,
    _label,
    _shown,
)
from clerk_app.store.models.cases import (
    Applicant,
    Case,
)
from clerk_app.store.uow import Store


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


def applicant_row(s: Session, clean: _CleanApplicant, now: dt.datetime) -> Applicant:
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


def find_returning(
    store: Store,
    kind: str,
    id_type: str,
    id_number: str,
    today: dt.date,
    matter_name: Callable[[str], str],
) -> ReturningApplicant | None:
    """回头件: the known applicant with this identity (the number normalised as the rules do),
    with their open cases, newest first; ``None`` when unknown or the number is not valid."""
    applicant = ApplicantIn(kind=kind, id_type=id_type, id_number=id_number, name="-", phone="13800138000")
    f = _Findings()
    clean = _applicant(f, applicant, today)
    if any(p.field.startswith("applicant.id") for p in f.problems) or not clean.id_number:
        return None
    with store.unit_of_work() as uow:
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
                tuple(matter_name(code) for code in c.matter_codes),
                c.received_at,
                c.promised_date,
                c.id,
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
