"""Offline: a window's own local queue in the workstation store, pushed later through the outbox."""

from __future__ import annotations

import datetime as dt
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from queue_helpers import StepClock, clerk, key
from sqlalchemy import select
from sqlalchemy.orm import Session

from clerk_app.services.errors import UserError
from clerk_app.services.queue import (
    QueueService,
    block_letters,
    device_code,
    device_code_of,
    device_number,
    prepare_offline,
    seed_demo_queue,
)
from clerk_app.services.queue_offline import MAX_DEVICES
from clerk_app.services.runtime import open_store
from clerk_app.store import migrate
from clerk_app.store.engine import make_engine
from clerk_app.store.models import OutboxEntry
from clerk_app.store.models.queue import QueueCounter, Ticket
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


def test_machines_offline_since_morning_use_their_numbered_device_codes(tmp_path: Path) -> None:
    """No block could be reserved today: each machine's prefix carries the code the central store
    numbered it with on an earlier day (kept for good, never reserved twice), so machines at
    window 7 differ, even two whose device ids give the same unnumbered code."""
    central = open_store(f"sqlite+pysqlite:///{tmp_path / 'central.sqlite'}", kind="central")
    seed_demo_queue(central)
    clock = StepClock()
    hall = QueueService(central, clock=clock)
    same_hash = _same_fallback_ids()
    codes, stores = [], []
    for n, device in enumerate([*same_hash, "01a2202b-0000-7000-8000-000000000001"]):
        local = _workstation(tmp_path / f"ws{n}.sqlite", device)
        offline = QueueService(local, clock=clock, offline=True)
        assert offline.local_device_code() is None
        prepare_offline(hall, offline, clerk(7))
        code = offline.local_device_code()
        assert code is not None and device_number(code) == n + 1
        prepare_offline(hall, offline, clerk(7))
        assert offline.local_device_code() == code, "numbered once, not again"
        codes.append(code)
        stores.append(local)
    assert codes == [device_code_of(1), device_code_of(2), device_code_of(3)] == ["B2", "C3", "D4"]
    assert device_code(same_hash[0]) == device_code(same_hash[1])  # what the old prefixes shared
    clock.now += dt.timedelta(days=1)  # the next day, offline since morning: no block today
    numbers = set()
    for local in stores:
        offline = QueueService(local, clock=clock, offline=True)
        assert offline.local_block(clerk(7)) is None
        numbers |= {offline.issue_local(clerk(7)).ticket.number for _ in range(3)}
        local.dispose()
    assert len(numbers) == 9
    assert {n.rsplit("-", 1)[0] for n in numbers} == {f"07{c}" for c in codes}
    central.dispose()


def _same_fallback_ids() -> list[str]:
    """Two device ids whose unnumbered codes (from a hash of the id) are equal."""
    seen: dict[str, str] = {}
    for i in range(100_000):
        device = f"01a2202a-f4d7-7f18-879d-{i:012d}"
        code = device_code(device)
        if code in seen:
            return [seen[code], device]
        seen[code] = device
    raise AssertionError("no two ids share a code")


def test_a_kept_code_is_checked(tmp_path: Path) -> None:
    """A code kept for another device id (a copied store) or with a wrong check letter is not
    used: the prefix falls back and the next online refresh numbers this machine."""
    local = _workstation(tmp_path / "ws.sqlite", "device-1")
    offline = QueueService(local, clock=StepClock(), offline=True)
    offline.keep_device_code("B2")
    assert offline.local_device_code() == "B2" and offline.local_prefix(clerk(7)) == "07B2-"
    with pytest.raises(ValueError, match="not a device code"):
        offline.keep_device_code("C2")
    copied = Store(local.engine, "device-2")
    assert QueueService(copied, offline=True).local_device_code() is None
    assert QueueService(copied, offline=True).local_prefix(clerk(7)) == f"07{device_code('device-2')}-"
    local.dispose()


