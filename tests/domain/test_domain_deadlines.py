"""Working days and deadlines: DOMAIN.md examples, hall table, fallback, hours, suspensions, status."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from clerk_app.domain.deadlines import (
    DeadlineStatus,
    LimitUnit,
    OfficeHours,
    Suspension,
    SuspensionKind,
    TimeLimit,
    compute_deadline,
    deadline_status,
    merge_suspensions,
)
from clerk_app.domain.workdays import DayKind, HallDay, HallHolidayTable, WorkCalendar

CAL = WorkCalendar()
DAYS = LimitUnit.WORKING_DAY
HOURS = LimitUnit.WORKING_HOUR


def at(day: date, hour: int = 10, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute))


# ---- calendar ----------------------------------------------------------------------------------


def test_adjusted_working_weekends_and_holidays() -> None:
    assert CAL.is_workday(date(2025, 10, 11))  # adjusted working Saturday
    assert not CAL.is_workday(date(2025, 10, 1))  # National Day
    assert CAL.is_workday(date(2026, 1, 4))  # adjusted working Sunday
    assert not CAL.is_workday(date(2026, 1, 1))
    assert not CAL.is_provisional(date(2026, 6, 1))


def test_domain_examples() -> None:
    assert CAL.add_workdays(date(2025, 9, 30), 5).value == date(2025, 10, 14)
    assert CAL.add_workdays(date(2025, 12, 31), 1).value == date(2026, 1, 4)
    deadline = compute_deadline(at(date(2025, 9, 30)), TimeLimit(5), CAL)
    assert deadline.due == datetime(2025, 10, 14, 17, 30)
    assert not deadline.provisional
    assert compute_deadline(at(date(2025, 12, 31)), TimeLimit(1), CAL).due_date == date(2026, 1, 4)


def test_acceptance_day_does_not_count_even_on_a_weekend() -> None:
    assert CAL.add_workdays(date(2025, 11, 22), 1).value == date(2025, 11, 24)  # Saturday → Monday
    assert CAL.workdays_between(date(2025, 11, 21), date(2025, 11, 24)) == 1


def test_year_not_covered_falls_back_visibly() -> None:
    first, last = CAL.package_years
    later = date(last + 1, 3, 1)  # a Monday-to-Friday-only guess
    assert CAL.is_provisional(later)
    answer = CAL.add_workdays(date(last, 12, 30), 3)
    assert answer.provisional
    assert not CAL.add_workdays(date(last, 6, 1), 3).provisional
    deadline = compute_deadline(at(date(last, 12, 28)), TimeLimit(10), CAL)
    assert deadline.provisional
    assert deadline_status(deadline, at(date(last, 12, 28)), CAL).provisional
    assert first <= 2025 <= last


def test_hall_table_overrides_package_and_fills_a_year() -> None:
    _, last = CAL.package_years
    next_year = last + 1
    table = HallHolidayTable(
        {
            date(2025, 10, 14): HallDay(DayKind.HOLIDAY, "大厅停电检修"),
            date(2025, 10, 12): HallDay(DayKind.WORKDAY, "周日加班受理"),
            date(next_year, 1, 1): HallDay(DayKind.HOLIDAY, "元旦"),
        },
        frozenset({next_year}),
    )
    cal = WorkCalendar(table)
    assert not cal.is_workday(date(2025, 10, 14))
    assert cal.is_workday(date(2025, 10, 12))
    assert cal.add_workdays(date(2025, 9, 30), 5).value == date(2025, 10, 13)
    assert not cal.is_provisional(date(next_year, 3, 1))
    assert not cal.is_workday(date(next_year, 1, 1))
    assert not cal.add_workdays(date(next_year, 1, 1), 20).provisional


def test_hall_table_from_plain_rows() -> None:
    table = HallHolidayTable.from_rows(
        [
            {"date": "2027-01-01", "kind": "holiday", "note": "元旦"},
            {"date": "2027-02-06", "kind": "workday"},
        ],
        complete_years=[2027],
    )
    assert table.days[date(2027, 1, 1)] == HallDay(DayKind.HOLIDAY, "元旦")
    assert table.days[date(2027, 2, 6)].kind is DayKind.WORKDAY
    assert table.complete_years == frozenset({2027})


def test_calendar_extends_beyond_its_initial_span() -> None:
    cal = WorkCalendar(first_year=2024, last_year=2025)
    assert cal.add_workdays(date(2025, 12, 31), 1).value == date(2026, 1, 4)
    assert cal.is_workday(date(2010, 1, 4))
    assert cal.add_workdays(date(2025, 1, 1), 600).value > date(2027, 1, 1)
    with pytest.raises(ValueError):
        cal.add_workdays(date(2025, 1, 1), 0)


def test_workdays_in_closed_interval() -> None:
    assert CAL.workdays_in(date(2025, 10, 1), date(2025, 10, 8)) == 0
    assert CAL.workdays_in(date(2025, 10, 9), date(2025, 10, 12)) == 3
    assert CAL.workdays_in(date(2025, 10, 12), date(2025, 10, 9)) == 0


# ---- suspensions ---------------------------------------------------------------------------------


def test_suspension_pushes_back_by_working_days_inside() -> None:
    # accepted Mon 2025-11-03, 5 wd → Mon 11-10; correction Wed 11-05 … Sun 11-09 holds 3 working days
    plain = compute_deadline(at(date(2025, 11, 3)), TimeLimit(5), CAL)
    assert plain.due_date == date(2025, 11, 10)
    suspended = compute_deadline(
        at(date(2025, 11, 3)), TimeLimit(5), CAL, [Suspension(date(2025, 11, 5), date(2025, 11, 9))]
    )
    assert suspended.due_date == date(2025, 11, 13)
    assert suspended.suspended_workdays == 3


def test_overlapping_and_special_procedure_suspensions() -> None:
    items = [
        Suspension(date(2025, 11, 5), date(2025, 11, 6)),
        Suspension(date(2025, 11, 6), date(2025, 11, 7), SuspensionKind.SPECIAL_PROCEDURE),
    ]
    assert merge_suspensions(items) == [(date(2025, 11, 5), date(2025, 11, 7))]
    deadline = compute_deadline(at(date(2025, 11, 3)), TimeLimit(5), CAL, items)
    assert deadline.due_date == date(2025, 11, 13)


def test_suspension_outside_interval_changes_nothing() -> None:
    base = compute_deadline(at(date(2025, 11, 3)), TimeLimit(5), CAL)
    after = Suspension(date(2025, 11, 11), date(2025, 11, 20))
    before = Suspension(date(2025, 10, 20), date(2025, 11, 3))
    assert compute_deadline(at(date(2025, 11, 3)), TimeLimit(5), CAL, [after, before]) == base


def test_invalid_inputs() -> None:
    with pytest.raises(ValueError):
        Suspension(date(2025, 1, 2), date(2025, 1, 1))
    with pytest.raises(ValueError):
        TimeLimit(-1)
    with pytest.raises(ValueError):
        OfficeHours(())


# ---- working hours -------------------------------------------------------------------------------


def test_half_day_company_set_up() -> None:
    # 0.5 wd = 3.5 office hours with the default sessions (7 h a day)
    accepted = datetime(2025, 11, 3, 10, 0)
    assert compute_deadline(accepted, TimeLimit(0.5), CAL).due == datetime(2025, 11, 3, 15, 0)
    late = datetime(2025, 11, 7, 16, 0)  # Friday afternoon → Monday morning
    assert compute_deadline(late, TimeLimit(0.5), CAL).due == datetime(2025, 11, 10, 11, 0)


def test_hour_limit_with_custom_office_hours() -> None:
    office = OfficeHours(((time(8, 30), time(12, 0)), (time(14, 0), time(18, 0))))
    assert office.hours_per_day == 7.5
    accepted = datetime(2025, 11, 3, 11, 0)
    assert compute_deadline(accepted, TimeLimit(4, HOURS), CAL, office=office).due == datetime(
        2025, 11, 3, 17, 0
    )
    evening = datetime(2025, 11, 3, 19, 0)
    assert compute_deadline(evening, TimeLimit(4, HOURS), CAL, office=office).due == datetime(
        2025, 11, 4, 14, 30
    )


def test_hour_limit_skips_holidays_and_suspended_days() -> None:
    accepted = datetime(2025, 9, 30, 16, 0)  # before National Day
    deadline = compute_deadline(accepted, TimeLimit(4, HOURS), CAL)
    assert deadline.due == datetime(2025, 10, 9, 11, 30)
    suspended = compute_deadline(
        accepted, TimeLimit(4, HOURS), CAL, [Suspension(date(2025, 10, 9), date(2025, 10, 9))]
    )
    assert suspended.due == datetime(2025, 10, 10, 11, 30)
    assert suspended.suspended_workdays == 1


def test_limit_text() -> None:
    assert TimeLimit(0.5).text() == "0.5 个工作日"
    assert TimeLimit(20).text() == "20 个工作日"
    assert TimeLimit(4, HOURS).text() == "4 个工作小时"


def test_zero_day_limit_is_due_at_close_of_acceptance_day() -> None:
    assert compute_deadline(at(date(2025, 11, 3)), TimeLimit(0), CAL).due == datetime(2025, 11, 3, 17, 30)


# ---- status --------------------------------------------------------------------------------------


def test_status_normal_warning_overdue() -> None:
    deadline = compute_deadline(at(date(2025, 11, 3)), TimeLimit(5), CAL)  # due Mon 11-10 17:30
    assert deadline_status(deadline, at(date(2025, 11, 6)), CAL).status is DeadlineStatus.NORMAL
    warning = deadline_status(deadline, at(date(2025, 11, 7)), CAL)
    assert (warning.status, warning.workdays_left) == (DeadlineStatus.WARNING, 1)
    assert deadline_status(deadline, at(date(2025, 11, 10), 17, 0), CAL).status is DeadlineStatus.WARNING
    overdue = deadline_status(deadline, at(date(2025, 11, 12)), CAL)
    assert (overdue.status, overdue.workdays_left) == (DeadlineStatus.OVERDUE, -2)
    assert (
        deadline_status(deadline, at(date(2025, 11, 6)), CAL, warning_margin=2).status
        is DeadlineStatus.WARNING
    )
    assert DeadlineStatus.OVERDUE.label == "已超期"


# ---- properties ----------------------------------------------------------------------------------

accept_days = st.dates(min_value=date(2024, 1, 1), max_value=date(2026, 10, 31))
limits = st.integers(min_value=1, max_value=60)


@st.composite
def suspensions(draw: st.DrawFn) -> Suspension:
    start = draw(st.dates(min_value=date(2023, 12, 1), max_value=date(2026, 12, 31)))
    return Suspension(start, start + timedelta(days=draw(st.integers(0, 30))))


@settings(max_examples=300, deadline=None)
@given(accept_days, limits, st.lists(suspensions(), max_size=3))
def test_deadline_never_earlier_when_n_grows(accepted: date, n: int, items: list[Suspension]) -> None:
    first = compute_deadline(at(accepted), TimeLimit(n), CAL, items)
    second = compute_deadline(at(accepted), TimeLimit(n + 1), CAL, items)
    assert second.due > first.due
    assert CAL.is_workday(second.due_date)


@settings(max_examples=300, deadline=None)
@given(accept_days, limits, st.lists(suspensions(), max_size=3), suspensions())
def test_deadline_never_earlier_when_suspension_added(
    accepted: date, n: int, items: list[Suspension], extra: Suspension
) -> None:
    before = compute_deadline(at(accepted), TimeLimit(n), CAL, items)
    after = compute_deadline(at(accepted), TimeLimit(n), CAL, [*items, extra])
    assert after.due >= before.due


@settings(max_examples=300, deadline=None)
@given(accept_days, limits, st.integers(0, 40), st.integers(0, 20))
def test_suspension_outside_interval_property(accepted: date, n: int, gap: int, length: int) -> None:
    base = compute_deadline(at(accepted), TimeLimit(n), CAL)
    later = base.due_date + timedelta(days=1 + gap)
    earlier_end = accepted - timedelta(days=gap)
    outside = [
        Suspension(later, later + timedelta(days=length)),
        Suspension(earlier_end - timedelta(days=length), earlier_end),
    ]
    assert compute_deadline(at(accepted), TimeLimit(n), CAL, outside) == base


@settings(max_examples=300, deadline=None)
@given(accept_days, limits, suspensions())
def test_suspension_pushes_back_by_exactly_its_working_days(accepted: date, n: int, item: Suspension) -> None:
    base = compute_deadline(at(accepted), TimeLimit(n), CAL)
    pushed = compute_deadline(at(accepted), TimeLimit(n), CAL, [item])
    counted = CAL.workdays_between(accepted, pushed.due_date) - pushed.suspended_workdays
    assert counted == n
    if item.start > accepted and item.end < base.due_date:
        assert CAL.workdays_between(base.due_date, pushed.due_date) == CAL.workdays_in(item.start, item.end)


@settings(max_examples=200, deadline=None)
@given(accept_days, st.integers(0, 23), st.integers(1, 40))
def test_hour_deadline_monotone(accepted: date, hour: int, half_hours: int) -> None:
    moment = datetime.combine(accepted, time(hour, 0))
    a = compute_deadline(moment, TimeLimit(half_hours / 2, HOURS), CAL)
    b = compute_deadline(moment, TimeLimit(half_hours / 2 + 0.5, HOURS), CAL)
    assert b.due > a.due
    assert CAL.is_workday(b.due_date)


def test_calendar_extension_is_safe_across_threads() -> None:
    from concurrent.futures import ThreadPoolExecutor

    cal = WorkCalendar(first_year=2025, last_year=2025)
    starts = [date(2010 + k % 25, 3, 1) for k in range(100)]
    with ThreadPoolExecutor(max_workers=4) as pool:
        answers = list(pool.map(lambda d: cal.add_workdays(d, 30).value, starts))
    assert answers == [CAL.add_workdays(d, 30).value for d in starts]
