""" "Call next" and the presses on the window's own ticket, on a PostgreSQL central store, in
one round trip each.

The press is one ``SELECT … FROM queue_claim_next(…)`` in autocommit (the function of migration
``0012_queue_claim_fn``): it checks the press key, ranks and claims the window's next ticket with
``FOR UPDATE SKIP LOCKED``, and writes the history row, the window state, the press key and the
central change-log entries, all in that one statement's transaction. What the unit of work stamps
in Python (the HLC stamps, the history row's id, the device id) is passed in.

The statement runs on an engine of its own over the same database: autocommit, no pre-ping (the
ping would be a second round trip). A connection found dead is retried once on a fresh one, which
is safe because the press is keyed: if the lost attempt committed, the retry gets its ticket.

The hall displays are told of the press by a ``NOTIFY`` sent with it, in the same message:
``BEGIN; SET LOCAL clerk.board_notify = 'client'; <press>; COMMIT; <notify>`` (the setting tells
the ticket trigger not to notify inside the press; the notification is a transaction of its own
after the press has committed, itself committed without waiting for the disk). Notifying inside the press's
transaction would make every window's commit wait for every other's (see
``0015_queue_press_fn``). The server runs the whole message without waiting for the client in
between; the values are bound here (psycopg's ``ClientCursor``) as the simple protocol wants.

开始办理, 办结, 重呼, 过号, 挂起, 叫回 and 取消 go through ``queue_press_ticket`` (migration
``0015_queue_press_fn``) the same way; where each press may lead from each ticket state is taken
from the ticket state machine here and passed in, so the function holds no rules of its own.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import json
import logging
import threading
import uuid
import weakref
from typing import Any

import psycopg
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.exc import DBAPIError

from clerk_app.domain import ticket_states as ts
from clerk_app.services.auth import UserSession
from clerk_app.services.queue_base import window_occupied, window_paused
from clerk_app.services.queue_rules import QueuePolicy, service_day, target_state, verdict
from clerk_app.services.queue_views import TicketView
from clerk_app.store.ids import new_id
from clerk_app.store.uow import Store

log = logging.getLogger("clerk.queue")

#: the ticket's fields a ``TicketView`` shows (the rest need not travel back)
_VIEW_COLUMNS = (
    "id", "number", "category", "state", "priority", "priority_kind", "window_number", "routed_window",
    "return_window", "recall_count", "issued_at", "called_at", "started_at", "appointment_at", "case_ref",
    "call_reason", "offline",
)  # fmt: skip
CALL_SQL = (
    "SELECT c.outcome, "
    + ", ".join(f"(c.ticket).{name}" for name in _VIEW_COLUMNS)
    + " FROM queue_claim_next(%(key)s, %(window)s, %(clerk)s, %(clerk_name)s, %(now)s, %(day)s, "
    "%(device)s, %(ticket_hlc)s, %(event_hlc)s, %(event_id)s, %(called)s, %(defaults)s::json) AS c"
)
_CALLED = target_state("issued", "call")
PRESS_SQL = (
    "SELECT p.outcome, p.event, p.from_state, "
    + ", ".join(f"(p.ticket).{name}" for name in _VIEW_COLUMNS)
    + " FROM queue_press_ticket(%(key)s, %(action)s, %(ticket)s, %(window)s, %(clerk)s, %(now)s, "
    "%(device)s, %(ticket_hlc)s, %(event_hlc)s, %(event_id)s, %(targets)s::json, %(recall_limit)s, "
    "%(reason)s) AS p"
)
#: the displays' notification, a transaction of its own that need not wait for the disk (a
#: notification is never kept across a server restart anyway)
NOTIFY_SQL = "SELECT set_config('synchronous_commit', 'off', true), pg_notify('queue_board', %(notice)s)"


def _script(sql: str) -> str:
    """``sql`` in its transaction (the ticket trigger told not to notify), then the notification."""
    return f"BEGIN; SET LOCAL clerk.board_notify = 'client'; {sql}; COMMIT; {NOTIFY_SQL}"


CALL_SCRIPT = _script(CALL_SQL)
PRESS_SCRIPT = _script(PRESS_SQL)

#: the presses ``queue_press_ticket`` carries out, and the events each may become with the reason
#: it is recorded with (办结 of a ticket transferred here with a return sends it back; a recall past
#: the limit is a no-show; None: the reason the clerk gave)
PRESS_EVENTS: dict[str, tuple[tuple[str, str | None], ...]] = {
    "start": (("start", ""),),
    "finish": (("finish", ""), ("transfer", "return")),
    "recall": (("recall", ""), ("no_show", "recall_limit")),
    "no_show": (("no_show", ""),),
    "park": (("park", ""),),
    "call_back": (("call_back", ""),),
    "cancel": (("cancel", None),),
}
_engines: weakref.WeakKeyDictionary[Engine, Engine] = weakref.WeakKeyDictionary()
_engines_lock = threading.Lock()


class ClaimUnavailable(RuntimeError):
    """The central store lacks the function (its schema is older): use the unit-of-work path."""


class PressRefused(Exception):
    """The press does not apply to the ticket as it is now: ``reason`` is ``illegal`` (the state
    machine forbids it from ``from_state``), ``moved`` (another press changed it), ``missing``, or
    ``busy`` (叫回 while the window holds ticket ``number``)."""

    def __init__(self, reason: str, event: str, from_state: str | None, number: str | None) -> None:
        super().__init__(reason)
        self.reason, self.event, self.from_state, self.number = reason, event, from_state, number


def claim_engine(engine: Engine) -> Engine:
    """The autocommit, ping-free engine beside ``engine`` (disposed with it)."""
    with _engines_lock:
        found = _engines.get(engine)
        if found is None:
            pool = engine.pool
            size = pool.size() if hasattr(pool, "size") else 5
            found = create_engine(
                engine.url,
                isolation_level="AUTOCOMMIT",
                pool_pre_ping=False,
                pool_size=size,
                max_overflow=getattr(pool, "_max_overflow", 10),
            )
            _engines[engine] = found
            event.listen(engine, "engine_disposed", lambda _e, c=found: c.dispose())
        return found


@functools.cache
def policy_defaults(order_serve_early: bool = True) -> str:
    """The hall policy's defaults, for the keys the central setting does not give."""
    return json.dumps({**QueuePolicy().to_dict(), "serve_early": order_serve_early})


