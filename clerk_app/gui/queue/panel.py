"""The clerk's queue panel, docked in the workstation beside every page (Shift+F5 … Shift+F12).

The keys work whichever page is shown: the intake and case pages keep the plain F5 … F10 for their
own steps, so the queue's presses are the same keys with Shift (Shift+F5 calls the next applicant).
After 办结 the panel tells the workstation (``service_finished``), which asks the applicant for a
rating on the rating pad: for the matter of the case linked to the ticket when there is one (else
the ticket's category), and also when 办结 sends a transferred ticket back to the window it came
from (that window's service is rated again under its own reference when it ends).

Every press carries a fresh idempotency key; a press whose call failed on the connection is
retried once with the same key, so a lost reply never calls twice. When the central store
cannot be reached the panel says so at once and switches to this window's local queue
(numbers ``07-001`` issued by the clerk); it probes the central store and returns when it is
reachable again and the local ticket in hand is finished.
"""

from __future__ import annotations

import contextlib
import logging
import uuid
from collections.abc import Callable

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QHideEvent, QKeySequence, QShortcut, QShowEvent
from PySide6.QtWidgets import (
    QHeaderView,
    QInputDialog,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QSizePolicy,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)
from sqlalchemy.exc import DBAPIError

from clerk_app.gui.forms import child, load_form, style_sheet
from clerk_app.gui.pages.base import Page, PageContext
from clerk_app.gui.queue import while_alive
from clerk_app.i18n import N_, NP_, _, pgettext
from clerk_app.security.roles import Permission
from clerk_app.services.cases import CaseService
from clerk_app.services.errors import UserError
from clerk_app.services.queue import (
    PAUSE_REASONS,
    QueueService,
    TicketView,
    WindowView,
    prepare_offline,
    state_label,
)
from clerk_app.services.queue_rules import CHINA

log = logging.getLogger("clerk.queue")

PROBE_MS = 5_000
REFRESH_MS = 3_000
#: the panel's style on a small monitor, after queue_panel.qss
COMPACT_QSS = """
QLabel#currentNumber { font-size: 44px; }
QPushButton { min-height: 32px; padding: 2px 6px; }
QHeaderView::section { padding: 3px 6px; }
"""
#: the fewest rows the waiting list (with its header) and the parked list are given
LIST_MIN_ROWS = 2
KEYS = {
    "callNextButton": "Shift+F5",
    "recallButton": "Shift+F6",
    "startButton": "Shift+F7",
    "noShowButton": "Shift+F8",
    "parkButton": "Shift+F9",
    "finishButton": "Shift+F10",
    "transferButton": "Shift+F11",
    "pauseButton": "Shift+F12",
}
#: the buttons' words (the key is shown before them, as the clerk presses it): what the key does,
#: translated in the context ``KEY_CONTEXT`` (挂起 and 暂停 are also states: Parked, Paused)
KEY_CONTEXT = "queue key"
LABELS = {
    "callNextButton": NP_("queue key", "叫下一位"),
    "recallButton": NP_("queue key", "重呼"),
    "startButton": NP_("queue key", "开始办理"),
    "noShowButton": NP_("queue key", "过号"),
    "parkButton": NP_("queue key", "挂起"),
    "finishButton": NP_("queue key", "办结"),
    "transferButton": NP_("queue key", "转窗"),
    "pauseButton": NP_("queue key", "暂停"),
}


def key_text(name: str) -> str:
    """``⇧F5`` for Shift+F5: short enough for a button of the docked panel."""
    return KEYS[name].replace("Shift+", "⇧")


