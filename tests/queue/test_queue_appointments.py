"""Appointments: check-in at the kiosk by code or ID number gives a ticket for the booked slot,
served at that time among the walk-ins; a second check-in, a wrong day, a too-early or late
arrival are each answered plainly. Runs on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt

import pytest
from queue_helpers import StepClock, clerk, key

from clerk_app.services.errors import UserError
from clerk_app.services.queue import QueueService, seed_demo_queue
from clerk_app.services.queue_appointments import DEMO_APPOINTMENTS, demo_code, seed_demo_appointments
from clerk_app.services.runtime import open_store
from clerk_app.store.models.queue import Appointment
from clerk_app.store.uow import Store

# 09:40 in the hall on the test day: the 10:00 slot (A) is not due yet, 09:30 (C) is running
MORNING = dt.datetime(2026, 11, 28, 1, 40, tzinfo=dt.UTC)
DAY = dt.date(2026, 11, 28)


def _hall(db_url: str) -> tuple[Store, QueueService, StepClock]:
    store = open_store(db_url, kind="central")
    seed_demo_queue(store)
    seed_demo_appointments(store, MORNING)  # the test day's (seed_demo_queue did today's)
    assert seed_demo_appointments(store, MORNING) == 0  # once a day
    with store.unit_of_work() as uow:
        assert uow.session.query(Appointment).filter_by(service_day=DAY).count() == len(DEMO_APPOINTMENTS)
    clock = StepClock(MORNING)
    return store, QueueService(store, clock=clock), clock


def test_check_in_by_code_or_id_gives_the_slot_time_and_merges_with_walk_ins(db_url: str) -> None:
    store, svc, clock = _hall(db_url)
    walk_in = svc.issue("A")
    by_code = svc.check_in(demo_code(DAY, 3).lower())  # 10:00, category A; typed in lower case
    assert by_code.code == demo_code(DAY, 3) and not by_code.late
    assert by_code.issued.ticket.appointment_at == by_code.slot_start
    assert by_code.issued.ticket.number == "A002" and by_code.issued.category_name == "综合业务"
    by_id = svc.check_in(" 320311197707060018 ")  # 林小芳, 09:30, category C
    assert by_id.code == demo_code(DAY, 2) and by_id.issued.ticket.category == "C"
    who = clerk(9)  # window 9 serves A and C
    first = svc.call_next(who, key())
    assert first is not None and first.id == by_id.issued.ticket.id and first.call_reason == "appointment"
    svc.start(who, first.id, key())
    svc.finish(who, first.id, key())
    second = svc.call_next(who, key())  # 10:00 has not come: the walk-in first
    assert second is not None and second.id == walk_in.ticket.id
    svc.start(who, second.id, key())
    svc.finish(who, second.id, key())
    clock.now = dt.datetime(2026, 11, 28, 2, 0, 30, tzinfo=dt.UTC)  # 10:00:30
    svc.issue("A")
    third = svc.call_next(who, key())
    assert third is not None and third.id == by_code.issued.ticket.id and third.call_reason == "appointment"
    with store.unit_of_work() as uow:
        row = uow.session.query(Appointment).filter_by(code=demo_code(DAY, 3)).one()
        assert row.state == "checked_in" and row.ticket_id == by_code.issued.ticket.id
    store.dispose()


def test_check_in_answers_plainly(db_url: str) -> None:
    store, svc, clock = _hall(db_url)
    done = svc.check_in(demo_code(DAY, 1))  # 09:00-09:30 slot, now 09:40: late → walk-in
    assert done.late and done.issued.ticket.appointment_at is None
    with pytest.raises(UserError, match="已签到，号码是 B001"):
        svc.check_in(demo_code(DAY, 1))
    with pytest.raises(UserError, match="没有找到"):
        svc.check_in("Y99999999")
    with pytest.raises(UserError, match="请输入"):
        svc.check_in("  ")
    with pytest.raises(UserError, match="前两小时内"):
        svc.check_in(demo_code(DAY, 6))  # 15:30
    with pytest.raises(UserError, match="没有找到"):
        svc.check_in("510104199001010035" + "X")
    clock.now = MORNING + dt.timedelta(days=1)
    with pytest.raises(UserError, match="预约日期是 11月28日"):
        svc.check_in(demo_code(DAY, 2))
    store.dispose()


@pytest.mark.parametrize("language", ["en", "zh_CN"])
def test_wrong_day_is_written_in_the_ui_language(qapp: object, db_url: str, language: str) -> None:
    """The wrong-day answer names the booked day as the UI language writes it (the English
    message said 11月28日): the same text QLocale gives for the language the GUI sets."""
    from PySide6.QtCore import QDate, QLocale

    from clerk_app import i18n

    store, svc, clock = _hall(db_url)
    clock.now = MORNING + dt.timedelta(days=1)
    i18n.set_language(language)
    english = language == "en"
    locale = (
        QLocale(QLocale.Language.English, QLocale.Country.UnitedStates)
        if english
        else QLocale(QLocale.Language.Chinese, QLocale.Country.China)
    )
    shown = locale.toString(QDate(DAY.year, DAY.month, DAY.day), "MMMM d" if english else "M月d日")
    assert i18n.month_day(DAY) == shown == ("November 28" if english else "11月28日")
    assert i18n.month_day(dt.date(2027, 3, 5)) == ("March 5" if english else "3月5日")  # no leading 0
    with pytest.raises(UserError) as refused:
        svc.check_in(demo_code(DAY, 2))
    message = str(refused.value)
    if english:
        assert message == "Your appointment is on November 28, not today."
        assert not any("\u4e00" <= ch <= "\u9fff" for ch in message), message
    else:
        assert message == "您的预约日期是 11月28日，不是今天。"
    store.dispose()
