"""Supervision figures for a day, week, month or range: 好差评 satisfaction, bad ratings and their
rectification, 办不成事 cases by category, source and outcome, and cases per matter, window and
clerk with the on-time completion rate. Also the live supervision part of the hall monitor.

Definitions (stated here because halls differ):

* Satisfaction rate = (非常满意 + 满意 + 基本满意) / all ratings of the period; bad ratings are
  不满意 + 非常不满意.
* Rectifications are those opened in the period, split into open, open and overdue, closed by the
  due date and closed late (judged on hall dates, UTC+8).
* 办不成事 "handled within target": the first action (hand-over, resolution or negative answer)
  came within the window target (20 minutes by default) of registration.
* On-time completion rate of cases received in the period that have a promised date: decided by
  the promised time / (decided + past the promised time and still undecided). Cases without a
  promised time are not in the rate.

Ticket counts, waiting and service times come from the queue's statistics over the central
store's ticket history (``clerk_app.services.queue_stats``) and join the exports when the
central store can be reached.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import uuid
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from sqlalchemy import DateTime, String, Text, and_, case, cast, func, select, type_coerce
from sqlalchemy.exc import OperationalError

from clerk_app.documents.report_pdf import ReportContent, Slice, render_report
from clerk_app.domain.catalogue import Catalogue
from clerk_app.domain.catalogue_io import load_demo_catalogue
from clerk_app.i18n import N_, _
from clerk_app.security.roles import Permission
from clerk_app.services.auth import UserSession
from clerk_app.services.complaints import Category, Source, Status
from clerk_app.services.errors import UserError
from clerk_app.services.queue_stats import EventRow, GroupStats, QueueStats, Tally, walk_history
from clerk_app.services.ratings import CHINA, LEVEL_COLOURS, LEVELS, Level, china_date, load_settings
from clerk_app.services.runtime import Runtime
from clerk_app.services.xlsx import Cell, write_xlsx
from clerk_app.store.base import utcnow
from clerk_app.store.models import User
from clerk_app.store.models.cases import Case
from clerk_app.store.models.queue import Ticket, TicketEvent
from clerk_app.store.models.supervision import ComplaintCase, Rating, Rectification

LEVEL_OF: dict[str, Level] = {level.value: level for level in LEVELS}


class PeriodKind(StrEnum):
    DAY = "day"
    WEEK = "week"
    MONTH = "month"
    RANGE = "range"

    @property
    def label(self) -> str:
        return _(_PERIOD_LABELS[self])


_PERIOD_LABELS = {
    PeriodKind.DAY: N_("日"),
    PeriodKind.WEEK: N_("周"),
    PeriodKind.MONTH: N_("月"),
    PeriodKind.RANGE: N_("自定义"),
}


@dataclass(frozen=True, slots=True)
class Period:
    first: dt.date
    last: dt.date

    @classmethod
    def of(cls, kind: PeriodKind, anchor: dt.date, last: dt.date | None = None) -> Period:
        """The day, the Monday–Sunday week or the calendar month holding ``anchor``, or the
        range ``anchor``..``last``."""
        kind = PeriodKind(kind)
        if kind is PeriodKind.DAY:
            return cls(anchor, anchor)
        if kind is PeriodKind.WEEK:
            monday = anchor - dt.timedelta(days=anchor.weekday())
            return cls(monday, monday + dt.timedelta(days=6))
        if kind is PeriodKind.MONTH:
            first = anchor.replace(day=1)
            following = (first + dt.timedelta(days=32)).replace(day=1)
            return cls(first, following - dt.timedelta(days=1))
        end = last or anchor
        if end < anchor:
            raise UserError(_("结束日期不能早于开始日期。"))
        return cls(anchor, end)

    @property
    def start(self) -> dt.datetime:
        return dt.datetime.combine(self.first, dt.time(), CHINA)

    @property
    def end(self) -> dt.datetime:
        """Exclusive: midnight after the last day, hall time."""
        return dt.datetime.combine(self.last + dt.timedelta(days=1), dt.time(), CHINA)

    def text(self) -> str:
        if self.first == self.last:
            return self.first.isoformat()
        return f"{self.first.isoformat()} — {self.last.isoformat()}"


@dataclass(frozen=True, slots=True)
class RatingGroup:
    key: str
    total: int
    good: int
    bad: int

    @property
    def rate(self) -> float | None:
        return self.good / self.total if self.total else None


@dataclass(frozen=True, slots=True)
class CountRow:
    key: str
    count: int


@dataclass(frozen=True, slots=True)
class CaseGroup:
    key: str
    received: int
    decided: int


@dataclass(frozen=True, slots=True)
class DepartmentGroup:
    """Cases and ratings of one department (by the catalogue department of the matter)."""

    key: str
    received: int
    decided: int
    on_time: int
    late: int
    ratings: int
    good: int

    @property
    def on_time_rate(self) -> float | None:
        judged = self.on_time + self.late
        return self.on_time / judged if judged else None

    @property
    def satisfaction_rate(self) -> float | None:
        return self.good / self.ratings if self.ratings else None


@dataclass(frozen=True, slots=True)
class SupervisionReport:
    period: Period
    ratings: int
    levels: tuple[tuple[Level, int], ...]
    good: int
    bad: int
    by_window: tuple[RatingGroup, ...]
    by_clerk: tuple[RatingGroup, ...]
    rectifications: int
    rect_open: int
    rect_overdue: int
    rect_closed_on_time: int
    rect_closed_late: int
    complaints: int
    complaints_by_category: tuple[tuple[Category, int], ...]
    complaints_by_status: tuple[tuple[Status, int], ...]
    complaints_by_source: tuple[tuple[Source, int], ...]
    complaints_in_target: int
    negative_answers: int
    cases: int
    cases_by_matter: tuple[CaseGroup, ...]
    cases_by_window: tuple[CaseGroup, ...]
    cases_by_clerk: tuple[CaseGroup, ...]
    cases_on_time: int
    cases_late: int
    by_department: tuple[DepartmentGroup, ...] = ()

    @property
    def satisfaction_rate(self) -> float | None:
        return self.good / self.ratings if self.ratings else None

    @property
    def on_time_rate(self) -> float | None:
        judged = self.cases_on_time + self.cases_late
        return self.cases_on_time / judged if judged else None


def _groups(rows: Iterable[tuple[str, Level, int]]) -> tuple[RatingGroup, ...]:
    """Rating groups from (key, level, count) rows."""
    totals: Counter[str] = Counter()
    bad: Counter[str] = Counter()
    for key, level, count in rows:
        totals[key] += count
        bad[key] += count if level.bad else 0
    return tuple(
        RatingGroup(key, totals[key], totals[key] - bad[key], bad[key])
        for key in sorted(totals, key=_sort_key)
    )


def _sort_key(key: str) -> tuple[int, int | str]:
    return (0, int(key)) if key.isdigit() else (1, key)


def _case_groups(rows: Iterable[tuple[str, int, int]]) -> tuple[CaseGroup, ...]:
    """Case groups from (key, received, decided) rows."""
    received: Counter[str] = Counter()
    decided: Counter[str] = Counter()
    for key, count, done in rows:
        received[key] += count
        decided[key] += done
    ordered = sorted(received, key=lambda k: (-received[k], _sort_key(k)))
    return tuple(CaseGroup(k, received[k], decided[k]) for k in ordered)


@dataclass(frozen=True, slots=True)
class _MatterSet:
    """Cases of one set of matter codes, as counted by SQL."""

    codes: tuple[str, ...]
    received: int
    decided: int
    on_time: int
    late: int


def _department_groups(
    catalogue: Catalogue, matter_sets: Sequence[_MatterSet], ratings: Iterable[tuple[str, Level, int]]
) -> tuple[DepartmentGroup, ...]:
    """Per department: a case counts for each department among its matters (a 一件事 bundle
    spans several), a rating for the department of its matter (by name); matters the catalogue
    does not know are under "-". Sorted by cases received, most first."""
    by_code = {m.implementation_code: catalogue.department(m.department_code).name for m in catalogue.matters}
    by_name = {m.name: catalogue.department(m.department_code).name for m in catalogue.matters}
    tallies: dict[str, list[int]] = {}  # received, decided, on time, late, ratings, good

    def tally(key: str) -> list[int]:
        return tallies.setdefault(key, [0, 0, 0, 0, 0, 0])

    for group in matter_sets:
        for name in {by_code.get(code, "-") for code in group.codes}:
            t = tally(name)
            t[0] += group.received
            t[1] += group.decided
            t[2] += group.on_time
            t[3] += group.late
    for matter_name, level, count in ratings:
        if matter_name:
            t = tally(by_name.get(matter_name, "-"))
            t[4] += count
            t[5] += 0 if level.bad else count
    ordered = sorted(tallies, key=lambda k: (k == "-", -tallies[k][0], -tallies[k][4], k))
    return tuple(DepartmentGroup(k, *tallies[k]) for k in ordered)


def _codes(text: str | None) -> tuple[str, ...]:
    """The matter codes of a case from the JSON text of its list ("" when it has none)."""
    codes = json.loads(text) if text else []
    return tuple(str(code) for code in codes) or ("",)


class SupervisionReports:
    def __init__(
        self,
        runtime: Runtime,
        clock: Callable[[], dt.datetime] = utcnow,
        catalogue: Catalogue | None = None,
    ) -> None:
        self._rt = runtime
        self._clock = clock
        self._catalogue = catalogue

    @property
    def catalogue(self) -> Catalogue:
        """The matter catalogue that names each matter's department."""
        if self._catalogue is None:
            self._catalogue = load_demo_catalogue()
        return self._catalogue

    def report(self, who: UserSession, period: Period) -> SupervisionReport:
        who.require(Permission.SUPERVISE)
        now = self._clock()
        today = china_date(now)
        with self._rt.local.unit_of_work() as uow:
            session = uow.session
            minutes = load_settings(session).window_minutes
            # figures are counted by the database (GROUP BY), not row by row here
            in_period = (~Rating.deleted, Rating.rated_at >= period.start, Rating.rated_at < period.end)

            def by_rating(column: Any) -> list[tuple[Any, Level, int]]:
                rows = session.execute(
                    select(column, Rating.level, func.count())
                    .where(*in_period)
                    .group_by(column, Rating.level)
                )
                return [(key, LEVEL_OF[level], count) for key, level, count in rows]

            rating_windows = by_rating(Rating.window_number)
            rating_clerks = by_rating(Rating.clerk_name)
            rating_matters = by_rating(Rating.matter_name)
            rects = session.execute(
                select(Rectification.status, Rectification.due_date, Rectification.closed_at).where(
                    ~Rectification.deleted,
                    Rectification.opened_at >= period.start,
                    Rectification.opened_at < period.end,
                )
            ).all()
            complaints = session.execute(
                select(
                    ComplaintCase.category,
                    ComplaintCase.status,
                    ComplaintCase.source,
                    ComplaintCase.registered_at,
                    ComplaintCase.first_action_at,
                    ComplaintCase.reported,
                ).where(
                    ~ComplaintCase.deleted,
                    ComplaintCase.registered_at >= period.start,
                    ComplaintCase.registered_at < period.end,
                )
            ).all()
            case_in_period = (~Case.deleted, Case.received_at >= period.start, Case.received_at < period.end)
            is_done = case((Case.decided_at.is_not(None), 1), else_=0)
            is_on_time = case(
                (and_(Case.decided_at.is_not(None), Case.decided_at <= Case.promised_due), 1), else_=0
            )
            is_late = case(
                (and_(Case.decided_at.is_not(None), Case.decided_at > Case.promised_due), 1),
                (and_(Case.decided_at.is_(None), Case.promised_due < now), 1),
                else_=0,
            )

            def by_case(column: Any) -> list[Any]:
                counts = (func.count(), func.sum(is_done), func.sum(is_on_time), func.sum(is_late))
                return list(session.execute(select(column, *counts).where(*case_in_period).group_by(column)))

            case_windows = by_case(Case.window_number)
            case_clerks = by_case(Case.clerk_name)
            matter_sets = [
                _MatterSet(_codes(text), count, int(d or 0), int(t or 0), int(lt or 0))
                for text, count, d, t, lt in by_case(cast(Case.matter_codes, Text))
            ]

        level_counts: Counter[Level] = Counter()
        for _window, level, count in rating_windows:
            level_counts[level] += count
        total = sum(level_counts.values())
        bad = sum(count for level, count in level_counts.items() if level.bad)
        rect_open = rect_overdue = on_time = late = 0
        for status, due, closed_at in rects:
            if status == "closed" and closed_at is not None:
                if china_date(closed_at) <= due:
                    on_time += 1
                else:
                    late += 1
            else:
                rect_open += 1
                rect_overdue += today > due
        limit = dt.timedelta(minutes=minutes)
        categories = Counter(Category(c.category) for c in complaints)
        statuses = Counter(Status(c.status) for c in complaints)
        sources = Counter(Source(c.source) for c in complaints)
        in_target = sum(
            1
            for c in complaints
            if c.first_action_at is not None and c.first_action_at - c.registered_at <= limit
        )
        negative = sum(1 for c in complaints if c.reported)
        matter_rows = [(code, m.received, m.decided) for m in matter_sets for code in m.codes]
        case_on_time = sum(m.on_time for m in matter_sets)
        case_late = sum(m.late for m in matter_sets)
        by_department = _department_groups(self.catalogue, matter_sets, rating_matters)
        return SupervisionReport(
            period=period,
            ratings=total,
            levels=tuple((level, level_counts[level]) for level in LEVELS),
            good=total - bad,
            bad=bad,
            by_window=_groups(
                (str(window) if window is not None else "-", level, count)
                for window, level, count in rating_windows
            ),
            by_clerk=_groups((clerk or "-", level, count) for clerk, level, count in rating_clerks),
            rectifications=len(rects),
            rect_open=rect_open,
            rect_overdue=rect_overdue,
            rect_closed_on_time=on_time,
            rect_closed_late=late,
            complaints=len(complaints),
            complaints_by_category=tuple((c, categories[c]) for c in Category),
            complaints_by_status=tuple((s, statuses[s]) for s in Status),
            complaints_by_source=tuple((s, sources[s]) for s in Source),
            complaints_in_target=in_target,
            negative_answers=negative,
            cases=sum(m.received for m in matter_sets),
            cases_by_matter=_case_groups(matter_rows),
            cases_by_window=_case_groups(
                (str(w) if w is not None else "-", count, int(d or 0)) for w, count, d, _t, _l in case_windows
            ),
            cases_by_clerk=_case_groups(
                (c or "-", count, int(d or 0)) for c, count, d, _t, _l in case_clerks
            ),
            cases_on_time=case_on_time,
            cases_late=case_late,
            by_department=by_department,
        )

    def queue_stats(self, who: UserSession, period: Period) -> QueueStats | None:
        """Tickets, waiting and service times of the period (``queue_stats.summarise`` over the
        ticket history); None when the central store cannot be reached.

        Most tickets go issue → call → start → finish at one window, and then their history is
        exactly the times kept on the ticket row: those are read from the rows (times as the
        database's text on SQLite, parsed by ``datetime.fromisoformat``; ids as they come). Only the
        tickets with another step (recall, transfer, park, call back, no-show, cancel) have their
        history rows read. Same figures, a fraction of the rows (tested against the full history)."""
        who.require(Permission.SUPERVISE)
        in_period = (Ticket.service_day >= period.first, Ticket.service_day <= period.last)
        try:
            with self._rt.central.unit_of_work() as uow:
                session = uow.session
                special_ids = (
                    select(TicketEvent.ticket_id)
                    .join(Ticket, Ticket.id == TicketEvent.ticket_id)
                    .where(*in_period, TicketEvent.event.in_(SPECIAL_EVENTS))
                )
                count = session.scalar(select(func.count()).select_from(Ticket).where(*in_period)) or 0
                odd = (Ticket.recall_count > 0) | Ticket.called_at.is_(None) | Ticket.id.in_(special_ids)
                special = session.execute(
                    select(Ticket.id, Ticket.category, Ticket.issued_at).where(*in_period, odd)
                ).all()
                info = {tid: (category, _aware(issued)) for tid, category, issued in special}
                events: list[EventRow] = []
                ids = list(info)
                for start in range(0, len(ids), 500):
                    events.extend(
                        (tid, event, _aware(at), window, clerk, int((detail or {}).get("version", 0)))
                        for tid, event, at, window, clerk, detail in session.execute(
                            select(
                                TicketEvent.ticket_id,
                                TicketEvent.event,
                                TicketEvent.at,
                                TicketEvent.window_number,
                                TicketEvent.clerk_id,
                                TicketEvent.detail,
                            ).where(TicketEvent.ticket_id.in_(ids[start : start + 500]))
                        )
                    )
                raw = session.get_bind().dialect.name == "sqlite"
                plain = session.execute(
                    select(
                        _as_text(Ticket.id, raw),
                        Ticket.category,
                        Ticket.state,
                        Ticket.window_number,
                        _as_text(Ticket.clerk_id, raw),
                        _as_time(Ticket.issued_at, raw),
                        _as_time(Ticket.called_at, raw),
                        _as_time(Ticket.started_at, raw),
                        _as_time(Ticket.finished_at, raw),
                    ).where(*in_period, ~odd)
                ).all()
                names = {
                    key: u.display_name
                    for u in session.scalars(select(User))
                    for key in (u.id, u.id.hex, str(u.id))
                }
        except OperationalError:
            return None
        return _queue_summary(count, info, plain, events, period, names)

    def export_csv(self, who: UserSession, period: Period) -> bytes:
        """The report as CSV sections (UTF-8 with BOM so that Excel shows the Chinese text)."""
        return report_csv(self.report(who, period), self.queue_stats(who, period))

    def export_xlsx(self, who: UserSession, period: Period) -> bytes:
        return report_xlsx(self.report(who, period), self.queue_stats(who, period))

    def export_pdf(self, who: UserSession, period: Period) -> bytes:
        return report_pdf(self.report(who, period), self.queue_stats(who, period), self._clock())


