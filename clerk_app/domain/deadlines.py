"""Case deadlines and their status (normal / warning / overdue).

Rules (行政许可法 art. 82 and art. 45, see ``shared/DOMAIN.md``):

* A limit in whole working days: the deadline is the N-th working day after the day of acceptance
  (that day does not count), at the close of office hours.
* Every working day inside a suspension interval (补正 correction, 特别程序 hearing/testing/expert
  review) pushes it back: the clock counts only working days after acceptance that lie outside every
  suspension. A suspension entirely before acceptance or after the deadline changes nothing.
  Suspensions are closed date intervals; a suspension still running is passed with ``end`` = today.
* A limit in working hours (e.g. 4 hours), or a fractional day (0.5 working day = half the office
  hours of a day), runs from the moment of acceptance through the configured office-hour sessions
  (default 09:00–12:00 and 13:30–17:30) of working days that are not suspended.
* Status: overdue once the deadline has passed; warning when at most ``warning_margin`` working days
  (default 1) are left; otherwise normal. Results carry ``provisional`` when any day involved rests on
  the Monday–Friday fallback of :class:`~clerk_app.domain.workdays.WorkCalendar`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from enum import StrEnum

from clerk_app.domain.workdays import WorkCalendar
from clerk_app.i18n import N_, _


class LimitUnit(StrEnum):
    """Unit of a time limit (GB/T 39046 distinguishes working days and working hours)."""

    WORKING_DAY = "working_day"
    WORKING_HOUR = "working_hour"

    @property
    def label(self) -> str:
        return _(N_("个工作日")) if self is LimitUnit.WORKING_DAY else _(N_("个工作小时"))


@dataclass(frozen=True, slots=True)
class TimeLimit:
    """A legal or promised limit: an amount (0.5 allowed) and its unit."""

    amount: float
    unit: LimitUnit = LimitUnit.WORKING_DAY

    def __post_init__(self) -> None:
        if self.amount < 0:
            raise ValueError("a time limit cannot be negative")

    @property
    def whole_days(self) -> bool:
        return self.unit is LimitUnit.WORKING_DAY and float(self.amount).is_integer()

    def text(self) -> str:
        """``5 个工作日`` / ``0.5 个工作日`` / ``4 个工作小时`` in the current language."""
        amount = int(self.amount) if float(self.amount).is_integer() else self.amount
        return f"{amount} {self.unit.label}"


@dataclass(frozen=True, slots=True)
class OfficeHours:
    """The hall's office-hour sessions on a working day, in order."""

    sessions: tuple[tuple[time, time], ...] = ((time(9, 0), time(12, 0)), (time(13, 30), time(17, 30)))

    def __post_init__(self) -> None:
        if not self.sessions or any(start >= end for start, end in self.sessions):
            raise ValueError("office hours need at least one session, each ending after it starts")

    @property
    def hours_per_day(self) -> float:
        return sum(_hours(start, end) for start, end in self.sessions)

    @property
    def closing(self) -> time:
        return self.sessions[-1][1]


def _hours(start: time, end: time) -> float:
    return (datetime.combine(date.min, end) - datetime.combine(date.min, start)).total_seconds() / 3600


class SuspensionKind(StrEnum):
    CORRECTION = "correction"  # 补正
    SPECIAL_PROCEDURE = "special_procedure"  # 特别程序


@dataclass(frozen=True, slots=True)
class Suspension:
    """A closed interval of dates during which the clock stands still."""

    start: date
    end: date
    kind: SuspensionKind = SuspensionKind.CORRECTION

    def __post_init__(self) -> None:
        if self.end < self.start:
            raise ValueError("a suspension cannot end before it starts")


@dataclass(frozen=True, slots=True)
class Deadline:
    """When a case is due, and whether that rests on fallback calendar data."""

    due: datetime
    provisional: bool
    suspended_workdays: int = 0

    @property
    def due_date(self) -> date:
        return self.due.date()


def merge_suspensions(suspensions: Iterable[Suspension]) -> list[tuple[date, date]]:
    """Sorted, non-overlapping ``(start, end)`` intervals (adjacent ones joined)."""
    merged: list[tuple[date, date]] = []
    for item in sorted(suspensions, key=lambda s: s.start):
        if merged and item.start <= merged[-1][1] + timedelta(days=1):
            merged[-1] = (merged[-1][0], max(merged[-1][1], item.end))
        else:
            merged.append((item.start, item.end))
    return merged