def test_a_workstation_moved_to_another_central_store_is_numbered_there(tmp_path: Path) -> None:
    """A code counts only at the central store that gave it: registered with another one, the
    workstation is numbered again there (its old code may be another machine's there)."""
    first = open_store(f"sqlite+pysqlite:///{tmp_path / 'central-a.sqlite'}", kind="central")
    second = open_store(f"sqlite+pysqlite:///{tmp_path / 'central-b.sqlite'}", kind="central")
    for central in (first, second):
        seed_demo_queue(central)
    QueueService(Store(first.engine, "other-device", role="central")).reserve_device_code(clerk(7))
    local = _workstation(tmp_path / "ws.sqlite", "device-1")
    offline = QueueService(local, clock=StepClock(), offline=True)
    prepare_offline(QueueService(first, clock=StepClock()), offline, clerk(7))
    assert offline.local_device_code() == device_code_of(2)  # the second machine hall A numbered
    hall_b = QueueService(second, clock=StepClock())
    assert offline.local_device_code(hall_b.central_identity()) is None
    prepare_offline(hall_b, offline, clerk(7))
    assert (
        offline.local_device_code(hall_b.central_identity())
        == offline.local_device_code()
        == device_code_of(1)
    )
    prepare_offline(hall_b, offline, clerk(7))
    assert offline.local_device_code() == device_code_of(1), "numbered once there"
    for store in (local, first, second):
        store.dispose()


def test_workstations_numbered_at_once_all_get_different_codes(db_url: str) -> None:
    """Eight workstations numbered at the same moment against one central store (SQLite or
    PostgreSQL): eight different codes, and the counter row is not a service day's."""
    central = open_store(db_url, kind="central")
    seed_demo_queue(central)
    services = [QueueService(Store(central.engine, f"device-{n}", role="central")) for n in range(8)]
    with ThreadPoolExecutor(8) as pool:
        codes = list(pool.map(lambda s: s.reserve_device_code(clerk(7)), services))
    assert sorted(device_number(c) or 0 for c in codes) == list(range(1, 9))
    with central.unit_of_work() as uow:
        counters = uow.session.execute(
            select(QueueCounter.service_day, QueueCounter.prefix, QueueCounter.last)
        )
        assert [tuple(r) for r in counters] == [(dt.date(2000, 1, 1), "DEVICE", 8)]
    central.dispose()


@given(st.integers(min_value=1, max_value=MAX_DEVICES))
def test_device_codes_read_back_and_fit_the_prefix(number: int) -> None:
    code = device_code_of(number)
    assert device_number(code) == number
    assert code[0].isalpha() and code[1:].isdigit() and len(f"07{code}-") <= 8
    assert not code.isalpha(), "never a block's letters"


def test_device_codes_are_all_different_and_apart_from_blocks_and_fallbacks() -> None:
    codes = [device_code_of(n) for n in range(1, MAX_DEVICES + 1)]
    assert len(set(codes)) == MAX_DEVICES == 4680
    blocks = {block_letters(n) for n in range(1, 800)}
    assert not blocks & set(codes)
    assert all(not (c[:2].isalpha() and len(c) == 3) for c in codes), "fallbacks are two letters"
    with pytest.raises(UserError):
        device_code_of(MAX_DEVICES + 1)


@given(st.integers(min_value=1, max_value=MAX_DEVICES), st.data())
def test_one_wrong_character_or_two_swapped_are_caught(number: int, data: st.DataObject) -> None:
    code = device_code_of(number)
    at = data.draw(st.integers(min_value=0, max_value=len(code) - 1))
    alphabet = "ABCDEFGHJKLMNPQRSTUVWXYZ" if at == 0 else "23456789"
    wrong = data.draw(st.sampled_from([c for c in alphabet if c != code[at]]))
    assert device_number(code[:at] + wrong + code[at + 1 :]) is None
    if len(code) > 2:
        i = data.draw(st.integers(min_value=1, max_value=len(code) - 2))
        swapped = code[:i] + code[i + 1] + code[i] + code[i + 2 :]
        if swapped != code:
            assert device_number(swapped) is None


@settings(max_examples=200)
@given(st.lists(st.uuids(), min_size=1, max_size=30, unique=True))
def test_unnumbered_codes_never_equal_a_numbered_one(ids: list[object]) -> None:
    numbered = {device_code_of(n) for n in range(1, MAX_DEVICES + 1)}
    for device in ids:
        code = device_code(str(device))
        assert len(code) == 3 and code[:2].isalpha() and code[2].isdigit() and code not in numbered
