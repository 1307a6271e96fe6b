"""The cases screen: finding cases, their history, and the later steps at the window.

Search (:meth:`CaseService.search`) — one box for a case number, an applicant's name, an ID
number, a credit code or a phone number, with filters by case status and deadline status, a page
at a time, newest case first. What the text means and the conditions it becomes are in
:mod:`clerk_app.services.case_search`: a case number or a number's beginning by a range over an
index, a number's end (尾号, 4 to 8 characters) or any part of a name by a range over the search
keys that database triggers keep (migration ``0012_case_search_tail``). The page's case ids and
the count are read from the covering index ``ix_cases_applicant_search``; only the page's rows are
then read from the tables.

Deadline status (normal / warning / overdue, :mod:`clerk_app.domain.deadlines`) exists for cases
whose clock has started and is not stopped by a decision: accepted and in review (clock running,
judged on the stored promised completion) and correction requested after acceptance or in a
special procedure (clock suspended: the deadline is recomputed from the acceptance, the promised
limits of the matters and every suspension of the case's events, the open one running to today).
A suspension (补正 after acceptance, 特别程序) counts from the day it was asked for up to the day
before the clock resumed; when it resumes, the promised completion of the case is pushed back.

Results are frozen DTOs. Document numbers of persons (and phones) are masked
(``110105********002X``, ``138****8000``) except for the case's own clerk and supervisors; credit
codes of organisations are public and shown whole.

Later steps (:mod:`clerk_app.services.case_steps`, mixed into :class:`CaseService`): correction
received, review, correction during review, special procedure, decision, tolerance confirmed,
delivery, archive, withdrawal and 发证 — each one unit of work and one insert-only case event,
checked first by the case state machine, with the decision's 决定书 and the delivery's 送达回证
issued in the same unit of work when a documents desk is set.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, and_, bindparam, false, func, literal, or_, select
from sqlalchemy.orm import Session

from clerk_app.domain import case_states
from clerk_app.domain.case_states import CaseEvent, CaseState
from clerk_app.domain.catalogue import Catalogue
from clerk_app.domain.catalogue_io import load_demo_catalogue
from clerk_app.domain.deadlines import (
    Deadline,
    DeadlineStatus,
    OfficeHours,
    Suspension,
    SuspensionKind,
    TimeLimit,
    compute_deadline,
    deadline_status,
)
from clerk_app.domain.halltime import HALL_TZ
from clerk_app.domain.workdays import WorkCalendar
from clerk_app.i18n import N_, _
from clerk_app.security.roles import Permission, Role
from clerk_app.services import case_search
from clerk_app.services.auth import UserSession
from clerk_app.services.case_documents import CaseDocumentView, StepDocuments
from clerk_app.services.case_search import (
    mask_id,
    mask_phone,
    matching_cases,
    sees_whole,
)
from clerk_app.services.case_steps import LICENSABLE, CaseSteps, Decision, DeliveryMethod
from clerk_app.services.documents import IssuedNotice
from clerk_app.services.errors import UserError
from clerk_app.store.base import utcnow
from clerk_app.store.models.cases import Applicant, Case, CaseEventRecord, CaseMaterial
from clerk_app.store.uow import Store

__all__ = [
    "COUNT_CAP",
    "LICENSABLE",
    "CaseDetail",
    "CasePage",
    "CaseQuery",
    "CaseRow",
    "CaseService",
    "Decision",
    "DeliveryMethod",
    "EventView",
    "MaterialView",
    "mask_id",
    "mask_phone",
    "sees_whole",
    "suspensions_of",
]

#: the hall's time zone (China Standard Time): service days, deadlines
CHINA = HALL_TZ
ORGANISATION_ID_TYPE = "001"
MAX_PAGE_SIZE = 200
COUNT_CAP = 10_000  # "10000+" beyond this: counting a million matches is not worth the wait

CLOCK_RUNNING = frozenset({CaseState.ACCEPTED.value, CaseState.IN_REVIEW.value})
CLOCK_SUSPENDED = frozenset({CaseState.CORRECTION_REQUESTED.value, CaseState.SPECIAL_PROCEDURE.value})


# ---- data in and out ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CaseQuery:
    text: str = ""
    statuses: tuple[str, ...] = ()  # CaseState values; empty = all
    deadline: tuple[str, ...] = ()  # DeadlineStatus values; empty = all
    page: int = 0
    page_size: int = 50


@dataclass(frozen=True, slots=True)
class CaseRow:
    case_id: uuid.UUID
    case_number: str
    status: str
    status_label: str
    applicant_name: str
    applicant_kind: str
    id_type: str
    id_number: str  # masked unless shown whole to this user
    phone: str  # masked likewise
    masked: bool
    matter_names: tuple[str, ...]
    received_at: dt.datetime
    accepted_at: dt.datetime | None
    promised_due: dt.datetime | None
    deadline_status: str | None  # DeadlineStatus value, None where no clock applies
    deadline_label: str
    workdays_left: int | None
    provisional: bool
    clerk_name: str
    window_number: int | None


@dataclass(frozen=True, slots=True)
class CasePage:
    rows: tuple[CaseRow, ...]
    total: int
    total_capped: bool  # more than ``COUNT_CAP`` matched; ``total`` is the cap
    page: int
    page_size: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.page_size))


@dataclass(frozen=True, slots=True)
class EventView:
    at: dt.datetime
    event: str
    event_label: str
    from_state: str
    from_label: str
    to_state: str
    to_label: str
    actor_name: str
    window_number: int | None
    reason: str
    legal_basis: str
    detail: tuple[tuple[str, str], ...]  # translated label, value


@dataclass(frozen=True, slots=True)
class MaterialView:
    key: str
    name: str
    required: bool
    state: str
    count: int
    due: dt.date | None


@dataclass(frozen=True, slots=True)
class CaseDetail:
    row: CaseRow
    events: tuple[EventView, ...]
    materials: tuple[MaterialView, ...]
    delivery: str
    delivery_address: str
    agent_name: str
    agent_id_number: str  # masked like the applicant's
    reason: str
    legal_basis: str
    allowed: tuple[str, ...]  # CaseEvent values this user may apply now
    documents: tuple[CaseDocumentView, ...] = ()  # archived notices and licence, oldest first
    issued: tuple[IssuedNotice, ...] = ()  # what the step that returned this detail printed
    licence_title: str = ""  # the licence the case's matter results in ("" for none)
    licence_due: bool = False  # the licence may be issued now (approved, none issued yet, key here)
    licence_unsigned: bool = False  # it would be due, but this workstation holds no signing key


def _local(at: dt.datetime) -> dt.datetime:
    aware = at if at.tzinfo is not None else at.replace(tzinfo=dt.UTC)
    return aware.astimezone(CHINA)


def suspensions_of(events: Iterable[CaseEventRecord], today: dt.date) -> list[Suspension]:
    """The clock suspensions recorded in a case's events (the open one runs to ``today``)."""
    found: list[Suspension] = []
    start: tuple[dt.date, SuspensionKind] | None = None
    for e in sorted(events, key=lambda e: e.at):
        day = _local(e.at).date()
        if e.event == CaseEvent.REQUEST_CORRECTION and e.from_state in CLOCK_RUNNING:
            start = (day, SuspensionKind.CORRECTION)
        elif e.event == CaseEvent.START_SPECIAL:
            start = (day, SuspensionKind.SPECIAL_PROCEDURE)
        elif start is not None and e.from_state in CLOCK_SUSPENDED:
            end = day - dt.timedelta(days=1)
            if end >= start[0]:
                found.append(Suspension(start[0], end, start[1]))
            start = None
    if start is not None and today >= start[0]:
        found.append(Suspension(start[0], today, start[1]))
    return found


