"""The PostgreSQL claim function ranks a window's waiting tickets exactly as the domain does.

``clerk_app.domain.queue_order.rank`` is the reference; ``queue_rank_waiting`` (migration
``0012_queue_claim_fn``) is what ``queue_claim_next`` claims from. Hypothesis generates queues
(categories, priorities, appointments due or not, tickets routed here or elsewhere, ties in issue
time, tickets not waiting, another day's, offline ones) and policies (interleave ratio, wait-time
target, appointment allowance, early appointments, the window's streak); the two orders and the
reasons must be equal element by element, and so must the first places when the function is asked
for those only (as the claim asks for its 64 candidates).
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import psycopg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from clerk_app.domain import queue_order as qo
from clerk_app.services.runtime import open_store

pytestmark = pytest.mark.postgres

NOW = dt.datetime(2026, 11, 28, 3, 0, tzinfo=dt.UTC)
DAY = dt.date(2026, 11, 28)
WINDOW = 5
COLUMNS = (
    "id, service_day, number, seq, category, priority, priority_kind, appointment_at, case_ref, state, "
    "window_number, routed_window, routed_at, return_window, recall_count, call_reason, issued_at, "
    "offline, issued_by, origin, version, hlc, deleted"
)


@st.composite
def tickets(draw: st.DrawFn) -> dict[str, Any]:
    minutes = st.integers(min_value=-90, max_value=30)
    appointment = draw(st.one_of(st.none(), minutes))
    routed = draw(st.sampled_from([None, None, None, WINDOW, 9]))
    return {
        "id": draw(st.uuids()),
        "category": draw(st.sampled_from("ABC")),
        "priority": draw(st.booleans()),
        "issued": NOW - dt.timedelta(minutes=draw(st.integers(min_value=0, max_value=120))),
        "appointment_at": None if appointment is None else NOW + dt.timedelta(minutes=appointment),
        "routed_window": routed,
        "routed_at": None
        if routed is None or draw(st.booleans())
        else NOW - dt.timedelta(minutes=draw(st.integers(0, 60))),
        "state": draw(st.sampled_from(["issued", "issued", "issued", "transferred", "parked", "done"])),
        "offline": draw(st.booleans()) if draw(st.integers(0, 9)) == 0 else False,
        "yesterday": draw(st.integers(0, 14)) == 0,
    }


policies = st.builds(
    qo.OrderPolicy,
    normal_per_priority=st.integers(min_value=0, max_value=4),
    wait_target=st.one_of(st.none(), st.integers(1, 90).map(lambda m: dt.timedelta(minutes=m))),
    appointment_early=st.integers(0, 15).map(lambda m: dt.timedelta(minutes=m)),
    serve_early_appointments=st.booleans(),
)


def _rows(generated: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    rows = []
    for n, t in enumerate(generated):
        day = DAY - dt.timedelta(days=1) if t["yesterday"] else DAY
        rows.append((
            t["id"], day, f"X{n:03d}", n, t["category"], t["priority"], "", t["appointment_at"], "",
            t["state"], None, t["routed_window"], t["routed_at"], None, 0, "", t["issued"],
            t["offline"], "test", "dev", 1, "0", False,
        ))  # fmt: skip
    return rows


def _domain_order(
    generated: list[dict[str, Any]], cats: list[str], policy: qo.OrderPolicy, streak: int
) -> list[tuple[str, str]]:
    waiting = [
        qo.WaitingTicket(
            key=t["id"],
            category=t["category"],
            issued_at=t["issued"],
            priority=t["priority"],
            appointment_at=t["appointment_at"],
            routed_window=t["routed_window"],
            routed_at=t["routed_at"],
        )
        for t in generated
        if t["state"] in ("issued", "transferred") and not t["offline"] and not t["yesterday"]
    ]
    order = qo.rank(
        waiting, window=WINDOW, categories=cats, policy=policy, state=qo.InterleaveState(streak), now=NOW
    )
    return [(str(c.ticket.key), c.reason.value) for c in order]


def test_sql_ranking_agrees_with_the_domain(pg_url: str) -> None:
    open_store(pg_url, kind="central").dispose()
    dsn = pg_url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(dsn, autocommit=True) as conn:

        @settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
        @given(
            generated=st.lists(tickets(), max_size=40, unique_by=lambda t: t["id"]),
            cats=st.lists(st.sampled_from("ABC"), unique=True),
            policy=policies,
            streak=st.integers(min_value=0, max_value=5),
            top=st.integers(min_value=1, max_value=6),
        )
        def check(
            generated: list[dict[str, Any]], cats: list[str], policy: qo.OrderPolicy, streak: int, top: int
        ) -> None:
            conn.execute("DELETE FROM queue_tickets")
            if generated:
                with conn.cursor() as cur:
                    cur.executemany(
                        f"INSERT INTO queue_tickets ({COLUMNS}) VALUES ({', '.join(['%s'] * 23)})",
                        _rows(generated),
                    )
            args = (WINDOW, cats, DAY, NOW, policy.normal_per_priority, policy.wait_target,
                    policy.appointment_early, policy.serve_early_appointments, streak)  # fmt: skip
            sql = "SELECT id, reason FROM queue_rank_waiting(%s, %s, %s, %s, %s, %s, %s, %s, %s) ORDER BY pos"
            got = [(str(r[0]), r[1]) for r in conn.execute(sql, args)]
            expected = _domain_order(generated, cats, policy, streak)
            assert got == expected
            # the claim asks for the first places only: each source list is cut, the places not
            cut = sql.replace("%s) ORDER BY", "%s, %s) ORDER BY")
            assert [(str(r[0]), r[1]) for r in conn.execute(cut, (*args, top))] == expected[:top]

        check()


def test_claim_takes_the_domain_first_and_keeps_the_streak(pg_url: str) -> None:
    """Calls through the function follow the domain's sequence, the interleave carried in the
    window's state from press to press (2 normal : 1 priority by default)."""
    from queue_helpers import StepClock, clerk, key

    from clerk_app.services.queue import QueueService, seed_demo_queue

    store = open_store(pg_url, kind="central")
    seed_demo_queue(store)
    svc = QueueService(store, StepClock())
    kinds = ["", "elderly", "elderly", "", "", "", "pregnant", ""]
    issued = [svc.issue("A", priority_kind=k).ticket for k in kinds]
    by_id = {t.id: t for t in issued}
    who = clerk(3)
    called = []
    while (t := svc.call_next(who, key())) is not None:
        called.append((t.number, t.call_reason, by_id[t.id].priority))
        svc.start(who, t.id, key())
        svc.finish(who, t.id, key())
    waiting = [
        qo.WaitingTicket(key=t.id, category="A", issued_at=t.issued_at, priority=t.priority) for t in issued
    ]
    expected = [
        (by_id[uuid.UUID(str(c.ticket.key))].number, c.reason.value, c.ticket.priority)
        for c in qo.rank(waiting, window=3, categories=["A"], policy=qo.OrderPolicy(),
                         state=qo.InterleaveState(), now=issued[-1].issued_at)
    ]  # fmt: skip
    assert called == expected
    assert svc._claim_fn  # the function path was used throughout
    store.dispose()