def compute_deadline(
    accepted_at: datetime,
    limit: TimeLimit,
    calendar: WorkCalendar,
    suspensions: Sequence[Suspension] = (),
    office: OfficeHours | None = None,
) -> Deadline:
    """The deadline of a case accepted at ``accepted_at`` under ``limit`` (see module docstring)."""
    office = office or OfficeHours()
    intervals = merge_suspensions(suspensions)
    if limit.whole_days:
        return _day_deadline(accepted_at.date(), int(limit.amount), calendar, intervals, office)
    hours = limit.amount * (office.hours_per_day if limit.unit is LimitUnit.WORKING_DAY else 1.0)
    return _hour_deadline(accepted_at, hours, calendar, intervals, office)


def _day_deadline(
    accepted: date, days: int, calendar: WorkCalendar, intervals: list[tuple[date, date]], office: OfficeHours
) -> Deadline:
    """N-th working day after ``accepted`` that lies outside every suspension."""
    if days == 0:
        return Deadline(datetime.combine(accepted, office.closing), calendar.is_provisional(accepted))
    position, remaining, skipped = accepted, days, 0
    for start, end in intervals:
        if end <= position:
            continue
        before = calendar.workdays_between(position, max(position, start - timedelta(days=1)))
        if before >= remaining:
            break
        remaining -= before
        skipped += calendar.workdays_between(max(position, start - timedelta(days=1)), end)
        position = end
    answer = calendar.add_workdays(position, remaining)
    provisional = calendar.provisional_between(accepted, answer.value)
    return Deadline(datetime.combine(answer.value, office.closing), provisional, skipped)


def _suspended(day: date, intervals: list[tuple[date, date]]) -> bool:
    return any(start <= day <= end for start, end in intervals)


def _hour_deadline(
    accepted_at: datetime,
    hours: float,
    calendar: WorkCalendar,
    intervals: list[tuple[date, date]],
    office: OfficeHours,
) -> Deadline:
    """Walk office-hour sessions of unsuspended working days from ``accepted_at``."""
    remaining = timedelta(hours=hours)
    day, cursor, skipped = accepted_at.date(), accepted_at, 0
    while True:
        if calendar.is_workday(day) and not _suspended(day, intervals):
            due = _consume_day(day, cursor, remaining, office)
            if isinstance(due, datetime):
                provisional = calendar.provisional_between(accepted_at.date() - timedelta(days=1), day)
                return Deadline(due, provisional, skipped)
            remaining = due
        elif calendar.is_workday(day) and day > accepted_at.date():
            skipped += 1
        day += timedelta(days=1)
        cursor = datetime.combine(day, time.min)


def _consume_day(
    day: date, cursor: datetime, remaining: timedelta, office: OfficeHours
) -> datetime | timedelta:
    """Spend ``remaining`` in the sessions of ``day`` after ``cursor``: the due moment, or what is left."""
    for start, end in office.sessions:
        begin = max(cursor, datetime.combine(day, start))
        finish = datetime.combine(day, end)
        if begin >= finish:
            continue
        if begin + remaining <= finish:
            return begin + remaining
        remaining -= finish - begin
    return remaining


# ---- status -----------------------------------------------------------------------------------


class DeadlineStatus(StrEnum):
    NORMAL = "normal"
    WARNING = "warning"
    OVERDUE = "overdue"

    @property
    def label(self) -> str:
        return _(_STATUS_LABELS[self])


_STATUS_LABELS = {
    DeadlineStatus.NORMAL: N_("正常"),
    DeadlineStatus.WARNING: N_("即将到期"),
    DeadlineStatus.OVERDUE: N_("已超期"),
}


@dataclass(frozen=True, slots=True)
class StatusResult:
    """Status of one deadline at a moment: working days from today to the due day (≤ 0 once overdue)."""

    status: DeadlineStatus
    workdays_left: int
    provisional: bool


def deadline_status(
    deadline: Deadline, now: datetime, calendar: WorkCalendar, warning_margin: int = 1
) -> StatusResult:
    """Normal / warning (≤ ``warning_margin`` working days left) / overdue (deadline passed)."""
    left = calendar.workdays_between(now.date(), deadline.due.date())
    provisional = deadline.provisional or calendar.provisional_between(now.date(), deadline.due.date())
    if now > deadline.due:
        return StatusResult(DeadlineStatus.OVERDUE, left, provisional)
    status = DeadlineStatus.WARNING if left <= warning_margin else DeadlineStatus.NORMAL
    return StatusResult(status, left, provisional)