def _as_text(column: Any, raw: bool) -> Any:
    """On SQLite the column's stored text (no per-value conversion by SQLAlchemy)."""
    return type_coerce(column, String) if raw else column


def _as_time(column: Any, raw: bool) -> Any:
    """A time column as SQLite's stored text, or as the driver's aware datetime elsewhere
    (without the per-value conversion to UTC: only differences and hall hours are taken)."""
    return type_coerce(column, String if raw else DateTime(timezone=True))


def _moment(value: Any) -> dt.datetime | None:
    """A time from the database: an aware datetime, or SQLite's stored text as a naive UTC
    datetime (the times of one ticket come the same way, so their differences hold)."""
    if isinstance(value, str):
        return dt.datetime.fromisoformat(value)
    return value  # type: ignore[no-any-return]


def _queue_summary(
    tickets: int,
    info: dict[Any, tuple[str, dt.datetime]],
    plain: Sequence[Any],
    events: list[EventRow],
    period: Period,
    names: dict[Any, str],
) -> QueueStats:
    """``queue_stats.summarise`` of the whole history, where the plain tickets' call, start and
    finish come straight from their rows instead of as history rows (the same arithmetic)."""
    tally = Tally()
    walk_history(tally, info, events, names)
    # gathered per (category, window, clerk) first, then added to each group's accumulators
    waits: defaultdict[tuple[str, Any, Any], list[float]] = defaultdict(list)
    services: defaultdict[tuple[str, Any, Any], list[float]] = defaultdict(list)
    called: defaultdict[tuple[str, Any, Any], list[Any]] = defaultdict(list)
    for tid, category, state, window, clerk, issued, called_at, started, finished in plain:
        key = (category, window, clerk)
        called[key].append(tid)
        waits[key].append((_moment(called_at) - _moment(issued)).total_seconds())  # type: ignore[operator]
        if finished is not None and state == "done":
            finished_at = _moment(finished)
            if started is not None:
                services[key].append((finished_at - _moment(started)).total_seconds())  # type: ignore[operator]
            tally.per_hour[_aware(finished_at).astimezone(CHINA).hour] += 1  # type: ignore[arg-type]
    for key, ids in called.items():
        category, window, clerk = key
        accs = [tally.overall, tally.by_category[category]]
        if window:
            accs.append(tally.by_window[str(window)])
        if clerk:
            accs.append(tally.by_clerk[names.get(clerk) or str(uuid.UUID(str(clerk)))])
        for a in accs:
            a.waits.extend(waits[key])
            a.services.extend(services.get(key, ()))
            a.called.update(ids)
    return tally.result(period.first, period.last, tickets)


