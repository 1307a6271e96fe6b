"""The hall's clock: service days, deadlines and every time shown to a clerk or applicant are in
China Standard Time (UTC+8, no daylight saving), whatever time zone the PC itself is set to."""

from __future__ import annotations

import datetime as dt

HALL_TZ = dt.timezone(dt.timedelta(hours=8), "CST")


def hall_now() -> dt.datetime:
    return dt.datetime.now(HALL_TZ)


def hall_day(at: dt.datetime) -> dt.date:
    """The hall's calendar day of ``at`` (an aware datetime)."""
    return at.astimezone(HALL_TZ).date()
