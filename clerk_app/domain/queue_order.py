"""Which waiting ticket a window calls next (pure rules, no storage).

The order, for one window, among the tickets it may serve (its categories; tickets routed to
another window excluded):

1. tickets routed to *this* window (a transfer to a named window, its automatic return, or a
   returning applicant sent back to the clerk who took the case), earliest routed first;
2. appointments whose time has come (``appointment_at - early_allowance <= now``), by appointment
   time: an applicant with an appointment is served at their time, ahead of walk-ins;
3. with a wait-time target, tickets that have waited longer than the target, longest wait first;
4. otherwise the two classes, priority (green channel: elderly, disabled, military, pregnant)
   and normal, interleaved at ``normal_per_priority`` normal calls to one priority call, oldest
   first within each class; a class with nobody waiting yields to the other. A ratio of 0 puts
   every priority ticket first;
5. appointments that are not yet due come last, by appointment time, so an idle window may take
   an early arrival rather than stand empty (``serve_early_appointments``).

The interleave counts the *window's own* consecutive normal calls since its last priority call
(:class:`InterleaveState`); the service derives it from the window's call history.
"""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Hashable, Iterable, Sequence
from dataclasses import dataclass


class CallReason(enum.StrEnum):
    ROUTED = "routed"
    APPOINTMENT = "appointment"
    OVERDUE = "overdue"
    PRIORITY = "priority"
    NORMAL = "normal"
    EARLY_APPOINTMENT = "early_appointment"


@dataclass(frozen=True, slots=True)
class WaitingTicket:
    """What ordering needs to know of a waiting ticket."""

    key: Hashable
    category: str
    issued_at: dt.datetime
    priority: bool = False
    appointment_at: dt.datetime | None = None
    #: a ticket sent to one window only (transfer to a named window, automatic return, returning case)
    routed_window: int | None = None
    #: when it was routed (the transfer time); defaults to ``issued_at``
    routed_at: dt.datetime | None = None


@dataclass(frozen=True, slots=True)
class OrderPolicy:
    normal_per_priority: int = 2
    wait_target: dt.timedelta | None = None
    appointment_early: dt.timedelta = dt.timedelta(minutes=0)
    serve_early_appointments: bool = True

    def __post_init__(self) -> None:
        if self.normal_per_priority < 0:
            raise ValueError("normal_per_priority must be 0 or more")
        if self.wait_target is not None and self.wait_target <= dt.timedelta(0):
            raise ValueError("wait_target must be positive")
        if self.appointment_early < dt.timedelta(0):
            raise ValueError("appointment_early must not be negative")


@dataclass(frozen=True, slots=True)
class InterleaveState:
    """Consecutive normal calls this window made since its last priority call."""

    normal_streak: int = 0

    def after(self, reason: CallReason, ticket: WaitingTicket) -> InterleaveState:
        """The state after a call: a priority ticket (however chosen) resets the streak, a
        normal walk-in chosen by the interleave adds one; routed and appointment calls leave it."""
        if ticket.priority:
            return InterleaveState(0)
        if reason in (CallReason.NORMAL, CallReason.OVERDUE):
            return InterleaveState(self.normal_streak + 1)
        return self


@dataclass(frozen=True, slots=True)
class Choice:
    ticket: WaitingTicket
    reason: CallReason


def eligible(ticket: WaitingTicket, window: int, categories: Iterable[str]) -> bool:
    """May ``window`` (serving ``categories``) call ``ticket`` at all?"""
    if ticket.routed_window is not None:
        return ticket.routed_window == window
    return ticket.category in set(categories)


def _due(ticket: WaitingTicket, policy: OrderPolicy, now: dt.datetime) -> bool:
    return ticket.appointment_at is not None and ticket.appointment_at - policy.appointment_early <= now


def _overdue(ticket: WaitingTicket, policy: OrderPolicy, now: dt.datetime) -> bool:
    return policy.wait_target is not None and now - ticket.issued_at > policy.wait_target


def _tiebreak(ticket: WaitingTicket) -> tuple[dt.datetime, str]:
    return ticket.issued_at, str(ticket.key)