def _percent(value: float | None) -> str:
    return "" if value is None else f"{value * 100:.1f}%"


Table = list[list[Cell]]


def _level_row(level: Level, count: int) -> list[Cell]:
    return [level.label, count]


def report_tables(report: SupervisionReport) -> list[tuple[str, Table]]:
    """The report as named tables (the first row of each is its header): the sheets of the XLSX
    export and the sections of the CSV export."""
    summary: Table = [
        [_("项目"), _("数值")],
        [_("统计期间"), report.period.text()],
        [_("评价总数"), report.ratings],
        *(_level_row(level, count) for level, count in report.levels),
        [_("满意率"), _percent(report.satisfaction_rate)],
        [_("差评数"), report.bad],
        [_("整改总数"), report.rectifications],
        [_("整改中"), report.rect_open],
        [_("逾期未办结"), report.rect_overdue],
        [_("按期办结"), report.rect_closed_on_time],
        [_("逾期办结"), report.rect_closed_late],
        [_("办不成事案件总数"), report.complaints],
        [_("20 分钟内首次处理"), report.complaints_in_target],
        [_("否定答复"), report.negative_answers],
        [_("收件总数"), report.cases],
        [_("按时办结率"), _percent(report.on_time_rate)],
    ]
    rating_header: list[Cell] = [_("评价数"), _("好评"), _("差评"), _("满意率")]
    by_window: Table = [[_("窗口"), *rating_header]]
    by_window += [[g.key, g.total, g.good, g.bad, _percent(g.rate)] for g in report.by_window]
    by_clerk: Table = [[_("工作人员"), *rating_header]]
    by_clerk += [[g.key, g.total, g.good, g.bad, _percent(g.rate)] for g in report.by_clerk]
    complaints: Table = [[_("分组"), _("项"), _("数量")]]
    complaints += [[_("类别"), c.label, n] for c, n in report.complaints_by_category]
    complaints += [[_("状态"), s.label, n] for s, n in report.complaints_by_status]
    complaints += [[_("来源"), s.label, n] for s, n in report.complaints_by_source]
    tables: list[tuple[str, Table]] = [
        (_("概况"), summary),
        (_("窗口评价"), by_window),
        (_("工作人员评价"), by_clerk),
        (_("办不成事"), complaints),
    ]
    by_department: Table = [
        [
            _("部门"),
            _("收件"),
            _("已办结"),
            _("按时办结"),
            _("超期"),
            _("按时办结率"),
            _("评价数"),
            _("满意率"),
        ]
    ]
    by_department += [
        [g.key, g.received, g.decided, g.on_time, g.late, _percent(g.on_time_rate), g.ratings,
         _percent(g.satisfaction_rate)]
        for g in report.by_department
    ]  # fmt: skip
    tables.append((_("部门"), by_department))
    for title, key_title, groups in (
        (_("办件（事项）"), _("事项编码"), report.cases_by_matter),
        (_("办件（窗口）"), _("窗口"), report.cases_by_window),
        (_("办件（工作人员）"), _("工作人员"), report.cases_by_clerk),
    ):
        table: Table = [[key_title, _("收件"), _("已办结")]]
        table += [[g.key, g.received, g.decided] for g in groups]
        tables.append((title, table))
    return tables


