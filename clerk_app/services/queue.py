"""The hall queue: issuing tickets, the clerk's presses at a window, the hall display, the
offline local queue. ``QueueService`` is assembled from parts: ``queue_base`` (store, settings,
categories, history), this module (issuing, appointments check-in, window state and view),
``queue_presses`` (the presses), ``queue_claim`` (the presses on PostgreSQL in one round trip),
``queue_offline`` (the local queue's numbers) and ``queue_board`` (the display).

Guarantees (each checked by tests on PostgreSQL and on the SQLite central store):

* **A call claims one ticket in one statement.** On PostgreSQL the whole press is one call of
  the server function ``queue_claim_next`` (migrations ``0012_queue_claim_fn`` to
  ``0015_queue_press_fn``): it ranks the window's candidates by the rules of
  ``clerk_app.domain.queue_order`` (a test checks the two agree) and claims the first of them
  that is still waiting with ``SELECT … FOR UPDATE SKIP LOCKED``, so two windows never take the
  same ticket and never wait on each other. 开始办理, 办结, 重呼, 过号, 挂起, 叫回 and 取消 are one
  statement too (``queue_press_ticket``). On SQLite the transaction holds the write lock from its start
  (BEGIN IMMEDIATE), which serialises the read, the ranking in Python and the claim.
* **Every transition is conditional** on the state it was decided from (and on the window that
  holds the ticket): a stale press changes nothing and says so.
* **One active ticket per window**, enforced by a partial unique index.
* **Idempotent presses.** Each press carries a key; the first execution records it with its
  ticket in the same transaction, and a retry (a timeout, a dropped connection after the commit)
  gets that ticket back instead of acting twice.

Ticket rows are changed by Core statements (not ORM flushes), so each change is recorded in the
outbox explicitly through :meth:`UnitOfWork.record_statement_change`; history rows go through
the ORM and are captured as usual.
"""

from __future__ import annotations

import datetime as dt
import logging

from sqlalchemy import func, select
from sqlalchemy.exc import OperationalError

from clerk_app.domain import queue_order as qo
from clerk_app.i18n import _
from clerk_app.security.roles import Permission
from clerk_app.services import queue_appointments
from clerk_app.services.auth import UserSession
from clerk_app.services.errors import UserError
from clerk_app.services.queue_appointments import AppointmentCheckIn, seed_demo_appointments
from clerk_app.services.queue_base import _LOCK_RETRIES, CACHE_SECONDS, LOCAL_BLOCK_KEY, LOCAL_CATEGORY
from clerk_app.services.queue_board import BoardListener, BoardMixin
from clerk_app.services.queue_offline import (
    OfflineMixin,
    block_letters,
    device_code,
    device_code_of,
    device_number,
    prepare_offline,
)
from clerk_app.services.queue_presses import PressesMixin
from clerk_app.services.queue_rules import (
    WAITING_STATES,
    QueuePolicy,
    service_day,
)
from clerk_app.services.queue_views import (
    _WAITING_COLS,
    PAUSE_REASONS,
    PRIORITY_KINDS,
    BoardRow,
    BoardView,
    CategoryInfo,
    IssuedTicket,
    T,
    TicketView,
    WindowView,
    _is_locked,
    _priority_from_id,
    _waiting,
    _window_of,
    format_number,
    state_label,
    view,
)
from clerk_app.store.models import Hall
from clerk_app.store.models.queue import (
    QueueCategory,
    Ticket,
    WindowCategory,
    WindowState,
)
from clerk_app.store.uow import Store, UnitOfWork

log = logging.getLogger("clerk.queue")


