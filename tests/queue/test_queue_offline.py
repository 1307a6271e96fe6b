"""Offline: a window's own local queue in the workstation store, pushed later through the outbox."""

from __future__ import annotations

from pathlib import Path

from queue_helpers import StepClock, clerk, key
from sqlalchemy import select
from sqlalchemy.orm import Session

from clerk_app.services.queue import QueueService, seed_demo_queue
from clerk_app.services.runtime import open_store
from clerk_app.store.models import OutboxEntry
from clerk_app.store.models.queue import Ticket


def test_local_queue_numbers_serves_and_captures_history(tmp_path: Path) -> None:
    local = open_store(f"sqlite+pysqlite:///{tmp_path / 'ws.sqlite'}")
    seed_demo_queue(local)  # as if reference data had been pulled
    clock = StepClock()
    online = QueueService(local, clock=clock)
    pulled = online.issue("A")  # a central-style ticket present in the local store
    offline = QueueService(local, clock=clock, offline=True)
    w7 = clerk(7)
    issued = [offline.issue_local(w7) for _ in range(3)]
    assert [i.ticket.number for i in issued] == ["07-001", "07-002", "07-003"]
    assert [i.people_ahead for i in issued] == [0, 1, 2]
    assert offline.issue_local(clerk(8)).ticket.number == "08-001"
    first = offline.call_next(w7, key())
    assert first is not None and first.number == "07-001" and first.offline
    offline.start(w7, first.id, key())
    offline.finish(w7, first.id, key())
    others = [offline.call_next(w7, key()) for _ in range(1)]
    assert others[0] is not None and others[0].number == "07-002"
    # the central ticket is never called by the offline queue, and the local ones never online
    assert all(t.id != pulled.ticket.id for t in offline.window_view(w7).waiting)
    assert {t.number for t in online.window_view(clerk(1)).waiting} == {"A001"}
    with Session(local.engine) as s:
        pushed = {(e.table_name, e.op) for e in s.scalars(select(OutboxEntry))}
        states = {n: st for n, st in s.execute(select(Ticket.number, Ticket.state))}
    assert ("queue_tickets", "insert") in pushed and ("queue_tickets", "update") in pushed
    assert ("queue_ticket_events", "insert") in pushed
    assert states["07-001"] == "done" and states["07-002"] == "called" and states["A001"] == "issued"
    local.dispose()
