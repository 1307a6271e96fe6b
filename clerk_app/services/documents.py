"""Documents as a service: hall numbering settings, topping up number blocks while online, and
issuing the notices of a case inside the caller's unit of work.

Numbering settings (hall-wide, key ``documents.numbering`` of the ``settings`` table)::

    {"block_size": 50, "refill_threshold": 10,
     "per_type": {"acceptance": {"block_size": 200, "refill_threshold": 40}}}

:func:`load_numbering` reads them (defaults when absent), :func:`save_numbering` is for the
administrator or a supervisor. :func:`refill_due` is the automatic refill: a plain function the
sync worker or the GUI calls while online (the 文书 page calls it after every successful sync
round); it only talks to the central store for series at or below their threshold, and offline it
reports ``offline=True`` instead of raising — the blocks already reserved keep working.

Issuing notices for a case — the entry point the intake form (and later steps of a case) call::

    desk = CaseDocuments.for_runtime(runtime)
    with runtime.local.unit_of_work() as uow:
        ...  # the intake service writes the case, its materials and its event, then flushes
        issued = desk.issue_outcome(uow, who, case_number, "accept")
        uow.commit()  # case, event, numbers, archive records and audit entries: one transaction

``issue_outcome(uow, who, case_number, outcome, at=None, extras=NoticeExtras())`` reads the case,
its applicant and its materials from ``uow`` (so the rows the caller just added and flushed are
seen) and issues, for ``outcome``:

* ``accept`` → 受理通知书, plus 容缺受理通知书 (with the applicant's 承诺书 page) when a material is
  ``deferred``;
* ``correction`` → 一次性告知书 listing every required material in state ``missing`` (reason = the
  material's note, or 未提交), deadline ``extras.correction_deadline`` or ``correction_days``
  working days after ``at``;
* ``refuse`` → 不予受理通知书 (the case's ``reason`` and ``legal_basis``, ``extras.competent_authority``,
  received materials listed as returned);
* ``on_the_spot`` → 办结通知书; ``approve`` / ``deny`` → 准予 / 不予许可决定书 (``extras.decision_content``;
  a denial prints the case's reason and the remedies).

``issue(uow, who, case_number, doc_type, ...)`` issues one document type. Each call takes the next
number of the type from this workstation's blocks in the same transaction; with none left it raises
:class:`~clerk_app.services.errors.UserError` (nothing of the caller's unit of work should then be
committed). Returns :class:`IssuedNotice` values (no ORM objects); ``pdf`` is what to preview and
print. The caller needs :attr:`Permission.SERVE`. Printed wording stays Chinese in every interface
language.
"""

from __future__ import annotations

