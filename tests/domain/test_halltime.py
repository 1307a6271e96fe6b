"""The hall's day and clock are China time whatever the PC's own zone."""

from __future__ import annotations

import datetime as dt

from clerk_app.domain.halltime import HALL_TZ, hall_day, hall_now


def test_hall_day_turns_at_china_midnight() -> None:
    assert hall_day(dt.datetime(2026, 11, 27, 15, 59, tzinfo=dt.UTC)) == dt.date(2026, 11, 27)
    assert hall_day(dt.datetime(2026, 11, 27, 16, 0, tzinfo=dt.UTC)) == dt.date(2026, 11, 28)


def test_hall_now_is_utc_plus_eight() -> None:
    now = hall_now()
    assert now.utcoffset() == dt.timedelta(hours=8) and now.tzinfo is HALL_TZ
    assert abs(now - dt.datetime.now(dt.UTC)) < dt.timedelta(seconds=5)
