"""The workstation's main window: navigation on the left, pages on the right, status bar below.

Pages come from ``clerk_app.gui.pages.PAGES``, filtered by role. A page class marked ``docked``
(the clerk's queue panel) is not a page of the stack but a dock beside it, on screen whatever
page is shown, its keys with it. The status bar shows who is signed in, the window, the local
store, the central store's reachability and the time.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QAction, QCloseEvent, QKeySequence, QResizeEvent
from PySide6.QtWidgets import (
    QDockWidget,
    QFrame,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QMainWindow,
    QMessageBox,
    QScrollArea,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from clerk_app.domain.halltime import hall_now
from clerk_app.gui.lock import IdleWatcher, LockDialog
from clerk_app.gui.pages import PAGES, Page, PageContext
from clerk_app.gui.pages.home import SHORTCUTS
from clerk_app.gui.rating_pad import RatingPad
from clerk_app.gui.sync_status import SyncController, SyncIndicator
from clerk_app.i18n import _
from clerk_app.security.roles import Role

#: initial width of the docked queue panel (px): two columns of buttons, the rest left to the page
DOCK_WIDTH = 380
#: below this window width the workstation lays itself out for a small counter monitor (1366×768):
#: a narrower navigation bar, the dock at its narrowest, pages with narrow margins and no heading
COMPACT_WIDTH = 1600
SIDEBAR_WIDTH = 220
SIDEBAR_COMPACT_WIDTH = 150
DOCK_COMPACT_WIDTH = 360


class PageHolder(QScrollArea):
    """A page in the stack: it scrolls when it is larger than the room the window leaves it
    (rather than making the window larger than the screen), and is told that room first
    (``Page.fit_width``) so that it can reflow."""

    def __init__(self, page: Page) -> None:
        super().__init__()
        self.page = page
        self.setObjectName(f"{page.objectName()}Holder")
        self.setWidgetResizable(True)
        self.setFrameShape(QFrame.Shape.NoFrame)
        self.setWidget(page)

    def resizeEvent(self, event: QResizeEvent) -> None:
        self.page.fit_width(event.size().width())
        super().resizeEvent(event)


class MainWindow(QMainWindow):
    locked = Signal()
    unlocked = Signal()

    def __init__(self, ctx: PageContext) -> None:
        super().__init__()
        self.ctx = ctx
        self.setObjectName("mainWindow")
        self.setWindowTitle(_("政务服务窗口工作台 - {hall}").format(hall=ctx.session.hall_name))
        self.pages: list[Page] = []
        self.docks: dict[str, Page] = {}
        self.lock_dialog: LockDialog | None = None
        self._pad: RatingPad | None = None
        self.compact: bool | None = None
        self._build()
        self._build_status_bar()
        self._build_actions()
        self.set_compact(True)  # the size it opens at; a wider window (maximised) widens again
        self.resize(1366, 768)

    # --- layout ------------------------------------------------------------------------------
    def _build(self) -> None:
        body = QWidget()
        row = QHBoxLayout(body)
        row.setContentsMargins(0, 0, 0, 0)
        row.setSpacing(0)
        row.addWidget(self._sidebar())
        self.stack = QStackedWidget()
        self.stack.setObjectName("pageStack")
        row.addWidget(self.stack, 1)
        self.setCentralWidget(body)
        role = self.ctx.session.role
        for page_cls in PAGES:
            if not self._shows(page_cls, role):
                continue
            if getattr(page_cls, "docked", False):
                if self.ctx.session.window_number is not None:  # a window's panel: not for back office
                    self._add_dock(page_cls(self.ctx))
                continue
            self._add_page(page_cls(self.ctx))
        self._wire_docks()
        self.nav.currentRowChanged.connect(self._switch)
        self.nav.setCurrentRow(0)

    @staticmethod
    def _shows(page_cls: type[Page], role: Role) -> bool:
        if role is Role.ADMIN:
            from clerk_app.security.roles import Permission

            return page_cls.permission in (None, Permission.ADMINISTER)
        return page_cls.visible_to(role)

    def _sidebar(self) -> QWidget:
        side = QWidget()
        side.setObjectName("brandBar")
        side.setFixedWidth(SIDEBAR_WIDTH)
        self.side = side
        column = QVBoxLayout(side)
        column.setContentsMargins(0, 0, 0, 0)
        column.setSpacing(0)
        title = QLabel(_("窗口工作台"))
        title.setObjectName("brandTitle")
        self.brand_title = title
        sub = QLabel(self.ctx.session.hall_name)
        sub.setObjectName("brandSub")
        sub.setWordWrap(True)
        column.addWidget(title)
        column.addWidget(sub)
        self.nav = QListWidget()
        self.nav.setObjectName("navList")
        column.addWidget(self.nav, 1)
        return side

    def _add_page(self, page: Page) -> None:
        self.pages.append(page)
        # a page taller or wider than a small monitor scrolls instead of making the window
        # larger than the screen (the stack is as large as its largest page)
        self.stack.addWidget(PageHolder(page))
        item = QListWidgetItem(_(page.title))
        item.setData(Qt.ItemDataRole.UserRole, page.key)
        self.nav.addItem(item)

    def _add_dock(self, page: Page) -> None:
        dock = QDockWidget(_(page.title), self)
        dock.setObjectName(f"{page.key}Dock")
        # neither closed nor floated: its keys stay active over every page of this window
        dock.setFeatures(QDockWidget.DockWidgetFeature.DockWidgetMovable)
        dock.setAllowedAreas(Qt.DockWidgetArea.RightDockWidgetArea | Qt.DockWidgetArea.LeftDockWidgetArea
                             | Qt.DockWidgetArea.BottomDockWidgetArea)  # fmt: skip
        # the dock's title bar names it: no page heading, narrow margins, a compact width that
        # leaves the intake form its room (the clerk can widen it)
        page.heading.hide()
        page.layout_.setContentsMargins(10, 4, 10, 8)
        dock.setWidget(page)
        self.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, dock)
        self.resizeDocks([dock], [DOCK_WIDTH], Qt.Orientation.Horizontal)
        self.docks[page.key] = page

    def _wire_docks(self) -> None:
        queue = self.docks.get("queue")
        finished = getattr(queue, "service_finished", None)
        if finished is not None:
            finished.connect(self.ask_rating)

    def ask_rating(self, ticket: object, matter: str, ref: str = "") -> None:
        """A service ended with 办结 at the queue panel: the rating pad asks the applicant."""
        self.rating_pad().request_rating(ref or f"ticket:{getattr(ticket, 'id', ticket)}", matter)

    def rating_pad(self) -> RatingPad:
        """The applicant-facing rating pad: the 好差评 page's when it is there, else our own."""
        for page in self.pages:
            open_pad = getattr(page, "open_pad", None)
            if page.key == "ratings" and open_pad is not None:
                pad: RatingPad = open_pad()
                return pad
        if self._pad is None:
            self._pad = RatingPad(self.ctx)
            self._pad.show_on_applicant_screen()
        return self._pad

    def current_page(self) -> Page:
        return self.pages[self.stack.currentIndex()]

    def set_compact(self, compact: bool) -> None:
        """Lay out for a small monitor (see ``COMPACT_WIDTH``) or a large one."""
        if compact == self.compact:
            return
        self.compact = compact
        self.side.setFixedWidth(self._compact_sidebar_width() if compact else SIDEBAR_WIDTH)
        for page in self.pages:
            page.set_compact(compact)
        for docked in self.docks.values():
            docked.set_dock_compact(compact)
        docks = self.findChildren(QDockWidget)
        if docks:
            widths = [
                max(DOCK_COMPACT_WIDTH, d.minimumSizeHint().width()) if compact else DOCK_WIDTH for d in docks
            ]
            self.resizeDocks(docks, widths, Qt.Orientation.Horizontal)

    def _compact_sidebar_width(self) -> int:
        """``SIDEBAR_COMPACT_WIDTH``, or more when the page names or the title need it (English:
        "One-form intake"), never more than the full width."""
        self.nav.ensurePolished()
        items = self.nav.sizeHintForColumn(0) + 2 * self.nav.frameWidth()
        need = max(items, self.brand_title.sizeHint().width())
        return max(SIDEBAR_COMPACT_WIDTH, min(SIDEBAR_WIDTH, need))

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self.set_compact(event.size().width() < COMPACT_WIDTH)

    def _switch(self, row: int) -> None:
        if 0 <= row < len(self.pages):
            self.stack.setCurrentIndex(row)
            self.pages[row].activated()

    def show_page(self, key: str) -> Page:
        for row, page in enumerate(self.pages):
            if page.key == key:
                self.nav.setCurrentRow(row)
                return page
        if key in self.docks:
            return self.docks[key]
        raise KeyError(key)

    # --- status bar -----------------------------------------------------------------------------
    def _build_status_bar(self) -> None:
        who = self.ctx.session
        bar = self.statusBar()
        where = _("{n} 号窗口").format(n=who.window_number) if who.window_number else _("后台")
        self.user_label = QLabel(_("{name}（{role}）").format(name=who.display_name, role=who.role.label))
        self.window_label = QLabel(where)
        self.store_label = QLabel(_("本地库：正常"))
        self.central_label = QLabel(_("中心库：检测中…"))
        self.clock_label = QLabel()
        for label in (self.user_label, self.window_label, self.store_label, self.central_label):
            bar.addWidget(label)
        bar.addPermanentWidget(self.clock_label)
        self._tick()
        self._clock = QTimer(self)
        self._clock.timeout.connect(self._tick)
        self._clock.start(1000)
        self.sync = SyncController(self.ctx.runtime, self)
        self.sync_indicator = SyncIndicator(
            self.sync, self.central_label, embedded=self.ctx.runtime.central_is_embedded
        )
        bar.addWidget(self.sync_indicator.progress_bar)
        for page in [*self.pages, *self.docks.values()]:
            if hasattr(page, "attach_sync"):
                page.attach_sync(self.sync)
        self.ctx.tasks.db_done.connect(self.sync.local_changed)
        self.sync.start()

    def _tick(self) -> None:
        self.clock_label.setText(hall_now().strftime("%Y-%m-%d %H:%M:%S"))

    # --- keyboard, lock -----------------------------------------------------------------------
    def _build_actions(self) -> None:
        for index in range(min(9, len(self.pages))):
            action = QAction(self)
            action.setShortcut(QKeySequence(f"Ctrl+{index + 1}"))
            action.triggered.connect(lambda _checked=False, i=index: self.nav.setCurrentRow(i))
            self.addAction(action)
        lock = QAction(_("锁定工作台"), self)
        lock.setShortcut(QKeySequence("Ctrl+L"))
        lock.triggered.connect(self.lock)
        self.addAction(lock)
        help_action = QAction(self)
        help_action.setShortcut(QKeySequence("F1"))
        help_action.triggered.connect(self.show_shortcuts)
        self.addAction(help_action)

    def show_shortcuts(self) -> None:
        lines = [f"{keys}\t{_(meaning)}" for keys, meaning in SHORTCUTS]
        QMessageBox.information(self, _("快捷键"), "\n".join(lines))

    def watch_idle(self, watcher: IdleWatcher) -> None:
        self.idle_watcher = watcher
        watcher.idle.connect(self.lock)

    def lock(self) -> None:
        if self.lock_dialog is not None:
            return
        ctx = self.ctx
        ctx.tasks.db(lambda: ctx.auth.record_lock(ctx.session))
        self.lock_dialog = LockDialog(ctx.session, ctx.auth, ctx.tasks, self)
        self.lock_dialog.accepted.connect(self._unlocked)
        self.locked.emit()
        self.lock_dialog.open()

    def _unlocked(self) -> None:
        self.lock_dialog = None
        watcher = getattr(self, "idle_watcher", None)
        if watcher is not None:
            watcher.resume()
        self.unlocked.emit()

    def closeEvent(self, event: QCloseEvent) -> None:
        self._clock.stop()
        self.sync.stop()
        super().closeEvent(event)