def _minutes(value: dt.timedelta | None) -> Cell:
    return None if value is None else round(value.total_seconds() / 60, 1)


def queue_tables(stats: QueueStats) -> list[tuple[str, Table]]:
    """Tickets with waiting and service times (minutes: median and 90th percentile) per
    category, window and clerk."""
    header: list[Cell] = [
        _("叫号数"),
        _("等候中位数（分钟）"),
        _("等候 90% 分位（分钟）"),
        _("办理中位数（分钟）"),
        _("办理 90% 分位（分钟）"),
        _("过号"),
    ]

    def rows(key_title: str, groups: Iterable[GroupStats]) -> Table:
        table: Table = [[key_title, *header]]
        for g in groups:
            table.append(
                [
                    g.key or "-",
                    g.called,
                    _minutes(g.waiting.median),
                    _minutes(g.waiting.p90),
                    _minutes(g.service.median),
                    _minutes(g.service.p90),
                    g.no_shows,
                ]
            )
        return table

    overall = rows(_("范围"), [stats.overall])
    overall[1][0] = _("全部")
    summary: Table = [[_("项目"), _("数值")], [_("取号数"), stats.tickets]]
    return [
        (_("排队概况"), [*summary, [], *overall]),
        (_("排队（类别）"), rows(_("类别"), stats.by_category)),
        (_("排队（窗口）"), rows(_("窗口"), stats.by_window)),
        (_("排队（工作人员）"), rows(_("工作人员"), stats.by_clerk)),
    ]


