"""Queue service on the central store (SQLite and PostgreSQL): numbers, the presses, their
conditions, idempotency, and the outbox capture of statement-level changes."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest
from queue_helpers import StepClock, clerk, key
from sqlalchemy import select
from sqlalchemy.orm import Session

from clerk_app.security.roles import PermissionDenied, Role
from clerk_app.services.errors import UserError
from clerk_app.services.queue import QueueService, seed_demo_queue
from clerk_app.services.queue_rules import QueuePolicy
from clerk_app.services.runtime import open_store
from clerk_app.store.models import ChangeLogEntry, OutboxEntry
from clerk_app.store.models.queue import Ticket, TicketEvent
from clerk_app.store.uow import Store
from clerk_app.sync.central import assign_change_log


@pytest.fixture
def central(db_url: str) -> Iterator[Store]:
    store = open_store(db_url, kind="central")
    seed_demo_queue(store)
    yield store
    store.dispose()


@pytest.fixture
def clock() -> StepClock:
    return StepClock()


@pytest.fixture
def svc(central: Store, clock: StepClock) -> QueueService:
    return QueueService(central, clock=clock)


def test_numbers_per_category_and_day(svc: QueueService, clock: StepClock) -> None:
    got = [svc.issue(c).ticket.number for c in ("A", "A", "B", "A")]
    assert got == ["A001", "A002", "B001", "A003"]
    clock.now += dt.timedelta(days=1)
    assert svc.issue("A").ticket.number == "A001"
    with pytest.raises(UserError):
        svc.issue("Z")


def test_slip_estimate_and_priority_from_id(svc: QueueService) -> None:
    first = svc.issue("A")
    assert first.people_ahead == 0 and first.category_name == "综合业务"
    second = svc.issue("A")
    assert second.people_ahead == 1
    elderly = svc.issue("A", id_number="11010519491231002X")
    assert elderly.ticket.priority and elderly.ticket.priority_kind == "elderly"
    young = svc.issue("A", id_number="110105200012310014")
    assert not young.ticket.priority
    with pytest.raises(UserError):
        svc.issue("A", id_number="110105194912310021")


def test_call_next_order_and_idempotent_retry(svc: QueueService) -> None:
    a1, a2 = svc.issue("A"), svc.issue("A")
    p = svc.issue("A", priority_kind="elderly")
    w1 = clerk(1)
    press = key()
    first = svc.call_next(w1, press)
    assert first is not None and first.number == a1.ticket.number and first.state == "called"
    again = svc.call_next(w1, press)
    assert again is not None and again.id == first.id, "a retried press returns the same ticket"
    with pytest.raises(UserError):
        svc.call_next(w1, key())  # the window still holds a ticket
    svc.start(w1, first.id, key())
    svc.finish(w1, first.id, key())
    second = svc.call_next(w1, key())
    assert second is not None and second.number == a2.ticket.number
    svc.start(w1, second.id, key())
    svc.finish(w1, second.id, key())
    third = svc.call_next(w1, key())
    assert third is not None and third.id == p.ticket.id and third.call_reason == "priority"


def _history(central: Store, number: str) -> list[tuple[str, str, str]]:
    with Session(central.engine) as s:
        t = s.scalars(select(Ticket).where(Ticket.number == number)).one()
        events = s.scalars(select(TicketEvent).where(TicketEvent.ticket_id == t.id)).all()
        events = sorted(events, key=lambda e: e.detail["version"])
        return [(e.event, e.from_state, e.to_state) for e in events]


def test_recall_limit_then_automatic_no_show(svc: QueueService, central: Store) -> None:
    svc.issue("A")
    w = clerk(2)
    t = svc.call_next(w, key())
    assert t is not None
    limit = svc.policy().recall_limit
    for n in range(1, limit + 1):
        again = svc.recall(w, t.id, key())
        assert again is not None and again.state == "called" and again.recall_count == n
    gone = svc.recall(w, t.id, key())
    assert gone is not None and gone.state == "no_show"
    assert _history(central, t.number)[-1] == ("no_show", "called", "no_show")
    assert svc.window_view(w).current is None


def test_park_and_call_back_frees_the_window(svc: QueueService) -> None:
    svc.issue("A")
    svc.issue("A")
    w = clerk(3)
    first = svc.call_next(w, key())
    assert first is not None
    svc.start(w, first.id, key())
    parked = svc.park(w, first.id, key())
    assert parked is not None and parked.state == "parked"
    second = svc.call_next(w, key())
    assert second is not None and second.id != first.id
    with pytest.raises(UserError):
        svc.call_back(w, first.id, key())  # the window is busy with the second
    svc.no_show(w, second.id, key())
    back = svc.call_back(w, first.id, key())
    assert back is not None and back.state == "called"
    assert [t.id for t in svc.window_view(w).parked] == []


def test_transfer_to_named_window_returns_automatically(svc: QueueService, central: Store) -> None:
    svc.issue("A")
    w1, w9 = clerk(1), clerk(9)
    t = svc.call_next(w1, key())
    assert t is not None
    svc.start(w1, t.id, key())
    moved = svc.transfer(w1, t.id, key(), window=9, return_after=True, reason="税务事项")
    assert moved is not None and moved.state == "transferred" and moved.routed_window == 9
    assert svc.call_next(clerk(4), key()) is None, "a ticket routed to window 9 is not called elsewhere"
    at9 = svc.call_next(w9, key())
    assert at9 is not None and at9.id == t.id and at9.call_reason == "routed"
    svc.start(w9, t.id, key())
    back = svc.finish(w9, t.id, key())
    assert back is not None and back.state == "transferred" and back.routed_window == 1
    again = svc.call_next(w1, key())
    assert again is not None and again.id == t.id
    svc.start(w1, t.id, key())
    done = svc.finish(w1, t.id, key())
    assert done is not None and done.state == "done"
    path = [e for e, _, _ in _history(central, t.number)]
    assert path == [
        "issue",
        "call",
        "start",
        "transfer",
        "call",
        "start",
        "transfer",
        "call",
        "start",
        "finish",
    ]


def test_transfer_to_category_without_return(svc: QueueService) -> None:
    svc.issue("A")
    w1 = clerk(1)  # serves A and B
    t = svc.call_next(w1, key())
    assert t is not None
    svc.start(w1, t.id, key())
    moved = svc.transfer(w1, t.id, key(), category="C", return_after=False, reason="不动产")
    assert moved is not None and moved.category == "C" and moved.return_window is None
    assert svc.call_next(w1, key()) is None, "window 1 does not serve C"
    at10 = svc.call_next(clerk(10), key())  # 10 serves A and C
    assert at10 is not None and at10.id == t.id
    with pytest.raises(UserError):
        svc.transfer(clerk(10), t.id, key())


def test_call_out_of_order_needs_reason(svc: QueueService, central: Store) -> None:
    svc.issue("A")
    late = svc.issue("A")
    w = clerk(5)
    with pytest.raises(UserError):
        svc.call_ticket(w, late.ticket.id, "  ", key())
    got = svc.call_ticket(w, late.ticket.id, "行动不便，先行办理", key())
    assert got is not None and got.id == late.ticket.id and got.call_reason == "out_of_order"
    with Session(central.engine) as s:
        ev = s.scalars(select(TicketEvent).where(TicketEvent.event == "call")).one()
        assert ev.reason == "行动不便，先行办理"


def test_pause_blocks_calls_until_resume(svc: QueueService) -> None:
    svc.issue("A")
    w = clerk(6)
    svc.open_window(w)
    with pytest.raises(UserError):
        svc.pause(w, "nap")
    assert svc.pause(w, "meeting").status == "paused"
    with pytest.raises(UserError):
        svc.call_next(w, key())
    assert svc.resume(w).status == "open"
    assert svc.call_next(w, key()) is not None


def test_transitions_are_conditional(svc: QueueService) -> None:
    svc.issue("A")
    w1, w2 = clerk(1), clerk(2)
    t = svc.call_next(w1, key())
    assert t is not None
    with pytest.raises(UserError):
        svc.finish(w2, t.id, key())  # not held by window 2
    with pytest.raises(UserError):
        svc.call_back(w1, t.id, key())  # not parked
    svc.start(w1, t.id, key())
    svc.finish(w1, t.id, key())
    with pytest.raises(UserError):
        svc.start(w1, t.id, key())  # done is final
    with pytest.raises(PermissionDenied):
        svc.call_next(clerk(1, Role.ADMIN), key())


def test_returning_applicant_routed_to_their_clerk(svc: QueueService) -> None:
    first = svc.issue("A", case_ref="CASE-42")
    w7 = clerk(7)
    svc.open_window(w7)
    t = svc.call_next(w7, key())
    assert t is not None and t.id == first.ticket.id
    svc.start(w7, t.id, key())
    svc.finish(w7, t.id, key())
    back = svc.issue("A", case_ref="CASE-42")
    assert back.routed_to_window == 7
    svc.issue("A")
    assert svc.call_next(clerk(1), key()) is not None
    mine = svc.call_next(w7, key())
    assert mine is not None and mine.id == back.ticket.id


def test_statement_changes_reach_the_change_log(svc: QueueService, central: Store) -> None:
    svc.issue("A")
    w = clerk(1)
    t = svc.call_next(w, key())
    assert t is not None
    with central.engine.connect() as conn:
        assign_change_log(conn)  # as a pull does first (on PostgreSQL the writers leave no number)
    with Session(central.engine) as s:
        rows = s.scalars(
            select(ChangeLogEntry).where(ChangeLogEntry.row_id == t.id).order_by(ChangeLogEntry.id)
        ).all()
        ticket = s.get(Ticket, t.id)
        assert ticket is not None
    assert [(r.op, r.version) for r in rows] == [("insert", 1), ("update", 2)]
    assert rows[1].payload["state"] == "called" and rows[1].payload["hlc"] == ticket.hlc
    assert ticket.version == 2


def test_statement_changes_reach_the_outbox_of_a_workstation(tmp_path: Path) -> None:
    local = open_store(f"sqlite+pysqlite:///{tmp_path / 'ws.sqlite'}")
    seed_demo_queue(local)
    svc = QueueService(local)
    svc.issue("A")
    t = svc.call_next(clerk(1), key())
    assert t is not None
    with Session(local.engine) as s:
        rows = s.scalars(
            select(OutboxEntry).where(OutboxEntry.row_id == t.id).order_by(OutboxEntry.seq)
        ).all()
    assert [(r.op, r.version, r.base_version) for r in rows] == [("insert", 1, 0), ("update", 2, 1)]
    assert "state" in rows[1].changed and rows[1].payload["state"] == "called"
    local.dispose()


def test_policy_round_trip(svc: QueueService) -> None:
    sup = clerk(1, Role.SUPERVISOR)
    svc.save_policy(sup, QueuePolicy(normal_per_priority=0, recall_limit=1))
    assert svc.policy() == QueuePolicy(normal_per_priority=0, recall_limit=1)
    with pytest.raises(PermissionDenied):
        svc.save_policy(clerk(1), QueuePolicy())


def test_cancel_and_link_case(svc: QueueService) -> None:
    first = svc.issue("A")
    second = svc.issue("A")
    w = clerk(2)
    with pytest.raises(UserError):
        svc.cancel(w, first.ticket.id, " ", key())  # the machine wants a reason
    gone = svc.cancel(w, first.ticket.id, "申请人离开", key())
    assert gone is not None and gone.state == "cancelled"
    t = svc.call_next(w, key())
    assert t is not None and t.id == second.ticket.id
    with pytest.raises(UserError):
        svc.link_case(clerk(3), t.id, "CASE-7")  # not this window's ticket
    linked = svc.link_case(w, t.id, "CASE-7")
    assert linked.case_ref == "CASE-7"
    svc.start(w, t.id, key())
    svc.finish(w, t.id, key())
    svc.open_window(w)
    assert svc.issue("A", case_ref="CASE-7").routed_to_window == 2
