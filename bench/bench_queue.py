"""Benchmarks of the hall queue on PostgreSQL.

- ``call_next_p50`` / ``call_next_p99``: the latency of one "call next" press as the clerk's
  workstation makes it (``QueueService.call_next``: on PostgreSQL one ``queue_claim_next`` call
  that checks the press key, ranks the window's candidates, claims one ticket ``FOR UPDATE SKIP
  LOCKED``, writes the history row, window state, press key and change-log entries, and commits;
  then the displays' notification in the same round trip) with 24 windows pressing at once. The
  baseline, in the same run, is a bare ``UPDATE … WHERE id = (SELECT … FOR UPDATE SKIP LOCKED
  LIMIT 1) RETURNING`` round trip on a one-table queue; ratio = call-next / bare. Goals: ratio
  <= 2, p99 < 20 ms.

  Both are driven by the same harness: one OS process per window (no shared interpreter lock
  between windows), each with its own connection. In rounds: all 24 windows wait at a barrier and
  press at the same moment (the measured press), then each frees itself, unmeasured (the
  service's start and finish presses for call-next, two bare UPDATEs for the baseline), and the
  next round starts when every window is back at the barrier. So the measured presses meet each
  other and nothing else.
- ``call_next_*_closed_loop``: the same presses with no barrier between rounds: every window calls,
  starts and finishes as fast as it can, so each measured call also waits behind the other
  windows' start and finish presses (which the baseline's frees, two bare UPDATEs, are not); for
  reference, against the bare claim driven the same way.
- ``call_next_*_vs_counted_bare``: the same, against the bare claim that also takes a number
  under one counter row's lock held to the commit (as every write to the central store did for
  its change-log entries before migration 0014_change_log_assign; the entries are now numbered
  when a pull reads them), for reference.
- ``floor_*``: what any "call next" that keeps the issue's guarantees must write, in one statement
  and one round trip, with nothing else: the conditional claim of the window's oldest waiting
  ticket (``FOR UPDATE SKIP LOCKED``) in the real ticket table with its indexes, its history row,
  the press key, and the two change-log entries the workstations pull (the ticket's new state,
  the history row). No ranking, no window state, no policy, no notification. Measured in rounds
  against the bare claim (``floor_*_vs_bare``: how far a perfect implementation could get), and
  the real call against it (``call_next_*_vs_floor``: what the ranking, the window's state and
  the notification add).
- ``call_next_*_vs_unit_of_work``: the one-statement press against the same press through the
  unit of work (the path of a central store without the function), driven the same way.
- ``display_delay``: from the start of a call press until the display has been told by
  LISTEN/NOTIFY and has read the new board (what the waiting room waits for); goal < 1 s.

Needs the PostgreSQL server (``CLERK_TEST_PG_URL``, default postgresql://postgres@127.0.0.1:5432/test);
a scratch database is made and dropped. ``python bench/bench_queue.py [--quick]``.
"""

from __future__ import annotations

import json
import multiprocessing as mp
import os
import statistics
import sys
import threading
import time
import traceback
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import psycopg
from sqlalchemy import text
from sqlalchemy.engine import make_url

from clerk_app.security.roles import Role
from clerk_app.services.auth import UserSession
from clerk_app.services.queue import BoardListener, QueueService, seed_demo_queue
from clerk_app.services.queue_claim import claim_engine
from clerk_app.services.runtime import open_store
from clerk_app.store.engine import make_engine
from clerk_app.store.uow import Store

ADMIN_URL = os.environ.get("CLERK_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/test")
WINDOWS = 24

#: one window's loop: ``setup(window) -> press`` runs in the window's process before the barrier;
#: ``press()`` returns the seconds of the measured part
Setup = Callable[[int], Callable[[], float]]


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * len(ordered)) - 1))]


def _who(window: int) -> UserSession:
    return UserSession(uuid.UUID(int=window), f"w{window}", f"窗口{window}", Role.CLERK, window, "")


