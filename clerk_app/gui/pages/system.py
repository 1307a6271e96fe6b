"""系统: where this workstation keeps its data, the central store, language, and — for a
supervisor or administrator — accounts locked by repeated wrong passwords."""

from __future__ import annotations

import datetime as dt

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QComboBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from clerk_app.domain.halltime import HALL_TZ
from clerk_app.gui.pages.base import Page, PageContext
from clerk_app.gui.sync_register import RegisterDialog, may_register
from clerk_app.i18n import N_, _
from clerk_app.security.roles import Permission, Role, allows
from clerk_app.services import system
from clerk_app.services.system import SystemInfo


class SystemPage(Page):
    key = "system"
    title = N_("系统")

    def __init__(self, ctx: PageContext, parent: QWidget | None = None) -> None:
        super().__init__(ctx, parent)
        self.info_box = QGroupBox(_("本机"))
        self.info_form = QFormLayout(self.info_box)
        self.layout_.addWidget(self.info_box)
        if may_register(ctx):  # the administrator registers this workstation with a central store
            register = QPushButton(_("登记到中心库…"))
            register.setObjectName("systemRegisterButton")
            register.clicked.connect(lambda: RegisterDialog(ctx, self).open())
            self.layout_.addWidget(register, 0, Qt.AlignmentFlag.AlignLeft)
        self.layout_.addWidget(self._language_box())
        role = ctx.session.role
        self.locked_table: QTableWidget | None = None
        if role is Role.ADMIN or allows(role, Permission.SUPERVISE):
            self.layout_.addWidget(self._lockout_box())
        self.layout_.addStretch(1)

    def activated(self) -> None:
        self.ctx.tasks.db(lambda: system.system_info(self.ctx.runtime), self._show_info)
        if self.locked_table is not None:
            self.refresh_locked()

    def _show_info(self, info: SystemInfo) -> None:
        while self.info_form.rowCount():
            self.info_form.removeRow(0)
        central = info.central + (_("（本机嵌入式中心库）") if info.central_embedded else "")
        rows = [
            (_("设备编号"), info.device_id),
            (_("本地数据库"), info.local_store),
            (_("数据库版本"), ", ".join(info.local_revisions)),
            (_("中心库"), central),
            (_("待上传的变更"), str(info.outbox_waiting)),
            (
                _("安全密钥存储"),
                _("可用") if info.secure_keyring else _("不可用：中心库密码和签名密钥无法保存"),
            ),
            (_("日志目录"), info.log_folder),
        ]
        for label, value in rows:
            shown = QLabel(value)
            shown.setWordWrap(True)
            shown.setTextInteractionFlags(
                shown.textInteractionFlags() | shown.textInteractionFlags().TextSelectableByMouse
            )
            self.info_form.addRow(label, shown)
        self.language_combo.setCurrentIndex(max(0, self.language_combo.findData(info.language)))

    def _language_box(self) -> QGroupBox:
        box = QGroupBox(_("界面语言"))
        row = QHBoxLayout(box)
        self.language_combo = QComboBox()
        self.language_combo.setObjectName("languageCombo")
        self.language_combo.addItem("简体中文", "zh_CN")
        self.language_combo.addItem("English", "en")
        save = QPushButton(_("保存（下次启动生效）"))
        save.clicked.connect(self._save_language)
        row.addWidget(self.language_combo)
        row.addWidget(save)
        row.addStretch(1)
        return box

    def _save_language(self) -> None:
        language = str(self.language_combo.currentData())
        self.ctx.tasks.db(lambda: system.set_language(self.ctx.runtime, language))

    def _lockout_box(self) -> QGroupBox:
        box = QGroupBox(_("被锁定的账号"))
        layout = QVBoxLayout(box)
        self.locked_table = QTableWidget(0, 2)
        self.locked_table.setObjectName("lockedTable")
        self.locked_table.setHorizontalHeaderLabels([_("用户名"), _("锁定至")])
        self.locked_table.horizontalHeader().setStretchLastSection(True)
        self.locked_table.setSelectionBehavior(QTableWidget.SelectionBehavior.SelectRows)
        self.locked_table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        layout.addWidget(self.locked_table)
        self.unlock_button = QPushButton(_("解除锁定"))
        self.unlock_button.setObjectName("unlockButton")
        self.unlock_button.clicked.connect(self._unlock_selected)
        layout.addWidget(self.unlock_button)
        return box

    def refresh_locked(self) -> None:
        ctx = self.ctx
        ctx.tasks.db(lambda: ctx.auth.locked_users(ctx.session), self._show_locked)

    def _show_locked(self, rows: list[tuple[str, dt.datetime]]) -> None:
        assert self.locked_table is not None
        self.locked_table.setRowCount(len(rows))
        for index, (username, until) in enumerate(rows):
            self.locked_table.setItem(index, 0, QTableWidgetItem(username))
            until_text = until.astimezone(HALL_TZ).strftime("%H:%M:%S")
            self.locked_table.setItem(index, 1, QTableWidgetItem(until_text))

    def _unlock_selected(self) -> None:
        assert self.locked_table is not None
        row = self.locked_table.currentRow()
        if row < 0:
            return
        item = self.locked_table.item(row, 0)
        username = item.text() if item else ""
        ctx = self.ctx
        ctx.tasks.db(lambda: ctx.auth.unlock_user(ctx.session, username), lambda _r: self.refresh_locked())
