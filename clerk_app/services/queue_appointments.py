"""Appointments at the kiosk: an applicant who booked a slot checks in with the appointment code
or their ID number and gets a ticket carrying the slot's start (``Ticket.appointment_at``), so
call-next serves them at that time among the walk-ins (``clerk_app.domain.queue_order``).

Checking in twice gives no second ticket (the kiosk says which number was issued); an applicant
who comes after the slot has ended gets an ordinary walk-in ticket (the kiosk says so). The demo
hall gets a few appointments for the day (``seed_demo_appointments``).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy import or_, select

from clerk_app.i18n import _, month_day
from clerk_app.services.errors import UserError
from clerk_app.services.queue_rules import CHINA, service_day
from clerk_app.services.queue_views import IssuedTicket
from clerk_app.store.base import utcnow
from clerk_app.store.models.queue import Appointment, Ticket
from clerk_app.store.uow import Store, UnitOfWork

if TYPE_CHECKING:
    from clerk_app.services.queue import QueueService

#: the kiosk takes check-ins from this long before the slot (earlier: come back later)
EARLIEST = dt.timedelta(hours=2)


@dataclass(frozen=True, slots=True)
class AppointmentCheckIn:
    code: str
    issued: IssuedTicket
    slot_start: dt.datetime
    slot_end: dt.datetime
    #: the slot had ended: the ticket is an ordinary walk-in one
    late: bool


def _find(uow: UnitOfWork, text: str, day: dt.date) -> Appointment | None:
    """By code (any day, so that a wrong day can be explained), or today's by ID number."""
    rows = uow.session.scalars(
        select(Appointment)
        .where(
            ~Appointment.deleted,
            or_(Appointment.code == text, (Appointment.id_number == text) & (Appointment.service_day == day)),
        )
        .order_by(Appointment.slot_start)
        .with_for_update()  # a supervisor's cancel of the same booking waits, or is waited for
    ).all()
    booked = [a for a in rows if a.state == "booked" and a.service_day == day]
    return booked[0] if booked else (rows[0] if rows else None)


def check_in(service: QueueService, uow: UnitOfWork, code_or_id: str, now: dt.datetime) -> AppointmentCheckIn:
    text = code_or_id.strip().upper()
    if not text:
        raise UserError(_("请输入预约码或身份证号码。"), field="appointment")
    day = service_day(now)
    appt = _find(uow, text, day)
    if appt is None:
        raise UserError(_("没有找到您今天的预约，请核对预约码或证件号码，或直接选择业务取号。"))
    if appt.state == "cancelled":
        raise UserError(_("该预约已取消，请直接选择业务取号。"))
    if appt.service_day != day:
        raise UserError(_("您的预约日期是 {d}，不是今天。").format(d=month_day(appt.service_day)))
    if appt.state == "checked_in":
        number = uow.session.scalar(select(Ticket.number).where(Ticket.id == appt.ticket_id)) or ""
        raise UserError(_("您已签到，号码是 {n}，请留意叫号。").format(n=number))
    start, end = _utc(appt.slot_start), _utc(appt.slot_end)
    if now < start - EARLIEST:
        at = start.astimezone(CHINA).strftime("%H:%M")
        raise UserError(_("您预约的时间是 {t}，请在预约时间前两小时内签到。").format(t=at))
    late = now > end
    issued = service._issue_in(
        uow, appt.category, "", appt.id_number, "", None if late else start, "appointment"
    )
    appt.state, appt.ticket_id, appt.checked_in_at = "checked_in", issued.ticket.id, now
    uow.flush()
    return AppointmentCheckIn(appt.code, issued, start, end, late)


def _utc(value: dt.datetime) -> dt.datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=dt.UTC)


#: the demo day's bookings: (hall time of the slot, minutes, category, name, ID number)
DEMO_APPOINTMENTS = (
    ("09:00", 30, "B", "陈建国", "110105195006150030"),
    ("09:30", 30, "C", "林小芳", "320311197707060018"),
    ("10:00", 30, "A", "王海燕", "350102198001010011"),
    ("10:30", 30, "D", "赵立新", "11010519491231002X"),
    ("14:00", 30, "E", "孙丽", "440106198503150046"),
    ("15:30", 30, "A", "周明", "510104199001010035"),
)


def demo_code(day: dt.date, n: int) -> str:
    """``Y26112801``: Y, the day, the booking's number."""
    return f"Y{day:%y%m%d}{n:02d}"


def seed_demo_appointments(store: Store, now: dt.datetime | None = None) -> int:
    """Today's demo bookings, unless today has some already; returns how many were added."""
    now = now or utcnow()
    day = service_day(now)
    with store.unit_of_work() as uow:
        if uow.session.scalar(select(Appointment.id).where(Appointment.service_day == day).limit(1)):
            return 0
        for n, (at, minutes, category, name, id_number) in enumerate(DEMO_APPOINTMENTS, start=1):
            hour, minute = (int(x) for x in at.split(":"))
            start = dt.datetime.combine(day, dt.time(hour, minute), CHINA).astimezone(dt.UTC)
            uow.session.add(Appointment(
                code=demo_code(day, n), service_day=day, category=category, slot_start=start,
                slot_end=start + dt.timedelta(minutes=minutes), applicant_name=name, id_number=id_number,
            ))  # fmt: skip
        uow.commit()
        return len(DEMO_APPOINTMENTS)
