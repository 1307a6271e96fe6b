"""The supervisor's book of appointments (预约) on the central store: a day's bookings with
their state, the booking platform's export imported, a booking cancelled.

* **States.** 待签到 (booked, its slot not over), 已签到 (checked in at the kiosk: it has a
  ticket), 已取消 (cancelled), 已过期 (booked, and its slot ended without a check-in; the
  applicant may still check in late and gets an ordinary walk-in ticket).
* **Cancel** (the applicant phoned, or a no-show at the end of the slot): a reason is required,
  the booking keeps when, why and by whom, and the audit trail records it. A booking already
  checked in is not cancelled (its ticket is in the queue); a cancelled one cannot be checked in
  at the kiosk (``queue_appointments.check_in`` says so). The row is locked while it changes, so
  a cancel and a check-in at the same moment do not both win.
* **Import** (``appointment_import`` reads and checks the rows): the good rows are added in one
  unit of work, the bad ones reported by row number; a code already in the store is not added
  again (importing the same file twice adds nothing the second time), and a code already there
  with other contents is reported, not changed.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError, OperationalError

from clerk_app.i18n import N_, _
from clerk_app.security.roles import Permission
from clerk_app.services.appointment_import import BookingRow, RowError, check_rows, read_table
from clerk_app.services.auth import UserSession
from clerk_app.services.case_search import mask_id, mask_phone
from clerk_app.services.errors import UserError
from clerk_app.services.queue_rules import CHINA, service_day
from clerk_app.store.audit import append_audit
from clerk_app.store.base import utcnow
from clerk_app.store.models.queue import Appointment, QueueCategory, Ticket
from clerk_app.store.uow import Store, UnitOfWork

log = logging.getLogger("clerk.queue")

STATE_LABELS = {
    "booked": N_("待签到"),
    "checked_in": N_("已签到"),
    "cancelled": N_("已取消"),
    "expired": N_("已过期"),
}
#: reasons offered on the screen (any other text may be typed); the second is a no-show's
CANCEL_REASONS = (N_("申请人来电取消"), N_("逾期未到"), N_("预约信息有误"))


def state_label(state: str) -> str:
    return _(STATE_LABELS[state]) if state in STATE_LABELS else state


@dataclass(frozen=True, slots=True)
class BookingView:
    code: str
    name: str
    id_masked: str
    phone_masked: str
    category: str
    category_name: str
    slot_start: dt.datetime
    slot_end: dt.datetime
    #: booked | checked_in | cancelled | expired
    state: str
    ticket_number: str
    cancel_reason: str

    @property
    def state_label(self) -> str:
        return state_label(self.state)

    @property
    def slot_text(self) -> str:
        start, end = (t.astimezone(CHINA).strftime("%H:%M") for t in (self.slot_start, self.slot_end))
        return f"{start}-{end}"


@dataclass(frozen=True, slots=True)
class ImportReport:
    file_name: str
    rows: int
    added: int
    #: codes already in the store with the same contents (an earlier import of this file)
    already: int
    errors: tuple[RowError, ...]

    @property
    def summary(self) -> str:
        return _("共 {rows} 行：新导入 {added} 条，已导入过 {already} 条，有误 {bad} 行。").format(
            rows=self.rows, added=self.added, already=self.already, bad=len(self.errors)
        )


@contextmanager
def _central() -> Iterator[None]:
    """The bookings live on the central store: when it cannot be reached, say so plainly."""
    try:
        yield
    except OperationalError as exc:
        log.warning("central store unreachable for the appointment book: %s", exc)
        raise UserError(_("中心库暂时无法连接，预约无法读取或更改，请稍后再试。")) from exc


def _utc(value: dt.datetime) -> dt.datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=dt.UTC)


class AppointmentBook:
    def __init__(self, store: Store, clock: Callable[[], dt.datetime] = utcnow) -> None:
        self._store = store
        self._clock = clock

    # --- the day's bookings ---------------------------------------------------------------------

    def bookings(self, who: UserSession, day: dt.date | None = None) -> list[BookingView]:
        """The bookings of ``day`` (default: today in the hall) by slot."""
        who.require(Permission.SUPERVISE)
        now = self._clock()
        day = day or service_day(now)
        with _central(), self._store.unit_of_work() as uow:
            names = self._category_names(uow)
            rows = uow.session.execute(
                select(Appointment, Ticket.number)
                .outerjoin(Ticket, Ticket.id == Appointment.ticket_id)
                .where(Appointment.service_day == day, ~Appointment.deleted)
                .order_by(Appointment.slot_start, Appointment.code)
            ).all()
            return [self._view(a, number or "", names, now) for a, number in rows]

    @staticmethod
    def _category_names(uow: UnitOfWork) -> dict[str, str]:
        rows = uow.session.execute(
            select(QueueCategory.code, QueueCategory.name).where(~QueueCategory.deleted)
        )
        return {code: name for code, name in rows}

    @staticmethod
    def _view(a: Appointment, number: str, names: dict[str, str], now: dt.datetime) -> BookingView:
        start, end = _utc(a.slot_start), _utc(a.slot_end)
        state = "expired" if a.state == "booked" and now > end else a.state
        return BookingView(
            a.code, a.applicant_name, mask_id(a.id_number), mask_phone(a.phone) if a.phone else "",
            a.category, names.get(a.category, a.category), start, end, state, number, a.cancel_reason,
        )  # fmt: skip

    # --- cancel ---------------------------------------------------------------------------------

    @staticmethod
    def _locked(uow: UnitOfWork, code: str) -> Appointment:
        """The booking ``code`` (any case, spaces around it), locked until the commit."""
        appt = uow.session.scalar(
            select(Appointment)
            .where(Appointment.code == code.strip().upper(), ~Appointment.deleted)
            .with_for_update()
        )
        if appt is None:
            raise UserError(_("没有找到预约码为 {code} 的预约。").format(code=code))
        return appt

    def cancel(self, who: UserSession, code: str, reason: str) -> BookingView:
        who.require(Permission.SUPERVISE)
        reason = " ".join(reason.split())
        if not reason:
            raise UserError(_("请填写取消原因。"), field="reason")
        if len(reason) > 200:
            raise UserError(_("取消原因最多 200 个字。"), field="reason")
        now = self._clock()
        with _central(), self._store.unit_of_work() as uow:
            appt = self._locked(uow, code)
            if appt.state == "checked_in":
                number = uow.session.scalar(select(Ticket.number).where(Ticket.id == appt.ticket_id)) or ""
                raise UserError(
                    _("预约 {code} 已签到（号码 {n}），不能取消。").format(code=appt.code, n=number)
                )
            if appt.state == "cancelled":
                raise UserError(_("预约 {code} 已经取消。").format(code=appt.code))
            self._cancelled(uow, appt, who, reason, now)
            uow.flush()
            result = self._view(appt, "", self._category_names(uow), now)
            uow.commit()
        log.info("appointment %s cancelled", result.code)
        return result

    def restore(self, who: UserSession, code: str) -> BookingView:
        """A booking cancelled by mistake (the wrong row, an applicant who called back) made
        bookable again: 待签到, or 已过期 once its slot is over, as if never cancelled. Only on its
        own day or before; audited with the cancellation it undoes."""
        who.require(Permission.SUPERVISE)
        now = self._clock()
        with _central(), self._store.unit_of_work() as uow:
            appt = self._locked(uow, code)
            if appt.state != "cancelled":
                raise UserError(_("预约 {code} 没有取消，不需要恢复。").format(code=appt.code))
            if appt.service_day < service_day(now):
                raise UserError(
                    _("预约 {code} 是 {day} 的，日期已过，不能恢复。").format(
                        code=appt.code, day=appt.service_day.isoformat()
                    )
                )
            undone = {"reason": appt.cancel_reason, "by": appt.cancelled_by,
                      "at": _utc(appt.cancelled_at).isoformat() if appt.cancelled_at else None}  # fmt: skip
            appt.state, appt.cancelled_at, appt.cancel_reason, appt.cancelled_by = "booked", None, "", ""
            append_audit(
                uow.session, self._store.device_id, "queue.appointment_restore", actor_id=who.user_id,
                actor_name=who.username, window_number=who.window_number, target=appt.code,
                detail={"cancelled": undone, "slot_start": _utc(appt.slot_start).isoformat()}, at=now,
            )  # fmt: skip
            uow.flush()
            result = self._view(appt, "", self._category_names(uow), now)
            uow.commit()
        log.info("appointment %s restored", result.code)
        return result

    def _cancelled(
        self, uow: UnitOfWork, appt: Appointment, who: UserSession, reason: str, now: dt.datetime
    ) -> None:
        """Mark ``appt`` cancelled for ``reason`` by ``who``, audited."""
        appt.state, appt.cancelled_at, appt.cancel_reason = "cancelled", now, reason
        appt.cancelled_by = who.display_name
        append_audit(
            uow.session, self._store.device_id, "queue.appointment_cancel", actor_id=who.user_id,
            actor_name=who.username, window_number=who.window_number, target=appt.code,
            detail={"reason": reason, "slot_start": _utc(appt.slot_start).isoformat()}, at=now,
        )  # fmt: skip

    def cancel_no_shows(self, who: UserSession, day: dt.date) -> list[str]:
        """Every booking of ``day`` whose slot ended without a check-in (已过期) cancelled as
        逾期未到, in one unit of work, each audited; returns their codes."""
        who.require(Permission.SUPERVISE)
        now = self._clock()
        reason = CANCEL_REASONS[1]  # kept in Chinese, as the booking platform's records are
        with _central(), self._store.unit_of_work() as uow:
            rows = uow.session.scalars(
                select(Appointment)
                .where(Appointment.service_day == day, Appointment.state == "booked", ~Appointment.deleted)
                .order_by(Appointment.slot_start, Appointment.code)
                .with_for_update()
            ).all()
            codes = []
            for appt in rows:
                if now <= _utc(appt.slot_end):
                    continue
                self._cancelled(uow, appt, who, reason, now)
                codes.append(appt.code)
            uow.commit()
        log.info("%s no-shows of %s cancelled", len(codes), day)
        return codes

    # --- import ---------------------------------------------------------------------------------

    def import_file(self, who: UserSession, path: str | Path) -> ImportReport:
        file = Path(path)
        try:
            data = file.read_bytes()
        except OSError as exc:
            raise UserError(_("无法读取文件 {name}。").format(name=file.name)) from exc
        return self.import_bytes(who, data, file.name)

    def import_bytes(self, who: UserSession, data: bytes, file_name: str = "") -> ImportReport:
        who.require(Permission.SUPERVISE)
        now = self._clock()
        header, rows = read_table(data, file_name)
        with _central(), self._store.unit_of_work() as uow:
            categories = self._category_keys(uow)
            good, errors = check_rows(header, rows, categories, service_day(now))
            added, already, clashes = self._add(uow, good)
            errors = sorted([*errors, *clashes], key=lambda e: e.row)
            report = ImportReport(file_name, len(rows), added, already, tuple(errors))
            append_audit(
                uow.session, self._store.device_id, "queue.appointment_import", actor_id=who.user_id,
                actor_name=who.username, window_number=who.window_number, target=file_name[:200],
                detail={"rows": len(rows), "added": added, "already": already, "errors": len(errors)}, at=now,
            )  # fmt: skip
            try:
                uow.commit()
            except IntegrityError as exc:  # the same codes imported elsewhere at this moment
                raise UserError(_("另一位同事正在导入相同的预约，请稍后重新导入。")) from exc
        log.info("appointments imported from %s: %s added, %s already there", file_name, added, already)
        return report

    @staticmethod
    def _category_keys(uow: UnitOfWork) -> dict[str, str]:
        keys: dict[str, str] = {}
        for code, name in uow.session.execute(
            select(QueueCategory.code, QueueCategory.name).where(QueueCategory.active, ~QueueCategory.deleted)
        ):
            keys[code] = keys[code.upper()] = keys[name] = code
        return keys

    @staticmethod
    def _add(uow: UnitOfWork, good: list[BookingRow]) -> tuple[int, int, list[RowError]]:
        codes = [b.code for b in good]
        found = uow.session.scalars(select(Appointment).where(Appointment.code.in_(codes)))
        existing = {a.code: a for a in found}
        added = already = 0
        clashes: list[RowError] = []
        for b in good:
            old = existing.get(b.code)
            if old is None:
                uow.session.add(Appointment(
                    code=b.code, service_day=b.service_day, category=b.category, slot_start=b.slot_start,
                    slot_end=b.slot_end, applicant_name=b.name, id_number=b.id_number, phone=b.phone,
                ))  # fmt: skip
                added += 1
            elif _same(old, b):
                already += 1
            else:
                message = _("预约码 {code} 已导入过，内容与本行不同，未更改").format(code=b.code)
                clashes.append(RowError(b.row, message))
        return added, already, clashes


def _same(a: Appointment, b: BookingRow) -> bool:
    return (a.applicant_name, a.id_number, a.category, _utc(a.slot_start), _utc(a.slot_end)) == (
        b.name,
        b.id_number,
        b.category,
        b.slot_start,
        b.slot_end,
    )
