"""The one helper for work off the GUI thread.

* ``runner.db(fn, on_done, on_error)``: a service call on THE database worker (a pool of one
  thread, so service calls run in order and never touch the database from the GUI thread).
* ``runner.job(fn, …)``: a long job (import, report, batch print) on its own thread; ``fn``
  receives a :class:`TaskState` to report progress and to see a cancellation request.

Results and errors come back on the GUI thread through queued signals; callbacks never run on
a worker. Errors without an ``on_error`` go to the application's error reporter (one place).
"""

from __future__ import annotations

import itertools
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal, Slot
from shiboken6 import Shiboken

log = logging.getLogger("clerk.gui")

ErrorHandler = Callable[[BaseException], None]


class Cancelled(Exception):
    """Raised inside a job when the user asked to cancel it."""


@dataclass
class TaskState:
    """Handed to long jobs: report progress, check for cancellation."""

    _emit: Callable[[int, int, str], None]
    _cancel: threading.Event = field(default_factory=threading.Event)

    def progress(self, done: int, total: int, text: str = "") -> None:
        self._emit(done, total, text)

    @property
    def cancelled(self) -> bool:
        return self._cancel.is_set()

    def check(self) -> None:
        if self._cancel.is_set():
            raise Cancelled

    def cancel(self) -> None:
        self._cancel.set()


class _Relay(QObject):
    """Lives on the GUI thread; workers emit into it, it calls the callbacks there."""

    finished = Signal(int, bool, object)
    progressed = Signal(int, int, int, str)

    def __init__(self, runner: TaskRunner) -> None:
        super().__init__(runner)
        self._runner = runner
        self.finished.connect(self._on_finished)
        self.progressed.connect(self._on_progress)

    @Slot(int, bool, object)
    def _on_finished(self, task_id: int, ok: bool, payload: object) -> None:
        self._runner._complete(task_id, ok, payload)

    @Slot(int, int, int, str)
    def _on_progress(self, task_id: int, done: int, total: int, text: str) -> None:
        self._runner._progress(task_id, done, total, text)


class _Runnable(QRunnable):
    def __init__(self, relay: _Relay, task_id: int, fn: Callable[[], Any]) -> None:
        super().__init__()
        self._relay, self._id, self._fn = relay, task_id, fn

    def run(self) -> None:
        try:
            result = self._fn()
        except BaseException as exc:
            self._relay.finished.emit(self._id, False, exc)
        else:
            self._relay.finished.emit(self._id, True, result)


@dataclass
class _Pending:
    on_done: Callable[[Any], None] | None
    on_error: ErrorHandler | None
    on_progress: Callable[[int, int, str], None] | None = None
    state: TaskState | None = None
    db: bool = False


def _owner_gone(callback: Callable[..., Any] | None) -> bool:
    """A callback bound to, or a lambda closing over, a Qt object whose C++ side was deleted (its
    page or dialog closed while the work ran)."""
    owners = [getattr(callback, "__self__", None)]
    for cell in getattr(callback, "__closure__", None) or ():
        try:
            owners.append(cell.cell_contents)
        except ValueError:  # a cell not yet filled
            continue
    return any(isinstance(o, QObject) and not Shiboken.isValid(o) for o in owners)


class TaskRunner(QObject):
    busy_changed = Signal(bool)
    #: after each database task, on the GUI thread (background sync wakes on it)
    db_done = Signal()

    def __init__(self, error_handler: ErrorHandler, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._errors = error_handler
        self._db_pool = QThreadPool(self)
        self._db_pool.setMaxThreadCount(1)
        self._job_pool = QThreadPool(self)
        self._job_pool.setMaxThreadCount(2)
        self._relay = _Relay(self)
        self._ids = itertools.count(1)
        self._pending: dict[int, _Pending] = {}

    def db(
        self,
        fn: Callable[[], Any],
        on_done: Callable[[Any], None] | None = None,
        on_error: ErrorHandler | None = None,
    ) -> int:
        task_id = next(self._ids)
        self._pending[task_id] = _Pending(on_done, on_error, db=True)
        self._start(self._db_pool, task_id, fn)
        return task_id

    def job(
        self,
        fn: Callable[[TaskState], Any],
        on_done: Callable[[Any], None] | None = None,
        on_error: ErrorHandler | None = None,
        on_progress: Callable[[int, int, str], None] | None = None,
    ) -> TaskState:
        task_id = next(self._ids)
        state = TaskState(lambda d, t, s: self._relay.progressed.emit(task_id, d, t, s))
        self._pending[task_id] = _Pending(on_done, on_error, on_progress, state)
        self._start(self._job_pool, task_id, lambda: fn(state))
        return state

    def _start(self, pool: QThreadPool, task_id: int, fn: Callable[[], Any]) -> None:
        if len(self._pending) == 1:
            self.busy_changed.emit(True)
        pool.start(_Runnable(self._relay, task_id, fn))

    @property
    def busy(self) -> bool:
        return bool(self._pending)

    def _complete(self, task_id: int, ok: bool, payload: object) -> None:
        pending = self._pending.pop(task_id, None)
        if not self._pending:
            self.busy_changed.emit(False)
        if pending is None:
            return
        if pending.db:
            self.db_done.emit()
        if _owner_gone(pending.on_done if ok else pending.on_error):
            # the page or dialog that asked was closed while the work ran: nobody to tell
            log.debug("task %s finished after its widget was deleted", task_id)
            return
        if ok:
            if pending.on_done is not None:
                pending.on_done(payload)
            return
        assert isinstance(payload, BaseException)
        if isinstance(payload, Cancelled):
            log.info("task %s cancelled", task_id)
            return
        (pending.on_error or self._errors)(payload)

    def _progress(self, task_id: int, done: int, total: int, text: str) -> None:
        pending = self._pending.get(task_id)
        if pending and pending.on_progress:
            pending.on_progress(done, total, text)

    def wait_idle(self, msecs: int = 30_000) -> bool:
        """Block until the pools are empty (shutdown and tests only, never from a slot)."""
        return self._db_pool.waitForDone(msecs) and self._job_pool.waitForDone(msecs)
