"""The hall display: what the board shows (``BoardMixin``) and its live feed on PostgreSQL
(LISTEN/NOTIFY on ``queue_board``, ``BoardListener``)."""

from __future__ import annotations

import logging
from collections.abc import Callable

from sqlalchemy import func, select

from clerk_app.services.queue_base import QueueBase
from clerk_app.services.queue_rules import (
    service_day,
)
from clerk_app.services.queue_views import (
    BoardRow,
    BoardView,
    T,
    _aware,
)
from clerk_app.store.models import Hall

log = logging.getLogger("clerk.queue")


class BoardMixin(QueueBase):
    """What the hall display reads from ``QueueService``."""

    def board(self, recent: int = 8) -> BoardView:
        """What the hall display shows: who is called or served at each window, the last calls,
        the waiting counts; ``marker`` changes whenever any of it may have changed."""
        now = self._clock()
        day = service_day(now)
        with self._store.unit_of_work() as uow:
            active = uow.session.execute(
                select(T.c.window_number, T.c.number, T.c.state, T.c.called_at, T.c.recall_count)
                .where(T.c.service_day == day, T.c.state.in_(("called", "serving")), T.c.offline.is_(False))
                .order_by(T.c.window_number)
            ).all()
            calls = uow.session.execute(
                select(T.c.number, T.c.window_number, T.c.called_at, T.c.recall_count)
                .where(T.c.service_day == day, T.c.called_at.is_not(None), T.c.offline.is_(False))
                .order_by(T.c.called_at.desc())
                .limit(recent)
            ).all()
            marker = uow.session.execute(
                select(func.count(), func.max(T.c.hlc)).where(T.c.service_day == day)
            ).one()
            cats = self._category_infos(uow, now, None)
            hall = uow.session.scalar(select(Hall.name).where(~Hall.deleted).limit(1)) or ""
        return BoardView(
            hall,
            tuple(
                BoardRow(r.window_number, r.number, r.state, _aware(r.called_at), r.recall_count)
                for r in active
            ),
            tuple(
                BoardRow(r.window_number, r.number, "called", _aware(r.called_at), r.recall_count)
                for r in calls
            ),
            tuple(cats),
            f"{marker[0]}:{marker[1]}",
        )

    def board_marker(self) -> str:
        """A cheap value that changes with every ticket change today (the SQLite display polls it)."""
        day = service_day(self._clock())
        with self._store.unit_of_work() as uow:
            n, last = uow.session.execute(
                select(func.count(), func.max(T.c.hlc)).where(T.c.service_day == day)
            ).one()
            return f"{n}:{last}"


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
