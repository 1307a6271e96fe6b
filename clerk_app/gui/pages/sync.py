"""同步: how this workstation stands with the central store, "sync now", and the changes the
central store did not apply (with why) — re-apply one as a new edit, or dismiss it; both audited.

A clerk sees this workstation's rejections, a supervisor every workstation's. An administrator
sees the status and registers this workstation with a central store (``RegisterDialog``); the
rejections are the counter staff's business. The background sync itself belongs to the main
window (``clerk_app.gui.sync_status.SyncController``); the main window
hands it to this page with ``attach_sync``.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QLabel,
    QMessageBox,
    QProgressBar,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from clerk_app.domain.halltime import HALL_TZ
from clerk_app.gui.pages.base import Page, PageContext
from clerk_app.gui.sync_register import RegisterDialog, may_register
from clerk_app.gui.sync_status import SyncController, describe, tooltip
from clerk_app.i18n import N_, _
from clerk_app.security.roles import Permission, allows
from clerk_app.services import sync as sync_service
from clerk_app.services.auth import UserSession
from clerk_app.services.runtime import Runtime
from clerk_app.services.sync import RejectionRow
from clerk_app.sync.worker import STATE_SYNCING, SyncStatus

Action = Callable[[Runtime, UserSession, uuid.UUID], None]

COLUMNS = (N_("时间"), N_("记录"), N_("原因"), N_("未采用的值"), N_("来源"))


class SyncPage(Page):
    key = "sync"
    title = N_("同步")
    #: every role: counter staff handle rejections, the administrator registers the workstation
    permission = None

    def __init__(self, ctx: PageContext, parent: QWidget | None = None) -> None:
        super().__init__(ctx, parent)
        self.controller: SyncController | None = None
        self.rows: list[RejectionRow] = []
        self.status_label = QLabel(_("中心库：检测中…"))
        self.status_label.setObjectName("syncPageStatus")
        self.status_label.setWordWrap(True)
        self.progress_bar = QProgressBar()
        self.progress_bar.setObjectName("syncPageProgress")
        self.progress_bar.hide()
        self.sync_button = QPushButton(_("立即同步"))
        self.sync_button.setObjectName("syncNowButton")
        self.sync_button.clicked.connect(self.sync_now)
        top = QHBoxLayout()
        top.addWidget(self.status_label, 1)
        top.addWidget(self.sync_button)
        self.register_button: QPushButton | None = None
        if may_register(ctx):
            self.register_button = QPushButton(_("登记到中心库…"))
            self.register_button.setObjectName("syncRegisterButton")
            self.register_button.clicked.connect(self.open_register)
            top.addWidget(self.register_button)
        self.layout_.addLayout(top)
        self.layout_.addWidget(self.progress_bar)
        self.handles_rejections = allows(ctx.session.role, Permission.SERVE)
        self.rejections_box = QWidget()
        self.rejections_box.setObjectName("rejectionsBox")
        box = QVBoxLayout(self.rejections_box)
        box.setContentsMargins(0, 0, 0, 0)
        self.layout_.addWidget(self.rejections_box, 1)
        self.rejections_box.setVisible(self.handles_rejections)
        if not self.handles_rejections:
            note = QLabel(
                _(
                    "这里显示本机与中心库的同步状态。未被中心库采用的修改由窗口人员和值班负责人处理；"
                    "更换中心库或新装本机时，请用“登记到中心库”把本工作站登记到中心库。"
                )
            )
            note.setObjectName("pageHint")
            note.setWordWrap(True)
            self.layout_.addWidget(note)
            self.layout_.addStretch(1)
        self._build_rejections(box)

    def _build_rejections(self, box: QVBoxLayout) -> None:
        hint = QLabel(
            _(
                "下列修改没有被中心库采用。可以把自己的值作为一次新的修改重新提交，"
                "或确认忽略；两种处理都会记入审计日志。"
            )
        )
        hint.setObjectName("pageHint")
        hint.setWordWrap(True)
        box.addWidget(hint)
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setObjectName("rejectionTable")
        self.table.setHorizontalHeaderLabels([_(c) for c in COLUMNS])
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.itemSelectionChanged.connect(self._selection_changed)
        box.addWidget(self.table, 1)
        self.empty_label = QLabel(_("没有未采用的修改。"))
        self.empty_label.setObjectName("pageHint")
        box.addWidget(self.empty_label)
        buttons = QHBoxLayout()
        self.reapply_button = QPushButton(_("重新提交我的修改"))
        self.reapply_button.setObjectName("reapplyButton")
        self.reapply_button.clicked.connect(self.reapply_selected)
        self.dismiss_button = QPushButton(_("确认忽略"))
        self.dismiss_button.setObjectName("dismissButton")
        self.dismiss_button.clicked.connect(self.dismiss_selected)
        buttons.addWidget(self.reapply_button)
        buttons.addWidget(self.dismiss_button)
        buttons.addStretch(1)
        box.addLayout(buttons)
        self._selection_changed()

    # --- the background sync ----------------------------------------------------------------
    def attach_sync(self, controller: SyncController) -> None:
        self.controller = controller
        controller.status_changed.connect(self._show_status)
        controller.progress.connect(self._show_progress)
        self._show_status(controller.status)

    def sync_now(self) -> None:
        if self.controller is not None:
            self.controller.sync_now()

    def _show_status(self, status: SyncStatus) -> None:
        embedded = self.ctx.runtime.central_is_embedded
        text, _style = describe(status, embedded=embedded)
        self.status_label.setText(text)
        self.status_label.setToolTip(tooltip(status))
        if status.state != STATE_SYNCING:
            self.progress_bar.hide()
            if self.isVisible():
                self.refresh()

    def _show_progress(self, phase: str, done: int, total: int) -> None:
        if total <= 0 or done >= total:
            self.progress_bar.hide()
            return
        self.progress_bar.setRange(0, total)
        self.progress_bar.setValue(done)
        self.progress_bar.setFormat(_("上传 %v/%m") if phase == "push" else _("下载 %v/%m"))
        self.progress_bar.show()

    # --- registering this workstation (administrators) -----------------------------------
    def open_register(self) -> RegisterDialog:
        dialog = RegisterDialog(self.ctx, self)
        dialog.open()
        return dialog

    # --- rejections -----------------------------------------------------------------------
    def activated(self) -> None:
        self.refresh()

    def refresh(self) -> None:
        if not self.handles_rejections:
            return
        ctx = self.ctx
        ctx.tasks.db(lambda: sync_service.list_rejections(ctx.runtime, ctx.session), self._show_rows)

    def _show_rows(self, rows: list[RejectionRow]) -> None:
        self.rows = rows
        self.table.setRowCount(len(rows))
        for index, row in enumerate(rows):
            cells = (
                row.created_at.astimezone(HALL_TZ).strftime("%Y-%m-%d %H:%M"),
                row.what,
                row.reason + (f"\n{row.detail}" if row.detail else ""),
                row.values,
                _("本工作站") if row.mine else _("其他工作站"),
            )
            for column, text in enumerate(cells):
                item = QTableWidgetItem(text)
                item.setData(Qt.ItemDataRole.UserRole, str(row.id))
                self.table.setItem(index, column, item)
        self.table.resizeRowsToContents()
        self.empty_label.setVisible(not rows)
        self._selection_changed()

    def selected(self) -> RejectionRow | None:
        index = self.table.currentRow()
        if not self.table.selectedItems() or not 0 <= index < len(self.rows):
            return None
        return self.rows[index]

    def _selection_changed(self) -> None:
        row = self.selected()
        self.reapply_button.setEnabled(row is not None and row.can_reapply)
        self.dismiss_button.setEnabled(row is not None)

    def _confirm(self, question: str) -> bool:
        if not self.ctx.errors.interactive:
            return True
        answer = QMessageBox.question(self, _("同步"), question)
        return answer == QMessageBox.StandardButton.Yes

    def reapply_selected(self) -> None:
        row = self.selected()
        if row is None or not row.can_reapply:
            return
        if not self._confirm(_("把您的值作为新的修改重新提交？它会在下次同步时上传。")):
            return
        self._run(sync_service.reapply_rejection, row.id)

    def dismiss_selected(self) -> None:
        row = self.selected()
        if row is None:
            return
        if not self._confirm(_("确认忽略这条未采用的修改？")):
            return
        self._run(sync_service.dismiss_rejection, row.id)

    def _run(self, action: Action, rejection_id: uuid.UUID) -> None:
        ctx = self.ctx
        ctx.tasks.db(lambda: action(ctx.runtime, ctx.session, rejection_id), lambda _r: self._done())

    def _done(self) -> None:
        self.refresh()
        if self.controller is not None:
            self.controller.local_changed()