def _window_process(setup: Setup, window: int, presses: int, barrier: Any, out: Any, rounds: bool) -> None:
    try:
        press = setup(window)
    except BaseException:
        barrier.abort()
        out.put(traceback.format_exc())
        raise
    try:
        barrier.wait()
        times = []
        for _ in range(presses):
            if rounds:
                barrier.wait(timeout=120)
            times.append(press())
        out.put(times)
    except BaseException:
        barrier.abort()
        out.put(traceback.format_exc())
        raise


def drive(setup: Setup, windows: int, presses: int, *, rounds: bool = True) -> list[float]:
    """Run ``windows`` processes (fork) of ``presses`` measured presses each; all latencies.
    ``rounds``: every press starts at a barrier with the other windows' (see the module text)."""
    ctx = mp.get_context("fork")
    barrier, out = ctx.Barrier(windows), ctx.Queue()
    procs = [ctx.Process(target=_window_process, args=(setup, w + 1, presses, barrier, out, rounds))
             for w in range(windows)]  # fmt: skip
    for p in procs:
        p.start()
    times: list[float] = []
    for _ in procs:
        got = out.get(timeout=900)
        if isinstance(got, str):
            for p in procs:
                p.terminate()
            raise RuntimeError(f"window process failed:\n{got}")
        times.extend(got)
    for p in procs:
        p.join()
        if p.exitcode != 0:
            raise RuntimeError(f"a window process failed ({p.exitcode})")
    return times


