"""Push with the applied-push ledger, pull by the commit-ordered change log (SQLite and PostgreSQL)."""

from __future__ import annotations

import threading
from collections.abc import Callable

import pytest
from conftest import add_hall, count, outbox
from sqlalchemy import select
from sqlalchemy.orm import Session

from clerk_app.store import uow as uow_mod
from clerk_app.store.models import ChangeLogEntry, Hall, PushLedgerEntry, SyncState
from clerk_app.store.uow import Store
from clerk_app.sync import central as central_side
from clerk_app.sync import client, faults
from clerk_app.sync.protocol import RESULT_APPLIED


def _halls(store: Store) -> dict[str, tuple[str, int]]:
    with Session(store.engine) as s:
        return {h.code: (h.name, h.version) for h in s.scalars(select(Hall))}


def test_push_applies_batches_and_empties_outbox(central: Store, make_ws: Callable[[str], Store]) -> None:
    ws = make_ws("a")
    for i in range(7):
        add_hall(ws, f"H{i}")
    assert outbox(ws) == 7
    report = client.push(ws, central, batch_size=3)
    assert (report.pushed, report.batches, report.rejected) == (7, 3, 0)
    assert outbox(ws) == 0
    assert set(_halls(central)) == {f"H{i}" for i in range(7)}
    with Session(central.engine) as s:
        ledger = s.scalars(select(PushLedgerEntry).order_by(PushLedgerEntry.seq)).all()
        log = s.scalars(select(ChangeLogEntry).order_by(ChangeLogEntry.seq)).all()
    assert [e.seq for e in ledger] == sorted(e.seq for e in ledger) and len(ledger) == 7
    assert all(e.result == RESULT_APPLIED and e.device_id == ws.device_id for e in ledger)
    assert [e.seq for e in log] == list(range(1, 8))
    assert [e.payload["code"] for e in log] == [f"H{i}" for i in range(7)]  # device order kept


def test_replay_after_lost_acknowledgement_changes_nothing(
    central: Store, make_ws: Callable[[str], Store]
) -> None:
    ws = make_ws("a")
    hall = add_hall(ws, "H1")
    with ws.unit_of_work() as uow:
        row = uow.session.get(Hall, hall.id)
        assert row is not None
        row.name = "改名"
        uow.commit()

    def lose_reply(name: str) -> None:
        if name == "push.after_central_commit":
            raise ConnectionError("reply lost")

    faults.set_hook(lose_reply)
    with pytest.raises(ConnectionError):
        client.push(ws, central)
    faults.set_hook(None)
    assert outbox(ws) == 2  # not acknowledged: still waiting
    log_before = count(central, ChangeLogEntry)
    report = client.push(ws, central)
    assert report.pushed == 2 and outbox(ws) == 0
    assert count(central, ChangeLogEntry) == log_before == 2  # applied once
    assert _halls(central)["H1"] == ("改名", 2)
    entries = client.read_outbox(ws, 10)
    assert entries == []
    # a direct replay of the same (device, seq) answers from the ledger
    with Session(central.engine) as s:
        seqs = s.scalars(select(PushLedgerEntry.seq)).all()
    from clerk_app.sync.protocol import PushEntry

    fake = [PushEntry(seq, "halls", hall.id, "update", 1, 2, ("name",), {"name": "别的"}) for seq in seqs]
    result = central_side.apply_push(central, ws.device_id, fake)
    assert all(r.replayed for r in result.results)
    assert _halls(central)["H1"] == ("改名", 2) and count(central, ChangeLogEntry) == 2


def test_pull_applies_without_outbox_and_advances_cursor(
    central: Store, make_ws: Callable[[str], Store]
) -> None:
    a, b = make_ws("a"), make_ws("b")
    for i in range(5):
        add_hall(a, f"A{i}")
    client.push(a, central)
    report = client.pull(b, central, page_size=2)
    assert report.received == 5 and report.applied == 5 and report.cursor == 5
    assert outbox(b) == 0
    assert _halls(b) == _halls(central)
    with Session(b.engine) as s:
        state = s.get(SyncState, client.CURSOR_KEY)
        assert state is not None and state.value["cursor"] == 5
    # pulling again: nothing new, the cursor stays
    again = client.pull(b, central)
    assert again.received == 0 and again.cursor == 5
    # the pushing workstation gets its own changes back and skips them (same versions)
    own = client.pull(a, central)
    assert own.received == 5 and own.applied == 0


