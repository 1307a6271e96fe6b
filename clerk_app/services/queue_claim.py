""" "Call next" on a PostgreSQL central store in one round trip.

The press is one ``SELECT … FROM queue_claim_next(…)`` in autocommit (the function of migration
``0012_queue_claim_fn``): it checks the press key, ranks and claims the window's next ticket with
``FOR UPDATE SKIP LOCKED``, and writes the history row, the window state, the press key and the
central change-log entries, all in that one statement's transaction. What the unit of work stamps
in Python (the HLC stamps, the history row's id, the device id) is passed in.

The statement runs on an engine of its own over the same database: autocommit, no pre-ping (the
ping would be a second round trip). A connection found dead is retried once on a fresh one, which
is safe because the press is keyed: if the lost attempt committed, the retry gets its ticket.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import logging
import threading
import uuid
import weakref
from typing import Any

from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.exc import DBAPIError, IntegrityError, ProgrammingError

from clerk_app.i18n import _
from clerk_app.services.auth import UserSession
from clerk_app.services.errors import UserError
from clerk_app.services.queue_rules import QueuePolicy, service_day, target_state
from clerk_app.services.queue_views import TicketView, _is_duplicate_key
from clerk_app.store.ids import new_id
from clerk_app.store.uow import Store

log = logging.getLogger("clerk.queue")

CALL_SQL = text(
    "SELECT c.outcome, (c.ticket).* FROM queue_claim_next(:key, :window, :clerk, :clerk_name, :now, "
    ":day, :device, :ticket_hlc, :event_hlc, :event_id, :called, CAST(:defaults AS json)) AS c"
)
_CALLED = target_state("issued", "call")
_engines: weakref.WeakKeyDictionary[Engine, Engine] = weakref.WeakKeyDictionary()
_engines_lock = threading.Lock()


class ClaimUnavailable(RuntimeError):
    """The central store lacks the function (its schema is older): use the unit-of-work path."""


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


def policy_defaults(order_serve_early: bool = True) -> str:
    """The hall policy's defaults, for the keys the central setting does not give."""
    return json.dumps({**QueuePolicy().to_dict(), "serve_early": order_serve_early})


def call_next(store: Store, who: UserSession, window: int, key: str, now: dt.datetime) -> TicketView | None:
    """One "call next" press of ``window`` (already checked: role, key) as one statement."""
    params = {
        "key": key,
        "window": window,
        "clerk": who.user_id,
        "clerk_name": who.display_name,
        "now": now.astimezone(dt.UTC),
        "day": service_day(now),
        "device": store.device_id,
        "ticket_hlc": str(store.clock.now()),
        "event_hlc": str(store.clock.now()),
        "event_id": new_id(),
        "called": _CALLED,
        "defaults": policy_defaults(),
    }
    engine = claim_engine(store.engine)
    for attempt in (1, 2):
        try:
            with engine.connect() as conn:
                row = conn.execute(CALL_SQL, params).one()
            break
        except IntegrityError as exc:
            if _is_duplicate_key(exc, "uq_queue_tickets_active_window"):
                raise UserError(_("本窗口已有正在办理的号，请先办结。")) from exc
            if _is_duplicate_key(exc, "queue_requests") and attempt == 1:
                continue  # the same key committed by a concurrent press: the retry replays it
            raise
        except ProgrammingError as exc:
            if "queue_claim_next" in str(exc.orig):
                raise ClaimUnavailable(str(exc.orig)) from exc
            raise
        except DBAPIError as exc:
            if not exc.connection_invalidated or attempt == 2:
                raise
            log.warning("central connection lost during call next (%s); retrying the press", key)
    outcome = row.outcome
    if outcome == "paused":
        raise UserError(_("窗口处于暂停状态，请先恢复叫号。"))
    if outcome == "key_mismatch":
        raise ValueError(f"idempotency key reused for call_next at {window}")
    if outcome == "replayed":
        log.info("replayed press %s (call_next)", key)
    if row.id is None:
        return None
    return _ticket_view(row._mapping)


_FIELDS = [f.name for f in dataclasses.fields(TicketView)]


def _ticket_view(m: Any) -> TicketView:
    values = {name: m[name] for name in _FIELDS}
    for name in ("issued_at", "called_at", "started_at", "appointment_at"):
        if values[name] is not None:
            values[name] = values[name].astimezone(dt.UTC)
    values["id"] = uuid.UUID(str(values["id"]))
    return TicketView(**values)
