"""Background sync in the workstation, and what the status bar shows of it.

``SyncController`` runs ``clerk_app.sync.worker.SyncLoop`` rounds on a QThread of its own, with
connections of its own (``clerk_app.services.sync.open_sync_stores``): never on the GUI thread,
never on the database worker. A round runs at start, on a timer, when asked ("sync now"), and
shortly after a local commit (the task runner's ``db_done``) when the outbox has entries waiting.
The status and the progress come back by signal.

``SyncIndicator`` turns the status into the central-store label of the status bar (online /
offline / syncing / upgrade needed, entries waiting, last success, clock offset) and a progress bar
for a sync of many entries.
"""

from __future__ import annotations

import datetime as dt
import functools
import logging
import threading
from collections.abc import Callable
from dataclasses import replace

from PySide6.QtCore import QObject, QThread, QTimer, Signal
from PySide6.QtWidgets import QLabel, QProgressBar

from clerk_app.domain.halltime import HALL_TZ, hall_now
from clerk_app.i18n import _
from clerk_app.services.runtime import Runtime
from clerk_app.services.sync import open_sync_stores
from clerk_app.store.uow import Store
from clerk_app.sync import client
from clerk_app.sync.worker import (
    STATE_CENTRAL_OLD,
    STATE_IDLE,
    STATE_OFFLINE,
    STATE_ONLINE,
    STATE_SYNCING,
    STATE_UPGRADE,
    SyncLoop,
    SyncStatus,
)

log = logging.getLogger("clerk.sync")

SYNC_INTERVAL_S = 30.0
#: a local commit wakes the sync this long after the last one (a burst of commits, one round)
WAKE_DELAY_MS = 1500
#: the progress bar appears for a sync of at least this many entries
PROGRESS_MIN_ENTRIES = 50

StoreOpener = Callable[[], tuple[Store, Store]]

#: threads still busy when their controller was stopped (a connection attempt that has not timed
#: out yet): kept referenced so that Qt never destroys a running thread
_finishing: list[QThread] = []


class _SyncThread(QThread):
    status = Signal(object)
    progressed = Signal(str, int, int)

    def __init__(self, opener: StoreOpener, interval: float, attempts: int, initial_wait: float) -> None:
        super().__init__()
        self.setObjectName("clerkSyncThread")
        self._opener = opener
        self._interval = interval
        self._attempts = attempts
        self._initial_wait = initial_wait
        self._wake = threading.Event()
        self._full = threading.Event()
        self._stopping = threading.Event()
        self._lock = threading.Lock()
        self._loop: SyncLoop | None = None

    def wake(self, *, full: bool) -> None:
        if full:
            self._full.set()
        self._wake.set()

    def request_stop(self) -> None:
        self._stopping.set()
        self._wake.set()
        with self._lock:
            loop = self._loop
        if loop is not None:
            loop.stop(timeout=0)  # cancels a round in progress (and its backoff waits)

    def run(self) -> None:
        try:
            local, central = self._opener()
        except Exception as exc:  # never let the thread die silently
            log.exception("sync stores could not be opened")
            self.status.emit(SyncStatus(STATE_OFFLINE, last_error=str(exc)[:300]))
            return
        try:
            self._serve(local, central)
        finally:
            local.dispose()
            central.dispose()

    def _serve(self, local: Store, central: Store) -> None:
        loop = SyncLoop(
            local,
            central,
            interval=self._interval,
            on_status=self.status.emit,
            progress=self.progressed.emit,
            attempts=self._attempts,
            initial_wait=self._initial_wait,
        )
        with self._lock:
            self._loop = loop
        if self._stopping.is_set():
            return
        self.status.emit(loop.status)
        full = True
        while not self._stopping.is_set():
            try:
                if full or client.outbox_waiting(local) > 0:
                    loop.step()
            except Exception as exc:  # a bug in a round must not end background sync
                log.exception("sync round failed unexpectedly")
                self.status.emit(replace(loop.status, state=STATE_OFFLINE, last_error=str(exc)[:300]))
            woke = self._wake.wait(self._interval)
            self._wake.clear()
            full = not woke or self._full.is_set()
            self._full.clear()