def rank(
    waiting: Iterable[WaitingTicket],
    *,
    window: int,
    categories: Iterable[str],
    policy: OrderPolicy,
    state: InterleaveState,
    now: dt.datetime,
) -> list[Choice]:
    """Every ticket ``window`` may call, in the order it would call them if nothing else changed
    (each call advancing the interleave state). The first element is the next call."""
    cats = frozenset(categories)
    pool = [t for t in waiting if eligible(t, window, cats)]
    routed = sorted(
        (t for t in pool if t.routed_window == window),
        key=lambda t: (t.routed_at or t.issued_at, *_tiebreak(t)),
    )
    rest = [t for t in pool if t.routed_window != window]
    due = sorted(
        (t for t in rest if _due(t, policy, now)),
        key=lambda t: (t.appointment_at, *_tiebreak(t)),
    )
    early = sorted(
        (t for t in rest if t.appointment_at is not None and not _due(t, policy, now)),
        key=lambda t: (t.appointment_at, *_tiebreak(t)),
    )
    walk_ins = [t for t in rest if t.appointment_at is None]
    overdue = sorted((t for t in walk_ins if _overdue(t, policy, now)), key=_tiebreak)
    fresh = [t for t in walk_ins if not _overdue(t, policy, now)]
    priority = sorted((t for t in fresh if t.priority), key=_tiebreak)
    normal = sorted((t for t in fresh if not t.priority), key=_tiebreak)

    order: list[Choice] = [Choice(t, CallReason.ROUTED) for t in routed]
    order += [Choice(t, CallReason.APPOINTMENT) for t in due]
    streak = state
    for t in overdue:
        order.append(Choice(t, CallReason.OVERDUE))
        streak = streak.after(CallReason.OVERDUE, t)
    pi = ni = 0
    while pi < len(priority) or ni < len(normal):
        take_priority = pi < len(priority) and (
            ni >= len(normal) or streak.normal_streak >= policy.normal_per_priority
        )
        if take_priority:
            chosen, reason = priority[pi], CallReason.PRIORITY
            pi += 1
        else:
            chosen, reason = normal[ni], CallReason.NORMAL
            ni += 1
        order.append(Choice(chosen, reason))
        streak = streak.after(reason, chosen)
    if policy.serve_early_appointments:
        order += [Choice(t, CallReason.EARLY_APPOINTMENT) for t in early]
    return order


def choose_next(
    waiting: Iterable[WaitingTicket],
    *,
    window: int,
    categories: Iterable[str],
    policy: OrderPolicy,
    state: InterleaveState,
    now: dt.datetime,
) -> Choice | None:
    """The ticket ``window`` calls next, or None when it has nobody to call."""
    order = rank(waiting, window=window, categories=categories, policy=policy, state=state, now=now)
    return order[0] if order else None


def people_ahead(
    ticket: WaitingTicket, waiting: Sequence[WaitingTicket], *, now: dt.datetime, policy: OrderPolicy
) -> int:
    """An estimate for the slip: the waiting tickets of ``ticket``'s category that the hall would
    call before it, ranking them as one window would. A ticket routed to a window counts only
    the tickets routed to that same window; an unrouted one does not count routed tickets."""
    pool = [t for t in waiting if t.routed_window == ticket.routed_window and t.key != ticket.key]
    pool.append(ticket)
    order = rank(
        pool,
        window=ticket.routed_window or 0,
        categories=(ticket.category,),
        policy=policy,
        state=InterleaveState(),
        now=now,
    )
    return next(i for i, c in enumerate(order) if c.ticket.key == ticket.key)


def replay_streak(calls: Iterable[tuple[bool, CallReason]]) -> InterleaveState:
    """The interleave state after a window's calls (oldest first), each given as
    ``(priority, reason)``."""
    streak = 0
    for is_priority, reason in calls:
        if is_priority:
            streak = 0
        elif reason in (CallReason.NORMAL, CallReason.OVERDUE):
            streak += 1
    return InterleaveState(streak)


def estimated_wait(ahead: int, open_windows: int, mean_service: dt.timedelta) -> dt.timedelta:
    """Rough wait for the slip: the people ahead shared among the open windows."""
    if ahead <= 0:
        return dt.timedelta(0)
    windows = max(1, open_windows)
    return mean_service * ((ahead + windows - 1) // windows)
