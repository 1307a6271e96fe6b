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


class WorkCalendar:
    """Working-day arithmetic over the statutory calendar overridden by a hall table."""

    def __init__(
        self, hall_table: HallHolidayTable | None = None, first_year: int = 2004, last_year: int = 2030
    ):
        self.hall_table = hall_table or HallHolidayTable()
        self.package_years = _package_years()
        self._origin = date(first_year, 1, 1).toordinal()
        self._flags = bytearray()  # per day: bit 0 workday, bit 1 provisional
        self._work_rank: list[int] = []  # working days on or before day i
        self._prov_rank: list[int] = []  # provisional days on or before day i
        self._workday_ordinals: list[int] = []
        self._build(first_year, last_year)

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

    def _build(self, first_year: int, last_year: int) -> None:
        self._origin = date(first_year, 1, 1).toordinal()
        end = date(last_year, 12, 31).toordinal()
        self._flags = bytearray()
        self._work_rank, self._prov_rank, self._workday_ordinals = [], [], []
        work = prov = 0
        for ordinal in range(self._origin, end + 1):
            is_work, is_prov = self.classify(date.fromordinal(ordinal))
            work += is_work
            prov += is_prov
            self._flags.append(is_work | (is_prov << 1))
            self._work_rank.append(work)
            self._prov_rank.append(prov)
            if is_work:
                self._workday_ordinals.append(ordinal)
        self._years = (first_year, last_year)

    def _index(self, day: date) -> int:
        """Index of ``day`` in the arrays, extending them when it falls outside."""
        first, last = self._years
        if not first <= day.year <= last:
            self._build(min(first, day.year), max(last, day.year + 1))
        return day.toordinal() - self._origin

    # ---- queries ------------------------------------------------------------------------------

    def is_workday(self, day: date) -> bool:
        return bool(self._flags[self._index(day)] & 1)

    def is_provisional(self, day: date) -> bool:
        """True when the answer for ``day`` rests on the Monday–Friday fallback."""
        return bool(self._flags[self._index(day)] & 2)

    def workdays_between(self, start: date, end: date) -> int:
        """Working days in the half-open interval ``(start, end]`` (negative when ``end < start``)."""
        return self._work_rank[self._index(end)] - self._work_rank[self._index(start)]

    def provisional_between(self, start: date, end: date) -> bool:
        """Whether any day in ``(start, end]`` rests on the fallback."""
        low, high = sorted((start, end))
        return self._prov_rank[self._index(high)] != self._prov_rank[self._index(low)]

    def add_workdays(self, start: date, count: int) -> DayAnswer:
        """The ``count``-th working day after ``start`` (``start`` itself does not count; count ≥ 1)."""
        if count < 1:
            raise ValueError("count must be at least 1")
        index = self._index(start)
        while self._work_rank[index] + count > len(self._workday_ordinals):
            self._build(self._years[0], self._years[1] + 1 + count // 200)
        target = date.fromordinal(self._workday_ordinals[self._work_rank[index] + count - 1])
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

    def rank(self, day: date) -> int:
        """Working days from the first covered day up to and including ``day``."""
        return self._work_rank[self._index(day)]
