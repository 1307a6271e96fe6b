"""Offline: a window's own local queue in the workstation store, pushed later through the outbox."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from queue_helpers import StepClock, clerk, key
from sqlalchemy import select
from sqlalchemy.orm import Session

from clerk_app.services.queue import (
    QueueService,
    block_letters,
    device_code,
    prepare_offline,
    seed_demo_queue,
)
from clerk_app.services.runtime import open_store
from clerk_app.store import migrate
from clerk_app.store.engine import make_engine
from clerk_app.store.models import OutboxEntry
from clerk_app.store.models.queue import Ticket
from clerk_app.store.uow import Store


def test_local_queue_numbers_serves_and_captures_history(tmp_path: Path) -> None:
    local = open_store(f"sqlite+pysqlite:///{tmp_path / 'ws.sqlite'}")
    seed_demo_queue(local)  # as if reference data had been pulled
    clock = StepClock()
    online = QueueService(local, clock=clock)
    pulled = online.issue("A")  # a central-style ticket present in the local store
    offline = QueueService(local, clock=clock, offline=True)
    w7 = clerk(7)
    code = device_code(local.device_id)  # no block reserved today: this device's own code
    issued = [offline.issue_local(w7) for _ in range(3)]
    assert [i.ticket.number for i in issued] == [f"07{code}-001", f"07{code}-002", f"07{code}-003"]
    assert [i.people_ahead for i in issued] == [0, 1, 2]
    assert offline.issue_local(clerk(8)).ticket.number == f"08{code}-001"
    first = offline.call_next(w7, key())
    assert first is not None and first.number == f"07{code}-001" and first.offline
    offline.start(w7, first.id, key())
    offline.finish(w7, first.id, key())
    others = [offline.call_next(w7, key()) for _ in range(1)]
    assert others[0] is not None and others[0].number == f"07{code}-002"
    # the central ticket is never called by the offline queue, and the local ones never online
    assert all(t.id != pulled.ticket.id for t in offline.window_view(w7).waiting)
    assert {t.number for t in online.window_view(clerk(1)).waiting} == {"A001"}
    with Session(local.engine) as s:
        pushed = {(e.table_name, e.op) for e in s.scalars(select(OutboxEntry))}
        states = {n: st for n, st in s.execute(select(Ticket.number, Ticket.state))}
    assert ("queue_tickets", "insert") in pushed and ("queue_tickets", "update") in pushed
    assert ("queue_ticket_events", "insert") in pushed
    assert states[f"07{code}-001"] == "done" and states[f"07{code}-002"] == "called"
    assert states["A001"] == "issued"
    local.dispose()


def _workstation(path: Path, device_id: str) -> Store:
    engine = make_engine(f"sqlite+pysqlite:///{path}")
    migrate.upgrade(engine)
    return Store(engine, device_id)


def test_two_machines_offline_at_the_same_window_never_share_a_number(tmp_path: Path) -> None:
    """Both reserved a block while online: 07A-… and 07B-…; the block is reserved once a day
    (a second reservation on the same machine keeps its letter) and a new day starts again at A."""
    central = open_store(f"sqlite+pysqlite:///{tmp_path / 'central.sqlite'}", kind="central")
    seed_demo_queue(central)
    clock = StepClock()
    hall = QueueService(central, clock=clock)
    w7 = clerk(7)
    numbers = []
    for n in (1, 2):
        local = _workstation(tmp_path / f"ws{n}.sqlite", f"device-{n}")
        offline = QueueService(local, clock=clock, offline=True)
        assert prepare_offline(hall, offline, w7) == "AB"[n - 1]
        assert prepare_offline(hall, offline, w7) == "AB"[n - 1]  # kept, not reserved again
        numbers += [offline.issue_local(w7).ticket.number for _ in range(2)]
        local.dispose()
    assert numbers == ["07A-001", "07A-002", "07B-001", "07B-002"]
    clock.now += dt.timedelta(days=1)
    later = _workstation(tmp_path / "ws1.sqlite", "device-1")
    offline = QueueService(later, clock=clock, offline=True)
    assert offline.local_block(w7) is None  # yesterday's block is not today's
    assert prepare_offline(hall, offline, w7) == "A"
    assert block_letters(26) == "Z" and block_letters(27) == "AA"
    later.dispose()
    central.dispose()


def test_machines_offline_since_morning_use_their_device_codes(tmp_path: Path) -> None:
    """No block could be reserved: each machine's prefix carries its device code (a letter and a
    digit, never a block's letters only), so two machines at window 7 still differ."""
    ids = ["01a2202a-f4d7-7f18-879d-532818287538", "01a2202b-0000-7000-8000-000000000001"]
    codes = [device_code(i) for i in ids]
    assert codes[0] != codes[1]
    assert all(len(c) == 2 and c[0].isalpha() and c[1].isdigit() for c in codes)
    numbers = set()
    for n, device in enumerate(ids):
        local = _workstation(tmp_path / f"ws{n}.sqlite", device)
        offline = QueueService(local, clock=StepClock(), offline=True)
        numbers |= {offline.issue_local(clerk(7)).ticket.number for _ in range(3)}
        local.dispose()
    assert len(numbers) == 6
    assert {n[:4] for n in numbers} == {f"07{c}" for c in codes}
