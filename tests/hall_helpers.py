"""What the intake and cases tests share (not a test module): the demo catalogue and calendar, a
clock the test sets, and sample identifiers that pass their check digits."""

from __future__ import annotations

import datetime as dt

from clerk_app.domain.catalogue_io import load_demo_catalogue
from clerk_app.domain.workdays import WorkCalendar

CST = dt.timezone(dt.timedelta(hours=8))
#: 2025-09-30 10:00 in the hall: with 5 working days the promise is 2025-10-14 (DOMAIN.md)
ACCEPTED_AT = dt.datetime(2025, 9, 30, 10, 0, tzinfo=CST)
FOOD_LICENCE = "113501000300100158000105005000005"  # 食品经营许可, promised 5 working days
VALID_ID = "11010519491231002X"
VALID_CREDIT = "91350100M000100Y43"

_CATALOGUE = load_demo_catalogue()
_CALENDAR = WorkCalendar()


class Clock:
    def __init__(self, at: dt.datetime) -> None:
        self.at = at

    def __call__(self) -> dt.datetime:
        return self.at.astimezone(dt.UTC)

    def set(self, *args: int) -> None:
        self.at = dt.datetime(*args, tzinfo=CST)  # type: ignore[misc]