class QueuePanel(Page):
    key = "queue"
    title = N_("叫号")
    permission = Permission.SERVE
    #: the panel lives in a dock of the main window rather than in its page stack
    docked = True
    serving_started = Signal(object)
    view_changed = Signal(object)
    #: (TicketView, matter or category name, service reference): a ticket's service ended with
    #: 办结 at this window
    service_finished = Signal(object, str, str)

    def __init__(self, ctx: PageContext, parent: QWidget | None = None) -> None:
        super().__init__(ctx, parent)
        self.online_service = QueueService(ctx.runtime.central)
        self.offline_service = QueueService(ctx.runtime.local, offline=True)
        self.offline = False
        self.view: WindowView | None = None
        #: this window's offline number prefix (``07A-``), known once looked up
        self.local_prefix = ""
        self._block_reserved = False
        self._case_service: CaseService | None = None
        form = load_form("queue_panel.ui", self)
        self._style = style_sheet("queue_panel.qss")
        form.setStyleSheet(self._style)
        self.form = form
        self.layout_.addWidget(form, 1)
        self.banner = child(form, QLabel, "modeBanner")
        self.number = child(form, QLabel, "currentNumber")
        self.state = child(form, QLabel, "currentState")
        self.status = child(form, QLabel, "windowStatus")
        self.counts = child(form, QLabel, "countsLabel")
        self.waiting = child(form, QTableWidget, "waitingTable")
        self.parked = child(form, QListWidget, "parkedList")
        self.local_button = child(form, QPushButton, "localTicketButton")
        self.parked_title = child(form, QLabel, "parkedTitle")
        self._row_height = self.waiting.verticalHeader().defaultSectionSize()
        self.lists = child(form, QVBoxLayout, "listsLayout")
        # the two lists share the dock's height 3:1 (the form's stretch) instead of each first
        # taking its default size, and the parked list shows only when a ticket is parked: on a
        # 1366×768 monitor the waiting list showed 3 rows
        for widget, rows in ((self.waiting, LIST_MIN_ROWS + 1), (self.parked, LIST_MIN_ROWS)):
            widget.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Ignored)
            widget.setMinimumHeight(rows * widget.fontMetrics().height() * 2)
        self.buttons = {name: child(form, QPushButton, name) for name in KEYS}
        for name, button in self.buttons.items():
            button.setText(f"{key_text(name)} {pgettext(KEY_CONTEXT, LABELS[name])}")
        self._wire()
        self.waiting.setHorizontalHeaderLabels([_("号码"), _("类别"), _("取号时间"), _("备注")])
        self.waiting.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.waiting.setSelectionBehavior(QTableWidget.SelectionBehavior.SelectRows)
        self.waiting.verticalHeader().setVisible(False)
        header = self.waiting.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)  # a narrow dock: no scrolling
        header.setStretchLastSection(True)
        self._show_mode()
        self._refresh_timer = QTimer(self)
        self._refresh_timer.timeout.connect(self.refresh)
        self._probe_timer = QTimer(self)
        self._probe_timer.timeout.connect(self._probe)

    def set_dock_compact(self, compact: bool) -> None:
        """Docked, on a 1366×768 monitor: the keys a little shorter and the number a little
        smaller, so that the waiting list shows five tickets."""
        self.form.setStyleSheet(self._style + (COMPACT_QSS if compact else ""))
        rows = self.waiting.verticalHeader()
        rows.setDefaultSectionSize(self.waiting.fontMetrics().height() + 8 if compact else self._row_height)

    def showEvent(self, event: QShowEvent) -> None:
        """The panel polls only while it is on screen (a closed workstation makes no calls)."""
        super().showEvent(event)
        self._refresh_timer.start(REFRESH_MS)
        if self.offline:
            self._probe_timer.start(PROBE_MS)
        self.refresh()

    def hideEvent(self, event: QHideEvent) -> None:
        self._refresh_timer.stop()
        self._probe_timer.stop()
        super().hideEvent(event)

    @property
    def service(self) -> QueueService:
        return self.offline_service if self.offline else self.online_service

    def _wire(self) -> None:
        actions: dict[str, Callable[[], None]] = {
            "callNextButton": self.call_next,
            "recallButton": lambda: self._current_press("recall"),
            "startButton": lambda: self._current_press("start"),
            "noShowButton": lambda: self._current_press("no_show"),
            "parkButton": lambda: self._current_press("park"),
            "finishButton": lambda: self._current_press("finish"),
            "transferButton": self.transfer,
            "pauseButton": self.toggle_pause,
        }
        for name, action in actions.items():
            self.buttons[name].clicked.connect(action)
            shortcut = QShortcut(QKeySequence(KEYS[name]), self)
            shortcut.setContext(Qt.ShortcutContext.WindowShortcut)
            shortcut.activated.connect(action)
        self.waiting.itemDoubleClicked.connect(lambda item: self.call_out_of_order(item.row()))
        self.parked.itemDoubleClicked.connect(self._call_back_item)
        self.local_button.clicked.connect(self.issue_local)

    def activated(self) -> None:
        self.refresh()

    # --- presses ---------------------------------------------------------------------------------

    def _press(
        self,
        fn: Callable[[QueueService, str], object],
        retried: bool = False,
        key: str = "",
        done: Callable[[object], None] | None = None,
    ) -> None:
        key = key or uuid.uuid4().hex
        service = self.service

        @while_alive
        def succeeded(result: object) -> None:
            if done is not None:
                done(result)
            self.refresh()

        def failed(exc: BaseException) -> None:
            if (
                isinstance(exc, DBAPIError)
                and exc.connection_invalidated
                and not retried
                and not self.offline
            ):
                self._press(fn, True, key, done)  # the same key: a lost reply is replayed, never repeated
                return
            if isinstance(exc, DBAPIError) and not self.offline:
                self.go_offline()
                return
            self.ctx.errors(exc)

        self.ctx.tasks.db(lambda: fn(service, key), succeeded, failed)

    def call_next(self) -> None:
        who = self.ctx.session
        self._press(lambda s, k: s.call_next(who, k))

    def _current_press(self, action: str) -> None:
        current = self.view.current if self.view else None
        if current is None:
            self.ctx.errors(UserError(_("当前没有正在叫号或办理的号。")))
            return
        who = self.ctx.session
        method = {
            "recall": QueueService.recall,
            "start": QueueService.start,
            "no_show": QueueService.no_show,
            "park": QueueService.park,
            "finish": QueueService.finish,
        }[action]
        done = self._finished if action == "finish" else None
        self._press(lambda s, k: method(s, who, current.id, k), done=done)
        if action == "start":
            self.serving_started.emit(current)
            self._open_intake()

    def _finished(self, result: object) -> None:
        """办结 went through: the applicant is asked to rate this window's service. That is also
        so when the ticket went back to the window that transferred it here: the service given
        here is over, and the one there is rated again when it ends (its own reference)."""
        if not isinstance(result, TicketView):
            return
        ref = service_ref(result, self.ctx.session.window_number)
        if ref is None:
            return
        names = {c.code: c.name for c in self.view.categories} if self.view else {}
        category = _("本窗口临时号") if result.offline else names.get(result.category, result.category)
        if not result.case_ref:
            self.service_finished.emit(result, category, ref)
            return
        who, case_number = self.ctx.session, result.case_ref

        def matters() -> str:
            return "、".join(self._cases().matters_of(who, case_number))

        @while_alive
        def found(matter: object) -> None:
            self.service_finished.emit(result, str(matter) or category, ref)

        @while_alive
        def failed(exc: BaseException) -> None:
            log.warning("matter of case %s not read: %s", case_number, exc)
            self.service_finished.emit(result, category, ref)

        self.ctx.tasks.db(matters, found, failed)

    def _cases(self) -> CaseService:
        """Made on the database thread at first use (it loads the matter catalogue)."""
        if self._case_service is None:
            self._case_service = CaseService(self.ctx.runtime.local)
        return self._case_service

    def _open_intake(self) -> None:
        main = self.window()
        show = getattr(main, "show_page", None)
        if show is not None:
            with contextlib.suppress(KeyError):
                show("intake")

    def transfer(self) -> None:
        current = self.view.current if self.view else None
        if current is None or self.offline:
            self.ctx.errors(UserError(_("当前没有可转窗的号。")))
            return
        target, ok = QInputDialog.getText(self, _("转窗"), _("转到窗口号（数字）或业务类别（字母）："))
        if not ok or not target.strip():
            return
        reason, ok = QInputDialog.getText(self, _("转窗"), _("转窗原因："))
        if not ok:
            return
        who, text = self.ctx.session, target.strip().upper()
        window = int(text) if text.isdigit() else None
        category = None if window is not None else text
        self._press(
            lambda s, k: s.transfer(who, current.id, k, window=window, category=category, reason=reason)
        )

    def call_out_of_order(self, row: int) -> None:
        if self.view is None or not (0 <= row < len(self.view.waiting)):
            return
        ticket = self.view.waiting[row]
        reason, ok = QInputDialog.getText(self, _("不按顺序叫号"), _("请填写原因："))
        if not ok:
            return
        who = self.ctx.session
        self._press(lambda s, k: s.call_ticket(who, ticket.id, reason, k))

    def _call_back_item(self, item: QListWidgetItem) -> None:
        ticket_id = item.data(Qt.ItemDataRole.UserRole)
        who = self.ctx.session
        self._press(lambda s, k: s.call_back(who, ticket_id, k))

    def toggle_pause(self) -> None:
        who = self.ctx.session
        if self.view is not None and self.view.status == "paused":
            self.ctx.tasks.db(lambda: self.service.resume(who), self._show, self.ctx.errors)
            return
        labels = [_(v) for v in PAUSE_REASONS.values()]
        chosen, ok = QInputDialog.getItem(self, _("暂停叫号"), _("暂停原因："), labels, 0, False)
        if not ok:
            return
        code = list(PAUSE_REASONS)[labels.index(chosen)]
        self.ctx.tasks.db(lambda: self.service.pause(who, code), self._show, self.ctx.errors)

    def issue_local(self) -> None:
        who = self.ctx.session
        self.ctx.tasks.db(
            lambda: self.offline_service.issue_local(who), lambda _i: self.refresh(), self.ctx.errors
        )

    # --- online / offline -----------------------------------------------------------------------

    @while_alive
    def go_offline(self) -> None:
        if self.offline:
            return
        log.warning(
            "central store unreachable: window %s switches to its local queue", self.ctx.session.window_number
        )
        self.offline = True
        self._show_mode()
        self._probe_timer.start(PROBE_MS)
        who = self.ctx.session
        self.ctx.tasks.db(lambda: self.offline_service.local_prefix(who), self._got_prefix, self.ctx.errors)
        self.refresh()

    @while_alive
    def _got_prefix(self, prefix: str) -> None:
        self.local_prefix = prefix
        self._show_mode()

    def _reserve_block(self) -> None:
        """Once online: hold today's offline block for this window (07A-…), so that this
        machine's local numbers never equal another's with the same window number."""
        self._block_reserved = True
        who, online, local = self.ctx.session, self.online_service, self.offline_service

        def failed(exc: BaseException) -> None:
            self._block_reserved = False  # tried again at the next online refresh
            log.warning("no offline block reserved yet: %s", exc)

        self.ctx.tasks.db(lambda: prepare_offline(online, local, who), None, failed)

    @while_alive
    def _probe(self) -> None:
        online = self.online_service
        busy = self.view is not None and self.view.current is not None
        if busy:
            return  # finish the local ticket in hand first
        self.ctx.tasks.db(online.board_marker, lambda _m: self._back_online(), lambda _e: None)

    @while_alive
    def _back_online(self) -> None:
        self.offline = False
        self._probe_timer.stop()
        self._show_mode()
        self.refresh()

    def _show_mode(self) -> None:
        if self.offline:
            text = _("中心库无法连接：已切换为本窗口临时队列（临时号如 {p}001），恢复连接后自动上传。")
            prefix = self.local_prefix or f"{self.ctx.session.window_number or 0:02d}"
            self.banner.setText(text.format(p=prefix))
            self.banner.setObjectName("offlineBanner")
        else:
            self.banner.setText(_("在线：全大厅统一排队"))
            self.banner.setObjectName("onlineBanner")
        self.local_button.setVisible(self.offline)
        self.buttons["transferButton"].setEnabled(not self.offline)
        self.banner.style().unpolish(self.banner)
        self.banner.style().polish(self.banner)

    # --- display --------------------------------------------------------------------------------

    @while_alive
    def refresh(self) -> None:
        who = self.ctx.session
        if who.window_number is None:
            return
        service = self.service

        def failed(exc: BaseException) -> None:
            if isinstance(exc, DBAPIError) and not self.offline:
                self.go_offline()
            else:
                log.warning("queue refresh failed: %s", exc)

        self.ctx.tasks.db(lambda: service.window_view(who), self._show, failed)

    @while_alive
    def _show(self, view: WindowView) -> None:
        self.view = view
        if not self.offline and not self._block_reserved:
            self._reserve_block()
        current = view.current
        self.number.setText(current.number if current else _("空闲"))
        self.state.setText(self._state_text(current, view))
        paused = _("暂停：{r}").format(r=_(PAUSE_REASONS.get(view.pause_reason, "")))
        status = {"open": _("叫号中"), "paused": paused, "closed": _("未开始")}.get(view.status, view.status)
        self.status.setText(_("{n} 号窗口 · {s}").format(n=view.number, s=status))
        pause = _("恢复") if view.status == "paused" else pgettext(KEY_CONTEXT, LABELS["pauseButton"])
        self.buttons["pauseButton"].setText(f"{key_text('pauseButton')} {pause}")
        line = _("{name} 等候 {n} 人，最长 {m} 分钟")
        parts = [
            line.format(name=c.name, n=c.waiting, m=int(c.longest_wait.total_seconds() // 60))
            for c in view.categories
        ]
        self.counts.setText(
            "；".join(parts) if parts else _("本窗口共 {n} 人等候").format(n=len(view.waiting))
        )
        self._fill_waiting(view.waiting)
        self.parked.clear()
        for t in view.parked:
            item = QListWidgetItem(f"{t.number}  {state_label(t.state)}")
            item.setData(Qt.ItemDataRole.UserRole, t.id)
            self.parked.addItem(item)
        self.parked.setVisible(bool(view.parked))
        self.lists.setStretch(1, 1 if view.parked else 0)  # the waiting list takes the room
        self.parked_title.setText(_("已挂起（双击回呼）") if view.parked else _("已挂起：无"))
        self.view_changed.emit(view)

    def _state_text(self, current: TicketView | None, view: WindowView) -> str:
        if current is None:
            return _("按 Shift+F5 叫下一位")
        text = state_label(current.state)
        if current.state == "called" and current.recall_count:
            text += _("（已重呼 {n}/{m} 次）").format(n=current.recall_count, m=view.recall_limit)
        if current.priority:
            text += _(" · 绿色通道")
        return text

    def _fill_waiting(self, waiting: tuple[TicketView, ...]) -> None:
        self.waiting.setRowCount(len(waiting))
        for row, t in enumerate(waiting):
            note = _("绿色通道") if t.priority else (_("转来") if t.routed_window else "")
            cells = (t.number, t.category, t.issued_at.astimezone(CHINA).strftime("%H:%M"), note)
            for col, text in enumerate(cells):
                self.waiting.setItem(row, col, QTableWidgetItem(text))


def service_ref(ticket: TicketView, window: int | None) -> str | None:
    """The rated service's reference after 办结 at ``window``, None when nothing is to be rated.

    ``ticket:<id>`` when the ticket is done; ``ticket:<id>/<window>@<start>`` when 办结 sent it
    back to the window that transferred it here (a rating is one per reference, and the window
    it returns to rates its own service under ``ticket:<id>`` when that ends). The start is
    given to the microsecond: two services of one ticket at one window that began in the same
    second are two references."""
    if ticket.state == "done":
        return f"ticket:{ticket.id}"
    returned = ticket.state == "transferred" and ticket.routed_window not in (None, window)
    if not returned:
        return None
    began = ticket.started_at or ticket.called_at
    at = f"@{began.astimezone(CHINA):%H:%M:%S.%f}" if began is not None else ""
    return f"ticket:{ticket.id}/{window}{at}"