def _dsn(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


CLAIM = (
    "UPDATE {t} SET state = 'called', win = %s WHERE id = (SELECT id FROM {t} "
    "WHERE state = 'issued' ORDER BY id LIMIT 1 FOR UPDATE SKIP LOCKED) RETURNING id"
)
#: the same claim taking a number under one counter row's lock held to the commit, as every
#: write to the central store did for its change-log entries before 0014_change_log_assign
CLAIM_COUNTED = (
    "WITH n AS (UPDATE bare_counter SET value = value + 1 RETURNING value) "
    + CLAIM
    + ", (SELECT value FROM n)"
)
FREE = "UPDATE {t} SET state = %s WHERE id = %s"
FREE_COUNTED = (
    "WITH n AS (UPDATE bare_counter SET value = value + 1 RETURNING value) "
    + FREE
    + " AND (SELECT value FROM n) > 0"
)


def bare_setup(url: str, table: str, counted: bool = False) -> Setup:
    claim = (CLAIM_COUNTED if counted else CLAIM).format(t=table)
    free = (FREE_COUNTED if counted else FREE).format(t=table)

    def setup(window: int) -> Callable[[], float]:
        conn = psycopg.connect(_dsn(url), autocommit=True)

        def run(sql: str, args: tuple[Any, ...]) -> Any:
            # the counted statements take two row locks in an order the planner picks: a
            # deadlock is retried (its time counts in the measured claim)
            while True:
                try:
                    return conn.execute(sql, args).fetchone()
                except psycopg.errors.DeadlockDetected:
                    continue

        def press() -> float:
            t0 = time.perf_counter()
            row = run(claim, (window,))
            took = time.perf_counter() - t0
            if row is not None:  # free the window again (not measured), as start + finish do
                run(free + " RETURNING id", ("serving", row[0]))
                run(free + " RETURNING id", ("done", row[0]))
            return took

        return press

    return setup


#: the least a keyed, recorded, synced call writes (see ``floor_*`` in the module text)
FLOOR = """
WITH c AS (
    UPDATE queue_tickets t
    SET state = 'called', window_number = %(w)s, clerk_id = %(clerk)s, called_at = now(),
        version = t.version + 1, hlc = %(hlc)s
    WHERE t.id = (SELECT q.id FROM queue_tickets q
                  WHERE q.service_day = %(day)s AND q.state IN ('issued', 'transferred')
                    AND NOT q.offline AND NOT q.deleted AND q.routed_window IS NULL
                    AND q.appointment_at IS NULL AND q.category = %(cat)s
                  ORDER BY q.priority, q.issued_at, q.id LIMIT 1 FOR UPDATE SKIP LOCKED)
      AND t.state IN ('issued', 'transferred')
    RETURNING t.*),
e AS (
    INSERT INTO queue_ticket_events (ticket_id, event, from_state, to_state, window_number, clerk_id,
                                     at, reason, detail, id, origin, version, hlc, deleted)
    SELECT c.id, 'call', 'issued', c.state, %(w)s, %(clerk)s, now(), 'normal',
           json_build_object('number', c.number, 'category', c.category, 'version', c.version),
           %(event)s, %(dev)s, 1, %(hlc)s, false
    FROM c RETURNING *),
k AS (
    INSERT INTO queue_requests (key, action, window_number, ticket_id, created_at)
    SELECT %(key)s, 'call_next', %(w)s, c.id, now() FROM c),
l AS (
    INSERT INTO change_log (table_name, row_id, op, version, source, changed, payload, committed_at)
    SELECT 'queue_tickets', c.id, 'update', c.version, %(dev)s, '["state", "window_number"]'::json,
           to_json(c), clock_timestamp() FROM c
    UNION ALL
    SELECT 'queue_ticket_events', e.id, 'insert', 1, %(dev)s, '[]'::json, to_json(e), clock_timestamp()
    FROM e)
SELECT c.id FROM c
"""
FLOOR_FREE = "UPDATE queue_tickets SET state = %s, version = version + 1 WHERE id = %s"


def floor_setup(url: str, day: Any) -> Setup:
    from clerk_app.services.queue_rules import demo_window_categories

    def setup(window: int) -> Callable[[], float]:
        conn = psycopg.connect(_dsn(url), autocommit=True)
        conn.execute("SET clerk.board_notify = 'client'")  # no notification: not part of the floor
        base = {"w": window, "clerk": uuid.UUID(int=window), "day": day, "dev": "bench-floor",
                "cat": demo_window_categories(window)[-1]}  # fmt: skip

        def press() -> float:
            stamp = f"{time.time_ns()}-0000-bench"
            args = {**base, "hlc": stamp, "event": uuid.uuid4(), "key": uuid.uuid4().hex}
            t0 = time.perf_counter()
            row = conn.execute(FLOOR, args).fetchone()
            took = time.perf_counter() - t0
            if row is not None:  # free the window again (not measured)
                conn.execute(FLOOR_FREE, ("serving", row[0]))
                conn.execute(FLOOR_FREE, ("done", row[0]))
            return took

        return press

    return setup


def make_bare_table(url: str, table: str, tickets: int) -> None:
    with psycopg.connect(_dsn(url), autocommit=True) as conn:
        conn.execute(f"CREATE TABLE {table} (id bigserial PRIMARY KEY, state text NOT NULL, win int)")
        conn.execute(f"INSERT INTO {table} (state) SELECT 'issued' FROM generate_series(1, %s)", (tickets,))
        conn.execute(f"CREATE INDEX ON {table} (state, id)")
        conn.execute("CREATE TABLE IF NOT EXISTS bare_counter (value bigint NOT NULL)")
        conn.execute("INSERT INTO bare_counter VALUES (0)")


def call_next_setup(url: str, device_id: str, one_statement: bool = True) -> Setup:
    """``one_statement=False``: the unit-of-work path (read, rank in Python, claim, history,
    commit: about nine round trips), which a central store without the function uses."""

    def setup(window: int) -> Callable[[], float]:
        store = Store(make_engine(url, pool_size=1), device_id, role="central")
        svc = QueueService(store)
        svc._claim_fn = one_statement
        who = _who(window)
        svc.window_categories(window)  # open the pooled connections before the barrier
        with claim_engine(store.engine).connect() as conn:
            conn.execute(text("SELECT 1"))

        def press() -> float:
            t0 = time.perf_counter()
            ticket = svc.call_next(who, uuid.uuid4().hex)
            took = time.perf_counter() - t0
            if ticket is not None:  # free the window again (not measured)
                svc.start(who, ticket.id, uuid.uuid4().hex)
                svc.finish(who, ticket.id, uuid.uuid4().hex)
            return took

        return press

    return setup


def issue_tickets(store: Store, per_window: int, extra: int) -> None:
    """Enough waiting tickets for every window's presses: each window's speciality in turn (one in
    seven green-channel), and ``extra`` of category A."""
    from clerk_app.services.queue_rules import demo_window_categories

    svc = QueueService(store)
    n = 0
    for _ in range(per_window):
        for window in range(1, WINDOWS + 1):
            svc.issue(demo_window_categories(window)[-1], priority_kind="elderly" if n % 7 == 0 else "")
            n += 1
    for _ in range(extra):
        svc.issue("A")


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
    per_window = 10 if quick else 40
    name = f"clerk_bench_q_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    url = make_url(ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    try:
        opened = open_store(url, kind="central")
        seed_demo_queue(opened)
        device = opened.device_id
        tickets = WINDOWS * per_window + 3 * per_window + 40
        issue_tickets(opened, 4 * per_window, 3 * per_window + 40)  # three runs of call next, the floor
        opened.dispose()  # no connection crosses the fork
        make_bare_table(url, "bare_q", tickets * 3)
        with psycopg.connect(_dsn(url)) as conn:  # the day the tickets were issued for
            day = conn.execute("SELECT max(service_day) FROM queue_tickets").fetchone()[0]
        bare1 = drive(bare_setup(url, "bare_q"), 1, per_window * 3)
        calls1 = drive(call_next_setup(url, device), 1, per_window * 3)
        bare = drive(bare_setup(url, "bare_q"), WINDOWS, per_window)
        calls = drive(call_next_setup(url, device), WINDOWS, per_window)
        floor = drive(floor_setup(url, day), WINDOWS, per_window)
        bare_loop = drive(bare_setup(url, "bare_q"), WINDOWS, per_window, rounds=False)
        counted = drive(bare_setup(url, "bare_q", counted=True), WINDOWS, per_window, rounds=False)
        calls_loop = drive(call_next_setup(url, device), WINDOWS, per_window, rounds=False)
        unit_of_work = drive(
            call_next_setup(url, device, one_statement=False), WINDOWS, per_window, rounds=False
        )
        store = Store(make_engine(url), device, role="central")
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
    for label, q in (("p50", 0.5), ("p99", 0.99)):
        value, base = _pct(floor, q) * ms, _pct(bare, q) * ms
        out.append({"name": f"floor_{label}_24_windows_vs_bare", "value": round(value, 3), "unit": "ms",
                    "goal": "(the least a keyed, recorded, synced call writes; one statement)",
                    "baseline": round(base, 3), "ratio": round(value / base, 2)})  # fmt: skip
    for label, q in (("p50", 0.5), ("p99", 0.99)):
        value, base = _pct(calls, q) * ms, _pct(floor, q) * ms
        out.append({"name": f"call_next_{label}_24_windows_vs_floor", "value": round(value, 3), "unit": "ms",
                    "goal": "(what the ranking, window state and notification add)",
                    "baseline": round(base, 3), "ratio": round(value / base, 2)})  # fmt: skip
    for label, q in (("p50", 0.5), ("p99", 0.99)):
        value, base = _pct(calls_loop, q) * ms, _pct(bare_loop, q) * ms
        out.append({"name": f"call_next_{label}_24_windows_closed_loop", "value": round(value, 3),
                    "unit": "ms", "goal": "(no barrier: behind the other windows' start and finish presses)",
                    "baseline": round(base, 3), "ratio": round(value / base, 2)})  # fmt: skip
    for label, q in (("p50", 0.5), ("p99", 0.99)):
        value, base = _pct(calls_loop, q) * ms, _pct(counted, q) * ms
        out.append({"name": f"call_next_{label}_closed_loop_vs_counted_bare", "value": round(value, 3),
                    "unit": "ms", "goal": "(the bare claim + a commit-ordered counter, for reference)",
                    "baseline": round(base, 3), "ratio": round(value / base, 2)})  # fmt: skip
    for label, q in (("p50", 0.5), ("p99", 0.99)):
        value, base = _pct(calls_loop, q) * ms, _pct(unit_of_work, q) * ms
        out.append({"name": f"call_next_{label}_closed_loop_vs_unit_of_work", "value": round(value, 3),
                    "unit": "ms", "goal": "(the same press through the unit of work, ~9 round trips)",
                    "baseline": round(base, 3), "ratio": round(value / base, 2)})  # fmt: skip
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
