"""Queue statistics from the ticket history (for the supervisor's reports and hall monitor).

* waiting time: from issue (or from a transfer/return, for the later legs) to the call that
  answered it;
* service time: from ``start`` to the event that ended that service at that window (finish,
  transfer, park);
* no-show rate: tickets that ended as no-shows among the tickets called;
* tickets per hour: tickets finished per hour of the hall's day.

Grouped per category, per window and per clerk, with the median and the 90th percentile.
"""

from __future__ import annotations

import datetime as dt
import math
import uuid
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from clerk_app.security.roles import Permission
from clerk_app.services.auth import UserSession
from clerk_app.services.queue_rules import CHINA, service_day
from clerk_app.store.models.queue import Ticket, TicketEvent
from clerk_app.store.uow import Store


@dataclass(frozen=True, slots=True)
class Durations:
    count: int
    median: dt.timedelta | None
    p90: dt.timedelta | None


@dataclass(frozen=True, slots=True)
class GroupStats:
    key: str
    waiting: Durations
    service: Durations
    called: int
    no_shows: int

    @property
    def no_show_rate(self) -> float:
        return self.no_shows / self.called if self.called else 0.0


@dataclass(frozen=True, slots=True)
class QueueStats:
    day_from: dt.date
    day_to: dt.date
    tickets: int
    by_category: tuple[GroupStats, ...]
    by_window: tuple[GroupStats, ...]
    by_clerk: tuple[GroupStats, ...]
    overall: GroupStats
    finished_per_hour: tuple[tuple[int, int], ...]  # (hour of the hall's day, tickets finished)


def percentile(values: Sequence[float], q: float) -> float | None:
    """Nearest-rank percentile (q in 0..1) of ``values``; None when empty."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(q * len(ordered)))
    return ordered[rank - 1]


def median(values: Sequence[float]) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    mid = len(ordered) // 2
    return ordered[mid] if len(ordered) % 2 else (ordered[mid - 1] + ordered[mid]) / 2


def durations(seconds: Sequence[float]) -> Durations:
    def td(v: float | None) -> dt.timedelta | None:
        return None if v is None else dt.timedelta(seconds=v)

    return Durations(len(seconds), td(median(seconds)), td(percentile(seconds, 0.9)))


class Acc:
    """What one group (or the whole hall) accumulates: waits, service times, called, no-shows."""

    __slots__ = ("called", "no_shows", "services", "waits")

    def __init__(self) -> None:
        self.waits: list[float] = []
        self.services: list[float] = []
        self.called: set[object] = set()
        self.no_shows: set[object] = set()

    def stats(self, key: str) -> GroupStats:
        return GroupStats(
            key, durations(self.waits), durations(self.services), len(self.called), len(self.no_shows)
        )


class Tally:
    """The accumulators of one statistics run: per category, window and clerk, overall, and the
    tickets finished per hour of the hall's day."""

    def __init__(self) -> None:
        self.by_category: defaultdict[str, Acc] = defaultdict(Acc)
        self.by_window: defaultdict[str, Acc] = defaultdict(Acc)
        self.by_clerk: defaultdict[str, Acc] = defaultdict(Acc)
        self.overall = Acc()
        self.per_hour: defaultdict[int, int] = defaultdict(int)

    def result(self, day_from: dt.date, day_to: dt.date, tickets: int) -> QueueStats:
        return QueueStats(
            day_from,
            day_to,
            tickets,
            tuple(acc.stats(k) for k, acc in sorted(self.by_category.items())),
            tuple(acc.stats(k) for k, acc in sorted(self.by_window.items(), key=lambda kv: int(kv[0]))),
            tuple(acc.stats(k) for k, acc in sorted(self.by_clerk.items())),
            self.overall.stats(""),
            tuple(sorted(self.per_hour.items())),
        )


