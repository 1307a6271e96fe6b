"""The presses on a window's ticket in one statement (``queue_press_ticket``, migration
``0015_queue_press_fn``) do exactly what the unit of work does.

Each scenario runs twice on PostgreSQL, once through the function and once through the unit of
work (the path of a central store without it), and the two must leave the same ticket, the same
history rows and the same change-log entries, refuse the same presses with the same message, and
replay a repeated key the same way. The displays are told of a press once, after its commit, and
nothing is written by a press that is refused.
"""

from __future__ import annotations

import datetime as dt
import threading
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from queue_helpers import StepClock, clerk, key
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from clerk_app.security.roles import Role
from clerk_app.services.errors import UserError
from clerk_app.services.queue import BoardListener, QueueService, seed_demo_queue
from clerk_app.services.queue_rules import QueuePolicy, service_day
from clerk_app.services.runtime import open_store
from clerk_app.store.models import ChangeLogEntry
from clerk_app.store.models.queue import Ticket, TicketEvent
from clerk_app.store.uow import Store
from clerk_app.sync.central import assign_change_log

pytestmark = pytest.mark.postgres

#: what is compared: the ticket's columns that a press changes, without ids and stamps
TICKET_COLS = ("number", "state", "window_number", "routed_window", "return_window", "recall_count",
               "called_at", "started_at", "finished_at", "routed_at", "version")  # fmt: skip


@pytest.fixture
def central(pg_url: str) -> Iterator[Store]:
    store = open_store(pg_url, kind="central")
    seed_demo_queue(store)
    yield store
    store.dispose()


def _outcome(store: Store, ticket_id: uuid.UUID) -> dict[str, Any]:
    with store.engine.connect() as conn:
        assign_change_log(conn)
    with Session(store.engine) as s:
        ticket = s.get(Ticket, ticket_id)
        assert ticket is not None
        events = s.scalars(
            select(TicketEvent).where(TicketEvent.ticket_id == ticket_id).order_by(TicketEvent.hlc)
        ).all()
        log = s.scalars(
            select(ChangeLogEntry).where(ChangeLogEntry.row_id == ticket_id).order_by(ChangeLogEntry.id)
        ).all()
        event_log = {
            e.row_id: e
            for e in s.scalars(
                select(ChangeLogEntry).where(ChangeLogEntry.table_name == "queue_ticket_events")
            )
        }
        return {
            "ticket": {c: getattr(ticket, c) for c in TICKET_COLS},
            "events": [
                (
                    e.event,
                    e.from_state,
                    e.to_state,
                    e.window_number,
                    e.clerk_id,
                    e.reason,
                    e.detail,
                    e.version,
                )
                for e in events
            ],
            # every history row went to the change log, as inserted
            "events_logged": [
                (event_log[e.id].op, event_log[e.id].payload["event"], event_log[e.id].payload["to_state"])
                for e in events
            ],
            "log": [
                (r.op, r.version, sorted(r.changed), r.payload["state"], r.payload["version"]) for r in log
            ],
            "hlc_logged": log[-1].payload["hlc"] == ticket.hlc,
        }


Scenario = Callable[[QueueService, StepClock], uuid.UUID]


def _called(svc: QueueService, window: int = 3) -> uuid.UUID:
    svc.issue("A")
    t = svc.call_next(clerk(window), key())
    assert t is not None
    return t.id


def start_finish(svc: QueueService, clock: StepClock) -> uuid.UUID:
    tid = _called(svc)
    svc.start(clerk(3), tid, key())
    done = svc.finish(clerk(3), tid, key())
    assert done is not None and done.state == "done"
    return tid


def park_and_no_show(svc: QueueService, clock: StepClock) -> uuid.UUID:
    tid = _called(svc)
    svc.start(clerk(3), tid, key())
    parked = svc.park(clerk(3), tid, key())
    assert parked is not None and parked.state == "parked"
    svc.call_back(clerk(3), tid, key())
    gone = svc.no_show(clerk(3), tid, key())
    assert gone is not None and gone.state == "no_show"
    return tid


def recall_past_limit(svc: QueueService, clock: StepClock) -> uuid.UUID:
    svc.save_policy(clerk(1, Role.SUPERVISOR), QueuePolicy(recall_limit=2))
    tid = _called(svc)
    counts = []
    for _ in range(3):
        t = svc.recall(clerk(3), tid, key())
        assert t is not None
        counts.append((t.state, t.recall_count))
    assert counts == [("called", 1), ("called", 2), ("no_show", 2)]
    return tid


