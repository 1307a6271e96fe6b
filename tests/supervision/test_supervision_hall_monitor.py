"""The queue part of the hall monitor: what another workstation's call does to it (central store on
SQLite and on PostgreSQL)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest
from supervision_helpers import session_for

from clerk_app.security.roles import PermissionDenied
from clerk_app.services.demo import copy_reference, seed_central
from clerk_app.services.hall_monitor import pause_label, queue_snapshot, status_label
from clerk_app.services.queue import QueueService, seed_demo_queue
from clerk_app.services.runtime import Runtime, open_store
from clerk_app.settings import Settings, resolve_paths
from clerk_app.store.engine import make_engine, sqlite_url
from clerk_app.store.uow import Store

T0 = dt.datetime(2026, 3, 2, 1, 0, tzinfo=dt.UTC)  # Monday 2 March 2026, 09:00 in the hall


@pytest.fixture
def runtime(tmp_path: Path, db_url: str) -> Iterator[Runtime]:
    central = open_store(db_url, kind="central")
    seed_central(central)
    seed_demo_queue(central)
    paths = resolve_paths(tmp_path / "ws").ensure()
    local = open_store(sqlite_url(paths.local_store))
    copy_reference(central, local)
    yield Runtime(paths, Settings(), local, central, db_url)
    local.dispose()
    central.dispose()


def test_monitor_reflects_calls_and_pauses_made_at_other_windows(runtime: Runtime) -> None:
    now = [T0]
    kiosk = QueueService(runtime.central, clock=lambda: now[0])
    for category in ("A", "A", "B"):
        kiosk.issue(category)
    # two other workstations: window 3 opens and calls, window 5 opens and pauses
    window3 = QueueService(runtime.central, clock=lambda: now[0])
    wang = session_for(runtime, "wangxy", 3)
    window3.open_window(wang)
    now[0] = T0 + dt.timedelta(minutes=5)
    called = window3.call_next(wang, "press-1")
    assert called is not None and called.number == "A001"
    li = session_for(runtime, "lijg", 5)
    window5 = QueueService(runtime.central, clock=lambda: now[0])
    window5.open_window(li)
    window5.pause(li, "break")

    supervisor = session_for(runtime, "chenjing", None)
    snapshot = queue_snapshot(runtime, supervisor, clock=lambda: T0 + dt.timedelta(minutes=40))
    assert snapshot.reachable and snapshot.waiting == 2
    waiting = {c.code: (c.waiting, c.longest_wait) for c in snapshot.categories}
    assert waiting["A"] == (1, dt.timedelta(minutes=40)) and waiting["B"] == (1, dt.timedelta(minutes=40))
    assert waiting["C"] == (0, dt.timedelta(0))
    windows = {w.number: w for w in snapshot.windows}
    assert len(windows) == 24
    three = windows[3]
    assert (three.status, three.clerk_name, three.ticket_number, three.ticket_state) == (
        "open",
        "王晓燕",
        "A001",
        "called",
    )
    assert three.ticket_since == T0 + dt.timedelta(minutes=5)
    five = windows[5]
    assert (five.status, five.pause_reason, five.ticket_number) == ("paused", "break", "")
    assert pause_label(five.pause_reason) == "休息" and status_label("paused") == "暂停"
    assert windows[7].status == "closed" and windows[7].clerk_name == ""
    # alerts: 40 minutes > 30 in A and B; one window open of the three required
    assert [c.code for c in snapshot.long_waits] == ["A", "B"]
    assert snapshot.open_windows == 1 and snapshot.too_few_open
    calm = queue_snapshot(runtime, supervisor, clock=lambda: T0 + dt.timedelta(minutes=20))
    assert calm.long_waits == ()
    with pytest.raises(PermissionDenied):
        queue_snapshot(runtime, wang)


def test_unreachable_central_store_is_reported_not_raised(runtime: Runtime) -> None:
    offline = Runtime(
        runtime.paths,
        runtime.settings,
        runtime.local,
        Store(make_engine("postgresql+psycopg://nobody@127.0.0.1:9/none?connect_timeout=1"), "dev"),
        "offline",
    )
    snapshot = queue_snapshot(offline, session_for(runtime, "chenjing", None))
    assert not snapshot.reachable and snapshot.windows == () and not snapshot.too_few_open
