"""24 windows pressing at random at the same time on one central store: no ticket called twice,
none lost, at most one active ticket per window, every ticket's history a legal path.
Run on the SQLite central store and on PostgreSQL (``db_url``)."""

from __future__ import annotations

import random
import threading
from collections import defaultdict

import pytest
from queue_helpers import clerk, key
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from clerk_app.services.errors import UserError
from clerk_app.services.queue import QueueService, TicketView, seed_demo_queue
from clerk_app.services.queue_rules import target_state
from clerk_app.services.runtime import open_store
from clerk_app.store.engine import make_engine
from clerk_app.store.models.queue import Ticket, TicketEvent
from clerk_app.store.uow import Store

WINDOWS = 24
OPS_PER_WINDOW = 90  # 24 × 90 = 2,160 presses, plus the kiosk's tickets


def _window_loop(svc: QueueService, window: int, seed: int, errors: list[BaseException]) -> None:
    rng = random.Random(seed)
    who = clerk(window)
    current: TicketView | None = None
    try:
        for _ in range(OPS_PER_WINDOW):
            try:
                if current is None or current.state not in ("called", "serving"):
                    current = svc.call_next(who, key())
                    continue
                roll = rng.random()
                if current.state == "called" and roll < 0.15:
                    current = svc.recall(who, current.id, key())
                elif current.state == "called" and roll < 0.25:
                    current = svc.no_show(who, current.id, key())
                elif current.state == "called":
                    current = svc.start(who, current.id, key())
                elif roll < 0.15:
                    to = rng.choice([w for w in range(1, WINDOWS + 1) if w != window])
                    current = svc.transfer(
                        who, current.id, key(), window=to, return_after=rng.random() < 0.5, reason="转"
                    )
                elif roll < 0.25:
                    current = svc.transfer(who, current.id, key(), category=rng.choice("ABCDE"),
                                           return_after=False, reason="转")  # fmt: skip
                else:
                    current = svc.finish(who, current.id, key())
            except UserError:
                current = None
    except BaseException as exc:  # reported by the main thread
        errors.append(exc)


def _kiosk_loop(svc: QueueService, count: int, errors: list[BaseException]) -> None:
    rng = random.Random(7)
    try:
        for _ in range(count):
            svc.issue(rng.choice("AAABCDE"), priority_kind="elderly" if rng.random() < 0.2 else "")
    except BaseException as exc:
        errors.append(exc)


@pytest.mark.slow
def test_24_windows_never_double_call(db_url: str) -> None:
    opened = open_store(db_url, kind="central")
    opened.dispose()
    pool = {"pool_size": WINDOWS + 2, "max_overflow": 4} if db_url.startswith("postgresql") else {}
    store = Store(make_engine(db_url, **pool), opened.device_id, role="central")
    seed_demo_queue(store)
    svc = QueueService(store)
    for _ in range(120):
        svc.issue(random.Random(1).choice("ABCDE"))
    errors: list[BaseException] = []
    threads = [threading.Thread(target=_kiosk_loop, args=(svc, 400, errors))]
    threads += [
        threading.Thread(target=_window_loop, args=(svc, w, w, errors)) for w in range(1, WINDOWS + 1)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=600)
    assert not errors, errors[:3]

    with Session(store.engine) as s:
        tickets = {t.id: t for t in s.scalars(select(Ticket))}
        events = s.scalars(select(TicketEvent)).all()
        assert len(tickets) == 520, "no ticket lost"
        by_ticket: dict[object, list[TicketEvent]] = defaultdict(list)
        for e in events:
            by_ticket[e.ticket_id].append(e)
        calls = 0
        for tid, ticket in tickets.items():
            history = sorted(by_ticket[tid], key=lambda e: e.detail["version"])
            assert [e.detail["version"] for e in history] == list(range(1, ticket.version + 1))
            assert history[0].event == "issue"
            state = "issued"
            for e in history[1:]:
                assert e.from_state == state, f"{ticket.number}: {e.event} from {e.from_state}, was {state}"
                assert target_state(state, e.event) == e.to_state, f"{ticket.number}: illegal {e.event}"
                state = e.to_state
                calls += e.event == "call"
            assert state == ticket.state
        assert calls > 100, f"the run exercised the queue ({calls} calls)"
        active = s.execute(
            select(Ticket.window_number, func.count())
            .where(Ticket.state.in_(("called", "serving")))
            .group_by(Ticket.window_number)
        ).all()
        assert all(n == 1 for _, n in active)
    store.dispose()