# ---- the service ----------------------------------------------------------------------------


#: the columns of a result row (``Case`` and ``Applicant`` attribute names do not clash)
_LISTED = (
    Case.id,
    Case.case_number,
    Case.status,
    Case.matter_codes,
    Case.received_at,
    Case.accepted_at,
    Case.promised_due,
    Case.provisional,
    Case.clerk_id,
    Case.clerk_name,
    Case.window_number,
    Applicant.kind,
    Applicant.id_type,
    Applicant.id_number,
    Applicant.name,
    Applicant.phone,
)


#: the rows of one page by their ids, built once (its SQL and cache key are reused)
_PAGE_ROWS = (
    select(*_LISTED)
    .join(Applicant, Applicant.id == Case.applicant_id)
    .where(Case.id.in_(bindparam("ids", expanding=True)))
)


class CaseService(CaseSteps):
    """Cases of the local store of this workstation, as the cases screen needs them."""

    def __init__(
        self,
        store: Store,
        catalogue: Catalogue | None = None,
        calendar: WorkCalendar | None = None,
        *,
        office: OfficeHours | None = None,
        clock: Callable[[], dt.datetime] = utcnow,
        warning_margin: int = 1,
        documents: StepDocuments | None = None,
    ) -> None:
        self._store = store
        self.documents = documents  # None: the steps record no documents (a store without a desk)
        self._names: dict[tuple[str, ...], tuple[str, ...]] = {}  # matter codes → names
        self.catalogue = catalogue or load_demo_catalogue()
        self.calendar = calendar or WorkCalendar()
        self.office = office or OfficeHours()
        self._clock = clock
        self.warning_margin = warning_margin

    # ---- search -----------------------------------------------------------------------------

    def search(self, session: UserSession, query: CaseQuery) -> CasePage:
        session.require(Permission.SERVE)
        size = min(max(1, query.page_size), MAX_PAGE_SIZE)
        page = max(0, query.page)
        now = self._clock()
        parsed = case_search.parse(query.text)
        with self._store.reading() as uow:
            s = uow.session
            where: list[ColumnElement[bool]] = [~Case.deleted]
            text = matching_cases(s, parsed)
            if text is not None:
                where.append(text)
            statuses = [CaseState(v).value for v in query.statuses]
            if statuses:
                where.append(Case.status.in_(statuses))
            if query.deadline:
                wanted = {DeadlineStatus(v) for v in query.deadline}
                where.append(self._deadline_condition(s, where, wanted, now))
            # the page's ids first: with a text condition this reads only the index
            # ix_cases_applicant_search (applicant, deleted, received, status, id), never a case row
            ids = s.scalars(
                select(Case.id)
                .where(*where)
                .order_by(Case.received_at.desc(), Case.id.desc())
                .offset(page * size)
                .limit(size)
            ).all()
            if page == 0 and len(ids) < size:  # all of them are on this page
                total = len(ids)
            else:
                # a constant, not a column: the count reads an index alone, never a case row
                counted = select(literal(1)).select_from(Case).where(*where).limit(COUNT_CAP + 1).subquery()
                total = int(s.scalar(select(func.count()).select_from(counted)) or 0)
            # then the rows of this page only: plain columns, no identity map
            found = {r.id: r for r in s.execute(_PAGE_ROWS, {"ids": list(ids)})} if ids else {}
            rows = [found[i] for i in ids if i in found]
            events = self._suspension_events(s, rows)
            shown = tuple(self._row(session, r, r, events.get(r.id, []), now) for r in rows)
        return CasePage(shown, min(total, COUNT_CAP), total > COUNT_CAP, page, size)

    def _deadline_condition(
        self, s: Session, where: list[ColumnElement[bool]], wanted: set[DeadlineStatus], now: dt.datetime
    ) -> ColumnElement[bool]:
        today = _local(now).date()
        # a due date before this one leaves at most ``warning_margin`` working days
        cutoff = self.calendar.add_workdays(today, self.warning_margin + 1).value
        running = Case.status.in_(CLOCK_RUNNING)
        parts: list[ColumnElement[bool]] = []
        if DeadlineStatus.OVERDUE in wanted:
            parts.append(and_(running, Case.promised_due < now))
        if DeadlineStatus.WARNING in wanted:
            parts.append(and_(running, Case.promised_due >= now, Case.promised_date < cutoff))
        if DeadlineStatus.NORMAL in wanted:
            parts.append(and_(running, or_(Case.promised_date.is_(None), Case.promised_date >= cutoff)))
        suspended = s.scalars(
            select(Case).where(*where, Case.status.in_(CLOCK_SUSPENDED), Case.accepted_at.is_not(None))
        ).all()
        if suspended:
            events = self._suspension_events(s, suspended)
            ids = [
                c.id
                for c in suspended
                if (st := self._status(c, events.get(c.id, []), now)) is not None and st[0] in wanted
            ]
            if ids:
                parts.append(Case.id.in_(ids))
        return or_(*parts) if parts else false()

    @staticmethod
    def _suspension_events(s: Session, cases: Sequence[Any]) -> dict[uuid.UUID, list[CaseEventRecord]]:
        ids = [c.id for c in cases if c.status in CLOCK_SUSPENDED and c.accepted_at is not None]
        found: dict[uuid.UUID, list[CaseEventRecord]] = {}
        if ids:
            for e in s.scalars(select(CaseEventRecord).where(CaseEventRecord.case_id.in_(ids))):
                found.setdefault(e.case_id, []).append(e)
        return found

    # ---- deadlines --------------------------------------------------------------------------

    def _limits(self, case: Any) -> list[TimeLimit]:
        limits: list[TimeLimit] = []
        for code in case.matter_codes or ():
            try:
                limits.append(self.catalogue.matter(code).promised_limit)
            except KeyError:
                continue
        return limits

    def deadline_of(self, case: Any, events: Sequence[CaseEventRecord], now: dt.datetime) -> Deadline | None:
        """The case's deadline now: recomputed with its suspensions where the clock stands still."""
        if case.accepted_at is None:
            return None
        if case.status in CLOCK_SUSPENDED:
            limits = self._limits(case)
            if limits:
                accepted = _local(case.accepted_at).replace(tzinfo=None)
                pauses = suspensions_of(events, _local(now).date())
                due = [compute_deadline(accepted, lim, self.calendar, pauses, self.office) for lim in limits]
                return max(due, key=lambda d: d.due)
        if case.promised_due is None:
            return None
        return Deadline(_local(case.promised_due).replace(tzinfo=None), case.provisional)

    def _status(
        self, case: Any, events: Sequence[CaseEventRecord], now: dt.datetime
    ) -> tuple[DeadlineStatus, int, bool] | None:
        if case.status not in CLOCK_RUNNING and case.status not in CLOCK_SUSPENDED:
            return None
        deadline = self.deadline_of(case, events, now)
        if deadline is None:
            return None
        local_now = _local(now).replace(tzinfo=None)
        result = deadline_status(deadline, local_now, self.calendar, self.warning_margin)
        return result.status, result.workdays_left, result.provisional

    def _promised_after_resume(self, case: Case, events: Sequence[CaseEventRecord], now: dt.datetime) -> None:
        limits = self._limits(case)
        if case.accepted_at is None or not limits:
            return
        accepted = _local(case.accepted_at).replace(tzinfo=None)
        pauses = suspensions_of(events, _local(now).date())
        due = max(
            (compute_deadline(accepted, lim, self.calendar, pauses, self.office) for lim in limits),
            key=lambda d: d.due,
        )
        case.promised_due = due.due.replace(tzinfo=CHINA)
        case.promised_date = due.due_date
        case.provisional = due.provisional

    # ---- rows and details -------------------------------------------------------------------

    def _row(
        self,
        session: UserSession,
        case: Any,  # a Case or a row of _LISTED
        applicant: Any,
        events: Sequence[CaseEventRecord],
        now: dt.datetime,
    ) -> CaseRow:
        whole = sees_whole(session, case.clerk_id)
        organisation = applicant.id_type == ORGANISATION_ID_TYPE
        number = applicant.id_number if whole or organisation else mask_id(applicant.id_number)
        phone = applicant.phone if whole else mask_phone(applicant.phone)
        status = self._status(case, events, now)
        return CaseRow(
            case_id=case.id,
            case_number=case.case_number,
            status=case.status,
            status_label=CaseState(case.status).label,
            applicant_name=applicant.name,
            applicant_kind=applicant.kind,
            id_type=applicant.id_type,
            id_number=number,
            phone=phone,
            masked=not whole,
            matter_names=self._matter_names(case.matter_codes),
            received_at=case.received_at,
            accepted_at=case.accepted_at,
            promised_due=case.promised_due,
            deadline_status=status[0].value if status else None,
            deadline_label=status[0].label if status else "",
            workdays_left=status[1] if status else None,
            provisional=status[2] if status else case.provisional,
            clerk_name=case.clerk_name,
            window_number=case.window_number,
        )

    def _matter_names(self, codes: Sequence[str] | None) -> tuple[str, ...]:
        key = tuple(codes or ())
        names = self._names.get(key)
        if names is None:
            found = []
            for code in key:
                try:
                    found.append(self.catalogue.matter(code).name)
                except KeyError:
                    found.append(code)
            names = self._names[key] = tuple(found)
        return names

    def matters_of(self, session: UserSession, case_number: str) -> tuple[str, ...]:
        """The matter names of the case numbered ``case_number``, empty when this store has no
        such case: what the applicant served for it is asked to rate."""
        session.require(Permission.SERVE)
        with self._store.unit_of_work() as uow:
            codes = uow.session.scalar(
                select(Case.matter_codes).where(Case.case_number == case_number.strip(), ~Case.deleted)
            )
        return self._matter_names(codes) if codes else ()

    def detail(self, session: UserSession, case_id: uuid.UUID) -> CaseDetail:
        """One case with its full event history and materials."""
        session.require(Permission.SERVE)
        with self._store.unit_of_work() as uow:
            case = self._case(uow.session, case_id)
            return self._detail(uow.session, session, case, self._clock())

    def _detail(self, s: Session, session: UserSession, case: Case, now: dt.datetime) -> CaseDetail:
        applicant = s.get(Applicant, case.applicant_id)
        if applicant is None:  # pragma: no cover - the foreign key keeps it
            raise UserError(_("找不到这件办件的申请人"))
        events = list(
            s.scalars(
                select(CaseEventRecord)
                .where(CaseEventRecord.case_id == case.id)
                .order_by(CaseEventRecord.at, CaseEventRecord.hlc)
            )
        )
        materials = s.scalars(
            select(CaseMaterial)
            .where(CaseMaterial.case_id == case.id, ~CaseMaterial.deleted)
            .order_by(CaseMaterial.id)  # time-ordered ids: the order of the intake form
        ).all()
        row = self._row(session, case, applicant, events, now)
        documents: tuple[CaseDocumentView, ...] = ()
        licence_title, licence_due, unsigned = "", False, False
        if self.documents is not None:
            documents = tuple(self.documents.documents(s, case.case_number))
            kind = self.documents.licence_kind(case)
            if kind is not None:
                licence_title = kind.title
                waiting = case.status in LICENSABLE and not any(d.doc_type == "licence" for d in documents)
                licence_due = waiting and self.documents.can_sign
                unsigned = waiting and not self.documents.can_sign
        agent_id = case.agent_id_number
        if agent_id and row.masked:
            agent_id = mask_id(agent_id)
        return CaseDetail(
            row=row,
            events=tuple(_event_view(e) for e in events),
            materials=tuple(
                MaterialView(m.material_key, m.name, m.required, m.state, m.count, m.due_date)
                for m in materials
            ),
            delivery=case.delivery,
            delivery_address=case.delivery_address,
            agent_name=case.agent_name,
            agent_id_number=agent_id,
            reason=case.reason,
            legal_basis=case.legal_basis,
            allowed=tuple(e.value for e in case_states.allowed_events(case.status, session.role.value)),
            documents=documents,
            licence_title=licence_title,
            licence_due=licence_due and session.role is not Role.ADMIN,
            licence_unsigned=unsigned,
        )

    @staticmethod
    def _case(s: Session, case_id: uuid.UUID, *, lock: bool = False) -> Case:
        case = s.get(Case, case_id, with_for_update=lock or None)
        if case is None or case.deleted:
            raise UserError(_("找不到这件办件，可能已被删除"))
        return case