def test_direct_central_write_reaches_change_log(central: Store, make_ws: Callable[[str], Store]) -> None:
    hall = add_hall(central, "C1", "中心直接写入")
    with central.unit_of_work() as uow:
        row = uow.session.get(Hall, hall.id)
        assert row is not None
        row.contact_phone = "0471-1"
        uow.commit()
    with Session(central.engine) as s:
        log = s.scalars(select(ChangeLogEntry).order_by(ChangeLogEntry.seq)).all()
        assert s.scalar(select(uow_mod.OutboxEntry.seq)) is None  # central keeps no outbox
    assert [(e.op, e.changed, e.source) for e in log] == [
        ("insert", [], central.device_id),
        ("update", ["contact_phone"], central.device_id),
    ]
    ws = make_ws("a")
    client.pull(ws, central)
    assert _halls(ws) == {"C1": ("中心直接写入", 2)}


def test_rolled_back_central_write_leaves_no_log(central: Store) -> None:
    with central.unit_of_work() as uow:
        uow.session.add(Hall(code="X", name="x", authority="y"))
        uow.flush()
    assert count(central, ChangeLogEntry) == 0
    add_hall(central, "Y")
    with Session(central.engine) as s:
        assert s.scalars(select(ChangeLogEntry.seq)).all() == [1]


def test_sync_round_reports(central: Store, make_ws: Callable[[str], Store]) -> None:
    a, b = make_ws("a"), make_ws("b")
    add_hall(a, "A")
    add_hall(b, "B")
    seen: list[tuple[str, int, int]] = []
    ra = client.sync_round(a, central, progress=lambda *p: seen.append(p))
    rb = client.sync_round(b, central)
    client.sync_round(a, central)
    assert ra.push.pushed == 1 and rb.pull.received == 2 and rb.waiting == 0
    assert abs(ra.clock_skew_ms) < 60_000 and not ra.clock_warning
    assert ("push", 1, 1) in seen
    assert _halls(a) == _halls(b) == _halls(central)


@pytest.mark.postgres
def test_late_commit_is_never_skipped(pg_url: str, make_ws: Callable[[str], Store]) -> None:
    """T_late writes first but commits last; a pull between the commits must not skip it."""
    from clerk_app.services.runtime import open_store

    central = open_store(pg_url, kind="central")
    try:
        ws = make_ws("reader")
        late = central.unit_of_work()
        late.__enter__()
        late.session.add(Hall(code="LATE", name="晚提交", authority="局"))
        late.flush()  # its row exists (uncommitted) before the early transaction even starts
        add_hall(central, "EARLY")  # commits first
        first = client.pull(ws, central)
        assert first.received == 1 and set(_halls(ws)) == {"EARLY"}
        late.commit()
        late.__exit__(None, None, None)
        second = client.pull(ws, central)
        assert second.received == 1 and set(_halls(ws)) == {"EARLY", "LATE"}
        assert second.cursor == 2

        # a writer that holds the counter (numbered, not yet committed) blocks later writers, and
        # a pull meanwhile sees neither: nothing can be skipped
        holder = central.unit_of_work()
        holder.__enter__()
        holder.session.add(Hall(code="HOLD", name="持锁", authority="局"))
        holder.flush()
        uow_mod._write_change_log(holder.session)  # numbered now, commit comes later
        done = threading.Event()

        def other() -> None:
            add_hall(central, "NEXT")
            done.set()

        thread = threading.Thread(target=other)
        thread.start()
        assert not done.wait(0.5)  # waits for the counter
        assert client.pull(ws, central).received == 0
        holder.commit()
        holder.__exit__(None, None, None)
        thread.join(10)
        assert done.is_set()
        third = client.pull(ws, central)
        assert third.received == 2 and set(_halls(ws)) == {"EARLY", "LATE", "HOLD", "NEXT"}
        with Session(central.engine) as s:
            order = s.execute(select(ChangeLogEntry.seq, ChangeLogEntry.payload)).all()
        assert [p["code"] for _seq, p in sorted(order, key=lambda r: r[0])] == [
            "EARLY",
            "LATE",
            "HOLD",
            "NEXT",
        ]
    finally:
        central.dispose()


def test_outbox_numbers_are_never_reused(central: Store, make_ws: Callable[[str], Store]) -> None:
    ws = make_ws("a")
    add_hall(ws, "A")
    client.push(ws, central)
    assert outbox(ws) == 0
    add_hall(ws, "B")
    (entry,) = client.read_outbox(ws, 10)
    assert entry.seq == 2  # not 1 again, which the central ledger would take for a replay
    client.push(ws, central)
    assert set(_halls(central)) == {"A", "B"}