class QueueStatsService:
    def __init__(self, store: Store) -> None:
        self._store = store

    def compute(self, who: UserSession, day_from: dt.date, day_to: dt.date | None = None) -> QueueStats:
        who.require(Permission.SUPERVISE)
        day_to = day_to or day_from
        with self._store.unit_of_work() as uow:
            tickets = {
                t.id: t
                for t in uow.session.scalars(
                    select(Ticket).where(Ticket.service_day >= day_from, Ticket.service_day <= day_to)
                )
            }
            events = list(
                uow.session.scalars(select(TicketEvent).where(TicketEvent.ticket_id.in_(list(tickets))))
            ) if tickets else []  # fmt: skip
            clerk_names = _clerk_names(uow.session, {e.clerk_id for e in events if e.clerk_id})
            ticket_rows = [(t.id, t.category, t.issued_at) for t in tickets.values()]
            event_rows = [
                (e.ticket_id, e.event, e.at, e.window_number, e.clerk_id, int(e.detail.get("version", 0)))
                for e in events
            ]
        return summarise(ticket_rows, event_rows, day_from, day_to, clerk_names)


def _clerk_names(session: object, ids: set[uuid.UUID]) -> dict[uuid.UUID, str]:
    from sqlalchemy.orm import Session

    from clerk_app.store.models import User

    assert isinstance(session, Session)
    if not ids:
        return {}
    return {u.id: u.display_name for u in session.scalars(select(User).where(User.id.in_(list(ids))))}


EventRow = tuple[uuid.UUID, str, dt.datetime, int | None, uuid.UUID | None, int]


def walk_history(
    tally: Tally,
    info: Mapping[Any, tuple[str, dt.datetime | None]],
    events: Iterable[EventRow],
    names: Mapping[Any, str],
) -> None:
    """Add each ticket's history (``events``, in any order) to ``tally``: waits from issue (or a
    transfer) to the call, service times from start to the finish/transfer/park, no-shows, and
    finishes per hour. ``info`` maps a ticket id to its category and issue time."""
    groups = {"category": tally.by_category, "window": tally.by_window, "clerk": tally.by_clerk}
    history: defaultdict[Any, list[EventRow]] = defaultdict(list)
    for e in events:
        history[e[0]].append(e)
    for tid, rows in history.items():
        category, issued = info.get(tid, ("?", None))
        rows.sort(key=lambda r: (r[5], r[2]))
        waiting_since: dt.datetime | None = issued
        serving_since: dt.datetime | None = None
        for _tid, event, at, window, clerk, _v in rows:
            keys = {
                "category": category,
                "window": str(window) if window else "",
                "clerk": (names.get(clerk) or str(clerk)) if clerk else "",
            }
            accs = [tally.overall] + [groups[g][k] for g, k in keys.items() if k]
            if event == "call" and waiting_since is not None:
                for a in accs:
                    a.waits.append((at - waiting_since).total_seconds())
                    a.called.add(tid)
                waiting_since = None
            elif event == "start":
                serving_since = at
            elif event in ("finish", "transfer", "park", "no_show"):
                if serving_since is not None and event != "no_show":
                    for a in accs:
                        a.services.append((at - serving_since).total_seconds())
                serving_since = None
                if event == "transfer":
                    waiting_since = at
                if event == "no_show":
                    for a in accs:
                        a.no_shows.add(tid)
                if event == "finish":
                    tally.per_hour[at.astimezone(CHINA).hour] += 1
            elif event == "call_back":
                waiting_since = None


def summarise(
    tickets: Iterable[tuple[uuid.UUID, str, dt.datetime]],
    events: Iterable[EventRow],
    day_from: dt.date,
    day_to: dt.date,
    clerk_names: dict[uuid.UUID, str] | None = None,
) -> QueueStats:
    """The statistics of ``tickets`` from their ``events`` (pure: testable without a store)."""
    info: dict[Any, tuple[str, dt.datetime | None]] = {tid: (cat, issued) for tid, cat, issued in tickets}
    tally = Tally()
    walk_history(tally, info, events, clerk_names or {})
    return tally.result(day_from, day_to, len(info))


def today(now: dt.datetime) -> dt.date:
    return service_day(now)