def test_claim_reaches_past_the_places_other_windows_are_claiming(pg_url: str) -> None:
    """The claim ranks the first few places first; when other windows hold every one of them
    (their claims not yet committed) it ranks more, and then all: a press behind any number of
    concurrent claims still gets the first ticket nobody holds, never one already held."""
    from queue_helpers import StepClock, clerk, key
    from sqlalchemy.engine import make_url

    from clerk_app.services.queue import QueueService, seed_demo_queue

    store = open_store(pg_url, kind="central")
    seed_demo_queue(store)
    svc = QueueService(store, StepClock())
    # a wait-time target far away: every ticket is a plain walk-in in issue order
    numbers = [svc.issue("A").ticket.number for _ in range(40)]
    url = make_url(pg_url)
    dsn = f"host={url.host} port={url.port} user={url.username} dbname={url.database}"

    def hold(count: int) -> psycopg.Connection[Any]:
        """Another window's claims under way: the first ``count`` waiting tickets locked."""
        conn = psycopg.connect(dsn)
        conn.execute(
            "SELECT id FROM queue_tickets WHERE state = 'issued' ORDER BY issued_at, id LIMIT %s FOR UPDATE",
            (count,),
        )
        return conn

    try:
        for window, held, expected in ((1, 4, 4), (2, 32, 33), (3, 36, 38)):
            holder = hold(held)
            try:
                ticket = svc.call_next(clerk(window), key())
            finally:
                holder.rollback()
                holder.close()
            assert ticket is not None and ticket.number == numbers[expected], (window, ticket)
        assert svc._claim_fn  # the function path was used throughout
    finally:
        store.dispose()


def test_unit_of_work_path_calls_the_same_sequence(pg_url: str) -> None:
    """A central store without the function (its schema older than this program) calls through
    the unit of work; on the same queue it calls the same tickets for the same reasons."""
    from queue_helpers import StepClock, clerk, key

    from clerk_app.services.queue import QueueService, seed_demo_queue

    store = open_store(pg_url, kind="central")
    seed_demo_queue(store)
    kinds = ["", "elderly", "", "", "pregnant", "", "", "elderly"]
    sequences = []
    for one_statement, window in ((True, 3), (False, 4)):
        svc = QueueService(store, StepClock())
        svc._claim_fn = one_statement
        issued = {svc.issue("A", priority_kind=k).ticket.id: n for n, k in enumerate(kinds)}
        who, called = clerk(window), []
        while (t := svc.call_next(who, key())) is not None:
            called.append((issued[t.id], t.call_reason))
            svc.start(who, t.id, key())
            svc.finish(who, t.id, key())
        sequences.append(called)
    assert sequences[0] == sequences[1] and len(sequences[0]) == len(kinds)
    store.dispose()
