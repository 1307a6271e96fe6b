"""The hall queue on the central store: issuing tickets, and the clerk's presses at a window.

Guarantees (each checked by tests on PostgreSQL and on the SQLite central store):

* **A call claims one ticket in one statement.** The window's candidates are read and ranked by
  the pure rules of ``clerk_app.domain.queue_order``; the claim is then a single
  ``UPDATE … WHERE id = (SELECT … ORDER BY <rank> LIMIT 1 FOR UPDATE SKIP LOCKED) AND state IN
  (<waiting>) RETURNING`` on PostgreSQL, so two windows never take the same ticket and never wait
  on each other. On SQLite the transaction holds the write lock from its start (BEGIN
  IMMEDIATE), which serialises the read and the claim.
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
import hashlib
import logging
import time
import uuid
from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy import ARRAY, Table, Uuid, case, cast, func, literal, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError, OperationalError

from clerk_app.domain import queue_order as qo
from clerk_app.i18n import _
from clerk_app.security.roles import Permission
from clerk_app.services import queue_appointments, queue_claim
from clerk_app.services.auth import UserSession
from clerk_app.services.errors import UserError
from clerk_app.services.queue_appointments import AppointmentCheckIn, seed_demo_appointments
from clerk_app.services.queue_board import BoardListener
from clerk_app.services.queue_rules import (
    WAITING_STATES,
    QueuePolicy,
    service_day,
    target_state,
    verdict,
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
    _aware,
    _is_duplicate_key,
    _is_locked,
    _priority_from_id,
    _waiting,
    _window_of,
    format_number,
    state_label,
    view,
)
from clerk_app.store.base import utcnow
from clerk_app.store.models import Hall, Setting
from clerk_app.store.models.queue import (
    QueueCategory,
    QueueCounter,
    QueueRequest,
    Ticket,
    TicketEvent,
    WindowCategory,
    WindowState,
)
from clerk_app.store.uow import Store, UnitOfWork

log = logging.getLogger("clerk.queue")

_CANDIDATE_LIMIT = 64
#: the category code of an offline window's own tickets
LOCAL_CATEGORY = "L"
#: the local store's record of the offline block letters reserved today, per window
LOCAL_BLOCK_KEY = "queue.local_block"
_LOCK_RETRIES = 5
CACHE_SECONDS = 5.0


class QueueService:
    """Use cases of the hall queue on ``store`` (the central store)."""

    def __init__(
        self, store: Store, clock: Callable[[], dt.datetime] = utcnow, *, offline: bool = False
    ) -> None:
        """``offline=True``: the window's own local queue in the workstation's local store
        (tickets numbered ``07-001`` …); it never sees central tickets, nor they it."""
        self._store = store
        self._clock = clock
        self._pg = store.engine.dialect.name == "postgresql"
        self._offline = offline
        self._cache: dict[str, tuple[float, Any]] = {}
        #: PostgreSQL: "call next" through the server-side function (off if the schema lacks it)
        self._claim_fn = True

    def _cached(self, key: str, load: Callable[[], Any]) -> Any:
        """Hall settings read by every call press, kept for ``CACHE_SECONDS`` (a change made
        elsewhere reaches this window within that time; one made here at once)."""
        now = time.monotonic()
        hit = self._cache.get(key)
        if hit is not None and now - hit[0] < CACHE_SECONDS:
            return hit[1]
        value = load()
        self._cache[key] = (now, value)
        return value

    # --- reference data and settings --------------------------------------------------------

    def policy(self) -> QueuePolicy:
        with self._store.unit_of_work() as uow:
            return self._policy(uow)

    def _policy(self, uow: UnitOfWork) -> QueuePolicy:
        row = uow.session.scalar(select(Setting).where(Setting.key == QueuePolicy.SETTING_KEY))
        return QueuePolicy.from_dict(dict(row.value) if row and not row.deleted else {})

    def save_policy(self, who: UserSession, policy: QueuePolicy) -> None:
        who.require(Permission.SUPERVISE)
        with self._store.unit_of_work() as uow:
            row = uow.session.scalar(select(Setting).where(Setting.key == QueuePolicy.SETTING_KEY))
            if row is None:
                uow.session.add(Setting(key=QueuePolicy.SETTING_KEY, value=policy.to_dict()))
            else:
                row.value = policy.to_dict()
            uow.commit()
        self._cache.clear()

    def categories(self) -> list[CategoryInfo]:
        """Active categories with their waiting counts and longest wait (kiosk, panel, board)."""
        now = self._clock()
        with self._store.unit_of_work() as uow:
            return self._category_infos(uow, now, None)

    def _category_infos(
        self, uow: UnitOfWork, now: dt.datetime, only: Sequence[str] | None
    ) -> list[CategoryInfo]:
        cats = uow.session.scalars(
            select(QueueCategory)
            .where(QueueCategory.active, ~QueueCategory.deleted)
            .order_by(QueueCategory.sort_order, QueueCategory.code)
        ).all()
        stats = {
            code: (n, oldest)
            for code, n, oldest in uow.session.execute(
                select(T.c.category, func.count(), func.min(T.c.issued_at))
                .where(
                    T.c.service_day == service_day(now),
                    T.c.state.in_(WAITING_STATES),
                    T.c.offline.is_(self._offline),
                )
                .group_by(T.c.category)
            )
        }
        out = []
        for c in cats:
            if only is not None and c.code not in only:
                continue
            n, oldest = stats.get(c.code, (0, None))
            oldest = _aware(oldest)
            out.append(
                CategoryInfo(c.code, c.name, c.description, n, now - oldest if oldest else dt.timedelta(0))
            )
        return out

    def window_categories(self, window: int) -> list[str]:
        with self._store.unit_of_work() as uow:
            return self._window_categories(uow, window)

    def _window_categories(self, uow: UnitOfWork, window: int) -> list[str]:
        return list(
            uow.session.scalars(
                select(WindowCategory.category_code).where(
                    WindowCategory.window_number == window, ~WindowCategory.deleted
                )
            )
        )

    def set_window_categories(self, who: UserSession, window: int, codes: Sequence[str]) -> None:
        who.require(Permission.SUPERVISE)
        with self._store.unit_of_work() as uow:
            rows = {
                r.category_code: r
                for r in uow.session.scalars(
                    select(WindowCategory).where(WindowCategory.window_number == window)
                )
            }
            for code, row in rows.items():
                row.deleted = code not in codes
            for code in codes:
                if code not in rows:
                    uow.session.add(WindowCategory(window_number=window, category_code=code))
            uow.commit()
        self._cache.clear()

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

    def _next_seq(self, uow: UnitOfWork, day: dt.date, prefix: str) -> int:
        """Take the next number of ``prefix`` today: one row per day and prefix, incremented in
        this transaction (its row lock, or SQLite's write lock, orders concurrent kiosks)."""
        conn = uow.session.connection()
        qc: Table = QueueCounter.__table__  # type: ignore[assignment]
        ins = (pg_insert if self._pg else sqlite_insert)(qc)
        conn.execute(ins.values(service_day=day, prefix=prefix, last=0).on_conflict_do_nothing())
        last = conn.execute(
            update(qc)
            .where(qc.c.service_day == day, qc.c.prefix == prefix)
            .values(last=qc.c.last + 1)
            .returning(qc.c.last)
        ).scalar_one()
        return int(last)

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

    def reserve_local_block(self, who: UserSession) -> str:
        """Central store: hand this window today's next block letter for its offline numbers."""
        who.require(Permission.SERVE)
        if self._offline:
            raise ValueError("blocks are reserved on the central store")
        window = _window_of(who)
        for attempt in range(_LOCK_RETRIES):
            try:
                with self._store.unit_of_work() as uow:
                    seq = self._next_seq(uow, service_day(self._clock()), f"B{window:02d}")
                    uow.commit()
                    return block_letters(seq)
            except OperationalError as exc:
                if not _is_locked(exc) or attempt == _LOCK_RETRIES - 1:
                    raise
        raise AssertionError("unreachable")

    def local_block(self, who: UserSession) -> str | None:
        """Local store: today's block letter of this window, if one was reserved while online."""
        from clerk_app.store.state import get_state

        window = _window_of(who)
        with self._store.unit_of_work() as uow:
            held = get_state(uow.session, LOCAL_BLOCK_KEY) or {}
        mine = held.get(str(window))
        if mine and mine.get("day") == service_day(self._clock()).isoformat():
            return str(mine["block"])
        return None

    def keep_local_block(self, who: UserSession, block: str) -> None:
        """Local store: remember today's block letter of this window."""
        from clerk_app.store.state import get_state, put_state

        window = _window_of(who)
        with self._store.unit_of_work() as uow:
            held = dict(get_state(uow.session, LOCAL_BLOCK_KEY) or {})
            held[str(window)] = {"day": service_day(self._clock()).isoformat(), "block": block}
            put_state(uow.session, LOCAL_BLOCK_KEY, held)
            uow.commit()

    def local_prefix(self, who: UserSession) -> str:
        """``07A-`` with today's reserved block, else ``07K3-`` from this device's id."""
        window = _window_of(who)
        block = self.local_block(who)
        return f"{window:02d}{block or device_code(self._store.device_id)}-"

    def issue_local(self, who: UserSession) -> IssuedTicket:
        """Offline: the clerk issues a ticket of this window's own queue (``07A-001``)."""
        who.require(Permission.SERVE)
        if not self._offline:
            raise ValueError("local tickets are issued by the offline queue only")
        window = _window_of(who)
        prefix = self.local_prefix(who)
        now = self._clock()
        with self._store.unit_of_work() as uow:
            day = service_day(now)
            seq = self._next_seq(uow, day, prefix)
            ticket = Ticket(
                service_day=day, number=format_number(prefix, seq), seq=seq, category=LOCAL_CATEGORY,
                state="issued", routed_window=window, routed_at=now, issued_at=now, offline=True,
                issued_by=who.username,
            )  # fmt: skip
            uow.session.add(ticket)
            uow.session.flush()
            self._event(uow, ticket, "issue", "", "issued", who, window, now)
            ahead = uow.session.scalar(
                select(func.count()).select_from(T).where(
                    T.c.service_day == day, T.c.state.in_(WAITING_STATES), T.c.offline.is_(True),
                    T.c.routed_window == window, T.c.id != ticket.id,
                )
            )  # fmt: skip
            uow.commit()
            return IssuedTicket(
                view(ticket), _("本窗口临时号"), int(ahead or 0), dt.timedelta(0), who.hall_name, window
            )

    def board(self, recent: int = 8) -> BoardView:
        """What the hall display shows: who is called or served at each window, the last calls,
        the waiting counts; ``marker`` changes whenever any of it may have changed."""
        now = self._clock()
        day = service_day(now)
        with self._store.unit_of_work() as uow:
            active = uow.session.execute(
                select(T.c.window_number, T.c.number, T.c.state, T.c.called_at, T.c.recall_count)
                .where(T.c.service_day == day, T.c.state.in_(("called", "serving")), T.c.offline.is_(False))
                .order_by(T.c.window_number)
            ).all()
            calls = uow.session.execute(
                select(T.c.number, T.c.window_number, T.c.called_at, T.c.recall_count)
                .where(T.c.service_day == day, T.c.called_at.is_not(None), T.c.offline.is_(False))
                .order_by(T.c.called_at.desc())
                .limit(recent)
            ).all()
            marker = uow.session.execute(
                select(func.count(), func.max(T.c.hlc)).where(T.c.service_day == day)
            ).one()
            cats = self._category_infos(uow, now, None)
            hall = uow.session.scalar(select(Hall.name).where(~Hall.deleted).limit(1)) or ""
        return BoardView(
            hall,
            tuple(
                BoardRow(r.window_number, r.number, r.state, _aware(r.called_at), r.recall_count)
                for r in active
            ),
            tuple(
                BoardRow(r.window_number, r.number, "called", _aware(r.called_at), r.recall_count)
                for r in calls
            ),
            tuple(cats),
            f"{marker[0]}:{marker[1]}",
        )

    def board_marker(self) -> str:
        """A cheap value that changes with every ticket change today (the SQLite display polls it)."""
        day = service_day(self._clock())
        with self._store.unit_of_work() as uow:
            n, last = uow.session.execute(
                select(func.count(), func.max(T.c.hlc)).where(T.c.service_day == day)
            ).one()
            return f"{n}:{last}"

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

    def _window_state(self, uow: UnitOfWork, window: int) -> WindowState:
        state = uow.session.get(WindowState, window)
        if state is None:
            state = WindowState(window_number=window, status="closed", since=self._clock(), normal_streak=0)
            uow.session.add(state)
        return state

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

    def call_next(self, who: UserSession, key: str) -> TicketView | None:
        """Claim the next ticket for the signed-in window; None when nobody is waiting for it.

        On a PostgreSQL central store the press is one round trip (``queue_claim.call_next``);
        on SQLite it runs in a unit of work under the write lock."""
        if self._pg and self._store.is_central and not self._offline and self._claim_fn:
            who.require(Permission.SERVE)
            window = _window_of(who)
            if not key or len(key) > 64:
                raise ValueError("a press needs an idempotency key of 1..64 characters")
            try:
                return queue_claim.call_next(self._store, who, window, key, self._clock())
            except queue_claim.ClaimUnavailable:
                log.warning("central store without queue_claim_next: calling through the unit of work")
                self._claim_fn = False
        return self._press(who, key, "call_next", self._call_next)

    def _call_next(self, uow: UnitOfWork, who: UserSession, window: int, now: dt.datetime) -> Ticket | None:
        state = self._window_state(uow, window)
        if state.status == "paused":
            raise UserError(_("窗口处于暂停状态，请先恢复叫号。"))
        # a window still holding a ticket is refused by the partial unique index at the claim
        policy = self._cached("policy", lambda: self._policy(uow))
        cats = self._cached(f"categories:{window}", lambda: self._window_categories(uow, window))
        rows = uow.session.execute(
            select(*_WAITING_COLS)
            .where(
                T.c.service_day == service_day(now),
                T.c.state.in_(WAITING_STATES),
                T.c.offline.is_(self._offline),
            )
            .where((T.c.routed_window == window) | (T.c.routed_window.is_(None) & T.c.category.in_(cats)))
            .order_by(T.c.issued_at)
            .limit(2000)
        ).all()
        ranked = qo.rank(
            [_waiting(r) for r in rows],
            window=window,
            categories=cats,
            policy=policy.order,
            state=qo.InterleaveState(state.normal_streak),
            now=now,
        )[:_CANDIDATE_LIMIT]
        if not ranked:
            return None
        states = {r.id: r.state for r in rows}
        claimed = self._claim(uow, who, window, ranked, states, now)
        if claimed is None:
            return None
        ticket, choice = claimed
        state.normal_streak = (
            qo.InterleaveState(state.normal_streak).after(choice.reason, choice.ticket).normal_streak
        )
        if state.status == "closed":
            state.status, state.clerk_id, state.clerk_name = "open", who.user_id, who.display_name
        return ticket

    def _claim(
        self,
        uow: UnitOfWork,
        who: UserSession,
        window: int,
        ranked: list[qo.Choice],
        states: dict[uuid.UUID, str],
        now: dt.datetime,
    ) -> tuple[Ticket, qo.Choice] | None:
        ids = [uuid.UUID(str(c.ticket.key)) for c in ranked]
        reasons = {uuid.UUID(str(c.ticket.key)): c for c in ranked}
        if self._pg:
            rank_of = func.array_position(cast(ids, ARRAY(Uuid())), T.c.id)
            claim = (
                select(T.c.id, T.c.state)
                .where(T.c.id.in_(ids), T.c.state.in_(WAITING_STATES))
                .order_by(rank_of)
                .limit(1)
                .with_for_update(skip_locked=True)
                .cte("claim")
            )
            where = [T.c.id == claim.c.id]
            before = claim.c.state
        else:  # the write lock is held since BEGIN IMMEDIATE: the first ranked id is still waiting
            where = [T.c.id == ids[0]]
            before = literal(states[ids[0]])
        stamp = uow.stamp()
        stmt = (
            update(T)
            .where(*where, T.c.state.in_(WAITING_STATES))
            .values(
                state=target_state("issued", "call"),
                window_number=window,
                clerk_id=who.user_id,
                called_at=now,
                recall_count=0,
                routed_window=None,
                routed_at=None,
                call_reason=case({i: c.reason.value for i, c in reasons.items()}, value=T.c.id, else_=""),
                version=T.c.version + 1,
                hlc=stamp,
            )
            .returning(*T.c, before.label("before"))
        )
        row = uow.session.connection().execute(stmt).first()
        if row is None:
            return None
        # the row as the claim left it, straight from RETURNING (no second read)
        ticket = Ticket(**{c.key: row._mapping[c] for c in T.c})
        changed = ["state", "window_number", "clerk_id", "called_at", "recall_count", "routed_window",
                   "routed_at", "call_reason", "version", "hlc"]  # fmt: skip
        uow.record_statement_change(ticket, changed, row.version - 1)
        choice = reasons[row.id]
        self._event(
            uow, ticket, "call", row.before, ticket.state, who, window, now, reason=choice.reason.value
        )
        return ticket, choice

    def _require_free(self, uow: UnitOfWork, window: int) -> None:
        busy = uow.session.scalar(
            select(T.c.number).where(
                T.c.window_number == window,
                T.c.state.in_(("called", "serving")),
                T.c.offline.is_(self._offline),
            )
        )
        if busy is not None:
            raise UserError(_("本窗口的 {n} 号尚未办结，请先办结、过号或挂起。").format(n=busy))

    def call_ticket(self, who: UserSession, ticket_id: uuid.UUID, reason: str, key: str) -> TicketView | None:
        """Call a chosen waiting ticket out of order; the reason is recorded."""
        if not reason.strip():
            raise UserError(_("不按顺序叫号时必须填写原因。"), field="reason")

        def act(uow: UnitOfWork, who: UserSession, window: int, now: dt.datetime) -> Ticket | None:
            if self._window_state(uow, window).status == "paused":
                raise UserError(_("窗口处于暂停状态，请先恢复叫号。"))
            self._require_free(uow, window)
            ticket = self._load(uow, ticket_id)
            if ticket.routed_window not in (None, window):
                raise UserError(_("该号已转给 {w} 号窗口。").format(w=ticket.routed_window))
            values = {"window_number": window, "clerk_id": who.user_id, "called_at": now, "recall_count": 0,
                      "routed_window": None, "routed_at": None, "call_reason": "out_of_order"}  # fmt: skip
            return self._transition(uow, ticket, "call", who, window, now, values, reason=reason.strip(),
                                    holder=None)  # fmt: skip

        return self._press(who, key, "call_ticket", act)

    def recall(self, who: UserSession, ticket_id: uuid.UUID, key: str) -> TicketView | None:
        """Call the current ticket again; past the recall limit it becomes a no-show."""

        def act(uow: UnitOfWork, who: UserSession, window: int, now: dt.datetime) -> Ticket | None:
            ticket = self._load(uow, ticket_id)
            if ticket.recall_count >= self._policy(uow).recall_limit:
                return self._transition(uow, ticket, "no_show", who, window, now, {"finished_at": now},
                                        reason="recall_limit")  # fmt: skip
            values = {"recall_count": ticket.recall_count + 1, "called_at": now}
            return self._transition(uow, ticket, "recall", who, window, now, values)

        return self._press(who, key, "recall", act)

    def start(self, who: UserSession, ticket_id: uuid.UUID, key: str) -> TicketView | None:
        return self._simple(who, ticket_id, key, "start", lambda now: {"started_at": now})

    def no_show(self, who: UserSession, ticket_id: uuid.UUID, key: str) -> TicketView | None:
        return self._simple(who, ticket_id, key, "no_show", lambda now: {"finished_at": now})

    def park(self, who: UserSession, ticket_id: uuid.UUID, key: str) -> TicketView | None:
        """Set the current applicant aside (fetching a document…); the window is free again."""
        return self._simple(who, ticket_id, key, "park", lambda now: {})

    def call_back(self, who: UserSession, ticket_id: uuid.UUID, key: str) -> TicketView | None:
        def act(uow: UnitOfWork, who: UserSession, window: int, now: dt.datetime) -> Ticket | None:
            self._require_free(uow, window)
            ticket = self._load(uow, ticket_id)
            return self._transition(
                uow, ticket, "call_back", who, window, now, {"called_at": now, "recall_count": 0}
            )

        return self._press(who, key, "call_back", act)

    def finish(self, who: UserSession, ticket_id: uuid.UUID, key: str) -> TicketView | None:
        """Done. A ticket transferred here with a return goes back to the window it came from."""

        def act(uow: UnitOfWork, who: UserSession, window: int, now: dt.datetime) -> Ticket | None:
            ticket = self._load(uow, ticket_id)
            back = ticket.return_window
            if back is not None and back != window:
                values = {"routed_window": back, "routed_at": now, "return_window": None, "finished_at": now}
                return self._transition(uow, ticket, "transfer", who, window, now, values, reason="return",
                                        detail={"to_window": back, "automatic": True})  # fmt: skip
            return self._transition(uow, ticket, "finish", who, window, now, {"finished_at": now})

        return self._press(who, key, "finish", act)

    def transfer(
        self,
        who: UserSession,
        ticket_id: uuid.UUID,
        key: str,
        *,
        category: str | None = None,
        window: int | None = None,
        return_after: bool = True,
        reason: str = "",
    ) -> TicketView | None:
        """Send the current applicant to another category's queue or to a named window; with
        ``return_after`` the ticket comes back to this window when that service is finished."""
        if (category is None) == (window is None):
            raise UserError(_("请选择转到的业务类别或窗口。"))

        def act(uow: UnitOfWork, who: UserSession, here: int, now: dt.datetime) -> Ticket | None:
            if window == here:
                raise UserError(_("不能转给本窗口。"))
            if (
                category is not None
                and uow.session.scalar(
                    select(QueueCategory.id).where(QueueCategory.code == category, ~QueueCategory.deleted)
                )
                is None
            ):
                raise UserError(_("没有这个业务类别。"))
            ticket = self._load(uow, ticket_id)
            values: dict[str, Any] = {"return_window": here if return_after else None, "routed_at": now,
                                      "routed_window": window, "recall_count": 0}  # fmt: skip
            if category is not None:
                values["category"] = category
            detail = {"to_window": window, "to_category": category, "return": return_after}
            return self._transition(
                uow, ticket, "transfer", who, here, now, values, reason=reason, detail=detail
            )

        return self._press(who, key, "transfer", act)

    def cancel(self, who: UserSession, ticket_id: uuid.UUID, reason: str, key: str) -> TicketView | None:
        """Withdraw a ticket that is not being served (the applicant left, a duplicate …)."""

        def act(uow: UnitOfWork, who: UserSession, window: int, now: dt.datetime) -> Ticket | None:
            ticket = self._load(uow, ticket_id)
            return self._transition(uow, ticket, "cancel", who, window, now, {"finished_at": now},
                                    reason=reason.strip(), holder=None)  # fmt: skip

        return self._press(who, key, "cancel", act)

    def link_case(self, who: UserSession, ticket_id: uuid.UUID, case_ref: str) -> TicketView:
        """Record the case this ticket's applicant was served for: a later ticket with that case
        number (a 补正 return) is routed to this clerk while they are at a window."""
        who.require(Permission.SERVE)
        window = _window_of(who)
        with self._store.unit_of_work() as uow:
            ticket = self._load(uow, ticket_id)
            if ticket.window_number != window or ticket.state not in ("called", "serving", "parked"):
                raise UserError(_("只能为本窗口正在办理的号关联办件。"))
            ticket.case_ref = case_ref.strip()
            ticket.clerk_id = who.user_id
            uow.flush()
            result = view(ticket)
            uow.commit()
            return result

    def _simple(
        self,
        who: UserSession,
        ticket_id: uuid.UUID,
        key: str,
        event: str,
        values: Callable[[dt.datetime], dict[str, Any]],
    ) -> TicketView | None:
        def act(uow: UnitOfWork, who: UserSession, window: int, now: dt.datetime) -> Ticket | None:
            return self._transition(uow, self._load(uow, ticket_id), event, who, window, now, values(now))

        return self._press(who, key, event, act)

    # --- machinery ----------------------------------------------------------------------------

    def _press(
        self,
        who: UserSession,
        key: str,
        action: str,
        act: Callable[[UnitOfWork, UserSession, int, dt.datetime], Ticket | None],
    ) -> TicketView | None:
        """Run one press once: a key already recorded returns the ticket it acted on."""
        who.require(Permission.SERVE)
        window = _window_of(who)
        if not key or len(key) > 64:
            raise ValueError("a press needs an idempotency key of 1..64 characters")
        duplicate_seen = False
        for attempt in range(_LOCK_RETRIES):
            try:
                with self._store.unit_of_work() as uow:
                    done = uow.session.get(QueueRequest, key)
                    if done is not None:
                        return self._replay(uow, done, action, window)
                    ticket = act(uow, who, window, self._clock())
                    uow.session.add(QueueRequest(key=key, action=action, window_number=window,
                                                 ticket_id=ticket.id if ticket else None,
                                                 created_at=self._clock()))  # fmt: skip
                    uow.flush()
                    result = view(ticket) if ticket is not None else None
                    uow.commit()
                    return result
            except IntegrityError as exc:
                if not duplicate_seen and _is_duplicate_key(exc, "queue_requests"):
                    duplicate_seen = True
                    continue  # the same press committed meanwhile: the next pass replays it
                if _is_duplicate_key(exc, "uq_queue_tickets_active_window"):
                    raise UserError(_("本窗口已有正在办理的号，请先办结。")) from exc
                raise
            except OperationalError as exc:
                # SQLite central store: the write lock stayed busy past the busy timeout. The
                # press is keyed, so trying again can never act twice.
                if not _is_locked(exc) or attempt == _LOCK_RETRIES - 1:
                    raise
                log.warning("central store busy, retrying %s (%s)", action, key)
        raise AssertionError("unreachable")

    def _replay(self, uow: UnitOfWork, done: QueueRequest, action: str, window: int) -> TicketView | None:
        if done.action != action or done.window_number != window:
            raise ValueError(f"idempotency key reused for {action} at {window}")
        log.info("replayed press %s (%s)", done.key, action)
        if done.ticket_id is None:
            return None
        return view(self._load(uow, done.ticket_id))

    def _load(self, uow: UnitOfWork, ticket_id: uuid.UUID) -> Ticket:
        ticket = uow.session.get(Ticket, ticket_id, populate_existing=True)
        if ticket is None or ticket.deleted:
            raise UserError(_("找不到这个号。"))
        return ticket

    def _transition(
        self,
        uow: UnitOfWork,
        ticket: Ticket,
        event: str,
        who: UserSession,
        window: int,
        now: dt.datetime,
        values: dict[str, Any],
        *,
        reason: str = "",
        detail: dict[str, Any] | None = None,
        holder: int | bool | None = True,
    ) -> Ticket:
        """Apply ``event`` to ``ticket`` if it is still in the state it was read in (and, unless
        ``holder`` is None, still held by this window); otherwise nothing changes."""
        from_state = ticket.state
        answer = verdict(from_state, event, who.role.value, reason)
        if not answer.allowed or answer.target is None:
            raise UserError(_("{n} 号：{why}。").format(n=ticket.number, why=answer.message))
        to_state = str(answer.target)
        cond = [T.c.id == ticket.id, T.c.state == from_state]
        if holder is not None:
            cond.append(T.c.window_number == window)
        if to_state in WAITING_STATES:
            values = {**values, "window_number": None}
        stmt = (
            update(T).where(*cond)
            .values(state=to_state, version=T.c.version + 1, hlc=uow.stamp(), **values)
            .returning(T.c.version)
        )  # fmt: skip
        version = uow.session.connection().execute(stmt).scalar()
        if version is None:
            raise UserError(_("{n} 号的状态已被其他操作改变，请刷新后再试。").format(n=ticket.number))
        fresh = uow.session.get(Ticket, ticket.id, populate_existing=True)
        assert fresh is not None
        uow.record_statement_change(fresh, ["state", *values, "version", "hlc"], int(version) - 1)
        self._event(uow, fresh, event, from_state, to_state, who, window, now, reason=reason, detail=detail)
        return fresh

    def _event(
        self,
        uow: UnitOfWork,
        ticket: Ticket,
        event: str,
        from_state: str,
        to_state: str,
        who: UserSession | None,
        window: int | None,
        now: dt.datetime,
        *,
        reason: str = "",
        detail: dict[str, Any] | None = None,
    ) -> None:
        uow.session.add(
            TicketEvent(
                ticket_id=ticket.id,
                event=event,
                from_state=from_state,
                to_state=to_state,
                window_number=window,
                clerk_id=who.user_id if who else None,
                at=now,
                reason=reason,
                detail={
                    "number": ticket.number,
                    "category": ticket.category,
                    "version": ticket.version,
                    **(detail or {}),
                },
            )
        )


__all__ = [
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
    "format_number",
    "seed_demo_queue",
    "state_label",
    "view",
]


def block_letters(n: int) -> str:
    """1 → ``A`` … 26 → ``Z``, 27 → ``AA``: the n-th offline block of a window and day."""
    letters = ""
    while n > 0:
        n, rest = divmod(n - 1, 26)
        letters = chr(ord("A") + rest) + letters
    return letters


#: letters and digits that cannot be mistaken for one another (no I, O, 0, 1)
_CODE_LETTERS = "ABCDEFGHJKLMNPQRSTUVWXYZ"
_CODE_DIGITS = "23456789"


def device_code(device_id: str) -> str:
    """A letter and a digit from this device's id (``K3``): the offline prefix of a workstation
    that could not reserve a block today. Never all letters, so never equal to a block."""
    digest = hashlib.sha256(device_id.encode()).digest()
    return _CODE_LETTERS[digest[0] % len(_CODE_LETTERS)] + _CODE_DIGITS[digest[1] % len(_CODE_DIGITS)]


def prepare_offline(central: QueueService, local: QueueService, who: UserSession) -> str:
    """While online: make sure this workstation holds today's offline block for its window
    (reserved once per day and window; a later call only reads it). Returns the block letter."""
    held = local.local_block(who)
    if held is not None:
        return held
    block = central.reserve_local_block(who)
    local.keep_local_block(who, block)
    return block


def seed_demo_queue(store: Store, windows: int = 24) -> bool:
    """Add the demo categories and window mappings unless present, and on a central store the
    day's demo appointments (called by the demo seeding)."""
    from clerk_app.services.queue_rules import DEMO_CATEGORIES, demo_window_categories

    with store.unit_of_work() as uow:
        if uow.session.scalar(select(QueueCategory.id).limit(1)) is not None:
            if store.is_central:
                seed_demo_appointments(store)
            return False
        for order, (code, name, description, minutes) in enumerate(DEMO_CATEGORIES):
            uow.session.add(QueueCategory(code=code, name=name, description=description,
                                          sort_order=order, mean_service_minutes=minutes))  # fmt: skip
        for number in range(1, windows + 1):
            for code in demo_window_categories(number):
                uow.session.add(WindowCategory(window_number=number, category_code=code))
        uow.commit()
    if store.is_central:
        seed_demo_appointments(store)
    return True