import datetime as dt
import logging
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from clerk_app.documents import archive as archive_mod
from clerk_app.documents.archive import Archive
from clerk_app.documents.dto import (
    AcceptanceNotice,
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
from clerk_app.documents.dto import Applicant as PrintedApplicant
from clerk_app.documents.numbers import NumberingSettings, refill, remaining
from clerk_app.documents.signing import load_signer
from clerk_app.documents.templates import Templates, load_templates
from clerk_app.documents.verification import Signer
from clerk_app.domain.catalogue import MATERIAL_FORM_NAMES, Catalogue, MaterialForm
from clerk_app.domain.catalogue_io import load_demo_catalogue
from clerk_app.domain.halltime import HALL_TZ
from clerk_app.domain.identifiers import _DOC_LABELS, DocumentType
from clerk_app.domain.numbering import BlocksExhausted
from clerk_app.domain.workdays import WorkCalendar
from clerk_app.i18n import _
from clerk_app.security.roles import Permission, Role
from clerk_app.services.auth import UserSession
from clerk_app.services.errors import UserError
from clerk_app.services.runtime import Runtime
from clerk_app.store.models import Setting
from clerk_app.store.models.cases import Applicant, Case, CaseMaterial
from clerk_app.store.uow import Store, UnitOfWork

log = logging.getLogger("clerk.documents")

CHINA = HALL_TZ
NUMBERING_KEY = "documents.numbering"
#: hall setting ``{"issuer_code": "<18-char credit code>"}``: notices are signed with that issuer's
#: key from this machine's keyring (a verification QR beside the seal) when the key is there
SIGNING_KEY = "documents.signing"
#: document types numbered from blocks (the queue slip carries its ticket number instead)
NUMBERED_TYPES: tuple[DocType, ...] = tuple(t for t in DocType if t is not DocType.QUEUE_SLIP)
MAX_BLOCK = 10_000


# --- numbering settings --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class NumberingPolicy:
    """Block size and refill threshold for every series, with per-type overrides."""

    default: NumberingSettings = field(default_factory=NumberingSettings)
    per_type: Mapping[str, NumberingSettings] = field(default_factory=dict)

    def for_type(self, doc_type: str) -> NumberingSettings:
        return self.per_type.get(doc_type, self.default)

    @staticmethod
    def _settings(data: Mapping[str, Any], fallback: NumberingSettings) -> NumberingSettings:
        try:
            size = int(data.get("block_size", fallback.block_size))
            threshold = int(data.get("refill_threshold", fallback.refill_threshold))
        except (TypeError, ValueError):
            return fallback
        if not 1 <= size <= MAX_BLOCK or not 0 <= threshold < size:
            return fallback  # a bad central value never stops numbering: the default applies
        return NumberingSettings(size, threshold)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> NumberingPolicy:
        default = cls._settings(data, NumberingSettings())
        raw = data.get("per_type")
        per_type: dict[str, NumberingSettings] = {}
        if isinstance(raw, Mapping):
            known = {t.value for t in NUMBERED_TYPES}
            for key, value in raw.items():
                if key in known and isinstance(value, Mapping):
                    per_type[key] = cls._settings(value, default)
        return cls(default, per_type)

    def to_dict(self) -> dict[str, Any]:
        def plain(s: NumberingSettings) -> dict[str, int]:
            return {"block_size": s.block_size, "refill_threshold": s.refill_threshold}

        out: dict[str, Any] = plain(self.default)
        if self.per_type:
            out["per_type"] = {key: plain(value) for key, value in sorted(self.per_type.items())}
        return out


def load_numbering(session: Session) -> NumberingPolicy:
    """The hall's numbering settings (defaults: blocks of 50, refill at 10 left)."""
    row = session.scalar(select(Setting).where(Setting.key == NUMBERING_KEY, ~Setting.deleted))
    return NumberingPolicy.from_dict(dict(row.value)) if row is not None else NumberingPolicy()


def save_numbering(store: Store, who: UserSession, policy: NumberingPolicy) -> None:
    """The administrator or a supervisor sets block size and refill threshold (synced hall-wide)."""
    if who.role is not Role.ADMIN:
        who.require(Permission.SUPERVISE)
    for settings in (policy.default, *policy.per_type.values()):
        if not 1 <= settings.block_size <= MAX_BLOCK:
            raise UserError(_("号段大小应在 1 到 {max} 之间").format(max=MAX_BLOCK))
        if not 0 <= settings.refill_threshold < settings.block_size:
            raise UserError(_("补充阈值应不小于 0 且小于号段大小"))
    with store.unit_of_work() as uow:
        row = uow.session.scalar(select(Setting).where(Setting.key == NUMBERING_KEY))
        if row is None:
            uow.session.add(Setting(key=NUMBERING_KEY, value=policy.to_dict()))
        else:
            row.value = policy.to_dict()
            row.deleted = False
        uow.commit()


# --- automatic refill ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RefillReport:
    """What :func:`refill_due` did: numbers free per type afterwards, which series got a new
    block, and whether the central store could not be reached (then nothing more was tried).
    ``next_year`` holds the series of the coming year prepared in the last weeks of a year."""

    year: int
    remaining: Mapping[str, int]
    refilled: tuple[str, ...]
    offline: bool = False
    error: str = ""
    next_year: Mapping[str, int] = field(default_factory=dict)

    def low(self, threshold: int = 0) -> tuple[str, ...]:
        """Types with at most ``threshold`` numbers left (0: exhausted — issuing them will fail)."""
        return tuple(t for t, n in self.remaining.items() if n <= threshold)


#: from this many days before 1 January, the coming year's series are reserved as well, so that a
#: workstation that is offline on the first working days of the year can still number documents
NEXT_YEAR_AHEAD_DAYS = 31


def refill_due(
    local: Store,
    central: Store,
    *,
    year: int | None = None,
    doc_types: Iterable[DocType | str] = NUMBERED_TYPES,
    policy: NumberingPolicy | None = None,
    today: Callable[[], dt.date] = lambda: dt.datetime.now(CHINA).date(),
) -> RefillReport:
    """Top up every series of ``year`` (default: this year, hall time) that is at or below its
    refill threshold; series above it cost no round trip to the central store. In the last
    ``NEXT_YEAR_AHEAD_DAYS`` days of the year the next year's series are topped up too.

    Never raises for an unreachable central store: the report says ``offline`` and the blocks
    already reserved go on being used.
    """
    day = today()
    year = year or day.year
    if policy is None:
        with local.unit_of_work() as uow:
            policy = load_numbering(uow.session)
    types = [DocType(t).value for t in doc_types]
    years = [year]
    if year == day.year and (day + dt.timedelta(days=NEXT_YEAR_AHEAD_DAYS)).year > year:
        years.append(year + 1)
    left: dict[int, dict[str, int]] = {y: {} for y in years}
    refilled: list[str] = []
    offline = False
    error = ""
    for series_year in years:
        for key in types:
            settings = policy.for_type(key)
            have = remaining(local, key, series_year)
            if have > settings.refill_threshold or offline:
                left[series_year][key] = have
                continue
            try:
                left[series_year][key] = refill(local, central, key, series_year, settings)
            except (SQLAlchemyError, OSError) as exc:
                offline, error = True, type(exc).__name__
                left[series_year][key] = have
                log.warning(
                    "number refill for %s %s failed (%s): working on reserved blocks", key, series_year, error
                )
                continue
            if left[series_year][key] > have and series_year == year:
                refilled.append(key)
    return RefillReport(year, left[year], tuple(refilled), offline, error, left.get(year + 1, {}))


# --- notices of a case -------------------------------------------------------------------------------


def notice_signer(store: Store) -> Signer | None:
    """The signer for notices: the hall's issuer code (setting ``documents.signing``) and its key in
    this machine's keyring; None (notices without QR) when either is missing."""
    with store.unit_of_work() as uow:
        row = uow.session.scalar(select(Setting).where(Setting.key == SIGNING_KEY, ~Setting.deleted))
        code = str(dict(row.value).get("issuer_code", "")).strip() if row is not None else ""
    if not code:
        return None
    try:
        return load_signer(code)
    except Exception as exc:  # a broken keyring must not stop the window: notices go without QR
        log.warning("signing key for %s not available: %s", code, type(exc).__name__)
        return None


@dataclass(frozen=True, slots=True)
class NoticeExtras:
    """What a notice prints that the case rows do not hold (all optional)."""

    correction_deadline: dt.date | None = None  # 一次性告知书: supply by (default: N working days)
    competent_authority: str = ""  # 不予受理: the authority to turn to
    decision_content: str = ""  # 决定书 / 办结通知书: what was decided
    decision_basis: str = ""  # 决定书: legal basis (default: the case's legal basis)
    pickup: str = ""  # 准予: how the result is delivered
    consequence: str = ""  # 容缺: consequence of missing the deadline (default: template wording)


@dataclass(frozen=True, slots=True)
class IssuedNotice:
    """One archived, numbered notice (what to preview and print)."""

    id: uuid.UUID
    doc_type: str
    number: str
    title: str
    sha256: str
    pdf: bytes


OUTCOME_TYPES: Mapping[str, tuple[DocType, ...]] = {
    "accept": (DocType.ACCEPTANCE,),  # + TOLERANCE when a material is deferred
    "correction": (DocType.ONE_TIME,),
    "refuse": (DocType.REFUSAL,),
    "on_the_spot": (DocType.COMPLETION,),
    "approve": (DocType.APPROVAL,),
    "deny": (DocType.DENIAL,),
}


@dataclass(frozen=True, slots=True)
class _CaseData:
    case: Case
    applicant: Applicant
    materials: tuple[CaseMaterial, ...]
    matter_names: tuple[str, ...]


def _id_type_name(code: str) -> str:
    """The printed (Chinese) name of an ID type code; the code itself if unknown."""
    if code == "001":
        return "统一社会信用代码"
    try:
        kind = DocumentType.from_code(code)
    except ValueError:
        return code
    return _DOC_LABELS.get(kind, code)  # the Chinese source string: printed, never translated


def _form_name(form: str) -> str:
    try:
        return MATERIAL_FORM_NAMES[MaterialForm(form)]
    except ValueError:
        return ""


class CaseDocuments:
    """Builds the notice DTOs of a stored case and issues them through the archive (see the
    module docstring for the API)."""

    def __init__(
        self,
        archive: Archive,
        device_id: str,
        *,
        templates: Templates | None = None,
        catalogue: Catalogue | None = None,
        calendar: WorkCalendar | None = None,
        signer: Signer | None = None,
        correction_days: int = 5,
    ) -> None:
        self.archive = archive
        self.device_id = device_id
        self.templates = templates or load_templates()
        self._catalogue = catalogue
        self._calendar = calendar
        self.signer = signer  # with a signer, notices carry a verification QR beside the seal
        self.correction_days = correction_days

    @classmethod
    def for_runtime(cls, runtime: Runtime, **options: Any) -> CaseDocuments:
        """The desk of this workstation; notices are signed when the hall names an issuer whose key
        this machine holds (:func:`notice_signer`), unless ``signer`` is given."""
        if "signer" not in options:
            options["signer"] = notice_signer(runtime.local)
        return cls(Archive(runtime.paths.data / "documents"), runtime.device_id, **options)

    @property
    def catalogue(self) -> Catalogue:
        if self._catalogue is None:
            self._catalogue = load_demo_catalogue()
        return self._catalogue

    @property
    def calendar(self) -> WorkCalendar:
        if self._calendar is None:
            self._calendar = WorkCalendar()
        return self._calendar

    # --- entry points ------------------------------------------------------------------------

    def issue_outcome(
        self,
        uow: UnitOfWork,
        who: UserSession,
        case_number: str,
        outcome: str,
        *,
        at: dt.datetime | None = None,
        extras: NoticeExtras | None = None,
    ) -> tuple[IssuedNotice, ...]:
        """Issue every notice of ``outcome`` for the case (see the module docstring)."""
        if outcome not in OUTCOME_TYPES:
            raise ValueError(f"unknown outcome {outcome!r}")
        data = self._load(uow, case_number)
        types = list(OUTCOME_TYPES[outcome])
        if outcome == "accept" and any(m.state == "deferred" for m in data.materials):
            types.append(DocType.TOLERANCE)
        return tuple(self._issue(uow, who, data, t, at, extras or NoticeExtras()) for t in types)

    def issue(
        self,
        uow: UnitOfWork,
        who: UserSession,
        case_number: str,
        doc_type: DocType,
        *,
        at: dt.datetime | None = None,
        extras: NoticeExtras | None = None,
    ) -> IssuedNotice:
        """Issue one notice of ``doc_type`` for the case, in ``uow`` (the caller commits)."""
        return self._issue(uow, who, self._load(uow, case_number), doc_type, at, extras or NoticeExtras())

    # --- internals ---------------------------------------------------------------------------

    def _load(self, uow: UnitOfWork, case_number: str) -> _CaseData:
        session = uow.session
        session.flush()  # the caller's new rows are visible to the queries below
        case = session.scalar(select(Case).where(Case.case_number == case_number, ~Case.deleted))
        if case is None:
            raise UserError(_("找不到办件：{number}").format(number=case_number))
        applicant = session.get(Applicant, case.applicant_id)
        if applicant is None:
            raise UserError(_("办件 {number} 没有申请人记录").format(number=case_number))
        materials = tuple(
            session.scalars(
                select(CaseMaterial)
                .where(CaseMaterial.case_id == case.id, ~CaseMaterial.deleted)
                .order_by(CaseMaterial.hlc, CaseMaterial.material_key)
            ).all()
        )
        names = []
        for code in case.matter_codes:
            try:
                names.append(self.catalogue.matter(code).name)
            except KeyError:
                names.append(code)
        return _CaseData(case, applicant, materials, tuple(names))

    def _issue(
        self,
        uow: UnitOfWork,
        who: UserSession,
        data: _CaseData,
        doc_type: DocType,
        at: dt.datetime | None,
        extras: NoticeExtras,
    ) -> IssuedNotice:
        who.require(Permission.SERVE)
        moment = (at or dt.datetime.now(dt.UTC)).astimezone(CHINA)
        build = self._builder(data, doc_type, moment, extras)
        try:
            issued = archive_mod.issue(
                uow,
                self.archive,
                self.templates,
                doc_type,
                build,
                device_id=self.device_id,
                actor_name=who.username,
                year=moment.year,
                signer=self.signer,
            )
        except BlocksExhausted as exc:
            raise UserError(
                _("本工作台没有可用的{title}编号，请连接中心库补充号段后重试（本次办理未保存）").format(
                    title=self.templates.wording(doc_type).title
                )
            ) from exc
        return IssuedNotice(
            issued.id, issued.doc_type, issued.number, issued.title, issued.sha256, issued.pdf
        )

    def _printed_applicant(self, data: _CaseData) -> PrintedApplicant:
        a, case = data.applicant, data.case
        return PrintedApplicant(
            name=a.name,
            id_type=_id_type_name(a.id_type),
            id_number=a.id_number,
            phone=a.phone,
            address=a.address,
            agent=case.agent_name,
        )

    def _clerk(self, data: _CaseData) -> Clerk:
        case = data.case
        window = f"{case.window_number}号窗口" if case.window_number else ""
        return Clerk(case.clerk_name, self.templates.hall.contact_phone, window)

    @staticmethod
    def _received(data: _CaseData) -> tuple[Material, ...]:
        return tuple(
            Material(m.name, _form_name(m.form), m.count or None, m.note)
            for m in data.materials
            if m.state == "received"
        )

    def _builder(
        self, data: _CaseData, doc_type: DocType, moment: dt.datetime, extras: NoticeExtras
    ) -> Callable[[str], Document]:
        case = data.case
        day = moment.date()
        received_day = case.received_at.astimezone(CHINA).date() if case.received_at else day
        matter_code = case.matter_codes[0] if len(case.matter_codes) == 1 else ""
        matter = "、".join(data.matter_names)
        applicant = self._printed_applicant(data)
        if doc_type is DocType.ACCEPTANCE:
            accepted = case.accepted_at.astimezone(CHINA) if case.accepted_at else moment
            return lambda number: AcceptanceNotice(
                number=number,
                case_no=case.case_number,
                applicant=applicant,
                matters=data.matter_names,
                application_date=received_day,
                accepted_at=accepted,
                materials=self._received(data),
                clerk=self._clerk(data),
                promised_date=case.promised_date or day,
                issue_date=day,
                matter_code=matter_code,
            )
        if doc_type is DocType.TOLERANCE:
            deferred = tuple(
                DeferredMaterial(m.name, _form_name(m.form) or "原件", m.due_date or day)
                for m in data.materials
                if m.state == "deferred"
            )
            return lambda number: ToleranceNotice(
                number=number,
                case_no=case.case_number,
                matter=matter,
                applicant=applicant,
                deferred=deferred,
                clerk=self._clerk(data),
                issue_date=day,
                consequence=extras.consequence,
                matter_code=matter_code,
            )
        if doc_type in (DocType.ONE_TIME, DocType.CORRECTION):
            missing = tuple(
                MissingMaterial(m.name, m.note or "未提交")
                for m in data.materials
                if m.state == "missing" and m.required
            )
            deadline = (
                extras.correction_deadline or self.calendar.add_workdays(day, self.correction_days).value
            )
            return lambda number: CorrectionNotice(
                number=number,
                case_no=case.case_number,
                matter=matter,
                applicant=applicant,
                missing=missing,
                deadline=deadline,
                enquiry_phone=self.templates.hall.contact_phone,
                issue_date=day,
                one_time=doc_type is DocType.ONE_TIME,
                matter_code=matter_code,
            )
        if doc_type is DocType.REFUSAL:
            return lambda number: RefusalNotice(
                number=number,
                case_no=case.case_number,
                applicant=applicant,
                matters=data.matter_names,
                application_date=received_day,
                reason=case.reason,
                legal_basis=case.legal_basis,
                competent_authority=extras.competent_authority,
                returned_materials=self._received(data),
                clerk=self._clerk(data),
                issue_date=day,
                matter_code=matter_code,
            )
        if doc_type in (DocType.COMPLETION, DocType.APPROVAL, DocType.DENIAL):
            kind = DecisionKind(doc_type.value)
            default_content = "申请事项已办结。" if kind is DecisionKind.COMPLETION else ""
            return lambda number: DecisionNotice(
                kind=kind,
                number=number,
                case_no=case.case_number,
                matter=matter,
                applicant=applicant,
                content=extras.decision_content or default_content,
                legal_basis=extras.decision_basis or case.legal_basis,
                decision_date=day,
                reason=case.reason if kind is DecisionKind.DENIAL else "",
                pickup=extras.pickup,
                matter_code=matter_code,
            )
        raise ValueError(f"{doc_type.value} is not issued from a case")
