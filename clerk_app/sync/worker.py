"""The background sync worker, as plain functions and a small loop with no Qt in it.

``run_round`` is one sync round (push, then pull) that reports progress, can be cancelled, and
retries while the central store is unreachable with exponential backoff and jitter (tenacity), so a
hall full of workstations does not hammer a server coming back up. ``SyncLoop`` runs rounds on its
own thread with its own connections: on change (``wake``), on a timer, and keeps the status the
status bar shows (online / offline / syncing, entries waiting, last success, clock warning). The
GUI wraps it in its task helper; nothing here blocks the GUI thread.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace

from sqlalchemy.exc import DBAPIError, OperationalError
from tenacity import (
    RetryCallState,
    Retrying,
    retry_if_exception,
    stop_after_attempt,
    wait_exponential_jitter,
)

from clerk_app.store.uow import Store
from clerk_app.sync import client
from clerk_app.sync.protocol import CentralTooOld, SyncCancelled, SyncError, UpgradeRequired

log = logging.getLogger("clerk.sync")

STATE_IDLE = "idle"
STATE_ONLINE = "online"
STATE_OFFLINE = "offline"
STATE_SYNCING = "syncing"
STATE_UPGRADE = "upgrade"
#: the central store's schema is older than this program's: the central store must be upgraded
STATE_CENTRAL_OLD = "central_old"


def is_transient(exc: BaseException) -> bool:
    """Errors of reaching the central store (worth retrying), not of what we sent."""
    if isinstance(exc, OperationalError):
        return True
    if isinstance(exc, DBAPIError) and exc.connection_invalidated:
        return True
    return isinstance(exc, ConnectionError | TimeoutError)


def _interruptible_sleep(cancel: client.Cancel) -> Callable[[float], None]:
    def sleep(seconds: float) -> None:
        end = time.monotonic() + seconds
        while True:
            if cancel():
                raise SyncCancelled()
            left = end - time.monotonic()
            if left <= 0:
                return
            time.sleep(min(left, 0.05))

    return sleep


def run_round(
    local: Store,
    central: Store,
    *,
    progress: client.Progress = client._no_progress,
    cancel: client.Cancel = client._never,
    attempts: int = 5,
    initial_wait: float = 0.5,
    max_wait: float = 30.0,
    sleep: Callable[[float], None] | None = None,
    on_retry: Callable[[int, BaseException], None] | None = None,
    batch_size: int = client.PUSH_BATCH,
    page_size: int = client.PULL_PAGE,
) -> client.RoundReport:
    """One round, retried on transient errors; raises the last error when the attempts run out."""

    def before_sleep(state: RetryCallState) -> None:
        exc = state.outcome.exception() if state.outcome else None
        if on_retry is not None and exc is not None:
            on_retry(state.attempt_number, exc)
        log.info("central store unreachable (attempt %d): %s", state.attempt_number, exc)

    retrying = Retrying(
        stop=stop_after_attempt(attempts),
        wait=wait_exponential_jitter(multiplier=initial_wait, max=max_wait, jitter=initial_wait),
        retry=retry_if_exception(is_transient),
        sleep=sleep or _interruptible_sleep(cancel),
        before_sleep=before_sleep,
        reraise=True,
    )
    for attempt in retrying:
        with attempt:
            return client.sync_round(
                local, central, progress=progress, cancel=cancel, batch_size=batch_size, page_size=page_size
            )
    raise AssertionError("unreachable")  # pragma: no cover - tenacity re-raises


@dataclass(frozen=True, slots=True)
class SyncStatus:
    state: str = STATE_IDLE
    waiting: int = 0
    last_success: dt.datetime | None = None
    last_error: str = ""
    clock_skew_ms: int = 0
    clock_warning: bool = False
    rejected_last_round: int = 0


class SyncLoop:
    """Runs rounds on its own thread: ``start()``, ``wake()`` after a local change, ``stop()``."""

    def __init__(
        self,
        local: Store,
        central: Store,
        *,
        interval: float = 30.0,
        on_status: Callable[[SyncStatus], None] | None = None,
        progress: client.Progress = client._no_progress,
        attempts: int = 3,
        initial_wait: float = 1.0,
        max_wait: float = 60.0,
    ) -> None:
        self.local = local
        self.central = central
        self.interval = interval
        self._on_status = on_status
        self._progress = progress
        self._attempts = attempts
        self._initial_wait = initial_wait
        self._max_wait = max_wait
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._status = SyncStatus(waiting=client.outbox_waiting(local))

    @property
    def status(self) -> SyncStatus:
        with self._lock:
            return self._status

    def _set(self, status: SyncStatus) -> None:
        with self._lock:
            self._status = status
        if self._on_status is not None:
            self._on_status(status)

    def step(self) -> SyncStatus:
        """One round now, on the calling thread; returns the new status (never raises)."""
        self._set(replace(self.status, state=STATE_SYNCING))
        try:
            report = run_round(
                self.local,
                self.central,
                progress=self._progress,
                cancel=self._stop.is_set,
                attempts=self._attempts,
                initial_wait=self._initial_wait,
                max_wait=self._max_wait,
            )
        except UpgradeRequired as exc:
            status = replace(self.status, state=STATE_UPGRADE, last_error=str(exc))
        except CentralTooOld as exc:
            status = replace(self.status, state=STATE_CENTRAL_OLD, last_error=str(exc))
        except SyncCancelled:
            status = replace(self.status, state=STATE_IDLE)
        except (SyncError, DBAPIError, ConnectionError, TimeoutError, OSError) as exc:
            log.warning("sync round failed: %s", exc)
            status = replace(self.status, state=STATE_OFFLINE, last_error=str(exc).splitlines()[0][:300])
        else:
            status = SyncStatus(
                STATE_ONLINE,
                report.waiting,
                report.finished_at,
                "",
                report.clock_skew_ms,
                report.clock_warning,
                report.push.rejected,
            )
        if status.state != STATE_ONLINE:
            status = replace(status, waiting=client.outbox_waiting(self.local))
        self._set(status)
        return status

    def wake(self) -> None:
        self._wake.set()

    def _run(self) -> None:
        while not self._stop.is_set():
            self.step()
            self._wake.wait(self.interval)
            self._wake.clear()

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="clerk-sync", daemon=True)
            self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None