class SyncController(QObject):
    """Owns the sync thread of one signed-in workstation: ``start()``, ``sync_now()``,
    ``local_changed()`` (after a local commit), ``stop()``."""

    status_changed = Signal(object)
    #: phase ("push" / "pull"), done, total
    progress = Signal(str, int, int)

    def __init__(
        self,
        runtime: Runtime | None,
        parent: QObject | None = None,
        *,
        interval: float = SYNC_INTERVAL_S,
        wake_delay_ms: int = WAKE_DELAY_MS,
        opener: StoreOpener | None = None,
        attempts: int = 3,
        initial_wait: float = 1.0,
    ) -> None:
        super().__init__(parent)
        self.runtime = runtime
        self.status = SyncStatus()
        if opener is None:
            if runtime is None:
                raise ValueError("a runtime or a store opener is needed")
            opener = functools.partial(open_sync_stores, runtime)
        self._thread = _SyncThread(opener, interval, attempts, initial_wait)
        self._thread.status.connect(self._on_status)
        self._thread.progressed.connect(self.progress)
        self._debounce = QTimer(self)
        self._debounce.setSingleShot(True)
        self._debounce.setInterval(wake_delay_ms)
        self._debounce.timeout.connect(lambda: self._thread.wake(full=False))
        self._started = False

    def start(self) -> None:
        if not self._started:
            self._started = True
            self._thread.start()

    def sync_now(self) -> None:
        self._thread.wake(full=True)

    def local_changed(self) -> None:
        if self._started:
            self._debounce.start()

    @property
    def running(self) -> bool:
        return self._thread.isRunning()

    def stop(self, wait_ms: int = 15_000) -> None:
        self._debounce.stop()
        if not self._started:
            return
        self._started = False
        self._thread.request_stop()
        if not self._thread.wait(wait_ms):
            log.warning("sync thread still busy after %d ms; it ends on its own", wait_ms)
            _finishing.append(self._thread)  # never destroyed while it runs (kept until exit)

    def _on_status(self, status: SyncStatus) -> None:
        if not self._started:
            return  # stopped: a late report of the thread changes nothing on screen
        self.status = status
        self.status_changed.emit(status)


# --- the status bar -----------------------------------------------------------------------


def _when(moment: dt.datetime) -> str:
    local = moment.astimezone(HALL_TZ)
    if local.date() == hall_now().date():
        return local.strftime("%H:%M:%S")
    return local.strftime("%m-%d %H:%M")


def describe(status: SyncStatus, *, embedded: bool) -> tuple[str, str]:
    """(label text, object name for the style sheet) of a sync status."""
    if status.state == STATE_ONLINE:
        text = _("中心库：在线（本机嵌入式）") if embedded else _("中心库：在线")
        style = "statusOnline"
    elif status.state == STATE_SYNCING:
        text, style = _("中心库：同步中…"), "statusSyncing"
    elif status.state == STATE_UPGRADE:
        text, style = _("中心库：需要升级本程序"), "statusOffline"
    elif status.state == STATE_CENTRAL_OLD:
        text, style = _("中心库：版本低于本程序，请先升级中心库"), "statusOffline"
    elif status.state == STATE_OFFLINE:
        text, style = _("中心库：离线，本机继续工作"), "statusOffline"
    else:
        text, style = _("中心库：检测中…"), "statusSyncing"
    parts = [text]
    if status.waiting:
        parts.append(_("待上传 {n} 条").format(n=status.waiting))
    if status.last_success is not None:
        parts.append(_("上次同步 {time}").format(time=_when(status.last_success)))
    if status.clock_warning:
        parts.append(_("本机时钟偏差 {seconds:+.0f} 秒").format(seconds=status.clock_skew_ms / 1000))
    if status.rejected_last_round:
        parts.append(_("{n} 条修改未被采用").format(n=status.rejected_last_round))
    return " · ".join(parts), style


def tooltip(status: SyncStatus) -> str:
    lines = [_("本机时钟与中心库相差 {seconds:+.1f} 秒").format(seconds=status.clock_skew_ms / 1000)]
    if status.last_error:
        lines.append(status.last_error)
    if status.state == STATE_IDLE:
        lines = [_("尚未与中心库同步")]
    return "\n".join(lines)


class SyncIndicator(QObject):
    """Keeps the status-bar label and progress bar in step with a ``SyncController``."""

    def __init__(self, controller: SyncController, label: QLabel, *, embedded: bool) -> None:
        super().__init__(label)
        self.label = label
        self.embedded = embedded
        self.progress_bar = QProgressBar()
        self.progress_bar.setObjectName("syncProgress")
        self.progress_bar.setMaximumWidth(180)
        self.progress_bar.setTextVisible(True)
        self.progress_bar.hide()
        controller.status_changed.connect(self.show_status)
        controller.progress.connect(self.show_progress)
        self.show_status(controller.status)

    def show_status(self, status: SyncStatus) -> None:
        text, style = describe(status, embedded=self.embedded)
        self.label.setText(text)
        self.label.setToolTip(tooltip(status))
        if self.label.objectName() != style:
            self.label.setObjectName(style)
            self.label.style().unpolish(self.label)
            self.label.style().polish(self.label)
        if status.state != STATE_SYNCING:
            self.progress_bar.hide()

    def show_progress(self, phase: str, done: int, total: int) -> None:
        if total < PROGRESS_MIN_ENTRIES or done >= total:
            self.progress_bar.hide()
            return
        self.progress_bar.setRange(0, total)
        self.progress_bar.setValue(done)
        self.progress_bar.setFormat(_("上传 %v/%m") if phase == "push" else _("下载 %v/%m"))
        self.progress_bar.show()
