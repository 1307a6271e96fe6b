"""Benchmarks of the hall queue on PostgreSQL.

- ``call_next_p50`` / ``call_next_p99``: the latency of one "call next" press (read and rank the
  window's candidates, claim one ticket in one ``UPDATE … FOR UPDATE SKIP LOCKED … RETURNING``,
  record the press key, the history row and the change-log entries, commit) with 24 windows
  pressing at once. Side by side, in the same run and with the same 24 concurrent threads, a bare
  ``UPDATE … WHERE id = (SELECT … FOR UPDATE SKIP LOCKED LIMIT 1) RETURNING`` round trip on a
  one-table queue is the baseline; ratio = call-next / bare. Goals: ratio ≤ 2, p99 < 20 ms.
- ``display_delay``: from the start of a call press until the display has been told by
  LISTEN/NOTIFY and has read the new board (what the waiting room waits for); goal < 1 s.

Needs the PostgreSQL server (``CLERK_TEST_PG_URL``, default postgresql://postgres@127.0.0.1:5432/test);
a scratch database is made and dropped. ``python bench/bench_queue.py [--quick]``.
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import threading
import time
import uuid
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import psycopg
from sqlalchemy.engine import make_url

from clerk_app.security.roles import Role
from clerk_app.services.auth import UserSession
from clerk_app.services.queue import BoardListener, QueueService, seed_demo_queue
from clerk_app.services.runtime import open_store
from clerk_app.store.engine import make_engine
from clerk_app.store.uow import Store

ADMIN_URL = os.environ.get("CLERK_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/test")
WINDOWS = 24


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * len(ordered)) - 1))]


def _who(window: int) -> UserSession:
    return UserSession(uuid.UUID(int=window), f"w{window}", f"窗口{window}", Role.CLERK, window, "")


def _threads(target: Any, count: int) -> None:
    threads = [threading.Thread(target=target, args=(i,)) for i in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


def bare_round_trips(url: str, per_window: int, windows: int = WINDOWS, table: str = "bare_q") -> list[float]:
    dsn = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f"CREATE TABLE {table} (id bigserial PRIMARY KEY, state text NOT NULL, win int)")
        conn.execute(f"INSERT INTO {table} (state) SELECT 'issued' FROM generate_series(1, %s)",
                     (windows * per_window + 10,))  # fmt: skip
        conn.execute(f"CREATE INDEX ON {table} (state, id)")
    times: list[float] = []
    lock = threading.Lock()

    def window(i: int) -> None:
        mine: list[float] = []
        with psycopg.connect(dsn, autocommit=True) as conn:
            for _ in range(per_window):
                t0 = time.perf_counter()
                conn.execute(
                    f"UPDATE {table} SET state = 'called', win = %s WHERE id = (SELECT id FROM {table} "
                    "WHERE state = 'issued' ORDER BY id LIMIT 1 FOR UPDATE SKIP LOCKED) RETURNING id",
                    (i + 1,),
                ).fetchone()
                mine.append(time.perf_counter() - t0)
        with lock:
            times.extend(mine)

    _threads(window, windows)
    return times


def call_next_latencies(store: Store, per_window: int, windows: int = WINDOWS) -> list[float]:
    svc = QueueService(store)
    for n in range(windows * per_window + 10):
        svc.issue("ABCDE"[n % 5] if n % 3 else "A")
    times: list[float] = []
    lock = threading.Lock()

    def window(i: int) -> None:
        who, mine = _who(i + 1), []
        for _ in range(per_window):
            t0 = time.perf_counter()
            ticket = svc.call_next(who, uuid.uuid4().hex)
            mine.append(time.perf_counter() - t0)
            if ticket is not None:  # free the window again (not measured)
                svc.start(who, ticket.id, uuid.uuid4().hex)
                svc.finish(who, ticket.id, uuid.uuid4().hex)
        with lock:
            times.extend(mine)

    _threads(window, windows)
    return times


def display_delays(store: Store, url: str, samples: int) -> list[float]:
    svc = QueueService(store)
    for _ in range(samples + 2):
        svc.issue("A")
    got = threading.Event()
    connected = threading.Event()
    listener = BoardListener(url, lambda _p: got.set(), lambda ok: connected.set() if ok else None)
    listener.start()
    connected.wait(5)
    delays: list[float] = []
    who = _who(1)
    for _ in range(samples):
        got.clear()
        t0 = time.perf_counter()
        ticket = svc.call_next(who, uuid.uuid4().hex)
        if not got.wait(5):
            raise RuntimeError("no notification within 5 s")
        svc.board()
        delays.append(time.perf_counter() - t0)
        assert ticket is not None
        svc.start(who, ticket.id, uuid.uuid4().hex)
        svc.finish(who, ticket.id, uuid.uuid4().hex)
    listener.stop()
    return delays


def run(quick: bool = False) -> list[dict[str, Any]]:
    per_window = 15 if quick else 60
    name = f"clerk_bench_q_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    url = make_url(ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    try:
        opened = open_store(url, kind="central")
        seed_demo_queue(opened)
        opened.dispose()
        store = Store(
            make_engine(url, pool_size=WINDOWS + 2, max_overflow=4), opened.device_id, role="central"
        )
        bare1 = bare_round_trips(url, per_window * 2, 1, "bare_one")
        calls1 = call_next_latencies(store, per_window * 2, 1)
        bare = bare_round_trips(url, per_window)
        calls = call_next_latencies(store, per_window)
        delays = display_delays(store, url, 10 if quick else 30)
        store.dispose()
    finally:
        with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    ms = 1000.0
    out: list[dict[str, Any]] = []
    for label, q in (("p50", 0.5), ("p99", 0.99)):
        value, base = _pct(calls, q) * ms, _pct(bare, q) * ms
        goal = "ratio <= 2" if label == "p50" else "< 20 ms, ratio <= 2"
        out.append({"name": f"call_next_{label}_24_windows", "value": round(value, 3), "unit": "ms",
                    "goal": goal, "baseline": round(base, 3), "ratio": round(value / base, 2)})  # fmt: skip
    value1, base1 = _pct(calls1, 0.5) * ms, _pct(bare1, 0.5) * ms
    out.append({"name": "call_next_p50_1_window", "value": round(value1, 3), "unit": "ms",
                "goal": "(uncontended, for reference)", "baseline": round(base1, 3),
                "ratio": round(value1 / base1, 2)})  # fmt: skip
    out.append({"name": "display_delay_p50", "value": round(statistics.median(delays) * ms, 2), "unit": "ms",
                "goal": "< 1000 ms", "baseline": None, "ratio": None})  # fmt: skip
    out.append({"name": "display_delay_max", "value": round(max(delays) * ms, 2), "unit": "ms",
                "goal": "< 1000 ms", "baseline": None, "ratio": None})  # fmt: skip
    return out


if __name__ == "__main__":
    print(json.dumps(run("--quick" in sys.argv), ensure_ascii=False, indent=1))
