"""The queue part of the hall monitor: what another workstation's call does to it (central store on
SQLite and on PostgreSQL)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import update
from supervision_helpers import session_for

from clerk_app.security.roles import PermissionDenied
from clerk_app.services.demo import copy_reference, seed_central
from clerk_app.services.hall_monitor import pause_label, queue_snapshot, status_label
from clerk_app.services.queue import QueueService, seed_demo_queue
from clerk_app.services.runtime import Runtime, open_store
from clerk_app.settings import Settings, resolve_paths
from clerk_app.store.engine import make_engine, sqlite_url
from clerk_app.store.models import Device, SyncDevice
from clerk_app.store.uow import Store
from clerk_app.sync.central import report_device

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


def _register(central: Store, window: int) -> str:
    """A workstation registered for ``window`` in the central device registry."""
    key = f"ws-window-{window}"
    with central.unit_of_work() as uow:
        uow.session.add(
            Device(device_key=key, kind="workstation", name=f"{window} 号窗口", window_number=window)
        )
        uow.commit()
    return key


def _last_seen(central: Store, device_id: str, at: dt.datetime) -> None:
    with central.unit_of_work(capture=False) as uow:
        uow.session.execute(
            update(SyncDevice).where(SyncDevice.device_id == device_id).values(last_seen_at=at)
        )
        uow.commit()


def test_a_staffed_window_whose_workstation_fell_silent_is_offline(runtime: Runtime) -> None:
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    queue = QueueService(runtime.central, clock=lambda: now)
    wang, li, zhang = (session_for(runtime, n, w) for n, w in (("wangxy", 3), ("lijg", 5), ("zhangli", 7)))
    queue.open_window(wang)
    queue.open_window(li)
    queue.pause(li, "break")
    queue.open_window(zhang)
    queue.close_window(zhang)
    three, five, seven = (_register(runtime.central, n) for n in (3, 5, 7))
    for device in (three, five, seven):  # a sync round of each: the heartbeat the monitor reads
        report_device(runtime.central, device, cursor=0)
    _last_seen(runtime.central, five, now - dt.timedelta(minutes=10))
    _last_seen(runtime.central, seven, now - dt.timedelta(hours=2))  # window 7 is closed
    supervisor = session_for(runtime, "chenjing", None)

    snapshot = queue_snapshot(runtime, supervisor, clock=lambda: now + dt.timedelta(seconds=30))
    windows = {w.number: w for w in snapshot.windows}
    assert not windows[3].offline and windows[3].last_seen is not None
    assert windows[5].offline and windows[5].offline_for == dt.timedelta(minutes=10, seconds=30)
    assert not windows[7].offline  # nobody signed in there: silence is expected
    assert not windows[9].offline and windows[9].last_seen is None  # no workstation registered
    assert [w.number for w in snapshot.offline_windows] == [5]

    # three minutes without a sync round: window 3 is offline too (the limit is 120 s) …
    later = queue_snapshot(runtime, supervisor, clock=lambda: now + dt.timedelta(minutes=3))
    assert [w.number for w in later.offline_windows] == [3, 5]
    # … until its next round
    report_device(runtime.central, three, cursor=0)
    after = queue_snapshot(runtime, supervisor, clock=lambda: dt.datetime.now(dt.UTC))
    assert [w.number for w in after.offline_windows] == [5]