def all_tables(report: SupervisionReport, queue: QueueStats | None = None) -> list[tuple[str, Table]]:
    return report_tables(report) + (queue_tables(queue) if queue is not None else [])


def report_csv(report: SupervisionReport, queue: QueueStats | None = None) -> bytes:
    """All tables one after the other, each under its title (UTF-8 with BOM for Excel)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    for title, rows in all_tables(report, queue):
        writer.writerow([title])
        writer.writerows([["" if v is None else v for v in row] for row in rows])
        writer.writerow([])
    return buffer.getvalue().encode("utf-8-sig")


def report_xlsx(report: SupervisionReport, queue: QueueStats | None = None) -> bytes:
    """One sheet per table, numbers as numbers, Chinese text as it is."""
    return write_xlsx(all_tables(report, queue))


def report_pdf(
    report: SupervisionReport, queue: QueueStats | None = None, made: dt.datetime | None = None
) -> bytes:
    """The report as a PDF (``clerk_app.documents.report_pdf``): the key figures, the level pie
    and the 办不成事 category bars drawn by reportlab, and every table of the exports."""
    summary = [
        (str(row[0]), "" if row[1] is None else str(row[1])) for row in report_tables(report)[0][1][2:]
    ]
    if queue is not None:
        median = queue.overall.waiting.median
        summary.append((_("取号数"), str(queue.tickets)))
        summary.append(
            (_("等候中位数（分钟）"), "" if median is None else f"{median.total_seconds() / 60:.1f}")
        )
    when = (made or utcnow()).astimezone(CHINA)
    content = ReportContent(
        title=_("好差评与办件统计报表"),
        period=_("统计期间：{p}").format(p=report.period.text()),
        summary=summary,
        pie_title=_("评价等级分布"),
        pie=[Slice(level.label, count, LEVEL_COLOURS[level]) for level, count in report.levels],
        bars_title=_("办不成事案件类别"),
        bars=[(category.label, count) for category, count in report.complaints_by_category],
        tables=[(title, [["" if c is None else str(c) for c in row] for row in rows])
                for title, rows in all_tables(report, queue)[1:]],
        footer=_("生成时间：{t}").format(t=when.strftime("%Y-%m-%d %H:%M")),
        no_data=_("无数据"),
    )  # fmt: skip
    return render_report(content)


# --- the supervision part of the hall monitor -------------------------------------------------


@dataclass(frozen=True, slots=True)
class OpenComplaint:
    number: str
    source: Source
    applicant_name: str
    request: str
    window_number: int | None
    status: Status
    registered_at: dt.datetime
    first_action_at: dt.datetime | None
    due_date: dt.date | None


@dataclass(frozen=True, slots=True)
class OpenRectification:
    service_ref: str
    level: Level
    window_number: int | None
    clerk_name: str
    due_date: dt.date
    follow_ups: int
    overdue: bool


@dataclass(frozen=True, slots=True)
class DueCase:
    case_number: str
    window_number: int | None
    clerk_name: str
    promised_due: dt.datetime
    overdue: bool


@dataclass(frozen=True, slots=True)
class MonitorSnapshot:
    at: dt.datetime
    window_minutes: int
    complaints: tuple[OpenComplaint, ...]
    rectifications: tuple[OpenRectification, ...]
    due_cases: tuple[DueCase, ...]

    def complaints_over_target(self, now: dt.datetime) -> int:
        limit = dt.timedelta(minutes=self.window_minutes)
        return sum(1 for c in self.complaints if c.first_action_at is None and now - c.registered_at > limit)

    @property
    def rectifications_overdue(self) -> int:
        return sum(1 for r in self.rectifications if r.overdue)

    @property
    def cases_overdue(self) -> int:
        return sum(1 for c in self.due_cases if c.overdue)


#: ticket history steps that the times kept on the ticket row do not describe
SPECIAL_EVENTS = ("recall", "park", "call_back", "transfer", "no_show", "cancel")

UNDECIDED = ("received", "accepted", "correction_requested", "in_review", "special_procedure")


def monitor_snapshot(
    runtime: Runtime, who: UserSession, now: dt.datetime | None = None, due_within_hours: int = 24
) -> MonitorSnapshot:
    """Open 办不成事 cases, open rectifications, and undecided cases due within
    ``due_within_hours`` or already past their promised time."""
    who.require(Permission.SUPERVISE)
    now = now or utcnow()
    today = china_date(now)
    horizon = now + dt.timedelta(hours=due_within_hours)
    with runtime.local.unit_of_work() as uow:
        session = uow.session
        minutes = load_settings(session).window_minutes
        complaints = tuple(
            OpenComplaint(
                c.number,
                Source(c.source),
                c.applicant_name,
                c.request,
                c.window_number,
                Status(c.status),
                c.registered_at,
                c.first_action_at,
                c.due_date,
            )
            for c in session.scalars(
                select(ComplaintCase)
                .where(~ComplaintCase.deleted, ComplaintCase.status != Status.CLOSED.value)
                .order_by(ComplaintCase.registered_at)
            )
        )
        rects = []
        for r in session.scalars(
            select(Rectification)
            .where(~Rectification.deleted, Rectification.status == "open")
            .order_by(Rectification.due_date)
        ):
            rating = session.get(Rating, r.rating_id)
            rects.append(
                OpenRectification(
                    rating.service_ref if rating else "",
                    Level(r.level),
                    r.window_number,
                    r.clerk_name,
                    r.due_date,
                    r.follow_ups,
                    today > r.due_date,
                )
            )
        due = tuple(
            DueCase(c.case_number, c.window_number, c.clerk_name, c.promised_due, c.promised_due < now)
            for c in session.scalars(
                select(Case)
                .where(
                    ~Case.deleted,
                    Case.status.in_(UNDECIDED),
                    Case.promised_due.is_not(None),
                    Case.promised_due <= horizon,
                )
                .order_by(Case.promised_due)
            )
            if c.promised_due is not None
        )
    return MonitorSnapshot(now, minutes, complaints, tuple(rects), due)


def _aware(value: dt.datetime) -> dt.datetime:
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)