def call_next(store: Store, who: UserSession, window: int, key: str, now: dt.datetime) -> TicketView | None:
    """One "call next" press of ``window`` (already checked: role, key) as one statement."""
    params = {
        **_stamped(store, who, window, key, now),
        "clerk_name": who.display_name,
        "day": service_day(now),
        "called": _CALLED,
        "defaults": policy_defaults(),
    }
    row = _run(store, CALL_SCRIPT, params, "queue_claim_next", key, window, "call_next")
    outcome = row["outcome"]
    if outcome == "paused":
        raise window_paused()
    if outcome == "key_mismatch":
        raise ValueError(f"idempotency key reused for call_next at {window}")
    if outcome == "replayed":
        log.info("replayed press %s (call_next)", key)
    if row["id"] is None:
        return None
    return _ticket_view(row)


def _stamped(store: Store, who: UserSession, window: int, key: str, now: dt.datetime) -> dict[str, Any]:
    """The parameters every press takes: its key, who and where, and what the unit of work would
    stamp in Python (the time, the device, the HLC stamps of the ticket and of its history row,
    the history row's id)."""
    return {
        "key": key,
        "window": window,
        "clerk": who.user_id,
        "now": now.astimezone(dt.UTC),
        "device": store.device_id,
        "ticket_hlc": str(store.clock.now()),
        "event_hlc": str(store.clock.now()),
        "event_id": new_id(),
    }


def _run(
    store: Store, script: str, params: dict[str, Any], function: str, key: str, window: int, action: str
) -> dict[str, Any]:
    """Run one keyed press statement in autocommit and notify the displays after its commit; a
    dropped connection is retried once (the key makes the retry return what the first attempt
    did, if it committed). Database errors come out as SQLAlchemy's, as from any other call."""
    engine = claim_engine(store.engine)
    notice = json.dumps({"window": window, "press": action})
    for attempt in (1, 2):
        with engine.connect() as conn:
            raw = conn.connection.driver_connection
            assert isinstance(raw, psycopg.Connection)
            try:
                return _execute(raw, script, params, notice)
            except psycopg.errors.UniqueViolation as exc:
                constraint = exc.diag.constraint_name or ""
                if constraint == "uq_queue_tickets_active_window":
                    raise window_occupied() from exc
                if constraint == "pk_queue_requests" and attempt == 1:
                    continue  # the same key committed by a concurrent press: the retry replays it
                raise _wrapped(script, params, exc) from exc
            except psycopg.errors.UndefinedFunction as exc:
                # a central store without the function (not a call inside it that failed)
                if (exc.diag.message_primary or "").startswith(f"function {function}("):
                    raise ClaimUnavailable(str(exc)) from exc
                raise _wrapped(script, params, exc) from exc
            except psycopg.OperationalError as exc:
                conn.invalidate()
                if attempt == 2:
                    raise _wrapped(script, params, exc, invalidated=True) from exc
                log.warning("central connection lost during %s (%s); retrying the press", function, key)
            except psycopg.Error as exc:
                raise _wrapped(script, params, exc) from exc
    raise AssertionError("unreachable")


