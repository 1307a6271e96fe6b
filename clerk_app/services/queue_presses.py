"""The clerk's presses at a window (call next, recall, start, no-show, park, call back, finish,
transfer, cancel, call out of order, link a case), each keyed so that a retry never acts twice,
and every transition conditional on the state it was decided from (see ``queue``)."""

from __future__ import annotations

import datetime as dt
import logging
import uuid
from collections.abc import Callable
from typing import Any

from sqlalchemy import ARRAY, Uuid, case, cast, func, literal, select, update
from sqlalchemy.exc import IntegrityError, OperationalError

from clerk_app.domain import queue_order as qo
from clerk_app.i18n import _
from clerk_app.security.roles import Permission
from clerk_app.services import queue_claim
from clerk_app.services.auth import UserSession
from clerk_app.services.errors import UserError
from clerk_app.services.queue_base import (
    _CANDIDATE_LIMIT,
    _LOCK_RETRIES,
    QueueBase,
    press_forbidden,
    ticket_missing,
    ticket_moved,
    window_busy,
    window_occupied,
    window_paused,
)
from clerk_app.services.queue_rules import (
    WAITING_STATES,
    service_day,
    target_state,
    verdict,
)
from clerk_app.services.queue_views import (
    _WAITING_COLS,
    T,
    TicketView,
    _is_duplicate_key,
    _is_locked,
    _waiting,
    _window_of,
    view,
)
from clerk_app.store.models.queue import (
    QueueCategory,
    QueueRequest,
    Ticket,
)
from clerk_app.store.uow import UnitOfWork

log = logging.getLogger("clerk.queue")


class PressesMixin(QueueBase):
    """The presses of ``QueueService``."""

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
            raise window_paused()
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
            raise window_busy(busy)

    def call_ticket(self, who: UserSession, ticket_id: uuid.UUID, reason: str, key: str) -> TicketView | None:
        """Call a chosen waiting ticket out of order; the reason is recorded."""
        if not reason.strip():
            raise UserError(_("不按顺序叫号时必须填写原因。"), field="reason")

        def act(uow: UnitOfWork, who: UserSession, window: int, now: dt.datetime) -> Ticket | None:
            if self._window_state(uow, window).status == "paused":
                raise window_paused()
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

        pressed, result = self._one_statement(who, key, "recall", ticket_id)
        return result if pressed else self._press(who, key, "recall", act)

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

        pressed, result = self._one_statement(who, key, "call_back", ticket_id)
        return result if pressed else self._press(who, key, "call_back", act)

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

        pressed, result = self._one_statement(who, key, "finish", ticket_id)
        return result if pressed else self._press(who, key, "finish", act)

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

        pressed, result = self._one_statement(who, key, "cancel", ticket_id, reason.strip())
        return result if pressed else self._press(who, key, "cancel", act)

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

        pressed, result = self._one_statement(who, key, event, ticket_id)
        return result if pressed else self._press(who, key, event, act)

    def _one_statement(
        self, who: UserSession, key: str, action: str, ticket_id: uuid.UUID, reason: str = ""
    ) -> tuple[bool, TicketView | None]:
        """On a PostgreSQL central store, ``action`` on the window's ticket in one round trip
        (``queue_claim.press``): ``(True, ticket)``; ``(False, None)`` where that path is not
        available (the caller's unit of work then does the press)."""
        if not (self._pg and self._store.is_central and not self._offline and self._press_fn):
            return False, None
        who.require(Permission.SERVE)
        window = _window_of(who)
        if not key or len(key) > 64:
            raise ValueError("a press needs an idempotency key of 1..64 characters")
        try:
            done = queue_claim.press(self._store, who, window, key, action, ticket_id, self._clock(), reason)
        except queue_claim.ClaimUnavailable:
            log.warning("central store without queue_press_ticket: pressing through the unit of work")
            self._press_fn = False
            return False, None
        except queue_claim.PressRefused as refused:
            if refused.reason == "busy":
                raise window_busy(refused.number) from None
            if refused.reason == "missing":
                raise ticket_missing() from None
            if refused.reason == "moved":
                raise ticket_moved(refused.number) from None
            recorded = queue_claim.event_reason(action, refused.event, reason)
            answer = verdict(str(refused.from_state), refused.event, who.role.value, recorded)
            raise press_forbidden(refused.number, answer.message) from None
        return True, done

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
                    raise window_occupied() from exc
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
            raise press_forbidden(ticket.number, answer.message)
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
            raise ticket_moved(ticket.number)
        fresh = uow.session.get(Ticket, ticket.id, populate_existing=True)
        assert fresh is not None
        uow.record_statement_change(fresh, ["state", *values, "version", "hlc"], int(version) - 1)
        self._event(uow, fresh, event, from_state, to_state, who, window, now, reason=reason, detail=detail)
        return fresh
