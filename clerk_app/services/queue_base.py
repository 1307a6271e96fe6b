"""The queue service's shared ground: the store, the clock, the hall's queue settings and
categories, day counters, window state rows, loading tickets and writing their history. The use
cases are in ``queue`` (issuing, window state), ``queue_presses`` (the clerk's presses),
``queue_offline`` (the offline local queue) and ``queue_board`` (the hall display)."""

from __future__ import annotations

import datetime as dt
import logging
import time
import uuid
from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy import Table, func, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from clerk_app.i18n import _
from clerk_app.security.roles import Permission
from clerk_app.services.auth import UserSession
from clerk_app.services.errors import UserError
from clerk_app.services.queue_rules import (
    WAITING_STATES,
    QueuePolicy,
    service_day,
)
from clerk_app.services.queue_views import (
    CategoryInfo,
    T,
    _aware,
)
from clerk_app.store.base import utcnow
from clerk_app.store.models import Setting
from clerk_app.store.models.queue import (
    QueueCategory,
    QueueCounter,
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


def ticket_missing() -> UserError:
    return UserError(_("找不到这个号。"))


def ticket_moved(number: str | None) -> UserError:
    """The ticket is no longer in the state (or at the window) the press was decided from."""
    return UserError(_("{n} 号的状态已被其他操作改变，请刷新后再试。").format(n=number))


def press_forbidden(number: str | None, why: str) -> UserError:
    """The ticket state machine refuses the press (``why``: its message)."""
    return UserError(_("{n} 号：{why}。").format(n=number, why=why))


def window_paused() -> UserError:
    return UserError(_("窗口处于暂停状态，请先恢复叫号。"))


def window_occupied() -> UserError:
    """The window's active ticket took the one place a window has (its partial unique index)."""
    return UserError(_("本窗口已有正在办理的号，请先办结。"))


def window_busy(number: str | None) -> UserError:
    """The window still holds ticket ``number``."""
    return UserError(_("本窗口的 {n} 号尚未办结，请先办结、过号或挂起。").format(n=number))


class QueueBase:
    """State and helpers shared by the parts of ``QueueService``."""

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
        self._press_fn = True

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

    def _window_state(self, uow: UnitOfWork, window: int) -> WindowState:
        state = uow.session.get(WindowState, window)
        if state is None:
            state = WindowState(window_number=window, status="closed", since=self._clock(), normal_streak=0)
            uow.session.add(state)
        return state

    def _load(self, uow: UnitOfWork, ticket_id: uuid.UUID) -> Ticket:
        ticket = uow.session.get(Ticket, ticket_id, populate_existing=True)
        if ticket is None or ticket.deleted:
            raise ticket_missing()
        return ticket

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