def _execute(
    raw: psycopg.Connection[Any], script: str, params: dict[str, Any], notice: str
) -> dict[str, Any]:
    """The press, its commit, and then the displays' notification as a transaction of its own:
    one message to the server (simple query protocol, values bound here), one answer back."""
    cur = psycopg.ClientCursor(raw)
    try:
        cur.execute(script, {**params, "notice": notice})
        # the answers of BEGIN, the press, COMMIT and the notification: the press's is the one
        # whose first column is its outcome (read from the result itself: no column objects)
        while True:
            result = cur.pgresult
            if result is not None and result.nfields and result.fname(0) == b"outcome":
                break
            if not cur.nextset():
                raise RuntimeError("the press statement returned no row")
        names = [(result.fname(i) or b"").decode() for i in range(result.nfields)]
        row = cur.fetchone()
    except BaseException:
        if raw.info.transaction_status == psycopg.pq.TransactionStatus.INERROR:
            raw.execute("ROLLBACK")  # the press failed inside its BEGIN: nothing was written
        raise
    finally:
        cur.close()
    assert row is not None
    return dict(zip(names, row, strict=True))


def _wrapped(sql: str, params: dict[str, Any], exc: psycopg.Error, *, invalidated: bool = False) -> Exception:
    """``exc`` as SQLAlchemy raises it (the callers tell an unreachable store by those classes)."""
    return DBAPIError.instance(sql, params, exc, psycopg.Error, connection_invalidated=invalidated)


_targets_cache: dict[tuple[str, str, bool], str] = {}


def event_reason(action: str, event: str, given: str) -> str:
    """The reason ``event`` of ``action`` is recorded with (the clerk's own, where it takes one)."""
    reason = dict(PRESS_EVENTS[action]).get(event, "")
    return given if reason is None else reason


def press_targets(action: str, role: str, reason: str = "") -> str:
    """JSON ``{event: {from_state: to_state}}`` of every transition ``action`` may make for
    ``role`` (with the reason given, where the press takes one), from the ticket state machine."""
    key = (action, role, bool(reason))
    found = _targets_cache.get(key)
    if found is None:
        table: dict[str, dict[str, str]] = {}
        for event, _fixed in PRESS_EVENTS[action]:
            table[event] = {}
            for state in ts.TicketState:
                answer = verdict(state.value, event, role, event_reason(action, event, reason))
                if answer.allowed and answer.target is not None:
                    table[event][state.value] = str(answer.target)
        found = _targets_cache[key] = json.dumps(table, sort_keys=True)
    return found


def press(
    store: Store,
    who: UserSession,
    window: int,
    key: str,
    action: str,
    ticket_id: uuid.UUID,
    now: dt.datetime,
    reason: str = "",
) -> TicketView | None:
    """One press on ``ticket_id`` (``action`` in ``PRESS_EVENTS``) as one statement; raises
    ``PressRefused`` when it does not apply to the ticket as it is now (nothing written)."""
    params = {
        **_stamped(store, who, window, key, now),
        "action": action,
        "ticket": ticket_id,
        "targets": press_targets(action, who.role.value, reason),
        "recall_limit": QueuePolicy().recall_limit,
        "reason": reason,
    }
    row = _run(store, PRESS_SCRIPT, params, "queue_press_ticket", key, window, action)
    outcome = row["outcome"]
    if outcome == "key_mismatch":
        raise ValueError(f"idempotency key reused for {action} at {window}")
    if outcome in ("illegal", "moved", "missing", "busy"):
        raise PressRefused(outcome, row["event"], row["from_state"], row["number"])
    if outcome == "replayed":
        log.info("replayed press %s (%s)", key, action)
    if row["id"] is None:
        return None
    return _ticket_view(row)


_FIELDS = [f.name for f in dataclasses.fields(TicketView)]


def _ticket_view(m: dict[str, Any]) -> TicketView:
    values = {name: m[name] for name in _FIELDS}
    for name in ("issued_at", "called_at", "started_at", "appointment_at"):
        if values[name] is not None:
            values[name] = values[name].astimezone(dt.UTC)
    values["id"] = uuid.UUID(str(values["id"]))
    return TicketView(**values)
