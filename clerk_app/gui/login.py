"""The sign-in dialog: window, user name, password. Verification runs on the database worker
(Argon2 takes tens of milliseconds); a failure is shown in the dialog in plain words."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QComboBox, QDialog, QLabel, QLineEdit, QPushButton, QVBoxLayout, QWidget

from clerk_app.gui.forms import child, load_form
from clerk_app.gui.tasks import TaskRunner
from clerk_app.i18n import _

if TYPE_CHECKING:  # the dialog shows before the stores (and SQLAlchemy) are loaded
    from clerk_app.services.auth import AuthService, UserSession, WindowInfo

NO_WINDOW = -1


class LoginDialog(QDialog):
    signed_in = Signal(object)

    def __init__(
        self,
        auth: AuthService | None,
        tasks: TaskRunner,
        hall_name: str,
        last_window: int | None,
        last_user: str,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self._auth, self._tasks = auth, tasks
        self.session: UserSession | None = None
        self.setWindowTitle(_("登录 - 政务服务窗口工作台"))
        self.setObjectName("loginDialog")
        form = load_form("login.ui", self)
        form.setObjectName("loginCard")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(24, 24, 24, 24)
        layout.addWidget(form)
        self.window_combo = child(form, QComboBox, "windowCombo")
        self.user_edit = child(form, QLineEdit, "userEdit")
        self.password_edit = child(form, QLineEdit, "passwordEdit")
        self.message = child(form, QLabel, "messageLabel")
        self.login_button = child(form, QPushButton, "loginButton")
        self.hall_label = child(form, QLabel, "hallLabel")
        self.hall_label.setText(hall_name or _("政务服务大厅"))
        self._last_window = last_window
        self.user_edit.setText(last_user)
        self.login_button.clicked.connect(self.submit)
        self.password_edit.returnPressed.connect(self.submit)
        self.user_edit.returnPressed.connect(self.password_edit.setFocus)
        self.setMinimumWidth(520)
        (self.password_edit if last_user else self.user_edit).setFocus(Qt.FocusReason.OtherFocusReason)
        if auth is None:
            self.login_button.setEnabled(False)
            self.message.setText(_("正在打开本地数据库…"))
        else:
            self.attach(auth)

    def attach(self, auth: AuthService, hall_name: str = "") -> None:
        """The stores are open: sign-in can start (the clerk may already be typing)."""
        self._auth = auth
        if hall_name:
            self.hall_label.setText(hall_name)
        self.message.setText("")
        self.login_button.setEnabled(True)
        self._tasks.db(auth.windows, self._fill_windows)

    def _fill_windows(self, windows: list[WindowInfo]) -> None:
        self.window_combo.clear()
        for info in windows:
            self.window_combo.addItem(info.name, info.number)
        self.window_combo.addItem(_("后台（不在窗口）"), NO_WINDOW)
        index = self.window_combo.findData(self._last_window) if self._last_window else 0
        self.window_combo.setCurrentIndex(max(index, 0))

    def chosen_window(self) -> int | None:
        data = self.window_combo.currentData()
        return None if data in (None, NO_WINDOW) else int(data)

    def submit(self) -> None:
        auth = self._auth
        if auth is None or not self.login_button.isEnabled():
            return
        window, user, password = self.chosen_window(), self.user_edit.text(), self.password_edit.text()
        self._busy(True)
        self._tasks.db(lambda: auth.login(window, user, password), self._done, self._failed)

    def _busy(self, busy: bool) -> None:
        self.login_button.setEnabled(not busy)
        self.login_button.setText(_("正在验证…") if busy else _("登录"))

    def _done(self, session: UserSession) -> None:
        self._busy(False)
        self.session = session
        self.signed_in.emit(session)
        self.accept()

    def _failed(self, exc: BaseException) -> None:
        from clerk_app.services.errors import is_expected

        self._busy(False)
        if not is_expected(exc):
            raise exc
        self.message.setText(str(exc))
        self.password_edit.clear()
        self.password_edit.setFocus()