def transfer_and_return(svc: QueueService, clock: StepClock) -> uuid.UUID:
    tid = _called(svc)
    svc.start(clerk(3), tid, key())
    svc.transfer(clerk(3), tid, key(), window=9, return_after=True, reason="需要核验不动产")
    at9 = svc.call_next(clerk(9), key())
    assert at9 is not None and at9.id == tid
    svc.start(clerk(9), tid, key())
    back = svc.finish(clerk(9), tid, key())  # goes back to window 3, not done
    assert back is not None and back.state == "transferred" and back.routed_window == 3
    again = svc.call_next(clerk(3), key())
    assert again is not None and again.id == tid
    svc.start(clerk(3), tid, key())
    svc.finish(clerk(3), tid, key())
    return tid


def cancel_and_call_back(svc: QueueService, clock: StepClock) -> uuid.UUID:
    waiting = svc.issue("A").ticket
    svc.cancel(clerk(4), waiting.id, " 申请人离开 ", key())  # another window may withdraw it
    tid = _called(svc)
    svc.start(clerk(3), tid, key())
    svc.park(clerk(3), tid, key())
    back = svc.call_back(clerk(3), tid, key())
    assert back is not None and back.state == "called" and back.recall_count == 0
    svc.start(clerk(3), tid, key())
    svc.finish(clerk(3), tid, key())
    return waiting.id


SCENARIOS = [start_finish, park_and_no_show, recall_past_limit, transfer_and_return, cancel_and_call_back]


@pytest.mark.parametrize("scenario", SCENARIOS, ids=lambda f: f.__name__)
def test_press_function_leaves_what_the_unit_of_work_leaves(pg_url: str, scenario: Scenario) -> None:
    results = []
    for one_statement in (True, False):
        store = open_store(pg_url, kind="central")
        with store.engine.begin() as conn:  # the same start each time
            for table in ("queue_requests", "queue_ticket_events", "queue_tickets", "queue_counters",
                          "queue_window_states", "change_log", "settings"):  # fmt: skip
                conn.execute(text(f"DELETE FROM {table}"))
        seed_demo_queue(store)
        clock = StepClock(step=dt.timedelta(0))  # the paths read the clock a different number of times
        svc = QueueService(store, clock=clock)
        svc._press_fn = one_statement
        tid = scenario(svc, clock)
        assert svc._press_fn == one_statement  # the path meant, not a fallback
        results.append(_outcome(store, tid))
        store.dispose()
    through_function, through_uow = results
    assert through_function == through_uow
    assert through_function["hlc_logged"]


def _rows(store: Store) -> tuple[int, int, int]:
    with store.engine.connect() as conn:
        return tuple(  # type: ignore[return-value]
            int(conn.execute(text(f"SELECT count(*) FROM {t}")).scalar_one())
            for t in ("queue_ticket_events", "queue_requests", "change_log")
        )


def other_number(store: Store, ticket_id: uuid.UUID) -> str:
    with Session(store.engine) as s:
        ticket = s.get(Ticket, ticket_id)
        assert ticket is not None
        return ticket.number


@pytest.mark.parametrize("one_statement", [True, False], ids=["press-function", "unit-of-work"])
def test_refused_presses_say_why_and_write_nothing(central: Store, one_statement: bool) -> None:
    svc = QueueService(central, clock=StepClock())
    svc._press_fn = one_statement
    issued = svc.issue("A").ticket
    before = _rows(central)
    with pytest.raises(UserError) as illegal:
        svc.start(clerk(3), issued.id, key())  # not called yet
    assert illegal.value.args[0].startswith("A001 号：")
    tid = _called(svc, 3)
    mid = _rows(central)
    with pytest.raises(UserError, match="状态已被其他操作改变"):
        svc.start(clerk(4), tid, key())  # another window's ticket
    with pytest.raises(UserError, match="找不到这个号"):
        svc.finish(clerk(3), uuid.uuid4(), key())
    assert _rows(central) == mid and mid != before
    svc.start(clerk(3), tid, key())
    parked = svc.park(clerk(3), tid, key())
    assert parked is not None
    other = _called(svc, 3)
    waiting = svc.issue("A").ticket
    later = _rows(central)
    with pytest.raises(UserError, match=f"本窗口的 {other_number(central, other)} 号尚未办结"):
        svc.call_back(clerk(3), tid, key())  # the window holds another ticket
    with pytest.raises(UserError) as blank:
        svc.cancel(clerk(4), waiting.id, "  ", key())  # the machine wants a reason
    assert blank.value.args[0].startswith(f"{waiting.number} 号：")
    assert _rows(central) == later
    assert svc._press_fn == one_statement
    svc.start(clerk(3), other, key())
    svc.finish(clerk(3), other, key())
    tid = svc.call_back(clerk(3), tid, key()).id  # type: ignore[union-attr]
    press = key()
    first = svc.start(clerk(3), tid, press)
    assert first is not None and first.state == "serving"
    assert svc.start(clerk(3), tid, press) == first  # the same key: the same answer, nothing more
    with pytest.raises(ValueError):
        svc.finish(clerk(3), tid, press)  # a key belongs to one press


