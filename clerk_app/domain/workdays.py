"""Working days (工作日) for deadline counting.

Rule (行政许可法 art. 82, see ``shared/DOMAIN.md``): deadlines count working days — statutory holidays
are excluded and the adjusted working weekends (调休) are included. The statutory calendar comes from
the ``chinesecalendar`` package, which covers its published years only (it raises
``NotImplementedError`` outside them). The hall's own table (:class:`HallHolidayTable`, plain data,
later kept centrally and edited by the administrator) overrides the package day by day, and may
declare whole years it fills. For a date the package does not cover and the table does not fill,
Monday–Friday is used and the answer is flagged *provisional*, so the caller can show it.

Lookups are answered from precomputed arrays (one entry per calendar day, extended on demand), so a
working-day count or an "N-th working day after" costs a few list indexings.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from enum import StrEnum
from typing import Any

import chinese_calendar


class DayKind(StrEnum):
    WORKDAY = "workday"
    HOLIDAY = "holiday"


@dataclass(frozen=True, slots=True)
class HallDay:
    """One entry of the hall's table: this date is a working day or a holiday, with a note."""

    kind: DayKind
    note: str = ""


@dataclass(frozen=True, slots=True)
class HallHolidayTable:
    """The hall's own calendar: per-date overrides, and the years it fills completely.

    In a year listed in ``complete_years`` a date without an entry is a working day when it falls
    Monday–Friday, and that answer is authoritative (not provisional).
    """

    days: Mapping[date, HallDay] = field(default_factory=dict)
    complete_years: frozenset[int] = frozenset()

    @classmethod
    def from_rows(
        cls, rows: Iterable[Mapping[str, Any]], complete_years: Iterable[int] = ()
    ) -> HallHolidayTable:
        """Build from plain rows ``{"date": "2027-01-01", "kind": "holiday", "note": "元旦"}``."""
        days = {
            date.fromisoformat(str(row["date"])): HallDay(DayKind(str(row["kind"])), str(row.get("note", "")))
            for row in rows
        }
        return cls(days, frozenset(complete_years))


def _package_years() -> tuple[int, int]:
    """The first and last year ``chinesecalendar`` has data for."""
    years = [d.year for d in chinese_calendar.constants.holidays]
    return min(years), max(years)


@dataclass(frozen=True, slots=True)
class DayAnswer:
    """A calendar answer and whether it rests on the Monday–Friday fallback."""

    value: date
    provisional: bool


@dataclass(frozen=True, slots=True)
class _Span:
    """Precomputed arrays over whole years ``first..last`` (one entry per calendar day)."""

    first: int
    last: int
    origin: int
    flags: bytes  # per day: bit 0 working day, bit 1 provisional
    work_rank: list[int]  # working days on or before each day
    prov_rank: list[int]  # provisional days on or before each day
    workday_ordinals: list[int]

    def covers(self, day: date) -> bool:
        return self.first <= day.year <= self.last


class WorkCalendar:
    """Working-day arithmetic over the statutory calendar overridden by a hall table.

    Thread-safe: queries read one immutable snapshot of the arrays; extending the span to a year
    not yet covered builds a new snapshot under a lock and swaps it in.
    """

    def __init__(
        self, hall_table: HallHolidayTable | None = None, first_year: int = 2004, last_year: int = 2030
    ):
        self.hall_table = hall_table or HallHolidayTable()
        self.package_years = _package_years()
        self._lock = threading.Lock()
        self._span = self._build(first_year, last_year)

    # ---- building -------------------------------------------------------------------------

    def classify(self, day: date) -> tuple[bool, bool]:
        """``(is_workday, provisional)`` for one date: hall table, then package, then Mon–Fri."""
        entry = self.hall_table.days.get(day)
        if entry is not None:
            return entry.kind is DayKind.WORKDAY, False
        first, last = self.package_years
        if first <= day.year <= last:
            return bool(chinese_calendar.is_workday(day)), False
        return day.weekday() < 5, day.year not in self.hall_table.complete_years

    def _build(self, first_year: int, last_year: int) -> _Span:
        origin = date(first_year, 1, 1).toordinal()
        flags, work_rank, prov_rank, ordinals = bytearray(), [], [], []
        work = prov = 0
        for ordinal in range(origin, date(last_year, 12, 31).toordinal() + 1):
            is_work, is_prov = self.classify(date.fromordinal(ordinal))
            work += is_work
            prov += is_prov
            flags.append(is_work | (is_prov << 1))
            work_rank.append(work)
            prov_rank.append(prov)
            if is_work:
                ordinals.append(ordinal)
        return _Span(first_year, last_year, origin, bytes(flags), work_rank, prov_rank, ordinals)

    def _cover(self, *days: date, extra_years: int = 0) -> _Span:
        """A snapshot covering every given day (and ``extra_years`` beyond the last one)."""
        span = self._span
        if not extra_years:
            first, last = span.first, span.last
            for day in days:
                if not first <= day.year <= last:
                    break
            else:
                return span
        return self._extend(days, extra_years)

    def _extend(self, days: tuple[date, ...], extra_years: int) -> _Span:
        with self._lock:
            span = self._span
            first = min(span.first, *(d.year for d in days))
            wanted = [d.year + 1 + extra_years for d in days if not span.covers(d)]
            last = max(span.last + extra_years, *wanted) if wanted else span.last + extra_years
            if (first, last) != (span.first, span.last):
                self._span = span = self._build(first, last)
            return span

    # ---- queries ------------------------------------------------------------------------------

    def is_workday(self, day: date) -> bool:
        span = self._cover(day)
        return bool(span.flags[day.toordinal() - span.origin] & 1)

    def is_provisional(self, day: date) -> bool:
        """True when the answer for ``day`` rests on the Monday–Friday fallback."""
        span = self._cover(day)
        return bool(span.flags[day.toordinal() - span.origin] & 2)

    def workdays_between(self, start: date, end: date) -> int:
        """Working days in the half-open interval ``(start, end]`` (negative when ``end < start``)."""
        span = self._cover(start, end)
        return span.work_rank[end.toordinal() - span.origin] - span.work_rank[start.toordinal() - span.origin]

    def provisional_between(self, start: date, end: date) -> bool:
        """Whether any day in ``(start, end]`` (or ``(end, start]``) rests on the fallback."""
        span = self._cover(start, end)
        return (
            span.prov_rank[end.toordinal() - span.origin] != span.prov_rank[start.toordinal() - span.origin]
        )

    def add_workdays(self, start: date, count: int) -> DayAnswer:
        """The ``count``-th working day after ``start`` (``start`` itself does not count; count ≥ 1)."""
        if count < 1:
            raise ValueError("count must be at least 1")
        span = self._cover(start)
        rank = span.work_rank[start.toordinal() - span.origin] + count
        while rank > len(span.workday_ordinals):
            span = self._cover(start, extra_years=1 + count // 200)
        target = date.fromordinal(span.workday_ordinals[rank - 1])
        return DayAnswer(target, self.provisional_between(start, target))

    def next_workday(self, day: date) -> date:
        """The first working day after ``day``."""
        return self.add_workdays(day, 1).value

    def workday_on_or_after(self, day: date) -> date:
        return day if self.is_workday(day) else self.next_workday(day)

    def workdays_in(self, start: date, end: date) -> int:
        """Working days in the closed interval ``[start, end]`` (0 when empty)."""
        if end < start:
            return 0
        return self.workdays_between(start - timedelta(days=1), end)
