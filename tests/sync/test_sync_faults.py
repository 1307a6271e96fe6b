"""Fault injection: a sync worker process killed with SIGKILL at named points, a TCP proxy that
refuses, black-holes or drops the reply to COMMIT, and PostgreSQL stopped with ``-m immediate``.
After each: nothing lost, nothing applied twice, the outbox empties once the fault is gone."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path

import psycopg
import pytest
from sqlalchemy import select
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session
from sync_helpers import FaultProxy, add_hall, outbox

from clerk_app.services.runtime import open_store
from clerk_app.store.engine import make_engine, sqlite_url
from clerk_app.store.models import ChangeLogEntry, Hall, PushLedgerEntry
from clerk_app.store.uow import Store
from clerk_app.sync import client, faults, worker


def _edit_all(store: Store, suffix: str) -> None:
    with store.unit_of_work() as uow:
        for hall in uow.session.scalars(select(Hall)):
            hall.name = f"{hall.code}{suffix}"
        uow.commit()


def _assert_exactly_once(central: Store, ws: Store, expected_changes: int) -> None:
    """Every change of ``ws`` is in the central ledger once and in the change log once."""
    with Session(central.engine) as s:
        ledger = s.scalars(select(PushLedgerEntry.seq).where(PushLedgerEntry.device_id == ws.device_id)).all()
        log = s.execute(
            select(ChangeLogEntry.row_id, ChangeLogEntry.version).where(ChangeLogEntry.source == ws.device_id)
        ).all()
    assert len(ledger) == len(set(ledger)) == expected_changes
    assert sorted(ledger) == list(range(min(ledger), min(ledger) + expected_changes))  # device order, no gap
    assert len(log) == expected_changes and not [k for k, n in Counter(log).items() if n > 1]


def _halls(store: Store) -> dict[str, str]:
    with Session(store.engine) as s:
        return {h.code: h.name for h in s.scalars(select(Hall))}


def _run_worker(local: Path, central_url: str, fault: str | None) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)
    env.pop(faults.ENV, None)
    if fault:
        env[faults.ENV] = fault
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "clerk_app.sync",
            "--local",
            str(local),
            "--central",
            central_url,
            "--batch",
            "4",
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.mark.parametrize("point", ["push.after_central_commit", "push.after_local_commit", "pull.mid_page"])
def test_sigkill_at_named_point_loses_and_doubles_nothing(
    point: str, central_url: str, tmp_path: Path, make_ws: Callable[[str], Store]
) -> None:
    central = open_store(central_url, kind="central")
    other = make_ws("other")
    for i in range(6):
        add_hall(other, f"O{i}")
    client.sync_round(other, central)  # something to pull
    path = tmp_path / "victim.sqlite"
    ws = open_store(sqlite_url(path))
    for i in range(10):
        add_hall(ws, f"V{i}")
    _edit_all(ws, "改")  # 10 inserts + 10 updates of its own halls (other halls arrive later)
    ws.dispose()

    crashed = _run_worker(path, central_url, point)
    assert crashed.returncode == -signal.SIGKILL, crashed.stderr
    healed = _run_worker(path, central_url, None)
    assert healed.returncode == 0, healed.stderr
    ws = open_store(sqlite_url(path))
    try:
        assert outbox(ws) == 0
        _assert_exactly_once(central, ws, 20)
        assert _halls(ws) == _halls(central)
        assert all(name.endswith("改") for code, name in _halls(central).items() if code.startswith("V"))
        assert client.cursor(ws) == 26  # 6 changes of the other workstation + its own 20
    finally:
        ws.dispose()
        central.dispose()


@pytest.fixture
def proxied(pg_url: str) -> Iterator[tuple[FaultProxy, Store, Store]]:
    owner = open_store(pg_url, kind="central")
    url = make_url(pg_url)
    proxy = FaultProxy((url.host or "127.0.0.1", url.port or 5432))
    via = url.set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False)
    from sqlalchemy.pool import NullPool

    engine = make_engine(via, connect_args={"connect_timeout": 2}, poolclass=NullPool)
    central = Store(engine, owner.device_id, role="central")
    yield proxy, owner, central
    proxy.close()
    central.dispose()
    owner.dispose()


@pytest.mark.postgres
def test_proxy_refuse_blackhole_and_lost_commit_reply(
    proxied: tuple[FaultProxy, Store, Store], make_ws: Callable[[str], Store]
) -> None:
    proxy, owner, central = proxied
    ws = make_ws("a")
    for i in range(5):
        add_hall(ws, f"P{i}")
    for mode in ("refuse", "blackhole"):
        proxy.set_mode(mode)
        started = time.monotonic()
        with pytest.raises(OperationalError):
            client.sync_round(ws, central)
        assert time.monotonic() - started < 20
        assert outbox(ws) == 5 and _halls(owner) == {}
    proxy.set_mode("drop_commit_reply")
    with pytest.raises(OperationalError):
        client.push(ws, central)
    assert proxy.commits_dropped == 1
    assert outbox(ws) == 5  # no acknowledgement arrived: everything still waits
    assert len(_halls(owner)) == 5  # ... although the central store committed the batch
    proxy.set_mode("forward")
    report = client.sync_round(ws, central)
    assert report.push.pushed == 5 and report.waiting == 0
    _assert_exactly_once(owner, ws, 5)


def test_worker_backs_off_with_jitter_then_reports_offline(
    make_ws: Callable[[str], Store], tmp_path: Path
) -> None:
    ws = make_ws("a")
    add_hall(ws, "W")
    with socket_closed_port() as port:
        engine = make_engine(
            f"postgresql://postgres@127.0.0.1:{port}/none", connect_args={"connect_timeout": 1}
        )
        dead = Store(engine, "central-x", role="central")
        waits: list[float] = []
        with pytest.raises(OperationalError):
            worker.run_round(ws, dead, attempts=4, initial_wait=1.0, max_wait=8.0, sleep=waits.append)
        assert len(waits) == 3
        assert all(w > 0 for w in waits) and waits[2] >= 4.0  # exponential growth, plus jitter
        loop = worker.SyncLoop(ws, dead, attempts=1)
        status = loop.step()
        assert status.state == worker.STATE_OFFLINE and status.waiting == 1 and status.last_error
        dead.dispose()
    central = open_store(sqlite_url(tmp_path / "c.sqlite"), kind="central")
    seen: list[str] = []
    loop = worker.SyncLoop(ws, central, on_status=lambda s: seen.append(s.state))
    status = loop.step()
    assert status.state == worker.STATE_ONLINE and status.waiting == 0 and status.last_success is not None
    assert seen == [worker.STATE_SYNCING, worker.STATE_ONLINE]
    central.dispose()


def test_worker_round_can_be_cancelled(make_ws: Callable[[str], Store], tmp_path: Path) -> None:
    ws = make_ws("a")
    for i in range(3):
        add_hall(ws, f"C{i}")
    central = open_store(sqlite_url(tmp_path / "c.sqlite"), kind="central")
    from clerk_app.sync.protocol import SyncCancelled

    calls: list[int] = []

    def cancel() -> bool:
        calls.append(1)
        return len(calls) > 1  # let the first batch through, then cancel

    with pytest.raises(SyncCancelled):
        worker.run_round(ws, central, cancel=cancel, batch_size=1)
    assert outbox(ws) == 2  # one batch went through and was acknowledged; the rest waits
    central.dispose()


class socket_closed_port:  # noqa: N801 - used as a context manager
    def __enter__(self) -> int:
        import socket

        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        self.port = int(s.getsockname()[1])
        s.close()
        return self.port

    def __exit__(self, *_args: object) -> None:
        return None


def _pg_ready(url: str, timeout: float = 60) -> None:
    raw = make_url(url)
    end = time.monotonic() + timeout
    while True:
        try:
            with psycopg.connect(
                f"host={raw.host} port={raw.port} user={raw.username} dbname={raw.database}",
                connect_timeout=2,
            ) as conn:
                conn.execute("select 1")
                return
        except psycopg.OperationalError:
            if time.monotonic() > end:
                raise
            time.sleep(0.3)


@pytest.mark.slow
@pytest.mark.postgres
def test_postgres_stopped_immediately_mid_push_and_restarted(
    pg_url: str, make_ws: Callable[[str], Store]
) -> None:
    central = open_store(pg_url, kind="central")
    ws = make_ws("a")
    for i in range(12):
        add_hall(ws, f"R{i}")
    stopped: list[bool] = []

    def crash_server(name: str) -> None:
        if name == "push.after_central_commit" and not stopped:
            stopped.append(True)
            subprocess.run(["pg_ctlcluster", "15", "main", "stop", "-m", "immediate"], check=True, timeout=60)

    faults.set_hook(crash_server)
    try:
        with pytest.raises(OperationalError):
            client.sync_round(ws, central, batch_size=4)
    finally:
        faults.set_hook(None)
        subprocess.run(["pg_ctlcluster", "15", "main", "start"], check=True, timeout=120)
        _pg_ready(pg_url)
    assert stopped and outbox(ws) == 8  # the first batch was acknowledged before the crash
    report = worker.run_round(ws, central, attempts=10, initial_wait=0.5, max_wait=2.0)
    assert report.waiting == 0
    _assert_exactly_once(central, ws, 12)
    assert set(_halls(central)) == {f"R{i}" for i in range(12)}
    central.dispose()