def test_a_press_notifies_the_displays_once_after_its_commit(central: Store, pg_url: str) -> None:
    svc = QueueService(central)
    svc.issue("A")
    got: list[str] = []
    seen_called: list[bool] = []
    arrived = threading.Event()
    connected = threading.Event()

    def on_event(payload: str) -> None:
        # the press has committed when its notification arrives: the board shows it already
        seen_called.append(any(r.number == "A001" for r in svc.board().serving))
        got.append(payload)
        arrived.set()

    listener = BoardListener(pg_url, on_event, lambda ok: connected.set() if ok else None)
    listener.start()
    try:
        assert connected.wait(5)
        t = svc.call_next(clerk(5), key())
        assert t is not None
        assert arrived.wait(5)
        arrived.clear()
        svc.start(clerk(5), t.id, key())
        assert arrived.wait(5)
        deadline = dt.datetime.now() + dt.timedelta(seconds=0.5)
        while dt.datetime.now() < deadline:  # nothing more is coming
            arrived.wait(0.05)
    finally:
        listener.stop()
    assert got == ['{"window": 5, "press": "call_next"}', '{"window": 5, "press": "start"}']
    assert seen_called[0]


def test_a_workstation_of_an_earlier_release_still_notifies_the_displays(central: Store, pg_url: str) -> None:
    """It calls the function alone (no SET LOCAL, no notification of its own): the ticket
    trigger tells the displays, inside the press's transaction, as before."""
    from clerk_app.services import queue_claim

    svc = QueueService(central)
    svc.issue("A")
    got: list[str] = []
    arrived, connected = threading.Event(), threading.Event()
    listener = BoardListener(pg_url, lambda p: (got.append(p), arrived.set()),
                             lambda ok: connected.set() if ok else None)  # fmt: skip
    listener.start()
    try:
        assert connected.wait(5)
        params = {"key": key(), "window": 6, "clerk": uuid.UUID(int=6), "clerk_name": "窗口6",
                  "now": dt.datetime.now(dt.UTC), "day": service_day(dt.datetime.now(dt.UTC)),
                  "device": central.device_id, "ticket_hlc": "1-0000-x", "event_hlc": "1-0001-x",
                  "event_id": uuid.uuid4(), "called": "called",
                  "defaults": queue_claim.policy_defaults()}  # fmt: skip
        dsn = pg_url.replace("postgresql+psycopg://", "postgresql://")
        import psycopg

        with psycopg.connect(dsn, autocommit=True) as conn:
            row = conn.execute(queue_claim.CALL_SQL, params).fetchone()
        assert row is not None and row[0] == "claimed"
        assert arrived.wait(5)
    finally:
        listener.stop()
    assert '"state" : "called"' in got[0] and '"window" : 6' in got[0]


SIGNATURE = "text, text, uuid, integer, uuid, timestamptz, text, text, text, uuid, json, integer, text"


def test_a_broken_press_function_is_an_error_not_a_silent_fallback(central: Store) -> None:
    svc = QueueService(central)
    tid = _called(svc)
    with central.engine.begin() as conn:
        conn.execute(
            text(f"ALTER FUNCTION queue_press_ticket({SIGNATURE}) RENAME TO queue_press_ticket_gone")
        )
        conn.execute(text(
            "CREATE FUNCTION queue_press_ticket(p_key text, p_action text, p_ticket uuid, p_window integer, "
            "p_clerk uuid, p_now timestamptz, p_device text, p_ticket_hlc text, p_event_hlc text, "
            "p_event_id uuid, p_targets json, p_recall_limit integer, p_reason text) "
            "RETURNS TABLE (outcome text, event text, from_state text, ticket queue_tickets) "
            "LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'broken'; END $$"
        ))  # fmt: skip
    with pytest.raises(Exception, match="broken"):
        svc.start(clerk(3), tid, key())
    assert svc._press_fn
    with central.engine.begin() as conn:  # an older central store: no function at all
        conn.execute(text(f"DROP FUNCTION queue_press_ticket({SIGNATURE})"))
    started = svc.start(clerk(3), tid, key())
    assert started is not None and started.state == "serving" and not svc._press_fn
