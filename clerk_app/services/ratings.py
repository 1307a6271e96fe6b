"""好差评: recording a rating after a service, and rectifying the bad ones (GB/T 39734 / 39735).

Rules (see ``shared/DOMAIN.md``):

* Five levels, stored by their name (非常满意 … 非常不满意). The code lists in use run in opposite
  directions — GB/T 39046 annex A has 1 = 非常满意, a provincial platform 5 = 非常满意 — so codes
  appear only when exporting (:data:`CODE_SCHEMES`).
* One rating per service (一次一评): the store's unique index on ``service_ref`` is the rule; a
  second rating of the same service is refused.
* 不满意 and 非常不满意 are bad ratings: each opens a rectification (整改) assigned to the hall's
  supervisor, due on the N-th working day after the rating (hall setting, default 15). It records
  follow-up calls (回访: reached or not, what was said), the cause, the action taken and the
  applicant's re-rating, and cannot be closed without a follow-up record. Past its due date while
  open it is overdue.
* Only supervisors see and work on rectifications; a clerk sees only the ratings of their own
  services.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from clerk_app.domain.halltime import HALL_TZ
from clerk_app.domain.workdays import WorkCalendar
from clerk_app.i18n import N_, _
from clerk_app.security.roles import Permission, Role
from clerk_app.services.auth import UserSession
from clerk_app.services.errors import UserError
from clerk_app.services.runtime import Runtime
from clerk_app.store.audit import append_audit
from clerk_app.store.base import utcnow
from clerk_app.store.models import Setting, User
from clerk_app.store.models.supervision import Rating, Rectification, RectificationEvent

#: the hall's civil time: dates (due dates, "today") are China Standard Time dates
CHINA = HALL_TZ
SETTINGS_KEY = "supervision"


class Level(StrEnum):
    """The five levels; the value is the stored name."""

    VERY_SATISFIED = "非常满意"
    SATISFIED = "满意"
    BASICALLY_SATISFIED = "基本满意"
    DISSATISFIED = "不满意"
    VERY_DISSATISFIED = "非常不满意"

    @property
    def label(self) -> str:
        return _(_LEVEL_LABELS[self])

    @property
    def bad(self) -> bool:
        return self in (Level.DISSATISFIED, Level.VERY_DISSATISFIED)


_LEVEL_LABELS = {
    Level.VERY_SATISFIED: N_("非常满意"),
    Level.SATISFIED: N_("满意"),
    Level.BASICALLY_SATISFIED: N_("基本满意"),
    Level.DISSATISFIED: N_("不满意"),
    Level.VERY_DISSATISFIED: N_("非常不满意"),
}

LEVELS: tuple[Level, ...] = tuple(Level)

#: export mappings only — never stored. GB/T 39046-2020 annex A: 1 = very satisfied; the reverse
#: list used by provincial platforms: 5 = very satisfied.
GBT_39046_CODES: dict[Level, str] = {level: str(index + 1) for index, level in enumerate(LEVELS)}
PROVINCIAL_CODES: dict[Level, str] = {level: str(5 - index) for index, level in enumerate(LEVELS)}
CODE_SCHEMES: dict[str, dict[Level, str]] = {"gbt39046": GBT_39046_CODES, "provincial": PROVINCIAL_CODES}


#: the colour of each level on the pad's buttons and in the report charts
LEVEL_COLOURS = {
    Level.VERY_SATISFIED: "#1b7f3b",
    Level.SATISFIED: "#3f9c4f",
    Level.BASICALLY_SATISFIED: "#8a9a2b",
    Level.DISSATISFIED: "#c46a1a",
    Level.VERY_DISSATISFIED: "#b3261e",
}


class Channel(StrEnum):
    """Where the rating was given."""

    PAD = "pad"  # the hall tablet / rating pad at the window
    TERMINAL = "terminal"  # another terminal in the hall
    QR = "qr"  # scanning a QR code
    PHONE = "phone"  # phone call or SMS
    DEFAULT = "default"  # given by the system by default

    @property
    def label(self) -> str:
        return _(_CHANNEL_LABELS[self])


_CHANNEL_LABELS = {
    Channel.PAD: N_("窗口评价器"),
    Channel.TERMINAL: N_("大厅其他终端"),
    Channel.QR: N_("扫码评价"),
    Channel.PHONE: N_("电话或短信"),
    Channel.DEFAULT: N_("系统默认"),
}


class Cause(StrEnum):
    """Cause category of a bad rating, chosen when rectifying."""

    ATTITUDE = "attitude"
    EFFICIENCY = "efficiency"
    COMPETENCE = "competence"
    MATERIALS = "materials"
    POLICY = "policy"
    SYSTEM = "system"
    MISUNDERSTANDING = "misunderstanding"
    OTHER = "other"

    @property
    def label(self) -> str:
        return _(_CAUSE_LABELS[self])


_CAUSE_LABELS = {
    Cause.ATTITUDE: N_("服务态度"),
    Cause.EFFICIENCY: N_("办事效率"),
    Cause.COMPETENCE: N_("业务能力"),
    Cause.MATERIALS: N_("材料要求"),
    Cause.POLICY: N_("政策规定限制"),
    Cause.SYSTEM: N_("系统或设备故障"),
    Cause.MISUNDERSTANDING: N_("申请人误解"),
    Cause.OTHER: N_("其他"),
}

SUB_SCORES: tuple[tuple[str, str], ...] = (
    ("overall", N_("总体评价")),
    ("efficiency", N_("办事效率")),
    ("competence", N_("业务能力")),
    ("attitude", N_("服务态度")),
)

OPEN = "open"
CLOSED = "closed"


# --- settings -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SupervisionSettings:
    """Hall-wide settings of supervision (kept in the store's ``settings`` table, key ``supervision``)."""

    rectification_days: int = 15
    window_minutes: int = 20
    complex_days: int = 5
    special_days: int = 10
    pad_timeout_seconds: int = 60
    #: hall monitor alerts: a category's longest wait above this, fewer windows open than that
    wait_alert_minutes: int = 30
    min_open_windows: int = 3
    #: a staffed window whose workstation has not been heard from for longer is shown offline
    offline_seconds: int = 120
    supervisor_username: str = ""

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SupervisionSettings:
        defaults = cls()
        values: dict[str, Any] = {}
        for name in cls.__slots__:
            raw = data.get(name, getattr(defaults, name))
            values[name] = str(raw) if name == "supervisor_username" else int(raw)
        return cls(**values)

    def to_dict(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self.__slots__}


def load_settings(session: Session) -> SupervisionSettings:
    row = session.scalar(select(Setting).where(Setting.key == SETTINGS_KEY, ~Setting.deleted))
    return SupervisionSettings.from_dict(dict(row.value)) if row is not None else SupervisionSettings()


def save_settings(runtime: Runtime, who: UserSession, new: SupervisionSettings) -> None:
    """The administrator (or a supervisor) sets the hall's limits."""
    if who.role is not Role.ADMIN:
        who.require(Permission.SUPERVISE)
    if min(new.rectification_days, new.complex_days, new.special_days, new.window_minutes) < 1:
        raise UserError(_("期限必须至少为 1。"))
    with runtime.local.unit_of_work() as uow:
        row = uow.session.scalar(select(Setting).where(Setting.key == SETTINGS_KEY))
        if row is None:
            uow.session.add(Setting(key=SETTINGS_KEY, value=new.to_dict()))
        else:
            row.value = new.to_dict()
            row.deleted = False
        uow.commit()


_calendar_lock = threading.Lock()
_shared_calendar: WorkCalendar | None = None


def shared_calendar() -> WorkCalendar:
    """One working-day calendar for the process (it is thread-safe and costly to build)."""
    global _shared_calendar
    with _calendar_lock:
        if _shared_calendar is None:
            _shared_calendar = WorkCalendar()
        return _shared_calendar


def china_date(moment: dt.datetime) -> dt.date:
    return moment.astimezone(CHINA).date()


def find_supervisor(session: Session, settings: SupervisionSettings) -> User | None:
    """The supervisor rectifications and 办不成事 cases are assigned to: the one named in the
    settings, else the first active supervisor by staff number."""
    base = select(User).where(User.role == Role.SUPERVISOR.value, User.active, ~User.deleted)
    if settings.supervisor_username:
        named = session.scalar(base.where(User.username == settings.supervisor_username))
        if named is not None:
            return named
    return session.scalar(base.order_by(User.staff_no, User.username).limit(1))


# --- DTOs -------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RatingInput:
    service_ref: str
    level: Level
    channel: Channel = Channel.PAD
    overall: int | None = None
    efficiency: int | None = None
    competence: int | None = None
    attitude: int | None = None
    comment: str = ""
    matter_name: str = ""
    applicant_name: str = ""
    applicant_phone: str = ""


@dataclass(frozen=True, slots=True)
class RatingView:
    id: uuid.UUID
    service_ref: str
    level: Level
    overall: int | None
    efficiency: int | None
    competence: int | None
    attitude: int | None
    comment: str
    channel: Channel
    clerk_name: str
    window_number: int | None
    matter_name: str
    rated_at: dt.datetime


@dataclass(frozen=True, slots=True)
class RectificationView:
    id: uuid.UUID
    rating_id: uuid.UUID
    service_ref: str
    level: Level
    comment: str
    applicant_name: str
    applicant_phone: str
    clerk_name: str
    window_number: int | None
    assignee_name: str
    status: str
    opened_at: dt.datetime
    due_date: dt.date
    due_provisional: bool
    overdue: bool
    follow_ups: int
    reached: bool
    cause: Cause | None
    action_taken: str
    re_rating: Level | None
    closed_at: dt.datetime | None
    closed_by: str

    @property
    def closed(self) -> bool:
        return self.status == CLOSED


@dataclass(frozen=True, slots=True)
class RectificationEventView:
    kind: str
    at: dt.datetime
    actor_name: str
    reached: bool | None
    text: str


@dataclass(frozen=True, slots=True)
class RatingResult:
    rating: RatingView
    rectification: RectificationView | None


def _subscore(name: str, value: int | None) -> int | None:
    if value is None:
        return None
    if not 1 <= value <= 5:
        raise UserError(_("分项评分必须在 1 到 5 之间。"), field=name)
    return value


def _rating_view(row: Rating) -> RatingView:
    return RatingView(
        row.id,
        row.service_ref,
        Level(row.level),
        row.overall,
        row.efficiency,
        row.competence,
        row.attitude,
        row.comment,
        Channel(row.channel),
        row.clerk_name,
        row.window_number,
        row.matter_name,
        row.rated_at,
    )


class RatingService:
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

    def settings(self) -> SupervisionSettings:
        with self._rt.local.unit_of_work() as uow:
            return load_settings(uow.session)

    # ---- rating ------------------------------------------------------------------------------

    def record(self, who: UserSession, entry: RatingInput) -> RatingResult:
        """The applicant rates the service just given by ``who`` (on the pad of ``who``'s window)."""
        who.require(Permission.SERVE)
        ref = entry.service_ref.strip()
        if not ref:
            raise UserError(_("缺少被评价的服务编号。"), field="service_ref")
        level = Level(entry.level)
        subs = {name: _subscore(name, getattr(entry, name)) for name, _label in SUB_SCORES}
        now = self._clock()
        with self._rt.local.unit_of_work() as uow:
            session = uow.session
            if session.scalar(select(Rating.id).where(Rating.service_ref == ref)) is not None:
                raise UserError(_("该服务已经评价过，每次服务只能评价一次。"), field="service_ref")
            rating = Rating(
                service_ref=ref,
                level=level.value,
                comment=entry.comment.strip()[:2000],
                channel=Channel(entry.channel).value,
                clerk_id=who.user_id,
                clerk_name=who.display_name,
                window_number=who.window_number,
                matter_name=entry.matter_name,
                applicant_name=entry.applicant_name.strip(),
                applicant_phone=entry.applicant_phone.strip(),
                rated_at=now,
                **subs,
            )
            session.add(rating)
            try:
                session.flush()
            except IntegrityError:
                raise UserError(_("该服务已经评价过，每次服务只能评价一次。"), field="service_ref") from None
            rectification = self._open_rectification(session, rating, now) if level.bad else None
            result = RatingResult(
                _rating_view(rating),
                self._view(session, rectification, now) if rectification is not None else None,
            )
            uow.commit()
            return result

    def _open_rectification(self, session: Session, rating: Rating, now: dt.datetime) -> Rectification:
        settings = load_settings(session)
        due = self.calendar.add_workdays(china_date(now), settings.rectification_days)
        supervisor = find_supervisor(session, settings)
        row = Rectification(
            rating_id=rating.id,
            level=rating.level,
            clerk_id=rating.clerk_id,
            clerk_name=rating.clerk_name,
            window_number=rating.window_number,
            assignee_id=supervisor.id if supervisor else None,
            assignee_name=supervisor.display_name if supervisor else "",
            status=OPEN,
            opened_at=now,
            due_date=due.value,
            due_provisional=due.provisional,
            follow_ups=0,
            reached=False,
            cause_category="",
            action_taken="",
            re_rating="",
            closed_by="",
        )
        session.add(row)
        session.flush()
        self._event(session, row, "opened", "", now, text=rating.comment)
        return row

    def is_rated(self, who: UserSession, service_ref: str) -> bool:
        who.require(Permission.SERVE)
        with self._rt.local.unit_of_work() as uow:
            found = uow.session.scalar(select(Rating.id).where(Rating.service_ref == service_ref.strip()))
            return found is not None

    def ratings(
        self, who: UserSession, day_from: dt.date | None = None, day_to: dt.date | None = None
    ) -> list[RatingView]:
        """Ratings newest first; a clerk gets only the ratings of their own services."""
        if who.role is Role.ADMIN:
            who.require(Permission.SUPERVISE)
        stmt = select(Rating).where(~Rating.deleted)
        if who.role is not Role.SUPERVISOR:
            who.require(Permission.SERVE)
            stmt = stmt.where(Rating.clerk_id == who.user_id)
        if day_from is not None:
            stmt = stmt.where(Rating.rated_at >= _day_start(day_from))
        if day_to is not None:
            stmt = stmt.where(Rating.rated_at < _day_start(day_to + dt.timedelta(days=1)))
        with self._rt.local.unit_of_work() as uow:
            rows = uow.session.scalars(stmt.order_by(Rating.rated_at.desc(), Rating.id.desc()))
            return [_rating_view(r) for r in rows]

    def export_csv(
        self,
        who: UserSession,
        scheme: str = "gbt39046",
        day_from: dt.date | None = None,
        day_to: dt.date | None = None,
    ) -> bytes:
        """Ratings as CSV (UTF-8 with BOM, so Excel shows the Chinese text), with the level as its
        name and as a code of ``scheme`` (``gbt39046`` or ``provincial``)."""
        if scheme not in CODE_SCHEMES:
            raise ValueError(f"unknown code scheme {scheme!r}")
        codes = CODE_SCHEMES[scheme]
        rows = self.ratings(who, day_from, day_to)
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow(
            [
                _("服务编号"),
                _("评价时间"),
                _("评价等级"),
                _("等级代码"),
                _("总体评价"),
                _("办事效率"),
                _("业务能力"),
                _("服务态度"),
                _("评价渠道"),
                _("窗口"),
                _("工作人员"),
                _("事项"),
                _("评价内容"),
            ]
        )
        for r in reversed(rows):
            writer.writerow(
                [
                    r.service_ref,
                    r.rated_at.astimezone(CHINA).strftime("%Y-%m-%d %H:%M:%S"),
                    r.level.value,
                    codes[r.level],
                    *("" if v is None else v for v in (r.overall, r.efficiency, r.competence, r.attitude)),
                    r.channel.label,
                    "" if r.window_number is None else r.window_number,
                    r.clerk_name,
                    r.matter_name,
                    r.comment,
                ]
            )
        return buffer.getvalue().encode("utf-8-sig")

    # ---- rectification -----------------------------------------------------------------------

    def rectifications(self, who: UserSession, *, open_only: bool = False) -> list[RectificationView]:
        who.require(Permission.SUPERVISE)
        now = self._clock()
        stmt = select(Rectification).where(~Rectification.deleted)
        if open_only:
            stmt = stmt.where(Rectification.status == OPEN)
        with self._rt.local.unit_of_work() as uow:
            rows = uow.session.scalars(stmt.order_by(Rectification.due_date, Rectification.opened_at)).all()
            return [self._view(uow.session, r, now) for r in rows]

    def rectification(
        self, who: UserSession, rectification_id: uuid.UUID
    ) -> tuple[RectificationView, list[RectificationEventView]]:
        who.require(Permission.SUPERVISE)
        with self._rt.local.unit_of_work() as uow:
            row = _get(uow.session, rectification_id)
            events = uow.session.scalars(
                select(RectificationEvent)
                .where(RectificationEvent.rectification_id == row.id)
                .order_by(RectificationEvent.at, RectificationEvent.hlc)
            )
            return self._view(uow.session, row, self._clock()), [
                RectificationEventView(e.kind, e.at, e.actor_name, e.reached, e.text) for e in events
            ]

    def record_follow_up(
        self, who: UserSession, rectification_id: uuid.UUID, *, reached: bool, note: str
    ) -> RectificationView:
        """A follow-up call (回访): whether the applicant was reached and what was said."""
        who.require(Permission.SUPERVISE)
        note = note.strip()
        if not note:
            raise UserError(_("请记录回访情况（说了什么，或为何未联系上）。"), field="note")

        def change(session: Session, row: Rectification, now: dt.datetime) -> None:
            row.follow_ups += 1
            row.reached = row.reached or reached
            self._event(session, row, "follow_up", who.display_name, now, text=note, reached=reached)

        return self._change(who, rectification_id, change)

    def record_cause(
        self, who: UserSession, rectification_id: uuid.UUID, *, cause: Cause, action: str
    ) -> RectificationView:
        """The cause category and the rectification taken (整改措施)."""
        who.require(Permission.SUPERVISE)
        action = action.strip()
        if not action:
            raise UserError(_("请填写采取的整改措施。"), field="action")

        def change(session: Session, row: Rectification, now: dt.datetime) -> None:
            row.cause_category = Cause(cause).value
            row.action_taken = action
            self._event(
                session,
                row,
                "rectified",
                who.display_name,
                now,
                text=action,
                detail={"cause": row.cause_category},
            )

        return self._change(who, rectification_id, change)

    def record_re_rating(
        self, who: UserSession, rectification_id: uuid.UUID, level: Level
    ) -> RectificationView:
        """The applicant's rating after the rectification (taken on the follow-up call)."""
        who.require(Permission.SUPERVISE)

        def change(session: Session, row: Rectification, now: dt.datetime) -> None:
            row.re_rating = Level(level).value
            self._event(session, row, "re_rated", who.display_name, now, text=row.re_rating)

        return self._change(who, rectification_id, change)

    def close(self, who: UserSession, rectification_id: uuid.UUID, note: str = "") -> RectificationView:
        """Only a supervisor closes, and only with a follow-up record, a cause and an action."""
        who.require(Permission.SUPERVISE)

        def change(session: Session, row: Rectification, now: dt.datetime) -> None:
            if row.follow_ups < 1:
                raise UserError(_("没有回访记录，不能办结整改。请先记录回访情况。"))
            if not row.cause_category or not row.action_taken:
                raise UserError(_("请先填写差评原因和整改措施，再办结。"))
            row.status = CLOSED
            row.closed_at = now
            row.closed_by = who.display_name
            self._event(session, row, "closed", who.display_name, now, text=note.strip())
            append_audit(
                session,
                self._rt.device_id,
                "rectification.closed",
                actor_id=who.user_id,
                actor_name=who.username,
                window_number=who.window_number,
                target=str(row.id),
                detail={
                    "rating_id": str(row.rating_id),
                    "overdue": now.astimezone(CHINA).date() > row.due_date,
                },
                at=now,
            )

        return self._change(who, rectification_id, change)

    def _change(
        self,
        who: UserSession,
        rectification_id: uuid.UUID,
        change: Callable[[Session, Rectification, dt.datetime], None],
    ) -> RectificationView:
        now = self._clock()
        with self._rt.local.unit_of_work() as uow:
            row = _get(uow.session, rectification_id)
            if row.status == CLOSED:
                raise UserError(_("该整改已办结，不能再修改。"))
            change(uow.session, row, now)
            uow.session.flush()
            view = self._view(uow.session, row, now)
            uow.commit()
            return view

    @staticmethod
    def _event(
        session: Session,
        row: Rectification,
        kind: str,
        actor: str,
        now: dt.datetime,
        *,
        text: str = "",
        reached: bool | None = None,
        detail: dict[str, Any] | None = None,
    ) -> None:
        session.add(
            RectificationEvent(
                rectification_id=row.id,
                kind=kind,
                at=now,
                actor_name=actor,
                reached=reached,
                text=text,
                detail=detail or {},
            )
        )

    @staticmethod
    def _view(session: Session, row: Rectification, now: dt.datetime) -> RectificationView:
        rating = session.get(Rating, row.rating_id)
        assert rating is not None
        return RectificationView(
            row.id,
            row.rating_id,
            rating.service_ref,
            Level(row.level),
            rating.comment,
            rating.applicant_name,
            rating.applicant_phone,
            row.clerk_name,
            row.window_number,
            row.assignee_name,
            row.status,
            row.opened_at,
            row.due_date,
            row.due_provisional,
            row.status == OPEN and china_date(now) > row.due_date,
            row.follow_ups,
            row.reached,
            Cause(row.cause_category) if row.cause_category else None,
            row.action_taken,
            Level(row.re_rating) if row.re_rating else None,
            row.closed_at,
            row.closed_by,
        )


def _get(session: Session, rectification_id: uuid.UUID) -> Rectification:
    row = session.get(Rectification, rectification_id)
    if row is None or row.deleted:
        raise UserError(_("找不到该整改记录。"))
    return row


def _day_start(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(), CHINA)


EVENT_LABELS = {
    "opened": N_("差评生成整改"),
    "follow_up": N_("回访"),
    "rectified": N_("整改措施"),
    "re_rated": N_("再次评价"),
    "closed": N_("办结"),
}


def event_label(kind: str) -> str:
    return _(EVENT_LABELS[kind]) if kind in EVENT_LABELS else kind
