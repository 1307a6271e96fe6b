"""The hall display's live feed on PostgreSQL (LISTEN/NOTIFY on ``queue_board``)."""

from __future__ import annotations

import logging
from collections.abc import Callable

log = logging.getLogger("clerk.queue")


class BoardListener:
    """Follows the hall queue on PostgreSQL by LISTEN/NOTIFY (the ``queue_board`` channel filled
    by a trigger on ``queue_tickets``), on its own thread and connection, reconnecting by itself
    after a dropped connection. ``on_event`` gets each payload; ``on_status`` True/False as the
    connection comes and goes (after a reconnect the display refreshes fully: it may have missed
    notifications meanwhile)."""

    CHANNEL = "queue_board"

    def __init__(
        self,
        url: str,
        on_event: Callable[[str], None],
        on_status: Callable[[bool], None],
        *,
        retry_seconds: float = 1.0,
    ) -> None:
        import threading

        from sqlalchemy.engine import make_url

        self._dsn = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
        self._on_event, self._on_status = on_event, on_status
        self._retry = retry_seconds
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="queue-board-listener", daemon=True)
        self.backend_pid: int | None = None

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def _run(self) -> None:
        import psycopg

        while not self._stop.is_set():
            try:
                with psycopg.connect(self._dsn, autocommit=True, connect_timeout=3) as conn:
                    conn.execute(f"LISTEN {self.CHANNEL}")
                    self.backend_pid = conn.info.backend_pid
                    self._on_status(True)
                    while not self._stop.is_set():
                        for note in conn.notifies(timeout=0.5, stop_after=1):
                            self._on_event(note.payload)
                        conn.execute("SELECT 1")  # notices a dead connection between notifications
            except psycopg.Error as exc:
                log.warning("board listener lost its connection: %s", exc)
            self.backend_pid = None
            if not self._stop.is_set():
                self._on_status(False)
                self._stop.wait(self._retry)