_METHODS = frozenset(m.value for m in DeliveryMethod)
_STATES = frozenset(c.value for c in CaseState)
_EVENTS = frozenset(c.value for c in CaseEvent)

_DETAIL_LABELS = {
    "method": N_("送达方式"),
    "recipient": N_("签收人"),
    "tracking": N_("快递单号"),
    "address": N_("邮寄地址"),
    "decision": N_("决定"),
    "promised_due": N_("承诺办结时间"),
    "notice": N_("文书"),
    "documents": N_("文书"),
    "missing": N_("需补正材料"),
    "received": N_("已收材料"),
}


def _detail_value(key: str, value: object) -> str:
    if key == "method" and isinstance(value, str) and value in _METHODS:
        return DeliveryMethod(value).label
    if key == "promised_due" and isinstance(value, str):
        try:
            return _local(dt.datetime.fromisoformat(value)).strftime("%Y-%m-%d %H:%M")
        except ValueError:
            return value
    if key == "decision" and isinstance(value, str) and value in _EVENTS:
        return CaseEvent(value).label
    if key == "notice" and isinstance(value, str):
        return _(value)
    if isinstance(value, list):
        return "、".join(str(v) for v in value)
    return str(value)


def _event_view(e: CaseEventRecord) -> EventView:
    detail = tuple(
        (_(_DETAIL_LABELS[k]), _detail_value(k, v))
        for k, v in (e.detail or {}).items()
        if k in _DETAIL_LABELS
    )

    def state_label(value: str) -> str:
        return CaseState(value).label if value in _STATES else value

    return EventView(
        at=e.at,
        event=e.event,
        event_label=CaseEvent(e.event).label if e.event in _EVENTS else e.event,
        from_state=e.from_state,
        from_label=state_label(e.from_state) if e.from_state else "",
        to_state=e.to_state,
        to_label=state_label(e.to_state),
        actor_name=e.actor_name,
        window_number=e.window_number,
        reason=e.reason,
        legal_basis=e.legal_basis,
        detail=detail,
    )
