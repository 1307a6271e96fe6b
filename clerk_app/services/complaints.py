"""办不成事: the ledger of matters an applicant could not get done, and 12345 hotline complaints.

Rules (see ``shared/DOMAIN.md``): receive → classify → hand over (转办) → resolve → feed back to the
applicant, all in one ledger with timestamps. A case is registered at the 办不成事 window, from the
rating pad's "找负责人" button, or from a 12345 hotline work order. Simple cases are handled at once
(target: first action within 20 minutes of registration, a hall setting); a hand-over gets a due
date: simple the same day, complex 5 working days, special 10 (settings). A "negative answer"
(the matter cannot be done) needs a written reason and is reported to the supervisor. Every step
is an insert-only event. Only supervisors hand over, resolve and close; a clerk may register a case
and record a negative answer (which reports it).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import secrets
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from sqlalchemy import Select, or_, select
from sqlalchemy.orm import Session

from clerk_app.domain.workdays import WorkCalendar
from clerk_app.i18n import N_, _
from clerk_app.security.roles import Permission
from clerk_app.services.auth import UserSession
from clerk_app.services.errors import UserError
from clerk_app.services.ratings import CHINA, china_date, load_settings, shared_calendar
from clerk_app.services.runtime import Runtime
from clerk_app.store.audit import append_audit
from clerk_app.store.base import utcnow
from clerk_app.store.models import Department
from clerk_app.store.models.supervision import ComplaintCase, ComplaintEvent


class Source(StrEnum):
    WINDOW = "window"
    PAD = "pad"
    HOTLINE = "hotline"

    @property
    def label(self) -> str:
        return _(_SOURCE_LABELS[self])


_SOURCE_LABELS = {
    Source.WINDOW: N_("办不成事窗口"),
    Source.PAD: N_("评价器“找负责人”"),
    Source.HOTLINE: N_("12345 热线"),
}


class Category(StrEnum):
    MATERIALS = "materials"
    POLICY = "policy"
    CROSS_DEPARTMENT = "cross_department"
    SYSTEM = "system"
    SERVICE = "service"
    OTHER = "other"

    @property
    def label(self) -> str:
        return _(_CATEGORY_LABELS[self])


_CATEGORY_LABELS = {
    Category.MATERIALS: N_("材料或条件问题"),
    Category.POLICY: N_("政策无规定或有冲突"),
    Category.CROSS_DEPARTMENT: N_("跨部门协调"),
    Category.SYSTEM: N_("系统或数据问题"),
    Category.SERVICE: N_("服务态度或效率"),
    Category.OTHER: N_("其他"),
}


class Complexity(StrEnum):
    SIMPLE = "simple"
    COMPLEX = "complex"
    SPECIAL = "special"

    @property
    def label(self) -> str:
        return _(_COMPLEXITY_LABELS[self])


_COMPLEXITY_LABELS = {
    Complexity.SIMPLE: N_("简单（即时办理）"),
    Complexity.COMPLEX: N_("复杂"),
    Complexity.SPECIAL: N_("特殊"),
}


class Status(StrEnum):
    REGISTERED = "registered"
    HANDED_OVER = "handed_over"
    RESOLVED = "resolved"
    NEGATIVE = "negative"
    CLOSED = "closed"

    @property
    def label(self) -> str:
        return _(_STATUS_LABELS[self])


_STATUS_LABELS = {
    Status.REGISTERED: N_("已登记"),
    Status.HANDED_OVER: N_("已转办"),
    Status.RESOLVED: N_("已解决"),
    Status.NEGATIVE: N_("否定答复"),
    Status.CLOSED: N_("已办结"),
}

EVENT_LABELS = {
    "registered": N_("登记"),
    "handed_over": N_("转办"),
    "resolved": N_("解决"),
    "negative": N_("否定答复（已上报）"),
    "feedback": N_("反馈申请人"),
    "closed": N_("办结"),
}

ACTIVE = (Status.REGISTERED, Status.HANDED_OVER)
MIN_REASON = 10  # characters of a written negative-answer reason


def event_label(kind: str) -> str:
    return _(EVENT_LABELS[kind]) if kind in EVENT_LABELS else kind


# --- DTOs -------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ComplaintInput:
    request: str
    category: Category = Category.OTHER
    source: Source = Source.WINDOW
    applicant_name: str = ""
    applicant_phone: str = ""
    window_number: int | None = None
    department: str = ""
    matter_name: str = ""
    case_ref: str = ""
    hotline_ref: str = ""
    rating_id: uuid.UUID | None = None


@dataclass(frozen=True, slots=True)
class ComplaintView:
    id: uuid.UUID
    number: str
    source: Source
    hotline_ref: str
    applicant_name: str
    applicant_phone: str
    request: str
    window_number: int | None
    department: str
    matter_name: str
    case_ref: str
    category: Category
    complexity: Complexity
    status: Status
    registered_at: dt.datetime
    registered_by: str
    first_action_at: dt.datetime | None
    handover_department: str
    handed_over_at: dt.datetime | None
    due_date: dt.date | None
    resolution: str
    feedback: str
    negative_reason: str
    reported: bool
    closed_at: dt.datetime | None
    closed_by: str
    overdue: bool
    window_minutes: int

    @property
    def open(self) -> bool:
        return self.status is not Status.CLOSED

    def elapsed(self, now: dt.datetime) -> dt.timedelta:
        """Time from registration to the first action (or to ``now`` while nothing was done)."""
        return (self.first_action_at or now) - self.registered_at

    def over_target(self, now: dt.datetime) -> bool:
        """Whether the window target (20 minutes by default) was or is being exceeded."""
        return self.elapsed(now) > dt.timedelta(minutes=self.window_minutes)


@dataclass(frozen=True, slots=True)
class ComplaintEventView:
    kind: str
    status: Status
    at: dt.datetime
    actor_name: str
    text: str


@dataclass(frozen=True, slots=True)
class LedgerQuery:
    text: str = ""
    status: Status | None = None
    category: Category | None = None
    source: Source | None = None
    day_from: dt.date | None = None
    day_to: dt.date | None = None
    open_only: bool = False


def registered_case(**fields: Any) -> ComplaintCase:
    """A new complaint case as it stands when registered (simple, not yet handed over, resolved,
    answered or closed); ``fields`` give the rest (number, source, request, registered_at …)."""
    return ComplaintCase(
        complexity=Complexity.SIMPLE.value,
        status=Status.REGISTERED.value,
        handover_department="",
        resolution="",
        feedback="",
        negative_reason="",
        reported=False,
        closed_by="",
        **fields,
    )


class ComplaintService:
    def __init__(
        self,
        runtime: Runtime,
        clock: Callable[[], dt.datetime] = utcnow,
        calendar: WorkCalendar | None = None,
    ) -> None:
        self._rt = runtime
        self._clock = clock
        self._calendar = calendar

    @property
    def calendar(self) -> WorkCalendar:
        return self._calendar or shared_calendar()

    # ---- registering -------------------------------------------------------------------------

    def register(self, who: UserSession, entry: ComplaintInput) -> ComplaintView:
        who.require(Permission.SERVE)
        request = entry.request.strip()
        if not request:
            raise UserError(_("请填写申请人没有办成的事项或诉求。"), field="request")
        source = Source(entry.source)
        if source is Source.HOTLINE and not entry.hotline_ref.strip():
            raise UserError(_("12345 热线转来的投诉请填写工单编号。"), field="hotline_ref")
        now = self._clock()
        with self._rt.local.unit_of_work() as uow:
            session = uow.session
            row = registered_case(
                number=self._number(now),
                source=source.value,
                hotline_ref=entry.hotline_ref.strip(),
                applicant_name=entry.applicant_name.strip(),
                applicant_phone=entry.applicant_phone.strip(),
                request=request,
                window_number=entry.window_number,
                department=entry.department.strip(),
                matter_name=entry.matter_name.strip(),
                case_ref=entry.case_ref.strip(),
                rating_id=entry.rating_id,
                category=Category(entry.category).value,
                registered_at=now,
                registered_by=who.display_name,
            )
            session.add(row)
            session.flush()
            self._event(session, row, "registered", who, now, request, {"source": source.value})
            view = self._view(session, row)
            uow.commit()
            return view

    def ask_for_supervisor(
        self, who: UserSession, service_ref: str = "", matter_name: str = ""
    ) -> ComplaintView:
        """The applicant pressed "找负责人" on the rating pad: a case opens at once, its timer runs."""
        request = _("申请人在 {n} 号窗口评价器上要求找负责人。").format(n=who.window_number or "-")
        return self.register(
            who,
            ComplaintInput(
                request=request,
                source=Source.PAD,
                window_number=who.window_number,
                matter_name=matter_name,
                case_ref=service_ref,
            ),
        )

    @staticmethod
    def _number(now: dt.datetime) -> str:
        # made offline on any workstation: the date and a random part, never a shared counter
        return f"BC{china_date(now):%Y%m%d}-{secrets.token_hex(4).upper()}"

    # ---- steps -------------------------------------------------------------------------------

    def hand_over(
        self,
        who: UserSession,
        case_id: uuid.UUID,
        *,
        department: str,
        complexity: Complexity,
        category: Category | None = None,
        note: str = "",
    ) -> ComplaintView:
        """转办 to a department with a due date: simple the same day, complex and special in
        working days (settings)."""
        who.require(Permission.SUPERVISE)
        department = department.strip()
        if not department:
            raise UserError(_("请选择承办部门。"), field="department")
        level = Complexity(complexity)

        def change(session: Session, row: ComplaintCase, now: dt.datetime) -> None:
            _require_status(row, ACTIVE)
            settings = load_settings(session)
            today = china_date(now)
            days = {Complexity.COMPLEX: settings.complex_days, Complexity.SPECIAL: settings.special_days}
            due = self.calendar.add_workdays(today, days[level]).value if level in days else today
            row.complexity = level.value
            if category is not None:
                row.category = Category(category).value
            row.handover_department = department
            row.handed_over_at = now
            row.due_date = due
            row.status = Status.HANDED_OVER.value
            row.first_action_at = row.first_action_at or now
            text = note.strip() or department
            self._event(
                session,
                row,
                "handed_over",
                who,
                now,
                text,
                {"department": department, "complexity": level.value, "due": due.isoformat()},
            )

        return self._change(who, case_id, change)

    def resolve(self, who: UserSession, case_id: uuid.UUID, resolution: str) -> ComplaintView:
        who.require(Permission.SUPERVISE)
        resolution = resolution.strip()
        if not resolution:
            raise UserError(_("请填写解决情况。"), field="resolution")

        def change(session: Session, row: ComplaintCase, now: dt.datetime) -> None:
            _require_status(row, ACTIVE)
            row.resolution = resolution
            row.resolved_at = now
            row.status = Status.RESOLVED.value
            row.first_action_at = row.first_action_at or now
            self._event(session, row, "resolved", who, now, resolution)

        return self._change(who, case_id, change)

    def negative_answer(self, who: UserSession, case_id: uuid.UUID, reason: str) -> ComplaintView:
        """The matter cannot be done: a written reason is required, and the answer is reported to
        the supervisor (flagged in the ledger and in the audit trail)."""
        who.require(Permission.SERVE)
        reason = reason.strip()
        if len(reason) < MIN_REASON:
            raise UserError(_("否定答复必须写明理由（至少 {n} 个字）。").format(n=MIN_REASON), field="reason")

        def change(session: Session, row: ComplaintCase, now: dt.datetime) -> None:
            _require_status(row, ACTIVE)
            row.negative_reason = reason
            row.reported = True
            row.status = Status.NEGATIVE.value
            row.first_action_at = row.first_action_at or now
            self._event(session, row, "negative", who, now, reason)
            append_audit(
                session,
                self._rt.device_id,
                "complaint.negative_answer",
                actor_id=who.user_id,
                actor_name=who.username,
                window_number=who.window_number,
                target=row.number,
                detail={"reason": reason},
                at=now,
            )

        return self._change(who, case_id, change)

    def record_feedback(self, who: UserSession, case_id: uuid.UUID, feedback: str) -> ComplaintView:
        """What the applicant was told (by phone, in person…) after resolution or a negative answer."""
        who.require(Permission.SUPERVISE)
        feedback = feedback.strip()
        if not feedback:
            raise UserError(_("请填写向申请人反馈的内容。"), field="feedback")

        def change(session: Session, row: ComplaintCase, now: dt.datetime) -> None:
            _require_status(row, (Status.RESOLVED, Status.NEGATIVE))
            row.feedback = feedback
            row.feedback_at = now
            self._event(session, row, "feedback", who, now, feedback)

        return self._change(who, case_id, change)

    def close(self, who: UserSession, case_id: uuid.UUID) -> ComplaintView:
        """Only a supervisor closes, once the applicant has had feedback."""
        who.require(Permission.SUPERVISE)

        def change(session: Session, row: ComplaintCase, now: dt.datetime) -> None:
            _require_status(row, (Status.RESOLVED, Status.NEGATIVE))
            if not row.feedback:
                raise UserError(_("尚未向申请人反馈，不能办结。"))
            row.status = Status.CLOSED.value
            row.closed_at = now
            row.closed_by = who.display_name
            self._event(session, row, "closed", who, now, "")

        return self._change(who, case_id, change)

    # ---- reading -----------------------------------------------------------------------------

    def departments(self, who: UserSession) -> list[str]:
        """The hall's departments, for the hand-over choice."""
        who.require(Permission.SERVE)
        with self._rt.local.unit_of_work() as uow:
            names = uow.session.scalars(
                select(Department.name).where(~Department.deleted).order_by(Department.code)
            )
            return list(names)

    def get(self, who: UserSession, case_id: uuid.UUID) -> tuple[ComplaintView, list[ComplaintEventView]]:
        who.require(Permission.SUPERVISE)
        with self._rt.local.unit_of_work() as uow:
            row = _get(uow.session, case_id)
            events = uow.session.scalars(
                select(ComplaintEvent)
                .where(ComplaintEvent.case_id == row.id)
                .order_by(ComplaintEvent.at, ComplaintEvent.hlc)
            )
            return self._view(uow.session, row), [
                ComplaintEventView(e.kind, Status(e.status), e.at, e.actor_name, e.text) for e in events
            ]

    def search(self, who: UserSession, query: LedgerQuery | None = None) -> list[ComplaintView]:
        """The ledger, newest first, filtered by text (number, applicant, phone, request, matter,
        hotline work order, department), status, category, source and registration dates."""
        who.require(Permission.SUPERVISE)
        with self._rt.local.unit_of_work() as uow:
            rows = uow.session.scalars(_filtered(query or LedgerQuery())).all()
            minutes = load_settings(uow.session).window_minutes
            return [self._view(uow.session, r, minutes) for r in rows]

    def negative_reports(self, who: UserSession) -> list[ComplaintView]:
        """Negative answers reported to the supervisor."""
        who.require(Permission.SUPERVISE)
        with self._rt.local.unit_of_work() as uow:
            rows = uow.session.scalars(
                select(ComplaintCase)
                .where(ComplaintCase.reported, ~ComplaintCase.deleted)
                .order_by(ComplaintCase.registered_at.desc())
            ).all()
            minutes = load_settings(uow.session).window_minutes
            return [self._view(uow.session, r, minutes) for r in rows]

    def export_csv(self, who: UserSession, query: LedgerQuery | None = None) -> bytes:
        """The (filtered) ledger as CSV, UTF-8 with BOM so that Excel shows the Chinese text."""
        rows = self.search(who, query)
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow(
            [
                _("编号"),
                _("来源"),
                _("12345 工单号"),
                _("登记时间"),
                _("登记人"),
                _("申请人"),
                _("联系电话"),
                _("诉求"),
                _("窗口"),
                _("部门"),
                _("事项"),
                _("办件编号"),
                _("类别"),
                _("复杂程度"),
                _("状态"),
                _("首次处理用时（分钟）"),
                _("承办部门"),
                _("办理期限"),
                _("解决情况"),
                _("否定答复理由"),
                _("反馈"),
                _("办结时间"),
                _("办结人"),
            ]
        )
        now = self._clock()
        for r in reversed(rows):
            writer.writerow(
                [
                    r.number,
                    r.source.label,
                    r.hotline_ref,
                    _fmt(r.registered_at),
                    r.registered_by,
                    r.applicant_name,
                    r.applicant_phone,
                    r.request,
                    "" if r.window_number is None else r.window_number,
                    r.department,
                    r.matter_name,
                    r.case_ref,
                    r.category.label,
                    r.complexity.label,
                    r.status.label,
                    f"{r.elapsed(now).total_seconds() / 60:.1f}",
                    r.handover_department,
                    r.due_date.isoformat() if r.due_date else "",
                    r.resolution,
                    r.negative_reason,
                    r.feedback,
                    _fmt(r.closed_at),
                    r.closed_by,
                ]
            )
        return buffer.getvalue().encode("utf-8-sig")

    # ---- helpers -----------------------------------------------------------------------------

    def _change(
        self,
        who: UserSession,
        case_id: uuid.UUID,
        change: Callable[[Session, ComplaintCase, dt.datetime], None],
    ) -> ComplaintView:
        now = self._clock()
        with self._rt.local.unit_of_work() as uow:
            row = _get(uow.session, case_id)
            change(uow.session, row, now)
            uow.session.flush()
            view = self._view(uow.session, row)
            uow.commit()
            return view

    @staticmethod
    def _event(
        session: Session,
        row: ComplaintCase,
        kind: str,
        who: UserSession,
        now: dt.datetime,
        text: str,
        detail: dict[str, Any] | None = None,
    ) -> None:
        session.add(
            ComplaintEvent(
                case_id=row.id,
                kind=kind,
                at=now,
                actor_name=who.display_name,
                status=row.status,
                text=text,
                detail=detail or {},
            )
        )

    def _view(self, session: Session, row: ComplaintCase, window_minutes: int | None = None) -> ComplaintView:
        if window_minutes is None:
            window_minutes = load_settings(session).window_minutes
        status = Status(row.status)
        today = china_date(self._clock())
        overdue = status in ACTIVE and row.due_date is not None and today > row.due_date
        return ComplaintView(
            row.id, row.number, Source(row.source), row.hotline_ref, row.applicant_name,
            row.applicant_phone, row.request, row.window_number, row.department, row.matter_name,
            row.case_ref, Category(row.category), Complexity(row.complexity), status,
            row.registered_at, row.registered_by, row.first_action_at, row.handover_department,
            row.handed_over_at, row.due_date, row.resolution, row.feedback, row.negative_reason,
            row.reported, row.closed_at, row.closed_by, overdue, window_minutes,
        )  # fmt: skip