class QueueService(PressesMixin, OfflineMixin, BoardMixin):
    """Use cases of the hall queue on ``store`` (the central store, or with ``offline=True`` a
    window's own local queue in the workstation's store)."""

    # --- issuing --------------------------------------------------------------------------------

    def issue(
        self,
        category: str,
        *,
        priority_kind: str = "",
        id_number: str = "",
        case_ref: str = "",
        appointment_at: dt.datetime | None = None,
        issued_by: str = "kiosk",
    ) -> IssuedTicket:
        """Take a ticket (kiosk, or a clerk issuing one for an applicant)."""
        if priority_kind and priority_kind not in PRIORITY_KINDS:
            raise UserError(_("未知的优先类别。"))
        for attempt in range(_LOCK_RETRIES):
            try:
                return self._issue(category, priority_kind, id_number, case_ref, appointment_at, issued_by)
            except OperationalError as exc:
                # SQLite's busy timeout expired at BEGIN IMMEDIATE: nothing was written yet
                if not _is_locked(exc) or attempt == _LOCK_RETRIES - 1:
                    raise
        raise AssertionError("unreachable")

    def _issue(
        self,
        category: str,
        priority_kind: str,
        id_number: str,
        case_ref: str,
        appointment_at: dt.datetime | None,
        issued_by: str,
    ) -> IssuedTicket:
        with self._store.unit_of_work() as uow:
            issued = self._issue_in(
                uow, category, priority_kind, id_number, case_ref, appointment_at, issued_by
            )
            uow.commit()
            log.info("issued %s (%s)", issued.ticket.number, issued.ticket.priority_kind or "normal")
            return issued

    def _issue_in(
        self,
        uow: UnitOfWork,
        category: str,
        priority_kind: str,
        id_number: str,
        case_ref: str,
        appointment_at: dt.datetime | None,
        issued_by: str,
    ) -> IssuedTicket:
        """Issue a ticket in ``uow`` (the caller commits)."""
        now = self._clock()
        policy = self._policy(uow)
        cat = uow.session.scalar(
            select(QueueCategory).where(
                QueueCategory.code == category, QueueCategory.active, ~QueueCategory.deleted
            )
        )
        if cat is None:
            raise UserError(_("该业务类别暂不取号，请咨询导办人员。"))
        if not priority_kind and id_number:
            priority_kind = _priority_from_id(id_number, now, policy.elderly_age)
        day = service_day(now)
        seq = self._next_seq(uow, day, category)
        routed = self._returning_window(uow, case_ref.strip(), day) if case_ref.strip() else None
        ticket = Ticket(
            service_day=day,
            number=format_number(category, seq),
            seq=seq,
            category=category,
            priority=bool(priority_kind),
            priority_kind=priority_kind,
            appointment_at=appointment_at,
            case_ref=case_ref.strip(),
            state="issued",
            routed_window=routed,
            routed_at=now if routed else None,
            issued_at=now,
            issued_by=issued_by,
        )
        uow.session.add(ticket)
        uow.session.flush()
        self._event(uow, ticket, "issue", "", "issued", None, None, now)
        ahead, wait = self._estimate(uow, ticket, cat, policy, now)
        hall = uow.session.scalar(select(Hall.name).where(~Hall.deleted).limit(1)) or ""
        return IssuedTicket(view(ticket), cat.name, ahead, wait, hall, routed)

    def _returning_window(self, uow: UnitOfWork, case_ref: str, day: dt.date) -> int | None:
        """A returning applicant (补正) goes to the clerk who served the case, if that clerk is
        at an open window now."""
        clerk = uow.session.scalar(
            select(Ticket.clerk_id)
            .where(Ticket.case_ref == case_ref, Ticket.clerk_id.is_not(None))
            .order_by(Ticket.issued_at.desc())
            .limit(1)
        )
        if clerk is None:
            return None
        return uow.session.scalar(
            select(WindowState.window_number).where(
                WindowState.clerk_id == clerk, WindowState.status.in_(("open", "paused"))
            )
        )

    def _estimate(
        self, uow: UnitOfWork, ticket: Ticket, cat: QueueCategory, policy: QueuePolicy, now: dt.datetime
    ) -> tuple[int, dt.timedelta]:
        waiting = [
            _waiting(r)
            for r in uow.session.execute(
                select(*_WAITING_COLS).where(
                    T.c.service_day == ticket.service_day,
                    T.c.category == ticket.category,
                    T.c.state.in_(WAITING_STATES),
                    T.c.offline.is_(self._offline),
                )
            )
        ]
        me = next(w for w in waiting if w.key == ticket.id)
        ahead = qo.people_ahead(me, waiting, now=now, policy=policy.order)
        windows = uow.session.scalar(
            select(func.count())
            .select_from(WindowState)
            .join(WindowCategory, WindowCategory.window_number == WindowState.window_number)
            .where(
                WindowState.status == "open",
                WindowCategory.category_code == cat.code,
                ~WindowCategory.deleted,
            )
        )
        return ahead, qo.estimated_wait(
            ahead, int(windows or 0), dt.timedelta(minutes=cat.mean_service_minutes)
        )

    def check_in(self, code_or_id: str) -> AppointmentCheckIn:
        """Kiosk: an applicant with an appointment checks in by its code or their ID number and
        gets a ticket carrying the slot's time (see ``queue_appointments``)."""
        for attempt in range(_LOCK_RETRIES):
            try:
                with self._store.unit_of_work() as uow:
                    result = queue_appointments.check_in(self, uow, code_or_id, self._clock())
                    uow.commit()
                    log.info("appointment %s checked in as %s", result.code, result.issued.ticket.number)
                    return result
            except OperationalError as exc:
                if not _is_locked(exc) or attempt == _LOCK_RETRIES - 1:
                    raise
        raise AssertionError("unreachable")

    # --- offline numbers ------------------------------------------------------------------------
    #
    # Two workstations may be offline at once with the same window number (a spare machine set up
    # for window 7, a second clerk's laptop): their local numbers must still differ, or the
    # second to reach the central store would be refused there (numbers are unique per day).
    # While online, each workstation reserves from the central store a block letter for the day
    # and its window (07A-001 …, the next machine 07B-001 …); a workstation offline since the
    # start of the day uses a two-character code of its device id instead (07K3-001 …).

    # --- window state ---------------------------------------------------------------------------

    def open_window(self, who: UserSession) -> WindowView:
        window = _window_of(who)
        with self._store.unit_of_work() as uow:
            state = self._window_state(uow, window)
            state.clerk_id, state.clerk_name = who.user_id, who.display_name
            state.status, state.pause_reason, state.since = "open", "", self._clock()
            uow.commit()
        return self.window_view(who)

    def pause(self, who: UserSession, reason: str) -> WindowView:
        if reason not in PAUSE_REASONS:
            raise UserError(_("请选择暂停原因。"))
        return self._set_status(who, "paused", reason)

    def resume(self, who: UserSession) -> WindowView:
        return self._set_status(who, "open", "")

    def close_window(self, who: UserSession) -> None:
        self._set_status(who, "closed", "")

    def _set_status(self, who: UserSession, status: str, reason: str) -> WindowView:
        who.require(Permission.SERVE)
        window = _window_of(who)
        with self._store.unit_of_work() as uow:
            state = self._window_state(uow, window)
            state.status, state.pause_reason, state.since = status, reason, self._clock()
            state.clerk_id, state.clerk_name = who.user_id, who.display_name
            self._audit_window(uow, who, f"queue.{status}", reason)
            uow.commit()
        return self.window_view(who)

    def _audit_window(self, uow: UnitOfWork, who: UserSession, action: str, reason: str) -> None:
        from clerk_app.store.audit import append_audit

        append_audit(
            uow.session, self._store.device_id, action, actor_id=who.user_id, actor_name=who.username,
            window_number=who.window_number, target=str(who.window_number), detail={"reason": reason},
        )  # fmt: skip

    def window_view(self, who: UserSession) -> WindowView:
        window = _window_of(who)
        now = self._clock()
        with self._store.unit_of_work() as uow:
            state = uow.session.get(WindowState, window)
            day = service_day(now)
            mine = uow.session.scalars(
                select(Ticket)
                .where(
                    Ticket.service_day == day,
                    Ticket.window_number == window,
                    Ticket.offline.is_(self._offline),
                )
                .where(Ticket.state.in_(("called", "serving", "parked")))
                .order_by(Ticket.called_at)
            ).all()
            cats = self._window_categories(uow, window)
            waiting = uow.session.scalars(
                select(Ticket)
                .where(
                    Ticket.service_day == day,
                    Ticket.state.in_(WAITING_STATES),
                    Ticket.offline.is_(self._offline),
                )
                .where(
                    (Ticket.routed_window == window)
                    | (Ticket.routed_window.is_(None) & Ticket.category.in_(cats))
                )
                .order_by(Ticket.issued_at)
                .limit(200)
            ).all()
            current = next((view(t) for t in mine if t.state in ("called", "serving")), None)
            return WindowView(
                window,
                state.status if state else "closed",
                state.pause_reason if state else "",
                current,
                tuple(view(t) for t in mine if t.state == "parked"),
                tuple(view(t) for t in waiting),
                tuple(self._category_infos(uow, now, cats)),
                self._policy(uow).recall_limit,
            )

    # --- the presses ------------------------------------------------------------------------------

    # --- machinery ----------------------------------------------------------------------------


