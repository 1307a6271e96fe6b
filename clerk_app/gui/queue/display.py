"""The hall display (``clerk-app display``): now serving per window in large type, the last
calls, the waiting counts and a clock; each new call is shown in a banner and announced aloud.

It follows the queue by PostgreSQL LISTEN/NOTIFY (reconnecting by itself) with a slow safety
poll, or by polling a cheap change marker twice a second on the SQLite central store.
"""

from __future__ import annotations

import datetime as dt
import logging

from PySide6.QtCore import QObject, Qt, QTimer, Signal
from PySide6.QtGui import QCloseEvent
from PySide6.QtWidgets import (
    QHeaderView,
    QLabel,
    QListWidget,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from clerk_app.gui.forms import child, load_form, style_sheet
from clerk_app.gui.queue import while_alive
from clerk_app.gui.queue.speech import Announcer
from clerk_app.gui.tasks import TaskRunner
from clerk_app.i18n import _
from clerk_app.services.queue import BoardListener, BoardRow, BoardView, QueueService
from clerk_app.services.queue_rules import CHINA

log = logging.getLogger("clerk.queue")

POLL_MS = 500
SAFETY_POLL_MS = 10_000


def call_text(number: str, window: int | None) -> str:
    return _("请 {number} 号到 {window} 号窗口办理").format(number=number, window=window)


def _call_key(row: BoardRow) -> tuple[str, str, int]:
    return row.number, row.called_at.isoformat() if row.called_at else "", row.recall_count


class _Relay(QObject):
    """Carries the listener thread's callbacks onto the GUI thread."""

    notified = Signal(str)
    status = Signal(bool)


class HallDisplay(QWidget):
    refreshed = Signal(object)

    def __init__(
        self,
        service: QueueService,
        tasks: TaskRunner,
        announcer: Announcer,
        *,
        listen_url: str | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.service, self.tasks, self.announcer = service, tasks, announcer
        if announcer.parent() is None:
            announcer.setParent(self)  # its calls end with the display
        self.setObjectName("HallDisplayFace")
        form = load_form("display.ui", self)
        form.setStyleSheet(style_sheet("display.qss"))
        box = QVBoxLayout(self)
        box.setContentsMargins(0, 0, 0, 0)
        box.addWidget(form)
        inner = form.layout()
        if inner is not None:
            inner.setContentsMargins(36, 24, 36, 24)
        self.form = form
        self.hall = child(form, QLabel, "hallName")
        self.clock = child(form, QLabel, "clockLabel")
        self.banner = child(form, QLabel, "callBanner")
        self.table = child(form, QTableWidget, "servingTable")
        self.recent = child(form, QListWidget, "recentList")
        self.waiting = child(form, QLabel, "waitingLabel")
        self.notice = child(form, QLabel, "noticeLabel")
        self._setup_table()
        self._seen: set[tuple[str, str, int]] | None = None
        self._marker = ""
        self._loading = False
        self._again = False
        self.online = True
        self._timers()
        self.listener: BoardListener | None = None
        if listen_url:
            self._relay = _Relay(self)
            self._relay.notified.connect(lambda _payload: self.refresh())
            self._relay.status.connect(self._listener_status)
            self.listener = BoardListener(listen_url, self._relay.notified.emit, self._relay.status.emit)
            self.listener.start()
        if not announcer.available:
            self.notice.setText(_("本机没有可用的语音引擎，叫号仅以文字显示。"))
        announcer.started.connect(self._announcing)
        self.refresh()

    def _setup_table(self) -> None:
        self.table.setHorizontalHeaderLabels([_("窗口"), _("号码"), _("窗口"), _("号码")])
        self.table.verticalHeader().setVisible(False)
        self.table.verticalHeader().setDefaultSectionSize(84)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)

    def _timers(self) -> None:
        self._clock_timer = QTimer(self)
        self._clock_timer.timeout.connect(self._tick)
        self._clock_timer.start(1000)
        self._tick()
        self._poll = QTimer(self)
        self._poll.timeout.connect(self._poll_marker)

    def start_polling(self, every_ms: int = POLL_MS) -> None:
        self._poll.start(every_ms)

    def _tick(self) -> None:
        self.clock.setText(dt.datetime.now(CHINA).strftime("%Y-%m-%d  %H:%M:%S"))

    @while_alive
    def _listener_status(self, connected: bool) -> None:
        self.online = connected
        self.notice.setText("" if connected else _("与中心库的连接中断，正在重连…"))
        if connected:
            self.refresh()

    @while_alive
    def _poll_marker(self) -> None:
        if self._loading:
            return
        self.tasks.db(self.service.board_marker, self._got_marker, self._failed)

    @while_alive
    def _got_marker(self, marker: str) -> None:
        if marker != self._marker:
            self.refresh()

    def refresh(self) -> None:
        if self._loading:
            self._again = True
            return
        self._loading = True
        self.tasks.db(self.service.board, self._show, self._failed)

    @while_alive
    def _failed(self, exc: BaseException) -> None:
        self._loading = False
        log.warning("display refresh failed: %s", exc)
        self.notice.setText(_("暂时无法读取叫号数据，正在重试…"))

    @while_alive
    def _show(self, board: BoardView) -> None:
        self._loading = False
        self._marker = board.marker
        self.hall.setText(board.hall_name)
        self._fill_table(board)
        self.recent.clear()
        for row in board.recent_calls:
            self.recent.addItem(
                _("{number}  →  {window} 号窗口").format(number=row.number, window=row.window)
            )
        parts = [_("{name} {n} 人").format(name=c.name, n=c.waiting) for c in board.categories]
        self.waiting.setText("\n".join(parts))
        self._announce_new(board)
        self.refreshed.emit(board)
        if self._again:
            self._again = False
            self.refresh()

    def _fill_table(self, board: BoardView) -> None:
        rows = (len(board.serving) + 1) // 2
        self.table.setRowCount(rows)
        self.table.clearContents()
        for i, r in enumerate(board.serving):
            row, col = i % max(rows, 1), (i // max(rows, 1)) * 2
            for offset, text in enumerate((_("{n} 号").format(n=r.window), r.number)):
                item = QTableWidgetItem(text)
                item.setTextAlignment(Qt.AlignmentFlag.AlignCenter)
                self.table.setItem(row, col + offset, item)

    def _announce_new(self, board: BoardView) -> None:
        calls = {_call_key(r) for r in board.recent_calls}
        if self._seen is None:  # the first load: show, do not announce the past
            self._seen = calls
            return
        fresh = [r for r in reversed(board.recent_calls) if _call_key(r) not in self._seen]
        self._seen |= calls
        for r in fresh:
            text = call_text(r.number, r.window)
            self._banner(text, True)
            self.announcer.announce(text)

    @while_alive
    def _announcing(self, text: str) -> None:
        self._banner(text, True)

    def _banner(self, text: str, active: bool) -> None:
        self.banner.setText(text)
        self.banner.setProperty("idle", not active)
        self.banner.style().unpolish(self.banner)
        self.banner.style().polish(self.banner)

    def shutdown(self) -> None:
        self._poll.stop()
        self._clock_timer.stop()
        if self.listener is not None:
            self.listener.stop()

    def closeEvent(self, event: QCloseEvent) -> None:
        self.shutdown()
        super().closeEvent(event)