def _filtered(query: LedgerQuery) -> Select[ComplaintCase]:
    stmt = select(ComplaintCase).where(~ComplaintCase.deleted)
    text = query.text.strip()
    if text:
        pattern = f"%{text}%"
        stmt = stmt.where(
            or_(
                ComplaintCase.number.ilike(pattern),
                ComplaintCase.applicant_name.ilike(pattern),
                ComplaintCase.applicant_phone.ilike(pattern),
                ComplaintCase.request.ilike(pattern),
                ComplaintCase.matter_name.ilike(pattern),
                ComplaintCase.hotline_ref.ilike(pattern),
                ComplaintCase.department.ilike(pattern),
                ComplaintCase.handover_department.ilike(pattern),
            )
        )
    if query.status is not None:
        stmt = stmt.where(ComplaintCase.status == Status(query.status).value)
    if query.open_only:
        stmt = stmt.where(ComplaintCase.status != Status.CLOSED.value)
    if query.category is not None:
        stmt = stmt.where(ComplaintCase.category == Category(query.category).value)
    if query.source is not None:
        stmt = stmt.where(ComplaintCase.source == Source(query.source).value)
    if query.day_from is not None:
        stmt = stmt.where(
            ComplaintCase.registered_at >= dt.datetime.combine(query.day_from, dt.time(), CHINA)
        )
    if query.day_to is not None:
        end = dt.datetime.combine(query.day_to + dt.timedelta(days=1), dt.time(), CHINA)
        stmt = stmt.where(ComplaintCase.registered_at < end)
    return stmt.order_by(ComplaintCase.registered_at.desc(), ComplaintCase.number)


def _require_status(row: ComplaintCase, allowed: tuple[Status, ...]) -> None:
    if Status(row.status) not in allowed:
        raise UserError(_("该案件当前状态为“{s}”，不能进行此操作。").format(s=Status(row.status).label))


def _get(session: Session, case_id: uuid.UUID) -> ComplaintCase:
    row = session.get(ComplaintCase, case_id)
    if row is None or row.deleted:
        raise UserError(_("找不到该办不成事案件。"))
    return row


def _fmt(moment: dt.datetime | None) -> str:
    return moment.astimezone(CHINA).strftime("%Y-%m-%d %H:%M") if moment else ""
