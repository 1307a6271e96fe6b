"""Helpers of the sync tests: rows and counts, numbering the central change log, and a TCP
proxy with faults between a workstation and PostgreSQL. Imported as ``sync_helpers`` (a name no
other test directory uses), not from ``conftest``."""

from __future__ import annotations

import socket
import threading
from typing import Any

from sqlalchemy import column, func, select, table
from sqlalchemy.orm import Session

from clerk_app.store.engine import is_sqlite
from clerk_app.store.models import ChangeLogEntry, Hall, OutboxEntry
from clerk_app.store.uow import Store
from clerk_app.sync import central as central_side


def add_hall(store: Store, code: str, name: str = "大厅") -> Hall:
    with store.unit_of_work() as uow:
        hall = Hall(code=code, name=name, authority="审批局")
        uow.session.add(hall)
        uow.commit()
    return hall


def count(store: Store, model: type) -> int:
    with Session(store.engine) as session:
        return int(session.scalar(select(func.count()).select_from(model)) or 0)


def outbox(store: Store) -> int:
    return count(store, OutboxEntry)


def number_log(central: Store) -> None:
    """Number the committed change-log entries, as a pull does first (PostgreSQL; on SQLite a
    writer numbers its own)."""
    with central.engine.connect() as conn:
        central_side.assign_change_log(conn)


#: PostgreSQL keeps the change log's numbers in a table of their own (0018_change_log_order)
_ORDER = table("change_log_order", column("seq"), column("id"))


def numbered_log(central: Store) -> list[Any]:
    """The numbered change-log entries (``seq``, ``op``, ``changed``, ``source``, ``payload``) in
    number order, as stored (no numbering done here)."""
    log = ChangeLogEntry
    fields = (log.op, log.changed, log.source, log.payload)
    if is_sqlite(central.engine):
        stmt = select(log.seq, *fields).where(log.seq.is_not(None)).order_by(log.seq)
    else:
        stmt = select(_ORDER.c.seq, *fields).join(log, log.id == _ORDER.c.id).order_by(_ORDER.c.seq)
    with Session(central.engine) as session:
        return list(session.execute(stmt).all())


def unnumbered(central: Store) -> int:
    """How many change-log entries wait for their numbers (PostgreSQL; none on SQLite)."""
    return count(central, ChangeLogEntry) - len(numbered_log(central))


# --- a TCP proxy between a workstation and PostgreSQL, with faults --------------------------


class FaultProxy:
    """Forwards 127.0.0.1:<port> to PostgreSQL. Modes: ``forward``; ``refuse`` (nothing listens);
    ``blackhole`` (accepts, never answers); ``drop_commit_reply`` (forwards a COMMIT, waits for the
    server's answer, then cuts the client off without it: the acknowledgement is lost)."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self.mode = "forward"
        self.commits_dropped = 0
        self._held: list[socket.socket] = []
        self._listener: socket.socket | None = None
        self.port = 0
        self._open_listener()

    def _open_listener(self) -> None:
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(16)
        self.port = listener.getsockname()[1]
        self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def set_mode(self, mode: str) -> None:
        if mode == "refuse" and self._listener is not None:
            self._listener.close()
            self._listener = None
        elif mode != "refuse" and self._listener is None:
            self._open_listener()
        self.mode = mode

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client_sock, _ = listener.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(client_sock,), daemon=True).start()

    def _serve(self, client_sock: socket.socket) -> None:
        if self.mode == "blackhole":
            self._held.append(client_sock)  # keep the socket open, answer nothing
            return
        try:
            server = socket.create_connection(self.target)
        except OSError:
            client_sock.close()
            return
        cut = threading.Event()
        answered = threading.Event()

        def up() -> None:
            try:
                while data := client_sock.recv(65536):
                    if self.mode == "drop_commit_reply" and b"COMMIT" in data:
                        cut.set()  # from now on nothing goes back to the client
                        server.sendall(data)
                        answered.wait(10)  # ``down`` saw the server answer: committed
                        self.commits_dropped += 1
                        break
                    if self.mode == "blackhole":
                        cut.wait()
                    server.sendall(data)
            except OSError:
                pass
            client_sock.close()
            server.close()

        def down() -> None:
            # only this thread reads the server: the COMMIT's answer (CommandComplete "COMMIT")
            # cannot slip through to the client while another thread waits for it
            held = b""
            try:
                while data := server.recv(65536):
                    if cut.is_set():
                        held += data
                        if b"COMMIT\x00" in held or b"ROLLBACK\x00" in held:
                            break
                        continue
                    client_sock.sendall(data)
            except OSError:
                pass
            answered.set()
            client_sock.close()

        threading.Thread(target=up, daemon=True).start()
        threading.Thread(target=down, daemon=True).start()

    def close(self) -> None:
        if self._listener is not None:
            self._listener.close()
        for sock in self._held:
            sock.close()
