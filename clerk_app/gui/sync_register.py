"""登记到中心库: the administrator registers this workstation with the central store.

The administrator types the central store's address and the central administrator's account
once; the registration (``clerk_app.services.sync.register_this_workstation``) runs off the GUI
thread as a job with its steps shown in a progress bar: it records the workstation centrally,
makes its own database account whose password goes into the system keyring, saves the address in
the settings, tests the connection with that account and downloads the central data. The
administrator's password is never saved; the field is emptied once the registration is done.
A failure is shown in the dialog in plain words, and the administrator can correct and retry.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from clerk_app.gui.pages.base import PageContext
from clerk_app.gui.tasks import TaskState
from clerk_app.i18n import _
from clerk_app.security.roles import Permission, allows
from clerk_app.services import sync as sync_service
from clerk_app.services.errors import UserError, is_expected
from clerk_app.services.sync import Registration

if TYPE_CHECKING:
    from clerk_app.gui.screenshots import ShotContext


def may_register(ctx: PageContext) -> bool:
    return allows(ctx.session.role, Permission.ADMINISTER)


class RegisterDialog(QDialog):
    """Register this workstation with a central store (administrators only)."""

    def __init__(self, ctx: PageContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.result_: Registration | None = None
        self.running = False
        self.setObjectName("syncRegisterDialog")
        self.setWindowTitle(_("登记到中心库"))
        self.setMinimumWidth(520)
        layout = QVBoxLayout(self)
        intro = QLabel(
            _(
                "把本工作站登记到中心库：中心库为本机建立专用账号，密码保存在系统密钥存储中，"
                "之后本机用这个账号同步。管理员密码只用于这一次登记，不会保存。"
            )
        )
        intro.setWordWrap(True)
        intro.setObjectName("pageHint")
        layout.addWidget(intro)
        layout.addLayout(self._form())
        self._build_bottom(layout)

    def _form(self) -> QFormLayout:
        ctx = self.ctx
        form = QFormLayout()
        self.url_edit = QLineEdit(sync_service.registered_address(ctx.runtime))
        self.url_edit.setObjectName("registerUrl")
        self.url_edit.setPlaceholderText("postgresql://192.168.1.10:5432/hall")
        self.user_edit = QLineEdit("postgres")
        self.user_edit.setObjectName("registerAdminUser")
        self.password_edit = QLineEdit()
        self.password_edit.setObjectName("registerAdminPassword")
        self.password_edit.setEchoMode(QLineEdit.EchoMode.Password)
        self.window_spin = QSpinBox()
        self.window_spin.setObjectName("registerWindow")
        self.window_spin.setRange(0, 999)
        self.window_spin.setSpecialValueText(_("不指定"))
        self.window_spin.setValue(ctx.runtime.settings.last_window or 0)
        self.hall_edit = QLineEdit()
        self.hall_edit.setObjectName("registerHall")
        self.hall_edit.setPlaceholderText(_("中心库只有一个大厅时可不填"))
        self.name_edit = QLineEdit()
        self.name_edit.setObjectName("registerName")
        self.name_edit.setPlaceholderText(_("如：3 号窗口工作站"))
        form.addRow(_("中心库地址"), self.url_edit)
        form.addRow(_("管理员账号"), self.user_edit)
        form.addRow(_("管理员密码"), self.password_edit)
        form.addRow(_("本机窗口号"), self.window_spin)
        form.addRow(_("大厅编码"), self.hall_edit)
        form.addRow(_("工作站名称"), self.name_edit)
        return form

    def _build_bottom(self, layout: QVBoxLayout) -> None:
        self.progress_bar = QProgressBar()
        self.progress_bar.setObjectName("registerProgress")
        self.progress_bar.setRange(0, len(sync_service.REGISTER_STEPS))
        self.progress_bar.hide()
        layout.addWidget(self.progress_bar)
        self.message = QLabel()
        self.message.setObjectName("registerMessage")
        self.message.setWordWrap(True)
        self.message.hide()
        layout.addWidget(self.message)

        self.buttons = QDialogButtonBox()
        self.register_button = QPushButton(_("登记"))
        self.register_button.setObjectName("registerButton")
        self.register_button.setDefault(True)
        self.close_button = QPushButton(_("关闭"))
        self.close_button.setObjectName("registerClose")
        self.buttons.addButton(self.register_button, QDialogButtonBox.ButtonRole.AcceptRole)
        self.buttons.addButton(self.close_button, QDialogButtonBox.ButtonRole.RejectRole)
        self.register_button.clicked.connect(self.register)
        self.close_button.clicked.connect(self.reject)
        layout.addWidget(self.buttons)
        self._inputs: tuple[QWidget, ...] = (
            self.url_edit,
            self.user_edit,
            self.password_edit,
            self.window_spin,
            self.hall_edit,
            self.name_edit,
            self.register_button,
        )

    # --- running the registration ---------------------------------------------------------

    def register(self) -> None:
        if self.running:
            return
        ctx = self.ctx
        address = self.url_edit.text()
        user = self.user_edit.text()
        password = self.password_edit.text()
        window = self.window_spin.value() or None
        hall = self.hall_edit.text()
        name = self.name_edit.text()

        def work(state: TaskState) -> Registration:
            return sync_service.register_this_workstation(
                ctx.runtime,
                ctx.session,
                address,
                user,
                password,
                window_number=window,
                hall_code=hall,
                name=name,
                progress=state.progress,
            )

        self._busy(True)
        self._say(_("正在登记…"), error=False)
        self.progress_bar.setValue(0)
        self.progress_bar.show()
        ctx.tasks.job(work, self._done, self._failed, self._progress)

    def _busy(self, busy: bool) -> None:
        self.running = busy
        for widget in self._inputs:
            widget.setEnabled(not busy)
        self.close_button.setEnabled(not busy)

    def _say(self, text: str, *, error: bool) -> None:
        self.message.setText(text)
        self.message.setObjectName("registerError" if error else "registerMessage")
        self.message.style().unpolish(self.message)
        self.message.style().polish(self.message)
        self.message.show()

    def _progress(self, done: int, total: int, text: str) -> None:
        self.progress_bar.setRange(0, total)
        self.progress_bar.setValue(done)
        if text:
            self._say(text + "…" if done < total else text, error=False)

    def _done(self, result: Registration) -> None:
        self.result_ = result
        self._busy(False)
        self.password_edit.clear()
        self.progress_bar.setValue(self.progress_bar.maximum())
        lines = [
            _("登记完成：本工作站已登记到 {hall}。").format(hall=result.hall_name),
            _("设备编号：{device}").format(device=result.device_id),
        ]
        if result.window_number:
            lines.append(_("窗口号：{n}").format(n=result.window_number))
        if result.role:
            lines.append(_("工作站账号：{role}（密码已保存在系统密钥存储中）").format(role=result.role))
        lines.append(_("已下载中心库数据 {n} 条。").format(n=result.pulled))
        lines.append(_("请重新启动本程序，之后将连接新登记的中心库。"))
        self._say("\n".join(lines), error=False)
        self.register_button.setText(_("重新登记"))

    def _failed(self, exc: BaseException) -> None:
        self._busy(False)
        self.progress_bar.hide()
        if not is_expected(exc):
            self._say(_("登记没有完成，出现了意外错误，详情已记录。"), error=True)
            self.ctx.errors(exc)
            return
        self._say(_("登记没有完成：{reason}").format(reason=str(exc)), error=True)
        field = exc.field if isinstance(exc, UserError) else None
        focus = {
            "url": self.url_edit,
            "admin_user": self.user_edit,
            "admin_password": self.password_edit,
            "window": self.window_spin,
            "hall": self.hall_edit,
        }.get(field or "")
        if focus is not None:
            focus.setFocus()

    def reject(self) -> None:
        if self.running:
            return  # the registration finishes first (it cannot be interrupted half-way)
        self.password_edit.clear()
        super().reject()


def shot_register(ctx: ShotContext) -> list[Path]:
    """Screenshot (``clerk_app.gui.screenshots.SHOTS``): the administrator's Sync page with the
    registration dialog filled in."""
    from clerk_app.gui.pages.sync import SyncPage

    main = ctx.main_window("admin", "Admin#2026", None)
    page = main.show_page("sync")
    assert isinstance(page, SyncPage)
    main.show()
    dialog = page.open_register()
    dialog.url_edit.setText("postgresql://10.12.0.5:5432/hall")
    dialog.password_edit.setText("••••••••")
    dialog.window_spin.setValue(3)
    dialog.name_edit.setText(_("3 号窗口工作站"))
    paths = [ctx.save(main, "sync-admin"), ctx.save(dialog, "sync-register")]
    dialog.reject()
    main.close()
    return paths
