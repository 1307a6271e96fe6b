"""A press whose reply is lost: the connection drops after PostgreSQL committed the press and
before the client heard so. The retried press (same idempotency key) gets the same ticket and
nothing is done twice.

A small TCP proxy sits between the service and the server; armed, it forwards the client's
message that commits (the one-statement ``queue_claim_next`` call of "call next", the
``queue_press_ticket`` call of the presses on the window's ticket, or the COMMIT of a unit of
work) to the server and then cuts both sides instead of relaying the answer."""

from __future__ import annotations

import contextlib
import logging
import socket
import threading

import pytest
from queue_helpers import clerk, key
from sqlalchemy import func, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from clerk_app.services.queue import QueueService, seed_demo_queue
from clerk_app.services.queue_claim import claim_engine
from clerk_app.services.runtime import open_store
from clerk_app.store.engine import make_engine
from clerk_app.store.models.queue import Ticket, TicketEvent
from clerk_app.store.uow import Store

#: the simple-protocol Query message psycopg sends to commit: 'Q', length 11, "COMMIT\\0"
COMMIT_MESSAGE = b"Q\x00\x00\x00\x0bCOMMIT\x00"
#: the autocommit call of the claim function (its statement text travels in the Parse message)
CLAIM_MESSAGE = b"queue_claim_next("
PRESS_MESSAGE = b"queue_press_ticket("


class CommitCuttingProxy:
    def __init__(self, host: str, port: int, trigger: bytes = COMMIT_MESSAGE) -> None:
        self.target = (host, port)
        self.trigger = trigger
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.armed = threading.Event()
        self.cut = threading.Event()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            server = socket.create_connection(self.target)
            state = {"commit_sent": False}
            threading.Thread(target=self._pump, args=(client, server, state, True), daemon=True).start()
            threading.Thread(target=self._pump, args=(server, client, state, False), daemon=True).start()

    def _pump(self, src: socket.socket, dst: socket.socket, state: dict[str, bool], upstream: bool) -> None:
        try:
            while data := src.recv(65536):
                if upstream and self.armed.is_set() and self.trigger in data:
                    dst.sendall(data)
                    state["commit_sent"] = True
                    continue
                if not upstream and state["commit_sent"]:
                    self.armed.clear()
                    self.cut.set()
                    _drop(src, dst)
                    return
                dst.sendall(data)
        except OSError:
            pass
        finally:
            _drop(src, dst)

    def close(self) -> None:
        self.listener.close()


def _drop(*socks: socket.socket) -> None:
    """Shut down (wakes a thread blocked in recv on it), then close."""
    for s in socks:
        with contextlib.suppress(OSError):
            s.shutdown(socket.SHUT_RDWR)
        s.close()


@pytest.mark.postgres
def test_call_next_reply_lost_after_commit_is_retried_to_the_same_ticket(
    pg_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    """The one-statement call commits, its reply is cut: the service retries the keyed press
    once on a fresh connection and gets the ticket the lost attempt claimed."""
    direct = open_store(pg_url, kind="central")
    seed_demo_queue(direct)
    svc_direct = QueueService(direct)
    for _ in range(3):
        svc_direct.issue("A")
    url = make_url(pg_url)
    proxy = CommitCuttingProxy(url.host or "127.0.0.1", url.port or 5432, CLAIM_MESSAGE)
    proxied = Store(make_engine(url.set(host="127.0.0.1", port=proxy.port).render_as_string(False)),
                    direct.device_id, role="central")  # fmt: skip
    svc = QueueService(proxied)
    who = clerk(4)
    press = key()
    with claim_engine(proxied.engine).connect() as conn:  # warm the claim pool through the proxy
        conn.execute(text("SELECT 1"))
    proxy.armed.set()
    with caplog.at_level(logging.INFO, logger="clerk.queue"):
        first = svc.call_next(who, press)
    assert proxy.cut.is_set(), "the proxy cut the connection after the call"
    # the lost attempt had committed: the automatic retry found its key and replayed it
    assert any(f"replayed press {press}" in r.getMessage() for r in caplog.records)
    assert first is not None and first.number == "A001"
    with Session(direct.engine) as s:
        called = s.scalars(select(Ticket).where(Ticket.state == "called")).all()
        assert [t.number for t in called] == ["A001"]
        assert s.scalar(select(func.count()).select_from(TicketEvent).where(TicketEvent.event == "call")) == 1
    again = svc.call_next(who, press)
    assert again is not None and again.id == first.id
    proxied.dispose()
    direct.dispose()
    proxy.close()


@pytest.mark.postgres
@pytest.mark.parametrize("one_statement", [True, False], ids=["press-function", "unit-of-work"])
def test_retry_after_lost_commit_reply_returns_same_ticket(
    pg_url: str, one_statement: bool, caplog: pytest.LogCaptureFixture
) -> None:
    """Start serving, its commit reached the server and the reply was cut. Through the press
    function the service retries the keyed press by itself and replays it; through the unit of
    work the caller sees the error, and its retry with the same key gets the same ticket. Either
    way there is one start."""
    direct = open_store(pg_url, kind="central")
    seed_demo_queue(direct)
    svc_direct = QueueService(direct)
    svc_direct.issue("A")
    who = clerk(4)
    called = svc_direct.call_next(who, key())
    assert called is not None
    url = make_url(pg_url)
    proxy = CommitCuttingProxy(url.host or "127.0.0.1", url.port or 5432,
                               PRESS_MESSAGE if one_statement else COMMIT_MESSAGE)  # fmt: skip
    proxied = Store(make_engine(url.set(host="127.0.0.1", port=proxy.port).render_as_string(False)),
                    direct.device_id, role="central")  # fmt: skip
    svc = QueueService(proxied)
    svc._press_fn = one_statement
    press = key()
    svc.window_categories(4)  # warm both pools through the proxy
    with claim_engine(proxied.engine).connect() as conn:
        conn.execute(text("SELECT 1"))
    proxy.armed.set()
    if one_statement:
        with caplog.at_level(logging.INFO, logger="clerk.queue"):
            started = svc.start(who, called.id, press)
        assert any(f"replayed press {press}" in r.getMessage() for r in caplog.records)
        assert started is not None and started.state == "serving"
    else:
        with pytest.raises(DBAPIError):
            svc.start(who, called.id, press)
    assert proxy.cut.is_set(), "the proxy cut the connection after the commit"
    retried = svc.start(who, called.id, press)
    assert retried is not None and retried.state == "serving" and retried.id == called.id
    with Session(direct.engine) as s:
        starts = select(func.count()).select_from(TicketEvent).where(TicketEvent.event == "start")
        assert s.scalar(starts) == 1
    proxied.dispose()
    direct.dispose()
    proxy.close()


def test_replayed_press_on_any_store(db_url: str) -> None:
    store = open_store(db_url, kind="central")
    seed_demo_queue(store)
    svc = QueueService(store)
    svc.issue("A")
    svc.issue("A")
    who = clerk(2)
    press = key()
    first = svc.call_next(who, press)
    assert first is not None
    for _ in range(3):
        assert svc.call_next(who, press) == first
    empty = key()
    svc.start(who, first.id, key())
    svc.finish(who, first.id, key())
    second = svc.call_next(who, empty)
    assert second is not None and second.number == "A002"
    assert svc.call_next(who, empty) == second
    with pytest.raises(ValueError):
        svc.start(who, first.id, press)  # a key belongs to one press
    store.dispose()
