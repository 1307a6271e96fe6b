"""Push with the applied-push ledger, pull by the commit-ordered change log (SQLite and PostgreSQL)."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session
from sync_helpers import add_hall, count, number_log, numbered_log, outbox, unnumbered

from clerk_app.store import uow as uow_mod
from clerk_app.store.models import ChangeLogEntry, Hall, PushLedgerEntry, SyncState
from clerk_app.store.uow import Store
from clerk_app.sync import central as central_side
from clerk_app.sync import client, faults
from clerk_app.sync.protocol import RESULT_APPLIED, PushEntry


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
    log = central_side.read_changes(central, 0, 100).changes  # numbered as a pull reads them
    assert [e.seq for e in ledger] == sorted(e.seq for e in ledger) and len(ledger) == 7
    assert all(e.result == RESULT_APPLIED and e.device_id == ws.device_id for e in ledger)
    assert [e.seq for e in log] == list(range(1, 8))
    assert [e.payload["code"] for e in log] == [f"H{i}" for i in range(7)]  # device order kept


def test_pushed_batches_start_small_and_double(
    central: Store, make_ws: Callable[[str], Store], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The first batch is short (read before anything is sent), each next one twice as large, up
    to the batch size; nothing is pushed twice or left behind."""
    monkeypatch.setattr(client, "FIRST_BATCH", 2)
    ws = make_ws("a")
    for i in range(12):
        add_hall(ws, f"H{i}")
    sizes: list[int] = []
    real = central_side.apply_push

    def counting(store: Store, device_id: str, entries: list[PushEntry], **kw: object) -> object:
        sizes.append(len(entries))
        return real(store, device_id, entries, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(central_side, "apply_push", counting)
    report = client.push(ws, central, batch_size=5)
    assert sizes == [2, 4, 5, 1]
    assert (report.pushed, report.batches) == (12, 4) and outbox(ws) == 0
    assert set(_halls(central)) == {f"H{i}" for i in range(12)}


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
    number_log(central)
    log = numbered_log(central)
    with Session(central.engine) as s:
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
    number_log(central)
    assert [e.seq for e in numbered_log(central)] == [1]


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

        # a writer whose log entries are written but not committed blocks nobody: a later writer
        # commits at once, a pull meanwhile gets the later one only, and the held one comes in
        # the next pull with a higher number (commit order), behind no cursor
        holder = central.unit_of_work()
        holder.__enter__()
        holder.session.add(Hall(code="HOLD", name="持锁", authority="局"))
        holder.flush()
        uow_mod._write_change_log(holder.session)  # its entry is in the table, uncommitted
        done = threading.Event()

        def other() -> None:
            add_hall(central, "NEXT")
            done.set()

        thread = threading.Thread(target=other)
        thread.start()
        assert done.wait(10)  # no shared lock: the other writer does not wait for the holder
        thread.join(10)
        third = client.pull(ws, central)
        assert third.received == 1 and set(_halls(ws)) == {"EARLY", "LATE", "NEXT"}
        assert third.cursor == 3
        assert client.pull(ws, central).received == 0  # the run does not number the open one
        holder.commit()
        holder.__exit__(None, None, None)
        fourth = client.pull(ws, central)
        assert fourth.received == 1 and fourth.cursor == 4
        assert set(_halls(ws)) == {"EARLY", "LATE", "HOLD", "NEXT"}
        assert [e.payload["code"] for e in numbered_log(central)] == [
            "EARLY",
            "LATE",
            "NEXT",
            "HOLD",
        ]
    finally:
        central.dispose()


@pytest.mark.postgres
def test_a_backlog_is_numbered_a_page_at_a_time(pg_url: str, make_ws: Callable[[str], Store]) -> None:
    """After a large push nobody has pulled yet, a pull numbers one page's worth before each page
    (the oldest first), not the whole backlog before the first page: every entry still arrives
    once, in the writers' order; the progress counts the entries still unnumbered from the
    first page on; a later writer's entries come after the backlog."""
    from clerk_app.services.runtime import open_store

    central = open_store(pg_url, kind="central")
    try:
        writer, reader = make_ws("writer"), make_ws("reader")
        with writer.unit_of_work() as uow:
            uow.session.add_all(Hall(code=f"B{i:02d}", name="大厅", authority="局") for i in range(25))
            uow.commit()
        assert client.push(writer, central).pushed == 25
        assert unnumbered(central) == 25
        seen: list[tuple[int, int]] = []
        numbered: list[int] = []
        fetch = central_side.fetch_changes

        def watch(store: Store, after: int, limit: int = 1000) -> object:
            page = fetch(store, after, limit)
            numbered.append(len(numbered_log(central)))  # how many carry a number once this page is read
            return page

        with pytest.MonkeyPatch.context() as mp:
            mp.setattr(central_side, "fetch_changes", watch)
            report = client.pull(reader, central, page_size=10, progress=lambda _p, d, t: seen.append((d, t)))
        assert report.received == 25 and report.cursor == 25
        assert numbered == [10, 20, 25, 25]  # one page's worth before each page, then nothing left
        assert seen == [(10, 25), (20, 25), (25, 25)]  # the total known from the first page
        add_hall(writer, "AFTER")
        client.push(writer, central)
        assert client.pull(reader, central, page_size=10).received == 1
        codes = [e.payload["code"] for e in numbered_log(central)]
        assert codes == [f"B{i:02d}" for i in range(25)] + ["AFTER"]
        assert set(_halls(reader)) == set(codes)
    finally:
        central.dispose()


@pytest.mark.postgres
def test_a_central_store_without_the_page_numbering_still_serves_pulls(
    pg_url: str, make_ws: Callable[[str], Store]
) -> None:
    """A central store not yet upgraded to 0017 has only ``change_log_assign()``: the pull falls
    back to numbering everything at once and gets every entry."""
    from clerk_app.services.runtime import open_store

    central = open_store(pg_url, kind="central")
    try:
        with central.engine.begin() as conn:
            conn.exec_driver_sql("DROP FUNCTION change_log_assign(integer)")
        writer, reader = make_ws("writer"), make_ws("reader")
        for i in range(5):
            add_hall(writer, f"OLD{i}")
        client.push(writer, central)
        report = client.pull(reader, central, page_size=2)
        assert report.received == 5 and set(_halls(reader)) == {f"OLD{i}" for i in range(5)}
    finally:
        central.dispose()


@pytest.mark.postgres
def test_concurrent_writers_and_pulls_see_no_gap(pg_url: str) -> None:
    """Writers that hold their transactions open for a while, and readers pulling all the time
    (each pull numbering first): every page a reader gets starts right after its cursor and has
    no hole, and in the end every reader has every entry exactly once, in one order."""
    import random
    import time

    from clerk_app.services.runtime import open_store

    central = open_store(pg_url, kind="central")
    writers, per_writer = 6, 15
    received: dict[int, list[tuple[int, str]]] = {0: [], 1: []}
    problems: list[str] = []
    stop = threading.Event()

    def write(n: int) -> None:
        rng = random.Random(n)
        for i in range(per_writer):
            with central.unit_of_work() as uow:
                uow.session.add(Hall(code=f"W{n}-{i}", name="并发", authority="局"))
                uow.flush()
                uow_mod._write_change_log(uow.session)  # the entry exists before the wait
                time.sleep(rng.uniform(0, 0.02))
                uow.commit()

    def read(r: int) -> None:
        cursor = 0
        while True:
            finished = stop.is_set()
            page = central_side.read_changes(central, cursor, limit=7)
            seqs = [c.seq for c in page.changes]
            if seqs != list(range(cursor + 1, cursor + 1 + len(seqs))):
                problems.append(f"reader {r}: after {cursor} got {seqs}")
                return
            received[r].extend((c.seq, c.payload["code"]) for c in page.changes)
            cursor = page.cursor
            if finished and not seqs:
                return

    try:
        readers = [threading.Thread(target=read, args=(r,)) for r in received]
        threads = [threading.Thread(target=write, args=(n,)) for n in range(writers)]
        for t in readers + threads:
            t.start()
        for t in threads:
            t.join(60)
        stop.set()
        for t in readers:
            t.join(60)
        assert problems == []
        everything = {f"W{n}-{i}" for n in range(writers) for i in range(per_writer)}
        assert received[0] == received[1]
        codes = [code for _seq, code in received[0]]
        assert len(codes) == len(everything) and set(codes) == everything
        for n in range(writers):  # one writer's transactions commit one after another: in order
            mine = [c for c in codes if c.startswith(f"W{n}-")]
            assert mine == [f"W{n}-{i}" for i in range(per_writer)]
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


def _edit_hall(store: Store, hall_id: object, **values: str) -> None:
    with store.unit_of_work() as uow:
        row = uow.session.get(Hall, hall_id)
        assert row is not None
        for key, value in values.items():
            setattr(row, key, value)
        uow.commit()


def _push_together(central: Store, stores: list[Store]) -> list[BaseException]:
    """Push ``stores`` in threads, each batch held after reading what it decides on until the
    other has read too (or 2 s passed: the other waits for a lock inside its read)."""
    both_loaded = threading.Barrier(len(stores), timeout=2)
    load = central_side._Batch.load

    def held_load(batch: central_side._Batch, entries: list[object]) -> None:
        load(batch, entries)  # type: ignore[arg-type]
        with contextlib.suppress(threading.BrokenBarrierError):
            both_loaded.wait()

    errors: list[BaseException] = []

    def push(store: Store) -> None:
        try:
            client.push(store, central)
        except BaseException as exc:
            errors.append(exc)

    central_side._Batch.load = held_load  # type: ignore[method-assign,assignment]
    try:
        threads = [threading.Thread(target=push, args=(ws,)) for ws in stores]
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
    finally:
        central_side._Batch.load = load  # type: ignore[method-assign]
    return errors


@pytest.mark.postgres
def test_concurrent_edits_of_one_row_are_both_kept(pg_url: str, make_ws: Callable[[str], Store]) -> None:
    """Two workstations push edits of different fields of one row at the same moment, both
    batches held after reading what they decide on: the second waits for the first (its row
    lock) and merges on top of it. Both edits are kept centrally, no version is logged twice,
    and both workstations converge (without the lock the second write overwrote the first)."""
    from clerk_app.services.runtime import open_store

    central = open_store(pg_url, kind="central")
    try:
        a, b = make_ws("a"), make_ws("b")
        hall = add_hall(a, "R", name="原名")
        client.sync_round(a, central)
        client.sync_round(b, central)
        _edit_hall(a, hall.id, name="甲改名")
        _edit_hall(b, hall.id, address="乙改地址")
        assert _push_together(central, [a, b]) == []
        with Session(central.engine) as s:
            row = s.get(Hall, hall.id)
            assert row is not None and (row.name, row.address) == ("甲改名", "乙改地址")
            by_row = select(ChangeLogEntry.version).where(ChangeLogEntry.row_id == hall.id)
            assert sorted(s.scalars(by_row).all()) == [1, 2, 3]
        for ws in (a, b):
            client.sync_round(ws, central)
            with Session(ws.engine) as s:
                local = s.get(Hall, hall.id)
                assert local is not None and (local.name, local.address) == ("甲改名", "乙改地址")
    finally:
        central.dispose()


@pytest.mark.parametrize("place", [1, 11])
def test_a_refused_row_in_a_batch_written_in_pieces(
    central: Store, make_ws: Callable[[str], Store], monkeypatch: pytest.MonkeyPatch, place: int
) -> None:
    """On PostgreSQL a batch's writes are sent a chunk at a time without waiting for them: a
    row the database refuses (its code already held centrally) surfaces while a later chunk is
    sent (in the first chunk) or when the batch's writes are awaited (in the last); the batch is
    then redone under savepoints, the refused row is a rejection and every other row is applied
    once, with one change-log entry each."""
    monkeypatch.setattr(central_side, "DECIDE_CHUNK", 4)
    add_hall(central, "TAKEN")
    ws = make_ws("a")
    codes = [f"P{i}" for i in range(11)]
    codes.insert(place, "TAKEN")
    with ws.unit_of_work() as uow:
        uow.session.add_all(Hall(code=code, name="大厅", authority="局") for code in codes)
        uow.commit()
    report = client.push(ws, central)
    assert (report.pushed, report.rejected) == (12, 1)
    logged = [e.payload.get("code") for e in central_side.read_changes(central, 0, 100).changes]
    assert sorted(c for c in logged if c) == sorted(codes)  # each once (TAKEN: the central row)
    assert outbox(ws) == 0 and set(_halls(ws)) == {f"P{i}" for i in range(11)}


def test_a_refused_batch_is_searched_in_halves(
    central: Store, make_ws: Callable[[str], Store], monkeypatch: pytest.MonkeyPatch
) -> None:
    """When the database refuses a batch, it is redone in halves (small parts entry by entry)
    under savepoints until each refused entry is alone: every refused entry is a rejection, every
    other entry is applied once and logged in device order, and the search takes far fewer
    attempts than a savepoint per entry."""
    for code in ("T-FIRST", "T-MID", "T-LAST"):
        add_hall(central, code)
    ws = make_ws("a")
    codes = [f"P{i}" for i in range(200)]
    codes[0], codes[117], codes[-1] = "T-FIRST", "T-MID", "T-LAST"
    with ws.unit_of_work() as uow:
        uow.session.add_all(Hall(code=code, name="大厅", authority="局") for code in codes)
        uow.commit()
    loads: list[int] = []
    real_load = central_side._Batch.load

    def counted(self: central_side._Batch, entries: list[PushEntry]) -> None:
        loads.append(len(entries))
        real_load(self, entries)

    monkeypatch.setattr(central_side._Batch, "load", counted)
    report = client.push(ws, central)
    assert (report.pushed, report.rejected) == (200, 3)
    taken = {"T-FIRST", "T-MID", "T-LAST"}
    log = central_side.read_changes(central, 0, 1000).changes
    mine = [e.payload["code"] for e in log if e.table_name == "halls" and e.payload["code"] not in taken]
    assert mine == [c for c in codes if c not in taken]  # once each, in device order
    assert outbox(ws) == 0 and set(_halls(ws)) == {c for c in codes if c not in taken}
    # the plain attempt, then the search: each refused entry costs a few halvings, not 200 tries
    assert loads[0] == 200 and 3 < len(loads) - 1 < 60, loads