__all__ = [
    "CACHE_SECONDS",
    "LOCAL_BLOCK_KEY",
    "LOCAL_CATEGORY",
    "PAUSE_REASONS",
    "PRIORITY_KINDS",
    "AppointmentCheckIn",
    "BoardListener",
    "BoardRow",
    "BoardView",
    "CategoryInfo",
    "IssuedTicket",
    "QueueService",
    "TicketView",
    "WindowView",
    "block_letters",
    "device_code",
    "device_code_of",
    "device_number",
    "format_number",
    "prepare_offline",
    "seed_demo_queue",
    "state_label",
    "view",
]


def seed_demo_queue(store: Store, windows: int = 24, now: dt.datetime | None = None) -> bool:
    """Add the demo categories and window mappings unless present, and on a central store the
    day's demo appointments (the day of ``now``, by default today; called by the demo seeding)."""
    from clerk_app.services.queue_rules import DEMO_CATEGORIES, demo_window_categories

    with store.unit_of_work() as uow:
        seeded = uow.session.scalar(select(QueueCategory.id).limit(1)) is not None
        if not seeded:
            for order, (code, name, description, minutes) in enumerate(DEMO_CATEGORIES):
                uow.session.add(QueueCategory(code=code, name=name, description=description,
                                              sort_order=order, mean_service_minutes=minutes))  # fmt: skip
            for number in range(1, windows + 1):
                for code in demo_window_categories(number):
                    uow.session.add(WindowCategory(window_number=number, category_code=code))
            uow.commit()
    # the day's bookings in a unit of work of their own, after this one has ended (a second
    # write transaction inside the first would wait for its own lock on SQLite)
    if store.is_central:
        seed_demo_appointments(store, now)
    return not seeded
